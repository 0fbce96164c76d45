/**
 * One subscriber of a hub: a light, pull-based `ReadableStream` source of byte chunks shared with
 * every other subscriber, with a queue bounded in events and bytes, the hub's slow-consumer
 * policy, a drain deadline, and a replay backlog handed out in bounded pieces. Internal to the hub.
 *
 * @module
 */

import { concatChunks } from "../_internal/bytes.ts";
import { type ChunkSink, type ChunkSinkSource, type SinkControl, setChunkSinkSource } from "../core/_chunk-sink.ts";
import { type CloseReason, cutError } from "../core/_close-reason.ts";
import { _record, type SSEMetrics } from "../core/metrics.ts";
import type { CompoundIds } from "./_compound.ts";
import type { BackplaneEntry } from "./backplane.ts";

/** What a {@linkcode HubSubscriber} needs from its hub. */
export interface SubscriberHost {
  /** How many times the hub's shared timer has fired: the coarse clock of the deadlines. */
  readonly ticks: number;
  /** How many chunks may wait for the client to read them (see `SSEHubOptions.maxQueued`). */
  readonly maxQueued: number;
  /** How many bytes may wait for the client to read them (see `SSEHubOptions.maxQueuedBytes`). */
  readonly maxQueuedBytes: number;
  /** The policy for a full queue: drop the oldest chunk (`true`) or cut the connection (`false`). */
  readonly dropOldest: boolean;
  /** The hub's metrics, if any: told what goes out and what is dropped. */
  readonly metrics: SSEMetrics | undefined;
  /** Called exactly once when the subscriber ends, with why. */
  release(subscriber: HubSubscriber, reason: CloseReason): void;
}

// Zero: pull() runs only while the client waits for a chunk, so the subscriber always knows
// whether a chunk can go out at once or must wait in its own (bounded) queue; nothing ever sits in
// the stream's internal queue except the last chunks of a graceful end. Shared by all subscribers.
const STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: 0 };

/**
 * The most a replay piece joins into one chunk. A replay of up to `maxReplayBytes` goes out one
 * piece per read, so no chunk the size of the whole replay is ever built.
 */
const REPLAY_PIECE = 64 * 1024;

interface Held {
  readonly id: string | undefined;
  readonly frame: Uint8Array;
  /** For a compound subscriber: the entry, whose frame gets its id when it is released. */
  readonly entry?: BackplaneEntry;
}

/**
 * The state of one subscription, and the underlying source of its response body.
 *
 * It is its own `ReadableStream` source and its own `abort` listener (`handleEvent`), so that a
 * subscriber costs a handful of fields and no closures. The hot path, {@linkcode push}, makes no
 * promise and no allocation when the client is waiting for data (the usual case): the shared
 * chunk is handed to the pending read. Otherwise it is queued, up to the host's bounds; a queued
 * backlog goes out as one joined chunk on the client's next read.
 *
 * Every way of ending goes through {@linkcode HubSubscriber.stop} with a close reason, which
 * releases the subscriber from its host exactly once. A cut-off (slow consumer, drain deadline)
 * is abortive: the body errors (or the sink aborts), so the connection and its buffers go at once.
 *
 * A runtime adapter may attach a {@linkcode ChunkSink} to the body instead of reading it; chunks
 * then go to the sink, with the same queue and policy ("the client is waiting" becomes "the sink
 * is ready"). The subscriber is its own {@linkcode SinkControl}, so that costs no allocation either.
 */
