/**
 * The hub's backplane inside a Durable Object: the in-memory topic store, with its replay log
 * mirrored to the object's storage.
 *
 * @module
 */

import { describe } from "../../_internal/describe.ts";
import { logError } from "../../_internal/log.ts";
import { checkReplayOptions } from "../../hub/_replay-log.ts";
import { checkTopic, type StoreEntry, type Topic, TopicStore } from "../../hub/_topic-store.ts";
import type {
  Backplane,
  BackplaneEvent,
  BackplaneHistory,
  BackplaneListener,
  BackplaneSubscription,
} from "../../hub/backplane.ts";
import { StorageLog, type StoredMeta } from "./_storage-log.ts";
import type { DurableObjectStateLike } from "./types.ts";

/**
 * Options for {@linkcode DurableObjectBackplane}: the bounds of each topic's replay log and where
 * in the object's storage it lives.
 *
 * @example Usage
 * ```ts
 * import type { DurableObjectBackplaneOptions } from "@hertz/sse/cloudflare";
 *
 * const options: DurableObjectBackplaneOptions = { maxEvents: 200, maxAge: 60_000, prefix: "events:" };
 * ```
 */
export interface DurableObjectBackplaneOptions {
  /**
   * How many events each topic keeps for replay, in storage and in memory. `0` keeps none: every
   * reconnecting client gets the reset event.
   *
   * @default {1000}
   */
  maxEvents?: number;
  /**
   * How long, in milliseconds, an event stays replayable; `Infinity` for no limit (and then the
   * object's storage is never deleted when idle).
   *
   * @default {300000}
   */
  maxAge?: number;
  /**
   * The longest topic name accepted by `publish()` and `subscribe()`, in UTF-8 bytes; a longer one
   * is refused with a `RangeError`. Topic names are stored with every event.
   *
   * @default {256}
   */
  maxTopicBytes?: number;
  /**
   * The prefix of every storage key the backplane writes, so that the object's storage can hold
   * other data too (see docs/cloudflare.md for the layout).
   *
   * @default {"hertz-sse:"}
   */
  prefix?: string;
  /**
   * Receives errors nobody awaits: a failed storage write made by an eviction, an expiry noticed
   * by a read or the idle alarm, a stored entry that cannot be read back.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
}

const DEFAULT_MAX_TOPIC_BYTES = 256;

/** The event without `undefined` fields and without its id, which the entry carries. */
function compact(event: BackplaneEvent): BackplaneEvent {
  const out: { -readonly [K in keyof BackplaneEvent]: BackplaneEvent[K] } = {};
  if (event.event !== undefined) out.event = event.event;
  if (event.data !== undefined) out.data = event.data;
  if (event.comment !== undefined) out.comment = event.comment;
  if (event.retry !== undefined) out.retry = event.retry;
  return out;
}

/**
 * A {@linkcode Backplane} for a hub inside a Durable Object: delivery is local and synchronous, as
 * with the in-memory backplane (it shares its topic store), and each topic's replay log is also
 * written to the object's storage, so that replay from `Last-Event-ID` works after the object was
 * evicted and recreated. Ids are `<epoch>-<n>`, persisted, never reused; a publisher's own id must
 * be unique within its topic. `publish()` resolves once the storage has accepted the write. Once
 * every event has expired, the object's `alarm()` handler deletes the log from storage: call
 * {@linkcode DurableObjectBackplane.alarm} from it ({@linkcode SSEHubObject} does). The storage
 * layout, bounds and loading are described in docs/cloudflare.md.
 *
 * @example A hub in your own Durable Object
 * ```ts
 * import { DurableObjectBackplane, type DurableObjectStateLike } from "@hertz/sse/cloudflare";
 * import { SSEHub } from "@hertz/sse/hub";
 *
 * export class Prices {
 *   readonly #backplane: DurableObjectBackplane;
 *   readonly #hub: SSEHub;
 *   constructor(state: DurableObjectStateLike) {
 *     this.#backplane = new DurableObjectBackplane(state, { maxEvents: 100 });
 *     this.#hub = new SSEHub({ backplane: this.#backplane, onSubscribe: (_request, topics) => {
 *       if (topics.some((topic) => topic !== "prices")) return new Response("Unknown topic", { status: 404 });
 *     } });
 *   }
 *   async fetch(request: Request): Promise<Response> {
 *     if (request.method === "POST") {
 *       const id = await this.#hub.publish({ event: "price", data: await request.text() }, { topic: "prices" });
 *       return Response.json({ id });
 *     }
 *     return this.#hub.subscribe(request, { topics: ["prices"] });
 *   }
 *   alarm(): Promise<void> {
 *     return this.#backplane.alarm(); // deletes the stored log once every event has expired
 *   }
 * }
 * ```
 */
export class DurableObjectBackplane implements Backplane {
  /** Resolves once the log has been read from storage; rejects if that failed. */
  readonly ready: Promise<void>;
  readonly #state: DurableObjectStateLike;
  readonly #log: StorageLog;
  readonly #store: TopicStore;
  readonly #maxAge: number;
  readonly #maxTopicBytes: number;
  readonly #onError: (error: unknown) => void;
  readonly #flushError = (error: unknown): void => this.#onError(error);
  #loaded = false;
  #closed = false;
  /** The time of the newest publish, for the idle alarm. */
  #newest = 0;
  /** When the idle alarm is set for, if it is. */
  #alarmAt: number | undefined;

