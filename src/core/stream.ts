/**
 * The server stream: a `ReadableStream` of UTF-8 event-stream bytes with `send`, `comment` and
 * `close`, backpressure, coalescing, keep-alive and disconnect handling.
 *
 * @module
 */

import { concatChunks } from "../_internal/bytes.ts";
import { encodeComment, encodeEvent } from "./encoder.ts";
import type { EncodeOptions, SSEEvent } from "./event.ts";
import { sseHeaders } from "./headers.ts";

/** Options for {@linkcode SSEStream}. */
export interface SSEStreamOptions extends EncodeOptions {
  /**
   * How many writes may wait in the stream's queue for the client to read them. A `send()` made
   * when the queue is full resolves only once the client has read enough to make room, so a
   * producer that awaits its sends holds at most this many events in memory.
   *
   * @default {64}
   */
  highWaterMark?: number;
  /**
   * Milliseconds between keep-alive comments, which stop proxies and load balancers from closing
   * an idle connection; `false` turns them off. A keep-alive is skipped while events are queued.
   *
   * @default {15000}
   */
  keepAlive?: number | false;
  /**
   * Aborts the stream when it aborts; pass the request's `signal` so that a client that goes away
   * is noticed even by runtimes that report it only there.
   */
  signal?: AbortSignal;
  /** A `retry:` value (milliseconds) to send first, telling the client how long to wait before it reconnects. */
  retry?: number;
}

const KEEP_ALIVE = encodeComment("keep-alive");
const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
// Stateless, so one serves every stream.
const ENCODER = new TextEncoder();
// What sseHeaders() gives without extra headers. Frozen, so that nobody can change it for every
// response; runtimes copy a record into the response's own headers.
const DEFAULT_HEADERS: HeadersInit = Object.freeze(Object.fromEntries(sseHeaders()));

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

interface Waiter {
  chunk: string | Uint8Array;
  resolve: (accepted: boolean) => void;
}

type State = "open" | "closing" | "closed";

/**
 * The state and logic of one {@linkcode SSEStream}, and the underlying source of its
 * `ReadableStream`.
 *
 * Kept apart from the stream object because on Node 20 a `ReadableStream` is made by a native
 * constructor, and each field then added to it (a subclass's fields included) costs about a
 * microsecond: with all of its fields on the stream, creating an `SSEStream` took about 45 µs,
 * most of a short-lived connection's budget (bench/churn.ts).
 */
class StreamCore implements UnderlyingDefaultSource<Uint8Array>, ChunkSinkSource, SinkControl {
  readonly highWaterMark: number;
  readonly encodeOptions: EncodeOptions | undefined;
  readonly closed: Promise<void>;
  /** Created when `signal` is first read: most streams end without anyone asking for it. */
  abort: AbortController | undefined = undefined;
  /** Why the stream ended, once it has (`CLOSED` for `close()`); `undefined` while open. */
  endReason: unknown = undefined;
  controller!: ReadableStreamDefaultController<Uint8Array>;
  queue: (string | Uint8Array)[] = [];
  queueHasBytes = false;
  waiters: Waiter[] = [];
  /** The consumer can take a chunk now: a read is pending, or the attached sink is ready. */
  waiting = false;
  /** Where chunks go instead of the stream's controller, once an adapter has attached one. */
  sink: ChunkSink | undefined = undefined;
  state: State = "open";
  timer: ReturnType<typeof setInterval> | undefined = undefined;
  resolveClosed!: () => void;
  external: AbortSignal | undefined = undefined;

