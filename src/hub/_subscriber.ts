/**
 * One subscriber of a hub: a light, pull-based `ReadableStream` source of byte chunks shared with
 * every other subscriber, with a bounded queue, the hub's slow-consumer policy and a drain
 * deadline. Internal to the hub.
 *
 * @module
 */

import { concatChunks } from "../_internal/bytes.ts";
import { type ChunkSink, type ChunkSinkSource, type SinkControl, setChunkSinkSource } from "../core/stream.ts";

/** What a {@linkcode HubSubscriber} needs from its hub. */
export interface SubscriberHost {
  /** How many times the hub's shared timer has fired: the coarse clock of the drain deadline. */
  readonly ticks: number;
  /** How many chunks may wait for the client to read them (see `SSEHubOptions.maxQueued`). */
  readonly maxQueued: number;
  /** The policy for a full queue: drop the oldest chunk (`true`) or disconnect (`false`). */
  readonly dropOldest: boolean;
  /** Called exactly once when the subscriber ends, for whatever reason. */
  release(subscriber: HubSubscriber): void;
}


// Zero: pull() runs only while the client waits for a chunk, so the subscriber always knows
// whether a chunk can go out at once or must wait in its own (bounded) queue; nothing ever sits in
// the stream's internal queue except the last chunks of a graceful end. Shared by all subscribers.
const STRATEGY: QueuingStrategy<Uint8Array> = { highWaterMark: 0 };

interface Held {
  readonly id: string | undefined;
  readonly frame: Uint8Array;
}

