/**
 * The in-memory backplane: the default one, for a hub (or several hubs) in one process.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { checkReplayOptions } from "./_replay-log.ts";
import { checkTopic, TopicStore } from "./_topic-store.ts";
import type { Backplane, BackplaneEvent, BackplaneHistory, BackplaneListener, BackplaneSubscription } from "./backplane.ts";

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

// Ids start with the backplane's creation time, made unique per process, so that ids issued
// before a restart never match ids issued after it: a client that reconnects across a restart
// gets the reset event instead of a replay from the wrong place.
let lastEpoch = 0;
function nextEpoch(): number {
  lastEpoch = Math.max(Date.now(), lastEpoch + 1);
  return lastEpoch;
}

/**
 * The default {@linkcode Backplane}: entries are delivered synchronously to the listeners of the
 * same process, and each topic keeps a replay log bounded by `maxEvents` and `maxAge`. Several
 * hubs may share one instance; they then see the same ids, as instances sharing Redis would.
 *
 * - **Ids** are `<start>-<n>`: `<start>` is the backplane's creation time in milliseconds,
 *   `<n>` counts publishes across all topics from 1. A publisher's own id is kept as given; it
 *   must be unique among its topic's retained events (a repeat is refused with a `TypeError`).
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
  readonly #store: TopicStore;
  #closed = false;

  /** Creates an empty backplane. */
  constructor(options: MemoryBackplaneOptions = {}) {
    this.#store = new TopicStore(checkReplayOptions(options, "MemoryBackplane"), nextEpoch());
  }

  /**
   * Appends the event to the topic's log and delivers it, synchronously, to the topic's
   * listeners; returns its id.
   */
  publish(topic: string, event: BackplaneEvent): string {
    if (this.#closed) throw new TypeError("Cannot publish: the backplane is closed");
    checkTopic(topic, "Cannot publish");
    if (event === null || typeof event !== "object") {
      throw new TypeError(`Cannot publish: expected an event object, got ${describe(event)}`);
    }
    return this.#store.publish(topic, event).id;
  }

  /** Starts delivering the topic's new entries to `listener`, synchronously; there is no `ready`. */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    if (this.#closed) throw new TypeError("Cannot subscribe: the backplane is closed");
    checkTopic(topic, "Cannot subscribe");
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot subscribe: "listener" must be a function, got ${describe(listener)}`);
    }
    return { unsubscribe: this.#store.listen(topic, listener) };
  }

  /** The retained entries of `topics` after `afterId`, in publication order, or `gone`; synchronous. */
  history(topics: readonly string[], afterId: string): BackplaneHistory {
    if (this.#closed) throw new TypeError("Cannot read history: the backplane is closed");
    return this.#store.history(topics, afterId);
  }

  /** Drops every log and listener; later calls throw. Calling it again does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#store.clear();
  }
}