  constructor(highWaterMark: number, encodeOptions: EncodeOptions | undefined) {
    this.highWaterMark = highWaterMark;
    this.encodeOptions = encodeOptions;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** The `AbortSignal` of `SSEStream.signal`, made on first use (aborted already if the stream has ended). */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.endReason !== undefined) this.abort.abort(abortReason(this.endReason));
    }
    return this.abort.signal;
  }

  /** Stream source: keeps the controller (runs inside the ReadableStream constructor). */
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.controller = controller;
  }

  /** Stream source: the consumer waits for a chunk. */
  pull(): void {
    this.waiting = true;
    this.drain();
  }

  /** Stream source, and sink control: the client went away. */
  cancel(reason?: unknown): void {
    this.finish(reason ?? CLIENT_GONE);
  }

  /** The external signal's `abort` listener. */
  handleEvent(): void {
    if (this.external !== undefined) this.finish(this.external.reason);
  }

  /** Sink control: the sink can take a chunk again. */
  ready(): void {
    if (this.state === "closed") return;
    this.waiting = true;
    this.drain();
  }

  attachSink(sink: ChunkSink): SinkControl {
    this.sink = sink;
    if (this.state === "closed") sink.end();
    else this.ready();
    return this;
  }

  write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.state !== "open") return FALSE;
    if (this.waiting && this.queue.length === 0) {
      // The client is waiting: no coalescing to gain, send it now.
      this.deliver(typeof chunk === "string" ? ENCODER.encode(chunk) : chunk, false);
      return TRUE;
    }
    if (this.queue.length < this.highWaterMark) {
      this.push(chunk);
      return TRUE;
    }
    return new Promise((resolve) => {
      this.waiters.push({ chunk, resolve });
    });
  }

  push(chunk: string | Uint8Array): void {
    this.queue.push(chunk);
    if (typeof chunk !== "string") this.queueHasBytes = true;
  }

  close(): void {
    if (this.state !== "open") return;
    this.state = "closing";
    // Sends that were waiting for room were made before close(): deliver them too.
    for (const waiter of this.waiters) {
      this.push(waiter.chunk);
      waiter.resolve(true);
    }
    this.waiters = [];
    this.cleanup(CLOSED);
    this.drain();
  }

  /**
   * While the consumer can take chunks: sends everything queued as one chunk and lets waiting
   * sends in, or ends a closing stream once its queue is empty. A pull (a pending read) takes one
   * chunk; a sink may take several in a row.
   */
  drain(): void {
    while (this.waiting && this.state !== "closed") {
      const queue = this.queue;
      if (queue.length === 0) {
        if (this.state === "closing") {
          this.state = "closed";
          this.end();
        }
        return;
      }
      const chunk = this.coalesce(queue);
      this.queue = [];
      this.queueHasBytes = false;
      const waiters = this.waiters;
      this.deliver(chunk, waiters.length > 0);
      if (waiters.length > 0) {
        const admitted = waiters.splice(0, this.highWaterMark);
        for (const waiter of admitted) {
          this.push(waiter.chunk);
          waiter.resolve(true);
        }
      }
    }
  }

  /** Hands one chunk to the waiting consumer. */
  deliver(chunk: Uint8Array, backlog: boolean): void {
    const sink = this.sink;
    if (sink === undefined) {
      // A pull asks for one chunk; the next read asks again.
      this.waiting = false;
      this.controller.enqueue(chunk);
      return;
    }
    const ready = sink.write(chunk, backlog);
    // The sink may have reported a disconnect from inside write().
    if (this.state !== "closed") this.waiting = ready;
  }

  /** Ends the body for the consumer. */
  end(): void {
    if (this.sink !== undefined) {
      this.sink.end();
      return;
    }
    try {
      this.controller.close();
    } catch {
      // Already closed or cancelled by the consumer.
    }
  }

  coalesce(queue: (string | Uint8Array)[]): Uint8Array {
    if (queue.length === 1) {
      const only = queue[0]!;
      return typeof only === "string" ? ENCODER.encode(only) : only;
    }
    // One TextEncoder call on the joined text is far cheaper than one per event.
    if (!this.queueHasBytes) return ENCODER.encode((queue as string[]).join(""));
    return concatChunks(queue.map((c) => (typeof c === "string" ? ENCODER.encode(c) : c)));
  }

  /** The client went away (or the external signal aborted): drop everything, once. */
  finish(reason: unknown): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    this.queue = [];
    this.queueHasBytes = false;
    for (const waiter of this.waiters) waiter.resolve(false);
    this.waiters = [];
    this.waiting = false;
    if (wasOpen) this.cleanup(reason);
    // An external abort does not cancel the body by itself: end it for the consumer, if any.
    this.end();
  }

  /**
   * Runs once per stream: stops the timer, detaches from the external signal, aborts the signal
   * (if anyone has asked for it), resolves `closed`.
   */
  cleanup(reason: unknown): void {
    this.endReason = reason;
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.external !== undefined) {
      this.external.removeEventListener("abort", this);
      this.external = undefined;
    }
    this.abort?.abort(abortReason(reason));
    this.resolveClosed();
  }
}

// The reasons hertz-sse gives when nobody else gave one, as markers until an AbortSignal needs
// them: a DOMException captures a stack trace, which costs about 10 µs, and most are never read.
const CLOSED: unique symbol = Symbol("the stream was closed");
const CLIENT_GONE: unique symbol = Symbol("the client went away");

function abortReason(reason: unknown): unknown {
  if (reason === CLOSED) return new DOMException("The stream was closed", "AbortError");
  if (reason === CLIENT_GONE) return new DOMException("The client went away", "AbortError");
  return reason;
}

