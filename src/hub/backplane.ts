/**
 * The backplane: the seam between a hub and where its events come from and where their history
 * lives. The in-memory backplane serves one process; a Redis Streams backplane or a Durable Object
 * implements the same interface to serve many instances with the same ids and shared replay.
 *
 * @module
 */

/**
 * An event as a backplane carries it: plain strings and a number, with `data` already serialised
 * by the publishing hub, so that any backplane can store it (a Redis stream entry's fields, a
 * Durable Object's storage) and every instance encodes exactly the same bytes from it.
 *
 * @example Usage
 * ```ts
 * import type { BackplaneEvent } from "@hertz/sse/hub";
 *
 * const event: BackplaneEvent = { event: "price", data: '{"symbol":"AAPL","price":189.5}' };
 * ```
 */
export interface BackplaneEvent {
  /** The event type (`event:` field). */
  readonly event?: string;
  /** The serialised payload; line breaks become several `data:` lines. */
  readonly data?: string;
  /** A comment sent before the fields. */
  readonly comment?: string;
  /** A `retry:` value in milliseconds. */
  readonly retry?: number;
  /**
   * The publisher's own id, when it chose one; absent to let the backplane assign one. A backplane
   * that cannot store ids it did not assign (Redis stream ids must increase) rejects the publish.
   */
  readonly id?: string;
}

/**
 * One event in a topic's history, as a backplane delivers it live and returns it from
 * {@linkcode Backplane.history}.
 *
 * @example Usage
 * ```ts
 * import type { BackplaneEntry } from "@hertz/sse/hub";
 *
 * const entry: BackplaneEntry = { topic: "prices", id: "1732611434000-7", event: { data: "189.5" } };
 * ```
 */
export interface BackplaneEntry {
  /** The topic the event was published to. */
  readonly topic: string;
  /**
   * The event's id, sent to clients as its `id:` field: the publisher's own, or the one the
   * backplane assigned (for Redis, the stream entry id). It overrides `event.id`.
   */
  readonly id: string;
  /** The event, without its id. */
  readonly event: BackplaneEvent;
  /**
   * The entry's wire bytes. Backplanes leave it unset; the hub fills it on first delivery, so a
   * backplane that keeps entry objects in memory and returns the same objects from `history()`
   * spares the hub from encoding them again. Never modify the bytes: they are shared by every
   * subscriber.
   */
  frame?: Uint8Array;
}

/**
 * Receives the entries of a topic, in order, each once. It must not throw.
 *
 * @example Usage
 * ```ts
 * import type { BackplaneListener } from "@hertz/sse/hub";
 *
 * const listener: BackplaneListener = (entry) => console.log(entry.topic, entry.id);
 * ```
 */
export type BackplaneListener = (entry: BackplaneEntry) => void;

/**
 * What {@linkcode Backplane.subscribe} returns.
 *
 * @example Usage
 * ```ts
 * import { MemoryBackplane } from "@hertz/sse/hub";
 *
 * const backplane = new MemoryBackplane();
 * const subscription = backplane.subscribe("news", (entry) => console.log(entry.id));
 * await subscription.ready;
 * subscription.unsubscribe();
 * ```
 */
export interface BackplaneSubscription {
  /**
   * Resolves once live delivery has started: every entry published after that reaches the
   * listener. The hub waits for it before it reads history for a reconnecting client, which is
   * what makes the hand-over from replay to live free of gaps. Absent when delivery is live at
   * once (the in-memory backplane).
   */
  readonly ready?: Promise<void>;
  /** Stops delivery to the listener. Calling it again does nothing. */
  unsubscribe(): void;
}

/**
 * The answer of {@linkcode Backplane.history}: the retained entries after an id, oldest first, or
 * `gone` when the backplane cannot tell what came after it (the id was evicted, expired, or never
 * issued by this backplane), in which case `lastId` is the newest id it holds for the topics, if
 * any.
 *
 * @example Usage
 * ```ts
 * import { type BackplaneHistory, MemoryBackplane } from "@hertz/sse/hub";
 *
 * const backplane = new MemoryBackplane();
 * const first = backplane.publish("news", { data: "a" });
 * backplane.publish("news", { data: "b" });
 * const history: BackplaneHistory = await backplane.history(["news"], first);
 * if (!history.gone) console.log(history.entries.map((entry) => entry.event.data)); // ["b"]
 * ```
 */