export class HubSubscriber implements UnderlyingDefaultSource<Uint8Array>, EventListenerObject, ChunkSinkSource, SinkControl {
  /** The request that subscribed, for the hub's hooks. */
  readonly request: Request;
  /** The topics subscribed to. */
  readonly topics: readonly string[];
  /** `host.ticks` when the subscription started, for `maxDuration`. */
  readonly started: number;
  readonly #host: SubscriberHost;
  /** The body's controller; dropped once a sink is attached, so that the unused stream can be collected. */
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined = undefined;
  #body: ReadableStream<Uint8Array> | undefined;
  #sink: ChunkSink | undefined = undefined;
  #queue: Uint8Array[] | undefined = undefined;
  #queuedBytes = 0;
  /** A replay, and what was queued before it, handed out in pieces before the queue. */
  #backlog: Uint8Array[] | undefined = undefined;
  #backlogIndex = 0;
  #held: Held[] | undefined = undefined;
  #heldBytes = 0;
  #signal: AbortSignal | undefined = undefined;
  /** `host.ticks` when the client last read, or the queue last became non-empty, whichever is later. */
  #since = 0;
  /** Timer ticks in a row with nothing sent. */
  #idle = 0;
  /** A read is pending, or the sink is ready: the next chunk can be handed over at once. */
  #waiting = false;
  /** Something was sent since the last tick. */
  #active = false;
  #closed = false;
  /** How many frames the chunk that `#next()` returned holds (for metrics). */
  #count = 0;
  /** `performance.now()` when the subscription opened, taken only with metrics. */
  openedAt = 0;
  /** For a subscription spanning several groups of the backplane: its per-group positions (see `_compound.ts`). */
  compound: CompoundIds | undefined = undefined;

