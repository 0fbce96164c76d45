/**
 * The server stream: a `ReadableStream` of UTF-8 event-stream bytes with `send`, `comment` and
 * `close`, bounded backpressure, coalescing, keep-alive, a drain deadline, `maxDuration` and
 * disconnect handling.
 *
 * @module
 */

import { setChunkSinkSource, sinkableResponse } from "./_chunk-sink.ts";
import type { CloseReason } from "./_close-reason.ts";
import { EventGate } from "./_event-gate.ts";
import { StreamCore } from "./_stream-core.ts";
import { encodeComment, encodeEvent } from "./encoder.ts";
import type { EncodeOptions, SSEEvent } from "./event.ts";
import { checkEventsOption, type EventMap, type EventOf } from "./events.ts";
import { sseHeaders } from "./headers.ts";
import { _record, type SSEMetrics } from "./metrics.ts";

export { attachChunkSink, type ChunkSink, type ChunkSinkSource, type SinkControl, setChunkSinkSource } from "./_chunk-sink.ts";

/**
 * Options for {@linkcode SSEStream}.
 *
 * @example Usage
 * ```ts
 * import { SSEStream, type SSEStreamOptions } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const options: SSEStreamOptions = { maxQueued: 16, keepAlive: false, drainTimeout: 10_000 };
 * const stream = new SSEStream(options);
 * stream.close();
 * assertEquals(await new Response(stream).text(), "");
 * ```
 */
export interface SSEStreamOptions<M extends EventMap | undefined = EventMap | undefined> extends EncodeOptions {
  /**
   * How many writes may wait in the stream's queue for the client to read them (the same name as
   * the hub's). A `send()` made when the queue is full resolves only once the client has read
   * enough to make room, so a producer that awaits its sends holds at most this many events.
   *
   * @default {64}
   */
  maxQueued?: number;
  /**
   * The old name of `maxQueued`.
   *
   * @deprecated Use `maxQueued`, the name the hub uses too.
   * @default {64}
   */
  highWaterMark?: number;
  /**
   * How many bytes may wait in the stream's queue (text counts its UTF-16 code units, which is its
   * size in bytes for ASCII); past it, `send()` waits as it does past `maxQueued`. One event larger
   * than this is still queued alone.
   *
   * @default {1048576}
   */
  maxQueuedBytes?: number;
  /**
   * How many `send()`s may wait for room in a full queue (a producer that does not await its
   * sends); past it, `send()` rejects with a `RangeError` instead of holding the event.
   *
   * @default {1024}
   */
  maxWaiting?: number;
  /**
   * Milliseconds the client may leave something queued without reading, after which the stream
   * is cut: the body errors, so the runtime destroys the connection and frees what it buffered,
   * and `signal` aborts (a producer blocked on a frozen client is released). `false` for no
   * deadline. Checked four times per `drainTimeout`.
   *
   * @default {30000}
   */
  drainTimeout?: number | false;
  /**
   * Milliseconds after which the stream ends cleanly, a little before this limit (by 1 s, or a
   * tenth of it when shorter), after a `retry:` field (the `retry` option, else 1000), so that a
   * client behind a platform with a hard response time limit (Vercel, Lambda) reconnects with
   * its last id instead of failing. `signal` aborts. `false` for no limit.
   *
   * @default {false}
   */
  maxDuration?: number | false;
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
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * A `retry:` value (milliseconds) to send first, telling the client how long to wait before it
   * reconnects.
   *
   * @default {undefined: none is sent}
   */
  retry?: number;
  /**
   * The typed event map (see {@linkcode defineEvents}): `send()` takes only its events, checks each
   * against its schema before writing (an `EventValidationError` rejects the send, nothing is
   * written) and writes typed data as JSON (by `serialize` if given, which must then write JSON). Sends not awaited keep their
   * order, asynchronous schemas included.
   *
   * @default {undefined: untyped, any `SSEEvent`, data serialised by `serialize`}
   */
  events?: M;
  /**
   * Callbacks told when the stream opens and ends (with its close reason and duration) and what it
   * sends (see {@linkcode SSEMetrics}; `otelMetrics()` from `hertz-sse/otel` records them). Nothing
   * is measured without it.
   *
   * @default {undefined: no metrics}
   */
  metrics?: SSEMetrics;
}