export type BackplaneHistory =
  | { readonly gone: false; readonly entries: readonly BackplaneEntry[] }
  | { readonly gone: true; readonly lastId?: string };

/**
 * Where a hub's events come from and where their history lives.
 *
 * - **Ids.** `publish()` returns the entry's id: the publisher's own (`event.id`) or one the
 *   backplane assigns. Ids are unique, and the backplane orders the entries of all its topics in
 *   one sequence, so that an id from any topic marks a point in that sequence for `history()`.
 *   (Redis: stream entry ids; in memory: `<start>-<n>`.)
 * - **Delivery.** Every entry, including those published through this instance, reaches local
 *   subscribers only through the listeners given to `subscribe()`, on every instance, in
 *   publication order per topic, each once. The hub never delivers a publish directly, so
 *   ids and order are the same everywhere.
 * - **History.** `history(topics, afterId)` returns every retained entry of `topics` published
 *   after `afterId`, in publication order; or `gone` when an entry after it is no longer retained
 *   or the id is unknown. The hub turns `gone` into its reset event.
 * - **Sync or async.** Any method may answer synchronously (the in-memory backplane does, which
 *   lets the hub replay and go live in one step) or with a promise (Redis).
 *
 * @example A logging wrapper
 * ```ts
 * import { type Backplane, MemoryBackplane, SSEHub } from "@hertz/sse/hub";
 *
 * const inner = new MemoryBackplane();
 * const backplane: Backplane = {
 *   publish: (topic, event) => {
 *     console.log("publish", topic);
 *     return inner.publish(topic, event);
 *   },
 *   subscribe: (topic, listener) => inner.subscribe(topic, listener),
 *   history: (topics, afterId) => inner.history(topics, afterId),
 *   close: () => inner.close(),
 * };
 * const hub = new SSEHub({ backplane });
 * ```
 */
export interface Backplane {
  /**
   * Appends `event` to `topic`'s history and delivers it to the topic's listeners on every
   * instance. Returns (or resolves with) the entry's id once the backplane has accepted it;
   * throws (or rejects) if it cannot, never dropping the event silently.
   */
  publish(topic: string, event: BackplaneEvent): string | Promise<string>;
  /** Starts delivering `topic`'s new entries to `listener`. */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription;
  /** The retained entries of `topics` published after `afterId`, or `gone`. */
  history(topics: readonly string[], afterId: string): BackplaneHistory | Promise<BackplaneHistory>;
  /** Releases the backplane's connections, timers and memory. */
  close(): void | Promise<void>;
  /**
   * Optional: the group of `topic`. Topics of one group share one order, so that one id marks a
   * point in all of them; topics of different groups do not (Redis Cluster: one per hash slot). A
   * hub subscription spanning several groups sends each client a compound id, one position per
   * group joined by `,`, which `history()` must accept. Absent: every topic is in one group.
   */
  groupOf?(topic: string): string;
  /** Optional, with `groupOf`: the group whose order issued `id`, or `undefined` when it is not one of this backplane's ids. */
  groupOfId?(id: string): string | undefined;
  /**
   * Optional, with `groupOf`: the most groups a compound id may name. A hub refuses a subscription
   * spanning more with a 400.
   *
   * @default {64}
   */
  readonly maxGroups?: number;
}

/**
 * Hands an entry to every listener of a topic. One failing listener must not keep the entry from
 * the others, so its error is rethrown as an uncaught error, as an `EventTarget` does. For
 * backplane implementations.
 */
export function deliverEntry(listeners: Iterable<BackplaneListener>, entry: BackplaneEntry): void {
  for (const listener of listeners) {
    try {
      listener(entry);
    } catch (error) {
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
