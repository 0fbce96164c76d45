/**
 * The topic store: what the in-memory and the Durable Object backplanes keep in memory. Each
 * topic's listeners, replay log and id index, the single sequence across topics, and the answer
 * to "what came after this id". A backplane adds only where entries go besides memory (the Durable
 * Object's storage) through the store's hooks.
 *
 * @module
 */

import { utf8Length } from "../_internal/bytes.ts";
import { describe } from "../_internal/describe.ts";
import { historyAfter, ReplayLog, type ReplayLogOptions } from "./_replay-log.ts";
import {
  type BackplaneEntry,
  type BackplaneEvent,
  type BackplaneHistory,
  type BackplaneListener,
  deliverEntry,
} from "./backplane.ts";

/** An entry as the store keeps it: the object delivered live and returned by `history()`. */
export class StoreEntry implements BackplaneEntry {
  frame: Uint8Array | undefined = undefined;
  constructor(
    readonly topic: string,
    readonly id: string,
    readonly event: BackplaneEvent,
    readonly seq: number,
    readonly time: number,
  ) {}
}

/** A topic's newest entry dropped by a bound: where it was in the sequence, and its id. */
export interface EvictionMarker {
  readonly seq: number;
  readonly id: string;
}

/** One topic: its listeners, its log, and the publisher-chosen ids of its retained entries. */
export class Topic {
  readonly listeners = new Set<BackplaneListener>();
  readonly log: ReplayLog<StoreEntry>;
  /** Publisher-chosen ids of the retained entries; an id is unique within its topic. */
  readonly ids = new Map<string, StoreEntry>();
  /**
   * The newest entry a bound evicted. Remembered so that a client whose last event has just
   * expired, with nothing after it, resumes without a reset, and so that an id older than an
   * eviction is answered `gone` rather than with a replay that has a hole in it.
   */
  evicted: EvictionMarker | undefined = undefined;

  constructor(options: Required<ReplayLogOptions>, onEvict: (topic: Topic, entry: StoreEntry) => void) {
    this.log = new ReplayLog<StoreEntry>(options, (entry) => onEvict(this, entry));
  }

  /** The `seq` of the newest evicted entry, or `-Infinity`. */
  get evictedSeq(): number {
    return this.evicted === undefined ? Number.NEGATIVE_INFINITY : this.evicted.seq;
  }

  /** Neither retained entries nor listeners: the topic can be forgotten. */
  get idle(): boolean {
    return this.log.size === 0 && this.listeners.size === 0;
  }
}

/** What a backplane hears from its store, to mirror it elsewhere. */
export interface TopicStoreHooks {
  /** A bound dropped `entry` from `topic` (after `topic.evicted` was updated). */
  onEvict?(topic: Topic, entry: StoreEntry): void;
  /** `topic` was forgotten: it had no retained entry and no listener. */
  onRelease?(name: string, topic: Topic): void;
}

// How many topics each publish checks for expiry, so that the memory of topics nobody publishes to
// or reads any more is released without a timer.
const SWEEP_PER_PUBLISH = 2;

/**
 * Checks a topic name: a non-empty string and, when `maxBytes` is given, at most that many UTF-8
 * bytes. `action` starts the message ("Cannot publish").
 */
export function checkTopic(topic: unknown, action: string, maxBytes?: number): asserts topic is string {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`${action}: "topic" must be a non-empty string, got ${describe(topic)}`);
  }
  if (maxBytes !== undefined && topic.length > maxBytes / 3 && utf8Length(topic) > maxBytes) {
    throw new RangeError(`${action}: "topic" must be at most ${maxBytes} bytes, got ${utf8Length(topic)} bytes`);
  }
}

/**
 * The topics of one backplane, in memory: publish appends and delivers synchronously, history is
 * answered synchronously from the entry objects delivered live (so the hub replays the bytes it
 * already encoded).
 *
 * - **Ids.** The store assigns `<epoch>-<seq>`; `seq` counts publishes across all topics. A
 *   publisher's own id is kept, and must be unique among the retained entries of its topic: a
 *   repeated id is refused, since replay after it could start from either copy. Ids are indexed
 *   per topic, so the same publisher id in two topics does not make one hide the other.
 * - **History.** An id is looked up in the topics asked for (then among the ids the store
 *   assigned, which are unique, then in the other topics); it is `gone` when unknown, or when an entry published after it
 *   was evicted from one of those topics. When a publisher id is retained in several of the
 *   topics asked for, replay starts after the oldest copy: a client may see an event twice, but
 *   never miss one.
 * - **Memory.** A topic is forgotten once it has no retained entry and no listener (checked on
 *   unsubscribe, on reads, and a few topics per publish).
 */
export class TopicStore {
  /** The first part of assigned ids; a backplane that persists its sequence restores it. */
  epoch: number;
  /** The sequence number of the newest entry; a backplane that persists it restores it. */
  seq = 0;
  readonly #options: Required<ReplayLogOptions>;
  readonly #hooks: TopicStoreHooks;
  readonly #topics = new Map<string, Topic>();
  // The retained entries whose ids the store assigned, by id: unique across topics, so an id from
  // a topic not asked for still marks a point in the sequence.
  readonly #assigned = new Map<string, StoreEntry>();
  #sweep: Iterator<[string, Topic]> | undefined;
  readonly #onEvict = (topic: Topic, entry: StoreEntry): void => {
    topic.evicted = { seq: entry.seq, id: entry.id };
    if (topic.ids.get(entry.id) === entry) topic.ids.delete(entry.id);
    else if (this.#assigned.get(entry.id) === entry) this.#assigned.delete(entry.id);
    this.#hooks.onEvict?.(topic, entry);
  };

