/**
 * The in-memory backplane: the default one, for a hub (or several hubs) in one process.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { checkReplayOptions, historyAfter, ReplayLog, type ReplayLogOptions } from "./_replay-log.ts";
import {
  type Backplane,
  type BackplaneEntry,
  type BackplaneEvent,
  type BackplaneHistory,
  type BackplaneListener,
  type BackplaneSubscription,
  deliverEntry,
} from "./backplane.ts";

/**
 * Options for {@linkcode MemoryBackplane}: the bounds of each topic's replay log.
 *
 * @example Usage
 * ```ts
 * import { MemoryBackplane, type MemoryBackplaneOptions } from "@hertz/sse/hub";
 *
 * const options: MemoryBackplaneOptions = { maxEvents: 500, maxAge: 60_000 };
 * const backplane = new MemoryBackplane(options);
 * ```
 */
export interface MemoryBackplaneOptions {
  /**
   * How many events each topic keeps for replay. `0` keeps none: every reconnecting client gets
   * the reset event.
   *
   * @default {1000}
   */
  maxEvents?: number;
  /**
   * How long, in milliseconds, an event stays replayable; `Infinity` for no limit.
   *
   * @default {300000}
   */
  maxAge?: number;
}

class MemoryEntry implements BackplaneEntry {
  frame: Uint8Array | undefined = undefined;
  constructor(
    readonly topic: string,
    readonly id: string,
    readonly event: BackplaneEvent,
    readonly seq: number,
    readonly time: number,
  ) {}
}

class Channel {
  readonly listeners = new Set<BackplaneListener>();
  constructor(readonly log: ReplayLog<MemoryEntry>) {}
  get evictedSeq(): number {
    return this.log.evictedSeq;
  }
}

// Ids start with the backplane's creation time, made unique per process, so that ids issued
// before a restart never match ids issued after it: a client that reconnects across a restart
// gets the reset event instead of a replay from the wrong place.
let lastEpoch = 0;
function nextEpoch(): number {
  lastEpoch = Math.max(Date.now(), lastEpoch + 1);
  return lastEpoch;
}

// How many channels each publish checks for expiry, so that the memory of topics nobody
// publishes to or reads any more is released without a timer.
const SWEEP_PER_PUBLISH = 2;

/**
 * The default {@linkcode Backplane}: entries are delivered synchronously to the listeners of the
 * same process, and each topic keeps a replay log bounded by `maxEvents` and `maxAge`. Several
 * hubs may share one instance; they then see the same ids, as instances sharing Redis would.
 *
 * - **Ids** are `<start>-<n>`: `<start>` is the backplane's creation time in milliseconds,
 *   `<n>` counts publishes across all topics from 1. A publisher's own id is kept as given;
 *   publisher ids should be unique, or replay starts after the newest event with that id.
 * - **History** is answered synchronously, from the entry objects delivered live, so the hub
 *   replays the bytes it already encoded. An id is `gone` when it is unknown, or when an entry
 *   published after it was evicted from one of the topics asked for. The newest evicted entry of
 *   each topic is remembered, so a client whose last event has just expired, with nothing after
 *   it, resumes without a reset.
 * - **Memory** is bounded by `maxEvents` per topic. A topic's memory is released once its events
 *   have expired and nobody subscribes to it (checked a few topics per publish, and on reads).
 *
 * @example Two hubs, one backplane
 * ```ts
 * import { MemoryBackplane, SSEHub } from "@hertz/sse/hub";
 *
 * const backplane = new MemoryBackplane({ maxEvents: 100 });
 * const a = new SSEHub({ backplane });
 * const b = new SSEHub({ backplane });
 * await a.publish({ data: "seen by subscribers of both hubs" }, { topic: "news" });
 * ```
 */