/**
 * A `ReadableStream` of UTF-8 bytes in the event-stream format, to be used as a response body.
 *
 * - **Backpressure**: `await stream.send()` resolves once the event is in the stream's bounded
 *   queue (see {@linkcode SSEStreamOptions.highWaterMark}).
 * - **Coalescing**: events queued while the client is not reading go out as one chunk on its
 *   next read; an event sent while the client is waiting goes out at once.
 * - **Disconnect**: the body's `cancel()`, the `signal` option (the request's) and `close()` all
 *   end in the same place: {@linkcode SSEStream.signal} aborts, {@linkcode SSEStream.closed}
 *   resolves, timers stop and waiting sends resolve `false`, each exactly once.
 * - **After close**, `send()` and `comment()` resolve `false` and write nothing; they never throw
 *   for that reason, never hang, and leave no unhandled rejection. An invalid event rejects with
 *   the validation error, and nothing of it is written.
 *
 * Text is encoded with a `TextEncoder` inside the stream's own `pull`, one call per coalesced
 * chunk: the same bytes a `TextEncoderStream` stage would give, without Node 20's slow
 * JavaScript `TextEncoderStream` or an extra pipe hop per chunk (measured in `bench/`).
 *
 * @example Usage
 * ```ts
 * import { SSEStream } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const stream = new SSEStream({ keepAlive: false });
 * await stream.send({ event: "tick", data: "1" });
 * stream.close();
 * assertEquals(await new Response(stream).text(), "event: tick\ndata: 1\n\n");
 * ```
 */
export class SSEStream extends ReadableStream<Uint8Array> {
  // The only field: see StreamCore.
  readonly #core: StreamCore;

  /** Creates an open stream; nothing is written until `send()` or `comment()`. */
  constructor(options: SSEStreamOptions = {}) {
    const hwm = options.highWaterMark ?? 64;
    if (!Number.isSafeInteger(hwm) || hwm < 1) {
      throw new RangeError(`Cannot create SSEStream: "highWaterMark" must be a positive integer, got ${hwm}`);
    }
    const keepAlive = options.keepAlive ?? 15_000;
    if (keepAlive !== false && (typeof keepAlive !== "number" || !(keepAlive > 0))) {
      throw new RangeError(`Cannot create SSEStream: "keepAlive" must be a positive number or false, got ${String(keepAlive)}`);
    }
    const core = new StreamCore(hwm, options.serialize ? { serialize: options.serialize } : undefined);
    // Zero: pull() runs only while the client waits for a chunk, which is what lets events
    // that arrive meanwhile be coalesced into one chunk.
    super(core, { highWaterMark: 0 });
    this.#core = core;
    setChunkSinkSource(this, core);
    if (options.retry !== undefined) core.write(encodeEvent({ retry: options.retry }));
    const external = options.signal;
    if (external) {
      if (external.aborted) {
        core.finish(external.reason);
      } else {
        core.external = external;
        external.addEventListener("abort", core, { once: true });
      }
    }
    if (keepAlive !== false && core.state === "open") {
      core.timer = setInterval(() => {
        if (core.queue.length === 0) core.write(KEEP_ALIVE);
      }, keepAlive);
      // Node and Bun: an idle stream alone should not keep the process alive.
      (core.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Aborts when the stream ends: the client went away, the `signal` option aborted, or `close()` was called. */
  get signal(): AbortSignal {
    return this.#core.signal;
  }

  /** Resolves once the stream has ended, for any of the reasons {@linkcode SSEStream.signal} gives. */
  get closed(): Promise<void> {
    return this.#core.closed;
  }

  /** How many writes are queued, waiting for the client to read them. */
  get queued(): number {
    return this.#core.queue.length;
  }

  /**
   * Sends one event. Resolves `true` once it is queued (at once, unless the queue is full), or
   * `false` if the stream has ended. Rejects with a `TypeError`, `RangeError` or `SyntaxError`
   * if the event is invalid, before any of it is written.
   */
  send(event: SSEEvent): Promise<boolean> {
    const core = this.#core;
    let text: string;
    try {
      text = encodeEvent(event, core.encodeOptions);
    } catch (error) {
      return Promise.reject(error);
    }
    return core.write(text);
  }

  /** Sends a comment (`: text`), which clients ignore. Resolves like {@linkcode SSEStream.send}. */
  comment(text = ""): Promise<boolean> {
    let wire: string;
    try {
      wire = encodeComment(text);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#core.write(wire);
  }

  /**
   * Writes text or bytes that are already in the event-stream format, unchecked, with the same
   * queueing as {@linkcode SSEStream.send}. For pre-encoded events shared between many streams.
   */
  write(chunk: string | Uint8Array): Promise<boolean> {
    return this.#core.write(chunk);
  }

  /**
   * Ends the stream: the signal aborts at once, what is already queued is still delivered, then
   * the body ends. Calling it again does nothing.
   */
  close(): void {
    this.#core.close();
  }

  /**
   * Wraps the stream in a `Response` with the event-stream headers (see
   * {@linkcode sseHeaders}); `init.headers` are merged in.
   */
  toResponse(init: ResponseInit = {}): Response {
    // Without extra headers, one frozen record serves every response: building a Headers object
    // per response costs a few microseconds, which counts when connections are short.
    const headers = init.headers === undefined ? DEFAULT_HEADERS : sseHeaders(init.headers);
    return new Response(this, { ...init, headers });
  }
}