  constructor(options: Required<ReplayLogOptions>, epoch: number, hooks: TopicStoreHooks = {}) {
    this.#options = options;
    this.epoch = epoch;
    this.#hooks = hooks;
  }

  /** How many topics are held (with retained entries, listeners, or both). */
  get size(): number {
    return this.#topics.size;
  }

  /** The topic, if held. */
  get(name: string): Topic | undefined {
    return this.#topics.get(name);
  }

  /** Every held topic with its name. */
  entries(): IterableIterator<[string, Topic]> {
    return this.#topics.entries();
  }

  /**
   * Appends `event` to the topic's log with the next sequence number, and delivers it to the
   * topic's listeners; `event.id`, when present, is the entry's id. Throws a `TypeError` when that
   * id is already retained in the topic, before anything changes.
   */
  publish(name: string, event: BackplaneEvent, stored: BackplaneEvent = event, now: number = Date.now()): StoreEntry {
    const own = event.id;
    const existing = own === undefined ? undefined : this.#topics.get(name);
    if (existing !== undefined) existing.log.expire(now);
    if (existing?.ids.has(own!)) {
      throw new TypeError(`Cannot publish: the id ${JSON.stringify(own)} is already in use in topic ${JSON.stringify(name)}`);
    }
    const seq = ++this.seq;
    const entry = new StoreEntry(name, own ?? `${this.epoch}-${seq}`, stored, seq, now);
    const topic = this.#topic(name);
    this.#index(topic, entry, own !== undefined);
    topic.log.append(entry);
    deliverEntry(topic.listeners, entry);
    this.#sweepSome(now);
    return entry;
  }

  /**
   * Puts back an entry read from elsewhere (a Durable Object's storage) without delivering it;
   * the bounds apply again. `own` tells whether the publisher chose its id.
   */
  restore(
    stored: { readonly topic: string; readonly id: string; readonly event: BackplaneEvent; readonly time: number },
    seq: number,
    own: boolean,
  ): void {
    const entry = new StoreEntry(stored.topic, stored.id, stored.event, seq, stored.time);
    const topic = this.#topic(entry.topic);
    this.#index(topic, entry, own);
    topic.log.append(entry);
    if (seq > this.seq) this.seq = seq;
  }

  /** Puts back a topic's eviction marker read from elsewhere. */
  mark(name: string, marker: EvictionMarker): void {
    const topic = this.#topic(name);
    if (marker.seq > topic.evictedSeq) topic.evicted = marker;
  }

  /** Adds a listener to the topic; returns the function that removes it (once). */
  listen(name: string, listener: BackplaneListener): () => void {
    const topic = this.#topic(name);
    topic.listeners.add(listener);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      topic.listeners.delete(listener);
      if (topic.idle && this.#topics.get(name) === topic) this.#release(name, topic);
    };
  }

  /** The retained entries of `names` after `afterId`, in publication order, or `gone`. */
  history(names: readonly string[], afterId: string, now: number = Date.now()): BackplaneHistory {
    const topics: Topic[] = [];
    let seq: number | undefined;
    for (const name of names) {
      const topic = this.#topics.get(name);
      if (topic === undefined) continue;
      topic.log.expire(now);
      topics.push(topic);
      const entry = topic.ids.get(afterId);
      if (entry !== undefined && (seq === undefined || entry.seq < seq)) seq = entry.seq;
    }
    if (seq === undefined) {
      const entry = this.#assigned.get(afterId);
      if (entry !== undefined) {
        // The entry may belong to a topic not asked for, whose log has not been expired yet.
        this.#topics.get(entry.topic)?.log.expire(now);
        seq = this.#assigned.get(afterId)?.seq;
      } else {
        // A publisher id from a topic not asked for (a client that dropped a topic): rare, so a
        // scan rather than a second index on every publish.
        for (const topic of this.#topics.values()) {
          const own = topic.ids.get(afterId);
          if (own === undefined) continue;
          topic.log.expire(now);
          if (topic.ids.get(afterId) === own && (seq === undefined || own.seq < seq)) seq = own.seq;
        }
      }
    }
    if (seq === undefined) {
      // The client's last event may be the one just evicted, with nothing after it.
      for (const topic of topics) {
        if (topic.evicted?.id === afterId && (seq === undefined || topic.evicted.seq < seq)) seq = topic.evicted.seq;
      }
    }
    return historyAfter(topics, seq);
  }

  /** Expires every topic at `now` and forgets the idle ones. */
  expireAll(now: number = Date.now()): void {
    for (const [name, topic] of this.#topics) {
      topic.log.expire(now);
      if (topic.idle) this.#release(name, topic);
    }
  }

  /** Drops every topic, entry and listener, without hooks. */
  clear(): void {
    this.#sweep = undefined;
    for (const topic of this.#topics.values()) {
      topic.listeners.clear();
      topic.log.clear();
    }
    this.#topics.clear();
    this.#assigned.clear();
  }

  #topic(name: string): Topic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = new Topic(this.#options, this.#onEvict);
      this.#topics.set(name, topic);
    }
    return topic;
  }

  #index(topic: Topic, entry: StoreEntry, own: boolean): void {
    if (own) topic.ids.set(entry.id, entry);
    else this.#assigned.set(entry.id, entry);
  }

  #release(name: string, topic: Topic): void {
    this.#topics.delete(name);
    this.#hooks.onRelease?.(name, topic);
  }

  #sweepSome(now: number): void {
    for (let i = 0; i < SWEEP_PER_PUBLISH; i++) {
      this.#sweep ??= this.#topics.entries();
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        return;
      }
      const [name, topic] = next.value;
      topic.log.expire(now);
      if (topic.idle) this.#release(name, topic);
    }
  }
}