export class MemoryBackplane implements Backplane {
  readonly #options: Required<ReplayLogOptions>;
  readonly #channels = new Map<string, Channel>();
  // Every retained entry by id, across topics: what lets an id from any topic mark a point in
  // the single sequence.
  readonly #index = new Map<string, MemoryEntry>();
  readonly #epoch = nextEpoch();
  #seq = 0;
  #closed = false;
  #sweep: Iterator<[string, Channel]> | undefined;
  readonly #onEvict = (entry: MemoryEntry): void => {
    if (this.#index.get(entry.id) === entry) this.#index.delete(entry.id);
  };

  /** Creates an empty backplane. */
  constructor(options: MemoryBackplaneOptions = {}) {
    this.#options = checkReplayOptions(options, "MemoryBackplane");
  }

  /**
   * Appends the event to the topic's log and delivers it, synchronously, to the topic's
   * listeners; returns its id.
   */
  publish(topic: string, event: BackplaneEvent): string {
    if (this.#closed) throw new TypeError("Cannot publish: the backplane is closed");
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`Cannot publish: "topic" must be a non-empty string, got ${describe(topic)}`);
    }
    if (event === null || typeof event !== "object") {
      throw new TypeError(`Cannot publish: expected an event object, got ${describe(event)}`);
    }
    const seq = ++this.#seq;
    const id = event.id ?? `${this.#epoch}-${seq}`;
    const entry = new MemoryEntry(topic, id, event, seq, Date.now());
    const channel = this.#channel(topic);
    this.#index.set(id, entry);
    channel.log.append(entry);
    deliverEntry(channel.listeners, entry);
    this.#sweepSome(entry.time);
    return id;
  }

  /** Starts delivering the topic's new entries to `listener`, synchronously; there is no `ready`. */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    if (this.#closed) throw new TypeError("Cannot subscribe: the backplane is closed");
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`Cannot subscribe: "topic" must be a non-empty string, got ${describe(topic)}`);
    }
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot subscribe: "listener" must be a function, got ${describe(listener)}`);
    }
    const channel = this.#channel(topic);
    channel.listeners.add(listener);
    let active = true;
    return {
      unsubscribe: () => {
        if (!active) return;
        active = false;
        channel.listeners.delete(listener);
        if (channel.listeners.size === 0 && channel.log.size === 0 && this.#channels.get(topic) === channel) {
          this.#channels.delete(topic);
        }
      },
    };
  }

  /** The retained entries of `topics` after `afterId`, in publication order, or `gone`; synchronous. */
  history(topics: readonly string[], afterId: string): BackplaneHistory {
    if (this.#closed) throw new TypeError("Cannot read history: the backplane is closed");
    const now = Date.now();
    const channels: Channel[] = [];
    for (const topic of topics) {
      const channel = this.#channels.get(topic);
      if (channel === undefined) continue;
      channel.log.expire(now);
      channels.push(channel);
    }
    let after = this.#index.get(afterId);
    if (after !== undefined) {
      // The entry may belong to a topic not asked for, whose log has not been expired yet.
      this.#channels.get(after.topic)?.log.expire(now);
      after = this.#index.get(afterId);
    }
    let seq = after?.seq;
    if (seq === undefined) {
      for (const channel of channels) {
        if (channel.log.lastEvicted?.id === afterId) seq = channel.log.lastEvicted.seq;
      }
    }
    return historyAfter(channels, seq);
  }

  /** Drops every log and listener; later calls throw. Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sweep = undefined;
    for (const channel of this.#channels.values()) {
      channel.listeners.clear();
      channel.log.clear();
    }
    this.#channels.clear();
    this.#index.clear();
  }

  #channel(topic: string): Channel {
    let channel = this.#channels.get(topic);
    if (channel === undefined) {
      channel = new Channel(new ReplayLog<MemoryEntry>(this.#options, this.#onEvict));
      this.#channels.set(topic, channel);
    }
    return channel;
  }

  #sweepSome(now: number): void {
    for (let i = 0; i < SWEEP_PER_PUBLISH; i++) {
      this.#sweep ??= this.#channels.entries();
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        return;
      }
      const [topic, channel] = next.value;
      channel.log.expire(now);
      if (channel.log.size === 0 && channel.listeners.size === 0) this.#channels.delete(topic);
    }
  }
}
