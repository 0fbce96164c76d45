/**
 * The state and logic of one `SSEStream`: its bounded queue and bounded waiting list, coalescing,
 * keep-alive and drain deadline on one timer, `maxDuration`, and the one place where it ends.
 *
 * @module
 */

import type { ChunkSink, ChunkSinkSource, SinkControl } from "./_chunk-sink.ts";
import { type CloseReason, cutError } from "./_close-reason.ts";
import type { EventGate } from "./_event-gate.ts";
import { joinCount, joinWrites, type QueuedWrite, sizeOf } from "./_join.ts";
import type { EncodeOptions } from "./event.ts";
import { _record, type SSEMetrics } from "./metrics.ts";

/** The resolved bounds and timers of one stream. */
export interface StreamLimits {
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly maxWaiting: number;
}

interface Waiter {
  chunk: QueuedWrite;
  resolve: (accepted: boolean) => void;
}

type State = "open" | "closing" | "closed";

const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
// Stateless, so one serves every stream.
const ENCODER = new TextEncoder();

// A macrotask (Node, Bun, Deno): runs after the promise reactions of the current task and after
// pending I/O. Taken at load, so that a test's fake timers do not hold a stream's chunks. Where it
// does not exist (Workers), a read is answered at once, as without it.
const later = (globalThis as { setImmediate?: (callback: (core: StreamCore) => void, core: StreamCore) => unknown }).setImmediate;

function endBurst(core: StreamCore): void {
  core.burst = false;
  if (core.waiting) core.drain();
}

// What hertz-sse gives as the signal's abort reason when nobody else gave one, made only when an
// AbortSignal needs it: a DOMException captures a stack trace, which costs about 10 µs, and most
// are never read.
function abortReason(reason: CloseReason): DOMException {
  if (reason === "client") return new DOMException("The client went away", "AbortError");
  if (reason === "slow-consumer" || reason === "drain-timeout") return cutError(reason);
  if (reason === "max-duration") return new DOMException("The stream reached its maxDuration", "AbortError");
  return new DOMException("The stream was closed", "AbortError");
}

/**
 * The underlying source of an `SSEStream`'s `ReadableStream`.
 *
 * Kept apart from the stream object because on Node 20 a `ReadableStream` is made by a native
 * constructor, and each field then added to it (a subclass's fields included) costs about a
 * microsecond: with all of its fields on the stream, creating an `SSEStream` took about 45 µs,
 * most of a short-lived connection's budget (bench/churn.ts).
 */
export class StreamCore implements UnderlyingDefaultSource<Uint8Array>, ChunkSinkSource, SinkControl {
  readonly limits: StreamLimits;
  readonly encodeOptions: EncodeOptions | undefined;
  readonly closed: Promise<void>;
  /** Created when `signal` is first read: most streams end without anyone asking for it. */
  abort: AbortController | undefined = undefined;
  /** Why the stream ended, once it has; `undefined` while open. */
  endReason: CloseReason | undefined = undefined;
  /** The external signal's reason, when that is what ended the stream. */
  externalReason: unknown = undefined;
  controller!: ReadableStreamDefaultController<Uint8Array>;
  queue: QueuedWrite[] = [];
  queuedBytes = 0;
  queueHasBytes = false;
  waiters: Waiter[] = [];
  /** The consumer can take a chunk now: a read is pending, or the attached sink is ready. */
  waiting = false;
  /**
   * A chunk went to a read already in this task: a producer sending in a loop is running. The
   * next read is then answered in a later task, with everything sent meanwhile joined, instead
   * of one event per read (a server's read loop and an awaiting producer otherwise take turns,
   * one event each, at about a microsecond per turn). A live stream's sparse events, each in a
   * task of its own, still go out at once.
   */
  burst = false;
  /** Where chunks go instead of the stream's controller, once an adapter has attached one. */
  sink: ChunkSink | undefined = undefined;
  /** The typed stream's validation (the `events` option); `undefined` for an untyped stream. */
  gate: EventGate | undefined = undefined;
  state: State = "open";
  timer: ReturnType<typeof setInterval> | undefined = undefined;
  expiry: ReturnType<typeof setTimeout> | undefined = undefined;
  resolveClosed!: () => void;
  external: AbortSignal | undefined = undefined;
  /** Chunks handed to the consumer so far, and at the last tick: the drain deadline's clock. */
  reads = 0;
  readsAtTick = 0;
  stalledTicks = 0;
  /** The `metrics` option; every call site tests this one field, so no metrics cost nothing. */
  metrics: SSEMetrics | undefined = undefined;
  /** `performance.now()` when the stream opened, taken only with metrics. */
  openedAt = 0;