const KEEP_ALIVE = encodeComment("keep-alive");
// What sseHeaders() gives without extra headers. Frozen, so that nobody can change it for every
// response; runtimes copy a record into the response's own headers.
const DEFAULT_HEADERS: HeadersInit = Object.freeze(Object.fromEntries(sseHeaders()));

/** Closes `stream` gracefully with a reason other than `"server"` (for `sseResponse`). Internal. */
// Set by SSEStream's static block, which alone can reach a stream's core.
export let closeStream: (stream: SSEStream, reason: CloseReason) => void;
/** Cuts `stream` (abortive) with `reason`, for a drain's deadline. Internal. */
export let cutStream: (stream: SSEStream, reason: CloseReason) => void;

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
export class SSEStream<M extends EventMap | undefined = EventMap | undefined> extends ReadableStream<Uint8Array> {
  // The only field: see StreamCore.
  readonly #core: StreamCore;

  /** Creates an open stream; nothing is written until `send()` or `comment()`. */
  constructor(options: SSEStreamOptions<M> = {}) {
    const events = checkEventsOption(options.events, "Cannot create SSEStream");
    const limits = resolveLimits(options);
    const keepAlive = options.keepAlive ?? 15_000;
    if (keepAlive !== false && (typeof keepAlive !== "number" || !(keepAlive > 0))) {
      throw new RangeError(`Cannot create SSEStream: "keepAlive" must be a positive number or false, got ${String(keepAlive)}`);
    }
    const drainTimeout = options.drainTimeout ?? 30_000;
    if (drainTimeout !== false && (typeof drainTimeout !== "number" || !(drainTimeout > 0))) {
      throw new RangeError(
        `Cannot create SSEStream: "drainTimeout" must be a positive number or false, got ${String(drainTimeout)}`,
      );
    }
    const maxDuration = options.maxDuration ?? false;
    if (maxDuration !== false && (typeof maxDuration !== "number" || !(maxDuration > 0))) {
      throw new RangeError(
        `Cannot create SSEStream: "maxDuration" must be a positive number or false, got ${String(maxDuration)}`,
      );
    }
    const core = new StreamCore(limits, options.serialize ? { serialize: options.serialize } : undefined);
    // Zero: pull() runs only while the client waits for a chunk, which is what lets events
    // that arrive meanwhile be coalesced into one chunk.
    super(core, { highWaterMark: 0 });
    this.#core = core;
    if (events !== undefined) core.gate = new EventGate(events, "Cannot send event", options.serialize);
    setChunkSinkSource(this, core);
    const metrics = options.metrics;
    if (metrics !== undefined) {
      core.metrics = metrics;
      core.openedAt = performance.now();
      _record(metrics, "streamOpened", "stream");
    }
    if (options.retry !== undefined) core.write(encodeEvent({ retry: options.retry }));
    const external = options.signal;
    if (external) {
      if (external.aborted) {
        core.externalReason = external.reason;
        core.finish("client");
      } else {
        core.external = external;
        external.addEventListener("abort", core, { once: true });
      }
    }
    if (core.state !== "open") return;
    startTimer(core, keepAlive, drainTimeout);
    if (maxDuration !== false) {
      const retry = encodeEvent({ retry: options.retry ?? 1000 });
      core.expiry = setTimeout(
        () => {
          core.push(retry);
          core.close("max-duration");
        },
        maxDuration - Math.min(1000, maxDuration / 10),
      );
      (core.expiry as { unref?: () => void }).unref?.();
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
   * if the event is invalid, before any of it is written; on a typed stream (the `events` option),
   * with an `EventValidationError` if its name is not in the map or its data fails the schema.
   */
  send(event: EventOf<M>): Promise<boolean> {
    const core = this.#core;
    if (core.gate !== undefined) return sendTyped(core, core.gate, event);
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
    this.#core.close("server");
  }

  /**
   * Wraps the stream in a `Response` with the event-stream headers (see
   * {@linkcode sseHeaders}); `init.headers` are merged in.
   */
  toResponse(init: ResponseInit = {}): Response {
    // Without extra headers, one frozen record serves every response: building a Headers object
    // per response costs a few microseconds, which counts when connections are short.
    const headers = init.headers === undefined ? DEFAULT_HEADERS : sseHeaders(init.headers);
    return sinkableResponse(this, { ...init, headers });
  }

  static {
    closeStream = (stream, reason) => stream.#core.close(reason);
    cutStream = (stream, reason) => stream.#core.cut(reason);
  }
}

/** The typed path of `send()`: validated in call order by the gate, then encoded and written. */
function sendTyped(core: StreamCore, gate: EventGate, event: SSEEvent): Promise<boolean> {
  try {
    return Promise.resolve(gate.pass(event, (checked) => core.write(encodeEvent(checked, core.encodeOptions))));
  } catch (error) {
    return Promise.reject(error);
  }
}

const DEFAULT_LIMITS = Object.freeze({ maxQueued: 64, maxQueuedBytes: 1_048_576, maxWaiting: 1024 });

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`Cannot create SSEStream: "${name}" must be a positive integer, got ${String(value)}`);
  }
  return value;
}