  /** Creates the subscriber; nothing is sent until {@linkcode push}. */
  constructor(host: SubscriberHost, request: Request, topics: readonly string[]) {
    this.#host = host;
    this.request = request;
    this.topics = topics;
    this.started = host.ticks;
    // start() runs synchronously inside the constructor and keeps the controller.
    this.#body = new ReadableStream<Uint8Array>(this, STRATEGY);
    setChunkSinkSource(this.#body, this);
  }

  /**
   * Hands over the response body, once. The subscriber keeps only the stream's controller, and
   * drops that too when a sink is attached: the stream costs about 2.5 KB on Node 20.
   */
  body(): ReadableStream<Uint8Array> {
    const body = this.#body!;
    this.#body = undefined;
    return body;
  }

  /** Whether the subscriber has ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** How many chunks wait for the client (for tests and diagnostics). */
  get queued(): number {
    const backlog = this.#backlog === undefined ? 0 : this.#backlog.length - this.#backlogIndex;
    return (this.#queue?.length ?? 0) + (this.#held?.length ?? 0) + backlog;
  }

  /** Stream source: keeps the controller. */
  start(controller: ReadableStreamDefaultController<Uint8Array>): void {
    this.#controller = controller;
  }

  /** Stream source: the client waits for data (see {@linkcode HubSubscriber.ready}). */
  pull(): void {
    this.ready();
  }

  /** Stream source, and sink control: the client went away. */
  cancel(): void {
    this.stop("client");
  }

  /** Chunk sink source: chunks go to `sink` from now on. */
  attachSink(sink: ChunkSink): SinkControl {
    this.#sink = sink;
    this.#controller = undefined;
    if (this.#closed) sink.end();
    else this.ready();
    return this;
  }

  /** Sink control (and what a pull does): the client can take a chunk. Sends the backlog, or waits for the next push. */
  ready(): void {
    if (this.#closed) return;
    this.#waiting = true;
    this.#since = this.#host.ticks;
    while (this.#waiting) {
      const chunk = this.#next();
      if (chunk === undefined) return;
      this.#deliver(chunk, this.#count);
    }
  }

  /** The request's `abort` listener: the client went away. */
  handleEvent(): void {
    this.stop("client");
  }

  /** Ends the subscription when `signal` aborts (at once if it has). */
  watch(signal: AbortSignal | undefined): void {
    if (signal === undefined || this.#closed) return;
    if (signal.aborted) {
      this.handleEvent();
      return;
    }
    this.#signal = signal;
    signal.addEventListener("abort", this);
  }

  /**
   * Sends a chunk: at once if the client is waiting, else through the bounded queue (or, during
   * an asynchronous replay, into the held list, with its entry `id` for de-duplication).
   */
  push(frame: Uint8Array, id?: string): void {
    if (this.#closed) return;
    if (this.#held === undefined) {
      this.#enqueue(frame);
      return;
    }
    this.#holdBack({ id, frame });
  }

  /** Keeps a live chunk back during an asynchronous replay, within the queue's bounds. */
  #holdBack(item: Held): void {
    const held = this.#held!;
    const host = this.#host;
    if (held.length >= host.maxQueued || this.#heldBytes + item.frame.byteLength > host.maxQueuedBytes) {
      // Too much arrived while the replay was read: the client reconnects and replays again.
      this.cut("slow-consumer");
      return;
    }
    held.push(item);
    this.#heldBytes += item.frame.byteLength;
  }

  /**
   * Sends an entry to a compound subscriber: its frame with the subscriber's compound id, made when
   * it goes out, so that the ids follow the order the client receives the events in.
   */
  pushEntry(entry: BackplaneEntry, frame: Uint8Array): void {
    if (this.#closed) return;
    if (this.#held === undefined) {
      this.#enqueue(this.compound!.frame(entry, frame));
      return;
    }
    this.#holdBack({ id: entry.id, frame, entry });
  }

  /** Starts holding live chunks back while an asynchronous replay is read. */
  hold(): void {
    if (!this.#closed) this.#held = [];
  }

  /**
   * Sets the replay (or the reset event) to go out before anything else that follows, after what
   * is already queued (the `retry:` field), in pieces of at most 64 KiB. Stops holding: the held
   * chunks whose id is not in `skip` (those the replay already contained) are queued after it.
   */
  replay(frames: readonly Uint8Array[], skip?: ReadonlySet<string>): void {
    const held = this.#held;
    this.#held = undefined;
    this.#heldBytes = 0;
    if (this.#closed) return;
    if (frames.length > 0) {
      const queue = this.#queue;
      this.#backlog = queue === undefined ? frames.slice() : queue.concat(frames);
      this.#backlogIndex = 0;
      this.#queue = undefined;
      this.#queuedBytes = 0;
      this.#since = this.#host.ticks;
    }
    if (held !== undefined) {
      for (const { id, frame, entry } of held) {
        if (id !== undefined && skip?.has(id)) continue;
        this.#enqueue(entry === undefined ? frame : this.compound!.frame(entry, frame));
      }
    }
    if (this.#waiting) this.ready();
  }

  /**
   * Runs on each tick of the hub's shared timer: cuts a subscriber that has had something queued
   * without reading for more than `drainTicks` ticks, and sends `keepAlive` to one that has been
   * sent nothing for `keepAliveTicks` ticks.
   */
  tick(ticks: number, keepAlive: Uint8Array | undefined, keepAliveTicks: number, drainTicks: number): void {
    if (this.#closed) return;
    if (this.#queue !== undefined || this.#backlog !== undefined) {
      // `since` is the tick during which the client last read or the queue filled; `ticks - since
      // - 1` whole intervals have passed since, so it is never cut early.
      if (drainTicks > 0 && ticks - this.#since > drainTicks) this.cut("drain-timeout");
      return;
    }
    if (keepAlive === undefined) return;
    if (this.#active) {
      this.#active = false;
      this.#idle = 0;
    } else if (++this.#idle >= keepAliveTicks) {
      this.#idle = 0;
      this.#enqueue(keepAlive);
      this.#active = false;
    }
  }

  /**
   * Ends gracefully: what is queued (and `last`, if given) is still delivered, then the body
   * ends. For the hub's `close()`, a deleted topic, and `maxDuration`.
   */
  end(reason: CloseReason, last?: Uint8Array): void {
    if (this.#closed) return;
    const chunks: Uint8Array[] = [];
    const backlog = this.#backlog;
    if (backlog !== undefined) chunks.push(...backlog.slice(this.#backlogIndex));
    if (this.#queue !== undefined) chunks.push(...this.#queue);
    if (last !== undefined) chunks.push(last);
    if (chunks.length > 0) {
      const chunk = chunks.length === 1 ? chunks[0]! : concatChunks(chunks);
      const metrics = this.#host.metrics;
      if (metrics !== undefined) _record(metrics, "eventsSent", "hub", chunks.length, chunk.byteLength);
      if (this.#sink !== undefined) this.#sink.write(chunk, false);
      else {
        try {
          this.#controller?.enqueue(chunk);
        } catch {
          // The consumer cancelled the body meanwhile.
        }
      }
    }
    this.stop(reason);
  }

  /**
   * Cuts the connection, dropping what is queued: for a slow or frozen client, and a failed
   * replay. Abortive: the body errors (a runtime then destroys the connection) or the sink aborts,
   * so no byte of it stays buffered anywhere. The client reconnects with its last id.
   */
  cut(reason: CloseReason): void {
    if (this.#closed) return;
    this.#finish(reason);
    const sink = this.#sink;
    if (sink !== undefined) {
      if (sink.destroy !== undefined) sink.destroy();
      else sink.end();
      return;
    }
    try {
      this.#controller?.error(cutError(reason));
    } catch {
      // Already closed, or cancelled by the consumer.
    }
  }

  /** The one place where a subscription ends: released once, with `reason`, and the body closed. */
  stop(reason: CloseReason): void {
    if (this.#closed) return;
    this.#finish(reason);
    if (this.#sink !== undefined) {
      this.#sink.end();
      return;
    }
    try {
      this.#controller?.close();
    } catch {
      // Already closed, or cancelled by the consumer.
    }
  }

  #enqueue(frame: Uint8Array): void {
    this.#active = true;
    if (this.#waiting && this.#backlog === undefined) {
      this.#deliver(frame, 1);
      return;
    }
    const queue = this.#queue;
    if (queue === undefined) {
      this.#queue = [frame];
      this.#queuedBytes = frame.byteLength;
      if (this.#backlog === undefined) this.#since = this.#host.ticks;
      return;
    }
    const host = this.#host;
    const bytes = this.#queuedBytes + frame.byteLength;
    if (queue.length >= host.maxQueued || bytes > host.maxQueuedBytes) {
      if (!host.dropOldest) {
        this.cut("slow-consumer");
        return;
      }
      this.#dropFor(frame.byteLength);
    }
    this.#queue!.push(frame);
    this.#queuedBytes += frame.byteLength;
  }

  /** Drops the oldest queued chunks until `bytes` more fit (drop-oldest policy). */
  #dropFor(bytes: number): void {
    const queue = this.#queue!;
    const host = this.#host;
    const before = queue.length;
    do {
      this.#queuedBytes -= queue.shift()!.byteLength;
    } while (queue.length > 0 && (queue.length >= host.maxQueued || this.#queuedBytes + bytes > host.maxQueuedBytes));
    if (host.metrics !== undefined) _record(host.metrics, "eventsDropped", "hub", "slow-consumer", before - queue.length);
  }

  /** The next chunk for the client: a piece of the backlog, else the whole queue joined, else nothing. */
  #next(): Uint8Array | undefined {
    const backlog = this.#backlog;
    if (backlog !== undefined) {
      let end = this.#backlogIndex;
      let bytes = 0;
      while (end < backlog.length && (bytes === 0 || bytes + backlog[end]!.byteLength <= REPLAY_PIECE)) {
        bytes += backlog[end]!.byteLength;
        end++;
      }
      const start = this.#backlogIndex;
      if (end >= backlog.length) this.#backlog = undefined;
      else this.#backlogIndex = end;
      this.#count = end - start;
      return end - start === 1 ? backlog[start]! : concatChunks(backlog.slice(start, end));
    }
    const queue = this.#queue;
    if (queue === undefined) return undefined;
    this.#queue = undefined;
    this.#queuedBytes = 0;
    this.#count = queue.length;
    return queue.length === 1 ? queue[0]! : concatChunks(queue);
  }

  /** Hands a chunk of `count` frames to the waiting client: one per pull, as many as the sink takes. */
  #deliver(frame: Uint8Array, count: number): void {
    const metrics = this.#host.metrics;
    if (metrics !== undefined) _record(metrics, "eventsSent", "hub", count, frame.byteLength);
    const sink = this.#sink;
    if (sink === undefined) {
      this.#waiting = false;
      this.#controller?.enqueue(frame);
      return;
    }
    // The hub never waits for a subscriber: there is no producer to let run first.
    const ready = sink.write(frame, false);
    // The sink may have reported a disconnect from inside write().
    if (!this.#closed) this.#waiting = ready;
  }

  /** Runs once: drops the queues, detaches from the signal, tells the host why. */
  #finish(reason: CloseReason): void {
    this.#closed = true;
    this.#queue = undefined;
    this.#queuedBytes = 0;
    this.#backlog = undefined;
    this.#held = undefined;
    this.#waiting = false;
    if (this.#signal !== undefined) {
      this.#signal.removeEventListener("abort", this);
      this.#signal = undefined;
    }
    this.#host.release(this, reason);
  }
}