/**
 * The state of one subscription, and the underlying source of its response body.
 *
 * It is its own `ReadableStream` source and its own `abort` listener (`handleEvent`), so that a
 * subscriber costs a handful of fields and no closures. The hot path, {@linkcode push}, makes no
 * promise and no allocation when the client is waiting for data (the usual case): the shared
 * chunk is handed to the pending read. Otherwise it is queued, up to the host's `maxQueued`; a
 * queued backlog goes out as one joined chunk on the client's next read.
 *
 * Every way of ending (the body's `cancel()`, the request's `abort`, {@linkcode end},
 * {@linkcode disconnect}) releases the subscriber from its host exactly once.
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
  readonly #host: SubscriberHost;
  /** The body's controller; dropped once a sink is attached, so that the unused stream can be collected. */
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined = undefined;
  #body: ReadableStream<Uint8Array> | undefined;
  #sink: ChunkSink | undefined = undefined;
  #queue: Uint8Array[] | undefined = undefined;
  #held: Held[] | undefined = undefined;
  #signal: AbortSignal | undefined = undefined;
  /** `host.ticks` when the queue last became non-empty. */
  #since = 0;
  /** Timer ticks in a row with nothing sent. */
  #idle = 0;
  /** A read is pending, or the sink is ready: the next chunk can be handed over at once. */
  #waiting = false;
  /** Something was sent since the last tick. */
  #active = false;
  #closed = false;

  /** Creates the subscriber; nothing is sent until {@linkcode push}. */
  constructor(host: SubscriberHost, request: Request, topics: readonly string[]) {
    this.#host = host;
    this.request = request;
    this.topics = topics;
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
    return (this.#queue?.length ?? 0) + (this.#held?.length ?? 0);
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
    this.#finish();
  }

  /** Chunk sink source: chunks go to `sink` from now on. */
  attachSink(sink: ChunkSink): SinkControl {
    this.#sink = sink;
    this.#controller = undefined;
    if (this.#closed) sink.end();
    else this.ready();
    return this;
  }

  /** Sink control (and what a pull does): the client can take a chunk. Sends the backlog as one chunk, or waits for the next push. */
  ready(): void {
    const queue = this.#queue;
    if (queue !== undefined) {
      this.#queue = undefined;
      this.#waiting = true;
      this.#deliver(queue.length === 1 ? queue[0]! : concatChunks(queue));
    } else if (!this.#closed) {
      this.#waiting = true;
    }
  }

  /** The request's `abort` listener: the client went away. */
  handleEvent(): void {
    if (this.#closed) return;
    this.#finish();
    this.#close();
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
    const held = this.#held;
    if (held === undefined) {
      this.#enqueue(frame);
    } else if (held.length >= this.#host.maxQueued) {
      // Too much arrived while the replay was read: the client reconnects and replays again.
      this.disconnect();
    } else {
      held.push({ id, frame });
    }
  }

  /** Starts holding live chunks back while an asynchronous replay is read. */
  hold(): void {
    if (!this.#closed) this.#held = [];
  }

  /**
   * Stops holding: sends `first` (the replay, or the reset event), then the held chunks whose id
   * is not in `skip` (those the replay already contained), all as one chunk.
   */
  resume(first: Uint8Array | undefined, skip: ReadonlySet<string> | undefined): void {
    const held = this.#held;
    this.#held = undefined;
    if (this.#closed) return;
    const chunks: Uint8Array[] = first === undefined ? [] : [first];
    if (held !== undefined) {
      for (const { id, frame } of held) {
        if (id === undefined || skip === undefined || !skip.has(id)) chunks.push(frame);
      }
    }
    if (chunks.length > 0) this.#enqueue(chunks.length === 1 ? chunks[0]! : concatChunks(chunks));
  }

  /**
   * Runs on each tick of the hub's shared timer: disconnects a subscriber whose queue has not
   * drained for more than `drainTicks` ticks, and sends `keepAlive` to one that has been sent
   * nothing for `keepAliveTicks` ticks.
   */
  tick(ticks: number, keepAlive: Uint8Array | undefined, keepAliveTicks: number, drainTicks: number): void {
    if (this.#closed) return;
    if (this.#queue !== undefined) {
      // The queue became non-empty during tick `since`; `ticks - since - 1` whole intervals have
      // passed since, so it is never disconnected early.
      if (drainTicks > 0 && ticks - this.#since > drainTicks) this.disconnect();
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
   * ends. For the hub's `close()`.
   */
  end(last?: Uint8Array): void {
    if (this.#closed) return;
    const queue = this.#queue ?? [];
    if (last !== undefined) queue.push(last);
    if (queue.length > 0) {
      const chunk = queue.length === 1 ? queue[0]! : concatChunks(queue);
      if (this.#sink !== undefined) this.#sink.write(chunk, false);
      else {
        try {
          this.#controller?.enqueue(chunk);
        } catch {
          // The consumer cancelled the body meanwhile.
        }
      }
    }
    this.#finish();
    this.#close();
  }

  /**
   * Ends at once, dropping what is queued: for a slow consumer. The body ends cleanly (no error),
   * and the client reconnects with the id of the last event it received.
   */
  disconnect(): void {
    if (this.#closed) return;
    this.#finish();
    this.#close();
  }

  #enqueue(frame: Uint8Array): void {
    this.#active = true;
    if (this.#waiting) {
      this.#deliver(frame);
      return;
    }
    const queue = this.#queue;
    if (queue === undefined) {
      this.#queue = [frame];
      this.#since = this.#host.ticks;
      return;
    }
    if (queue.length >= this.#host.maxQueued) {
      if (!this.#host.dropOldest) {
        this.disconnect();
        return;
      }
      queue.shift();
    }
    queue.push(frame);
  }

  /** Hands a chunk to the waiting client: one per pull, as many as the sink takes. */
  #deliver(frame: Uint8Array): void {
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

  #close(): void {
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

  /** Runs once: drops the queue, detaches from the signal, tells the host. */
  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = undefined;
    this.#held = undefined;
    this.#waiting = false;
    if (this.#signal !== undefined) {
      this.#signal.removeEventListener("abort", this);
      this.#signal = undefined;
    }
    this.#host.release(this);
  }
}