  /**
   * Creates the backplane of the Durable Object whose `state` is given, and starts reading its
   * log from storage.
   */
  constructor(state: DurableObjectStateLike, options: DurableObjectBackplaneOptions = {}) {
    const what = "Cannot create DurableObjectBackplane";
    if (state === null || typeof state !== "object" || state.storage === null || typeof state.storage !== "object") {
      throw new TypeError(`${what}: "state" must be a Durable Object state with storage, got ${describe(state)}`);
    }
    const bounds = checkReplayOptions(options, "DurableObjectBackplane");
    const prefix = options.prefix ?? "hertz-sse:";
    if (typeof prefix !== "string") throw new TypeError(`${what}: "prefix" must be a string, got ${describe(prefix)}`);
    const maxTopicBytes = options.maxTopicBytes ?? DEFAULT_MAX_TOPIC_BYTES;
    if (!Number.isSafeInteger(maxTopicBytes) || maxTopicBytes <= 0) {
      throw new RangeError(`${what}: "maxTopicBytes" must be a positive integer, got ${describe(maxTopicBytes)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`${what}: "onError" must be a function, got ${describe(options.onError)}`);
    }
    this.#onError = options.onError ?? ((error: unknown) => logError("Durable Object backplane error", error));
    this.#state = state;
    this.#maxAge = bounds.maxAge;
    this.#maxTopicBytes = maxTopicBytes;
    this.#log = new StorageLog(state.storage, prefix, this.#flushError);
    this.#store = new TopicStore(bounds, 0, {
      onEvict: (_topic: Topic, entry: StoreEntry) =>
        this.#log.evicted(entry.seq, { topic: entry.topic, seq: entry.seq, id: entry.id }),
      onRelease: (name: string, topic: Topic) => this.#log.released(name, topic.evicted !== undefined),
    });
    const load = (): Promise<void> => this.#load();
    this.ready = typeof state.blockConcurrencyWhile === "function" ? state.blockConcurrencyWhile(load) : load();
    // Callers that never await `ready` must not see an unhandled rejection: the methods report it.
    this.ready.catch(() => {});
  }

  /**
   * Appends the event to the topic's log, delivers it synchronously to the topic's listeners, and
   * resolves with its id once the storage has accepted the write.
   */
  publish(topic: string, event: BackplaneEvent): Promise<string> {
    try {
      if (this.#closed) throw new TypeError("Cannot publish: the backplane is closed");
      checkTopic(topic, "Cannot publish", this.#maxTopicBytes);
      if (event === null || typeof event !== "object") {
        throw new TypeError(`Cannot publish: expected an event object, got ${describe(event)}`);
      }
      if (event.id !== undefined && (typeof event.id !== "string" || event.id === "")) {
        throw new TypeError(`Cannot publish: "id" must be a non-empty string, got ${describe(event.id)}`);
      }
      if (!this.#loaded) return this.ready.then(() => this.publish(topic, event));
      const stored = compact(event);
      const entry = this.#store.publish(topic, event, stored);
      this.#log.published(entry.seq, { topic, id: entry.id, time: entry.time, event: stored }, {
        epoch: this.#store.epoch,
        seq: entry.seq,
      } satisfies StoredMeta);
      this.#newest = entry.time;
      this.#scheduleAlarm(entry.time + this.#maxAge);
      const written = this.#log.flush();
      return written === undefined ? Promise.resolve(entry.id) : written.then(() => entry.id);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Starts delivering the topic's new entries to `listener`, synchronously. Until the log has
   * loaded, the subscription's `ready` is the backplane's.
   */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    if (this.#closed) throw new TypeError("Cannot subscribe: the backplane is closed");
    checkTopic(topic, "Cannot subscribe", this.#maxTopicBytes);
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot subscribe: "listener" must be a function, got ${describe(listener)}`);
    }
    const stop = this.#store.listen(topic, listener);
    const unsubscribe = (): void => {
      stop();
      this.#flushQuietly();
    };
    return this.#loaded ? { unsubscribe } : { ready: this.ready, unsubscribe };
  }

