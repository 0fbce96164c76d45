/**
 * The chunk sink: how a runtime adapter that writes to a socket itself (the Node adapter) takes
 * the chunks of a hertz-sse body directly, without reading them through the `ReadableStream`.
 * Internal: not part of the public API.
 *
 * @module
 */

/**
 * A destination that takes a body's chunks directly instead of reading them through the
 * `ReadableStream`: what a runtime adapter that writes to a socket itself attaches with
 * {@linkcode attachChunkSink} (see `adapters/node.ts`). Not part of the public API.
 *
 * On Node 20 every chunk that passes through a web `ReadableStream` costs about a microsecond of
 * promise and queue machinery, plus the server's own read loop: as much as writing the chunk to
 * the socket. Handing chunks to the writer directly removes that cost; the stream keeps every
 * other behaviour (queueing, coalescing, backpressure, cleanup).
 */
export interface ChunkSink {
  /**
   * Takes one chunk. Returns `true` if it can take the next one at once, or `false` to make the
   * source hold (and join into one chunk) what follows until {@linkcode SinkControl.ready}.
   *
   * `backlog` is true when a producer is waiting for room in the source's queue: it will refill
   * the queue as soon as it runs, so a sink that lets it run before asking for more gets the next
   * events in one chunk rather than the first of them alone.
   */
  write(chunk: Uint8Array, backlog: boolean): boolean;
  /** The body has ended (normally, or because the source was closed); nothing follows. */
  end(): void;
  /**
   * The source cut the body (a slow or frozen client): destroy the connection, dropping whatever
   * is still buffered for it. Without it, the sink is ended instead.
   */
  destroy?(): void;
}

/** What a sink tells the body it was attached to. */
export interface SinkControl {
  /** The sink can take a chunk again, after `write()` returned `false`. */
  ready(): void;
  /** The client went away: ends the body as a cancelled stream would. */
  cancel(reason?: unknown): void;
}

/** A body that can send its chunks to a sink. */
export interface ChunkSinkSource {
  /** Sends every chunk to `sink` from now on; called once, before anything was read. */
  attachSink(sink: ChunkSink): SinkControl;
}

// A registry rather than a property on the stream: on Node 20 a ReadableStream is built by a
// native constructor, and every property added to one afterwards costs about a microsecond.
const SINK_SOURCES = new WeakMap<ReadableStream<Uint8Array>, ChunkSinkSource>();

/** Marks `stream` as a body whose chunks `source` can send to a sink instead. */
export function setChunkSinkSource(stream: ReadableStream<Uint8Array>, source: ChunkSinkSource): void {
  SINK_SOURCES.set(stream, source);
}

/**
 * Attaches `sink` to a body made by hertz-sse (an {@linkcode SSEStream}, a hub subscription) that
 * nobody reads: its chunks go to the sink from then on, and the stream is locked so that nothing
 * else can read it. Returns `undefined`, and changes nothing, for any other body, or one that is
 * locked already; such a body must be read as usual.
 */
export function attachChunkSink(body: ReadableStream<Uint8Array> | null, sink: ChunkSink): SinkControl | undefined {
  if (body === null || body.locked) return undefined;
  const source = SINK_SOURCES.get(body);
  if (source === undefined) return undefined;
  SINK_SOURCES.delete(body);
  body.getReader();
  return source.attachSink(sink);
}