/** The queue bounds, checked; one shared object when none is given (creating a stream is hot: bench/churn.ts). */
function resolveLimits(options: SSEStreamOptions): StreamCore["limits"] {
  const { maxQueued, highWaterMark, maxQueuedBytes, maxWaiting } = options;
  if (maxQueued === undefined && highWaterMark === undefined && maxQueuedBytes === undefined && maxWaiting === undefined) {
    return DEFAULT_LIMITS;
  }
  return {
    maxQueued:
      maxQueued !== undefined
        ? positiveInteger(maxQueued, "maxQueued")
        : highWaterMark !== undefined
          ? positiveInteger(highWaterMark, "highWaterMark")
          : 64,
    maxQueuedBytes:
      maxQueuedBytes === undefined ? DEFAULT_LIMITS.maxQueuedBytes : positiveInteger(maxQueuedBytes, "maxQueuedBytes"),
    maxWaiting: maxWaiting === undefined ? DEFAULT_LIMITS.maxWaiting : positiveInteger(maxWaiting, "maxWaiting"),
  };
}

/**
 * One timer per stream for keep-alives and the drain deadline: it ticks at the keep-alive
 * interval, or four times per `drainTimeout` when that is shorter, so the deadline is enforced
 * between 1 and 1.25 × `drainTimeout` after the client's last read.
 */
function startTimer(core: StreamCore, keepAlive: number | false, drainTimeout: number | false): void {
  if (keepAlive === false && drainTimeout === false) return;
  const period = Math.min(keepAlive === false ? Infinity : keepAlive, drainTimeout === false ? Infinity : drainTimeout / 4);
  const keepAliveTicks = keepAlive === false ? 0 : Math.max(1, Math.round(keepAlive / period));
  const drainTicks = drainTimeout === false ? 0 : Math.ceil(drainTimeout / period);
  const keepAliveText = keepAlive === false ? undefined : KEEP_ALIVE;
  let ticks = 0;
  core.timer = setInterval(() => core.tick(++ticks, keepAliveText, keepAliveTicks, drainTicks), period);
  // Node and Bun: an idle stream alone should not keep the process alive.
  (core.timer as { unref?: () => void }).unref?.();
}