  /**
   * The retained entries of `topics` after `afterId`, in publication order, or `gone`:
   * synchronous once the log has loaded.
   */
  history(topics: readonly string[], afterId: string): BackplaneHistory | Promise<BackplaneHistory> {
    if (this.#closed) throw new TypeError("Cannot read history: the backplane is closed");
    if (!this.#loaded) return this.ready.then(() => this.history(topics, afterId));
    const answer = this.#store.history(topics, afterId);
    this.#flushQuietly();
    return answer;
  }

  /**
   * The Durable Object's alarm handler: once every event has expired (`maxAge`), deletes the log
   * from storage, so that an object nobody uses any more leaves nothing behind; otherwise sets the
   * alarm again for when the newest event expires. The backplane sets the alarm itself (through
   * `storage.setAlarm`) when it stores an event; an object with other uses for its alarm calls this
   * from its own handler too.
   */
  async alarm(): Promise<void> {
    if (this.#closed) return;
    await this.ready;
    this.#alarmAt = undefined;
    const now = Date.now();
    this.#store.expireAll(now);
    let retained = false;
    for (const [, topic] of this.#store.entries()) retained ||= topic.log.size > 0;
    if (retained) {
      this.#scheduleAlarm(this.#newest + this.#maxAge);
      await this.#log.settled();
      return;
    }
    const seq = this.#store.seq;
    await this.#log.settled();
    // A publish made while the writes settled has stored an event: keep the log and the alarm.
    if (this.#store.seq !== seq || this.#closed) return;
    await this.#log.deleteAll();
    for (const [, topic] of this.#store.entries()) topic.evicted = undefined;
  }

  /**
   * Drops the in-memory log and every listener, and resolves once pending storage writes are
   * handed over; the stored log stays for the next instance. Later calls throw. Calling it again
   * does nothing.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#store.clear();
    return this.#log.settled();
  }

  /** Sets the idle alarm for `time` (plus a millisecond, so that the newest event has expired), unless one is set. */
  #scheduleAlarm(time: number): void {
    const storage = this.#state.storage;
    if (this.#alarmAt !== undefined || !Number.isFinite(time) || typeof storage.setAlarm !== "function") return;
    this.#alarmAt = time + 1;
    try {
      storage.setAlarm(this.#alarmAt).catch(this.#flushError);
    } catch (error) {
      this.#onError(error);
    }
  }

  /** Hands over writes that no caller waits for (deletions noticed by a read), reporting failures. */
  #flushQuietly(): void {
    this.#log.flush()?.catch(this.#flushError);
  }

  /** Reads the log back from storage into the topic store, then accepts calls. */
  async #load(): Promise<void> {
    const { stored, newest } = await this.#log.load(this.#store);
    this.#newest = newest;
    this.#loaded = true;
    // Anything stored, even only the counter, is deleted by the alarm once idle.
    if (stored) this.#scheduleAlarm(Math.max(newest + this.#maxAge, Date.now()));
    await this.#log.flush();
  }
}