  constructor(limits: StreamLimits, encodeOptions: EncodeOptions | undefined) {
    this.limits = limits;
    this.encodeOptions = encodeOptions;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /** The `AbortSignal` of `SSEStream.signal`, made on first use (aborted already if the stream has ended). */
  get signal(): AbortSignal {
    if (this.abort === undefined) {
      this.abort = new AbortController();
      if (this.endReason !== undefined) this.abort.abort(this.#abortValue());
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
    if (!this.burst) this.drain();
  }

  /** Stream source, and sink control: the client went away. */
  cancel(reason?: unknown): void {
    if (this.state !== "closed" && reason !== undefined) this.externalReason = reason;
    this.finish("client");
  }

  /** The external signal's `abort` listener: the request was aborted, so the client is gone. */
  handleEvent(): void {
    const external = this.external;
    if (external === undefined) return;
    this.externalReason = external.reason;
    this.finish("client");
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

  write(chunk: QueuedWrite): Promise<boolean> {
    if (this.state !== "open") return FALSE;
    const queue = this.queue;
    if (this.waiting && queue.length === 0 && !this.burst) {
      // The client is waiting: no coalescing to gain, send it now.
      this.deliver(typeof chunk === "string" ? ENCODER.encode(chunk) : chunk, false, 1);
      return TRUE;
    }
    if (this.waiters.length === 0 && this.fits(sizeOf(chunk))) {
      this.push(chunk);
      return TRUE;
    }
    if (this.waiters.length >= this.limits.maxWaiting) {
      return Promise.reject(
        new RangeError(`Cannot send: ${this.limits.maxWaiting} sends are already waiting for the client to read (maxWaiting)`),
      );
    }
    return new Promise((resolve) => {
      this.waiters.push({ chunk, resolve });
    });
  }

  /** Whether a chunk of `size` fits in the queue now; an empty queue takes any one chunk. */
  fits(size: number): boolean {
    const queue = this.queue;
    if (queue.length === 0) return true;
    return queue.length < this.limits.maxQueued && this.queuedBytes + size <= this.limits.maxQueuedBytes;
  }

  push(chunk: QueuedWrite): void {
    this.queue.push(chunk);
    if (typeof chunk === "string") this.queuedBytes += chunk.length;
    else {
      this.queuedBytes += chunk.byteLength;
      this.queueHasBytes = true;
    }
  }

  /** Ends gracefully: what is queued, and the sends waiting for room, are still delivered. */
  close(reason: CloseReason): void {
    if (this.state !== "open") return;
    this.state = "closing";
    // Sends that were waiting for room were made before close(): deliver them too.
    for (const waiter of this.waiters) {
      this.push(waiter.chunk);
      waiter.resolve(true);
    }
    this.waiters = [];
    this.cleanup(reason);
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
      const chunk = this.takeChunk(queue);
      const count = queue.length - this.queue.length;
      const waiters = this.waiters;
      this.deliver(chunk, waiters.length > 0, count);
      if (waiters.length > 0) this.admit();
    }
  }

  /** Lets waiting sends into the queue, in order, as far as it has room. */
  admit(): void {
    const waiters = this.waiters;
    let n = 0;
    while (n < waiters.length && this.fits(sizeOf(waiters[n]!.chunk))) {
      const waiter = waiters[n++]!;
      this.push(waiter.chunk);
      waiter.resolve(true);
    }
    if (n > 0) waiters.splice(0, n);
  }

  /** Hands one chunk, of `count` writes, to the waiting consumer. */
  deliver(chunk: Uint8Array, backlog: boolean, count: number): void {
    this.reads++;
    if (this.metrics !== undefined) _record(this.metrics, "eventsSent", "stream", count, chunk.byteLength);
    const sink = this.sink;
    if (sink === undefined) {
      // A pull asks for one chunk; the next read asks again.
      this.waiting = false;
      if (!this.burst && later !== undefined) {
        this.burst = true;
        later(endBurst, this);
      }
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

  /**
   * Takes the next chunk from the queue: all of it, or as much as fits in `MAX_CHUNK` (see
   * `_join.ts`); the rest waits for the next read.
   */
  takeChunk(queue: QueuedWrite[]): Uint8Array {
    const n = joinCount(queue, this.queuedBytes);
    if (n === queue.length) {
      const hasBytes = this.queueHasBytes;
      this.queue = [];
      this.queuedBytes = 0;
      this.queueHasBytes = false;
      return joinWrites(queue, hasBytes);
    }
    const writes = queue.slice(0, n);
    let size = 0;
    let hasBytes = false;
    for (const write of writes) {
      size += sizeOf(write);
      if (typeof write !== "string") hasBytes = true;
    }
    this.queue = queue.slice(n);
    this.queuedBytes -= size;
    if (hasBytes) this.queueHasBytes = this.queue.some((write) => typeof write !== "string");
    return joinWrites(writes, hasBytes);
  }

  /**
   * Runs on each tick of the stream's timer: cuts the stream when something has waited for the
   * client for `drainTicks` ticks in a row without a read, and sends a keep-alive comment every
   * `keepAliveTicks` ticks while nothing is queued.
   */
  tick(ticks: number, keepAlive: string | undefined, keepAliveTicks: number, drainTicks: number): void {
    if (this.state !== "open") return;
    if (drainTicks > 0) {
      const stalled = this.queue.length > 0 && !this.waiting && this.reads === this.readsAtTick;
      this.readsAtTick = this.reads;
      this.stalledTicks = stalled ? this.stalledTicks + 1 : 0;
      if (this.stalledTicks >= drainTicks) {
        this.cut("drain-timeout");
        return;
      }
    }
    if (keepAlive !== undefined && ticks % keepAliveTicks === 0 && this.queue.length === 0) void this.write(keepAlive);
  }

  /**
   * Cuts the stream: drops what is queued and errors the body (or aborts the sink), which makes
   * the runtime destroy the connection and free what it buffered for this client.
   */
  cut(reason: CloseReason): void {
    if (this.state === "closed") return;
    this.finish(reason, true);
  }

  /** The client went away, the stream was cut, or the external signal aborted: drop everything, once. */
  finish(reason: CloseReason, abortive = false): void {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    this.queue = [];
    this.queuedBytes = 0;
    this.queueHasBytes = false;
    for (const waiter of this.waiters) waiter.resolve(false);
    this.waiters = [];
    this.waiting = false;
    if (wasOpen) this.cleanup(reason);
    if (!abortive) {
      // An external abort does not cancel the body by itself: end it for the consumer, if any.
      this.end();
      return;
    }
    const sink = this.sink;
    if (sink !== undefined) {
      if (sink.destroy !== undefined) sink.destroy();
      else sink.end();
      return;
    }
    try {
      this.controller.error(cutError(reason));
    } catch {
      // Already closed or cancelled by the consumer.
    }
  }

  /**
   * The one place where a stream ends, with why: runs once per stream, stops the timers,
   * detaches from the external signal, aborts the signal (if anyone has asked for it), resolves
   * `closed`.
   */
  cleanup(reason: CloseReason): void {
    this.endReason = reason;
    if (this.metrics !== undefined) {
      _record(this.metrics, "streamClosed", { kind: "stream", reason, duration: performance.now() - this.openedAt });
    }
    if (this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.expiry !== undefined) {
      clearTimeout(this.expiry);
      this.expiry = undefined;
    }
    if (this.external !== undefined) {
      this.external.removeEventListener("abort", this);
      this.external = undefined;
    }
    this.abort?.abort(this.#abortValue());
    this.resolveClosed();
  }

  #abortValue(): unknown {
    return this.externalReason !== undefined ? this.externalReason : abortReason(this.endReason!);
  }
}
