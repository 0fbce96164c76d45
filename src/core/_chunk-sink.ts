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
  /** Called by {@linkcode offerChunkSink} once the sink is attached, with the body's control. */
  attached?(control: SinkControl): void;
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

// The responses whose body is one of those streams, for a server adapter that is handed the
// response only (a Hono middleware on @hono/node-server): reading `response.body` there would
// make the server build a second, native response.
const RESPONSE_BODIES = new WeakMap<Response, ReadableStream<Uint8Array>>();

/** Wraps `stream`, a body marked with {@linkcode setChunkSinkSource}, in a response that remembers it. */
export function sinkableResponse(stream: ReadableStream<Uint8Array>, init: ResponseInit): Response {
  const response = new Response(stream, init);
  RESPONSE_BODIES.set(response, stream);
  return response;
}

/** The hertz-sse body of `response`, if it was made by {@linkcode sinkableResponse}. */
export function sinkableBody(response: Response): ReadableStream<Uint8Array> | undefined {
  return RESPONSE_BODIES.get(response);
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

/**
 * The reader a server gets from a body whose chunks went to a sink when it asked for one: it sees
 * no chunk, only the end (its `read()` resolves `done` once the sink has ended or been destroyed),
 * and cancelling it cancels the body as cancelling a real reader would.
 */
class SinkReader implements ReadableStreamDefaultReader<Uint8Array> {
  readonly closed: Promise<undefined>;
  readonly #control: SinkControl;

  constructor(control: SinkControl, closed: Promise<undefined>) {
    this.#control = control;
    this.closed = closed;
  }

  read(): Promise<ReadableStreamReadDoneResult<Uint8Array>> {
    return this.closed.then(() => ({ done: true, value: undefined }));
  }

  cancel(reason?: unknown): Promise<void> {
    this.#control.cancel(reason);
    return Promise.resolve();
  }

  releaseLock(): void {}
}

/** Forwards to the sink, and settles the server's reader when the body ends. */
class EndingSink implements ChunkSink {
  readonly #sink: ChunkSink;
  readonly #ended: () => void;

  constructor(sink: ChunkSink, ended: () => void) {
    this.#sink = sink;
    this.#ended = ended;
  }

  write(chunk: Uint8Array, backlog: boolean): boolean {
    return this.#sink.write(chunk, backlog);
  }

  end(): void {
    this.#sink.end();
    this.#ended();
  }

  destroy(): void {
    const sink = this.#sink;
    if (sink.destroy !== undefined) sink.destroy();
    else sink.end();
    this.#ended();
  }
}

/** Attaches `sink` to `source` in place of the body's reader, and gives the server a reader that sees the end. */
function takeOver(source: ChunkSinkSource, sink: ChunkSink, cancelled?: (reason: unknown) => void): SinkReader {
  let ended!: () => void;
  const closed = new Promise<undefined>((resolve) => {
    ended = () => resolve(undefined);
  });
  const inner = source.attachSink(new EndingSink(sink, ended));
  const control: SinkControl = {
    ready: () => inner.ready(),
    cancel: (reason) => {
      inner.cancel(reason);
      cancelled?.(reason);
      ended();
    },
  };
  sink.attached?.(control);
  return new SinkReader(control, closed);
}

/**
 * A server's reader of a body that was offered a sink when the server asked for its reader too
 * early (before it had sent the headers: `@hono/node-server` reads a body's first chunks before
 * its headers when a middleware changed the response). It reads through the real reader until a
 * `read()` finds no read pending and the sink can be taken; then the sink takes the body over.
 */
class DeferredReader implements ReadableStreamDefaultReader<Uint8Array> {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #source: ChunkSinkSource;
  readonly #take: () => ChunkSink | undefined;
  #pending = 0;
  #taken: SinkReader | undefined = undefined;

  constructor(body: ReadableStream<Uint8Array>, source: ChunkSinkSource, take: () => ChunkSink | undefined) {
    this.#reader = body.getReader();
    this.#source = source;
    this.#take = take;
  }

  get closed(): Promise<undefined> {
    return this.#taken?.closed ?? (this.#reader.closed as Promise<undefined>);
  }

  read(): Promise<ReadableStreamReadResult<Uint8Array>> {
    if (this.#taken !== undefined) return this.#taken.read();
    if (this.#pending === 0) {
      const sink = this.#take();
      if (sink !== undefined) {
        // Nobody reads the real reader from now on; cancelling it settles its `closed`.
        const reader = this.#reader;
        this.#taken = takeOver(this.#source, sink, (reason) => {
          reader.cancel(reason).catch(() => {});
        });
        return this.#taken.read();
      }
    }
    this.#pending++;
    return this.#reader.read().then(
      (result) => {
        this.#pending--;
        return result;
      },
      (error: unknown) => {
        this.#pending--;
        throw error;
      },
    );
  }

  cancel(reason?: unknown): Promise<void> {
    if (this.#taken !== undefined) this.#taken.cancel(reason).catch(() => {});
    return this.#reader.cancel(reason);
  }

  releaseLock(): void {
    this.#reader.releaseLock();
  }
}

/**
 * Offers a sink to a body made by hertz-sse, for when a server starts writing it: the next call of
 * `body.getReader()` (what a server's write loop makes; `pipeTo()`, `pipeThrough()` and `tee()`
 * lock a stream without calling it, so a transforming stage in between never triggers this) asks
 * `take()` for a sink, at once and then at each `read()` with no read pending, until it gives one.
 * From then on the chunks go to the sink, and the server's reader sees only the end. `take()`
 * decides whether taking over is safe at that moment (see `adapters/_node-exchange.ts`). Returns
 * `false`, and changes nothing, for any other body or one that is locked already.
 */
export function offerChunkSink(body: ReadableStream<Uint8Array>, take: () => ChunkSink | undefined): boolean {
  if (body.locked || !SINK_SOURCES.has(body)) return false;
  // An own property is found before the prototype's method. It costs about a microsecond on a
  // native ReadableStream, paid only for bodies that a server on Node may write.
  Object.defineProperty(body, "getReader", {
    configurable: true,
    writable: true,
    value: (options?: { mode?: undefined }): ReadableStreamDefaultReader<Uint8Array> => {
      delete (body as { getReader?: unknown }).getReader;
      const source = SINK_SOURCES.get(body);
      if (options?.mode !== undefined || source === undefined)
        return body.getReader(options) as ReadableStreamDefaultReader<Uint8Array>;
      SINK_SOURCES.delete(body);
      const sink = take();
      if (sink === undefined) return new DeferredReader(body, source, take);
      body.getReader();
      return takeOver(source, sink);
    },
  });
  return true;
}
