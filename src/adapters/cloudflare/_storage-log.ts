/**
 * The storage side of the Durable Object backplane: the write-behind of its replay log, and the
 * log's layout in the object's storage. The backplane keeps everything in memory (the hub's topic
 * store) and mirrors it here.
 *
 * Keys, under the backplane's prefix:
 *
 * - `meta`: `{ epoch, seq }`, the id counter;
 * - `e:<seq>`: one retained event, `{ topic, id, time, event }`, with `seq` in fixed-width
 *   decimal so that key order is publication order;
 * - `t:<hash>`: a topic's newest evicted event, `{ topic, seq, id }`, keyed by a SHA-256 of the
 *   topic so that no topic name can make a key longer than the storage accepts (2 KiB).
 *
 * @module
 */

import type { TopicStore } from "../../hub/_topic-store.ts";
import type { BackplaneEvent } from "../../hub/backplane.ts";
import type { DurableObjectStorageLike } from "./types.ts";

/** An entry as stored: everything but the sequence number, which is in the key. */
export interface StoredEntry {
  topic: string;
  id: string;
  time: number;
  event: BackplaneEvent;
}

/** The id counter as stored. */
export interface StoredMeta {
  epoch: number;
  seq: number;
}

/** A topic's eviction marker as stored (an older layout had the topic in the key, not the value). */
export interface StoredMarker {
  topic?: string;
  seq: number;
  id: string;
}

// Sequence numbers are written in fixed-width decimal, so that the storage's key order is the
// publication order and one `list()` reads the log back in sequence. 16 digits hold every safe
// integer.
const SEQ_WIDTH = 16;
// The storage API accepts at most 128 keys per put() or delete().
const BATCH = 128;
// Entries read per list(), so that a large log is not read into one Map.
const PAGE = 512;
// Topic hashes kept for marker keys: about 100 bytes each.
const MAX_CACHED_HASHES = 4096;

/** Whether a stored value is an entry. */
export function isStoredEntry(value: unknown): value is StoredEntry {
  const entry = value as StoredEntry | null;
  return (
    entry !== null &&
    typeof entry === "object" &&
    typeof entry.topic === "string" &&
    typeof entry.id === "string" &&
    typeof entry.time === "number" &&
    entry.event !== null &&
    typeof entry.event === "object"
  );
}

/** Whether a stored value is an eviction marker. */
export function isStoredMarker(value: unknown): value is StoredMarker {
  const marker = value as StoredMarker | null;
  return (
    marker !== null &&
    typeof marker === "object" &&
    typeof marker.seq === "number" &&
    typeof marker.id === "string" &&
    (marker.topic === undefined || typeof marker.topic === "string")
  );
}

/** The first 128 bits of the SHA-256 of a topic, in hex: its marker's key. */
async function topicHash(topic: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(topic)));
  let hex = "";
  for (let i = 0; i < 16; i++) hex += digest[i]!.toString(16).padStart(2, "0");
  return hex;
}

/**
 * The write-behind of a replay log in a Durable Object's storage. Writes are queued while the
 * backplane changes its memory, then handed to the storage in batches it accepts:
 *
 * - what a publish writes (its entry and the counter) goes out at once, and the publish waits for
 *   it: the publisher learns of a failed write;
 * - what a bound evicted (the entries to delete and the topic's marker) goes out separately, once
 *   the marker's key has been hashed, and failures go to `onError`: no publish fails because of
 *   another topic's housekeeping. The deletes go with the markers, so storage never loses an
 *   entry without recording the eviction; if that write is lost, the next load evicts again.
 */
export class StorageLog {
  readonly prefix: string;
  readonly #storage: DurableObjectStorageLike;
  readonly #onError: (error: unknown) => void;
  // Writes of the next publish batch. A key is in at most one of the two.
  readonly #puts = new Map<string, unknown>();
  // Eviction writes: entry keys to delete, and markers by topic (null: delete the marker).
  readonly #evictions = new Set<string>();
  readonly #markers = new Map<string, StoredMarker | null>();
  readonly #hashes = new Map<string, string>();
  #housekeeping: Promise<void> = Promise.resolve();

  constructor(storage: DurableObjectStorageLike, prefix: string, onError: (error: unknown) => void) {
    this.#storage = storage;
    this.prefix = prefix;
    this.#onError = onError;
  }

  /** The key of the entry with sequence number `seq`. */
  entryKey(seq: number): string {
    return `${this.prefix}e:${String(seq).padStart(SEQ_WIDTH, "0")}`;
  }

  /** Queues a publish: its entry and the counter. */
  published(seq: number, entry: StoredEntry, meta: StoredMeta): void {
    const key = this.entryKey(seq);
    // An entry evicted by the publish that wrote it (maxEvents 0) never reaches the storage.
    if (!this.#evictions.delete(key)) this.#puts.set(key, entry);
    this.#puts.set(`${this.prefix}meta`, meta);
  }

  /** Queues the deletion of an evicted entry, and its topic's new marker. */
  evicted(seq: number, marker: StoredMarker & { topic: string }): void {
    const key = this.entryKey(seq);
    if (!this.#puts.delete(key)) this.#evictions.add(key);
    this.#markers.set(marker.topic, marker);
  }

  /** Queues the deletion of a forgotten topic's marker. */
  released(topic: string, hadMarker: boolean): void {
    if (hadMarker) this.#markers.set(topic, null);
    else this.#markers.delete(topic);
    this.#hashes.delete(topic);
  }

  /**
   * Hands the queued publish writes to the storage, and starts the eviction writes; resolves once
   * the publish writes are accepted, `undefined` if there were none.
   */
  flush(): Promise<void> | undefined {
    this.#startHousekeeping();
    if (this.#puts.size === 0) return undefined;
    const puts = [...this.#puts];
    this.#puts.clear();
    try {
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < puts.length; i += BATCH) writes.push(this.#storage.put(Object.fromEntries(puts.slice(i, i + BATCH))));
      return Promise.all(writes).then(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Resolves once every queued write, eviction writes included, has been handed over. */
  settled(): Promise<void> {
    const publish = this.flush() ?? Promise.resolve();
    return Promise.all([publish, this.#housekeeping]).then(() => undefined);
  }

  /** Deletes every key under the prefix, queued writes included. */
  async deleteAll(): Promise<void> {
    this.#puts.clear();
    this.#evictions.clear();
    this.#markers.clear();
    await this.#housekeeping;
    const keys: string[] = [];
    for await (const [key] of this.list(this.prefix)) keys.push(key);
    await this.#delete(keys);
  }

  /**
   * Reads the counter, the topics' eviction markers and the retained entries into `store` (the
   * bounds apply again, in case they were lowered since the entries were written), and queues
   * the writes that follow (evictions, markers of the older layout). Resolves with whether
   * anything was stored, and the time of the newest stored event.
   */
  async load(store: TopicStore): Promise<{ stored: boolean; newest: number }> {
    const meta = (await this.#storage.get(`${this.prefix}meta`)) as StoredMeta | undefined;
    const epoch = typeof meta?.epoch === "number" ? meta.epoch : 0;
    store.seq = typeof meta?.seq === "number" ? meta.seq : 0;
    const markers = `${this.prefix}t:`;
    for await (const [key, value] of this.list(markers)) {
      if (!isStoredMarker(value)) {
        this.#onError(new TypeError(`Cannot load the replay log: the value of ${JSON.stringify(key)} is not an eviction marker`));
      } else if (value.topic === undefined) {
        // The older layout, keyed by the topic itself: rewritten under the topic's hash.
        const topic = key.slice(markers.length);
        store.mark(topic, value);
        this.#markers.set(topic, { topic, seq: value.seq, id: value.id });
        this.#evictions.add(key);
      } else {
        store.mark(value.topic, value);
      }
    }
    const entries = `${this.prefix}e:`;
    let newest = 0;
    for await (const [key, value] of this.list(entries)) {
      const seq = Number(key.slice(entries.length));
      if (!isStoredEntry(value) || !Number.isSafeInteger(seq)) {
        this.#onError(new TypeError(`Cannot load the replay log: the value of ${JSON.stringify(key)} is not an event`));
        continue;
      }
      store.restore(value, seq, value.id !== `${epoch}-${seq}`);
      if (value.time > newest) newest = value.time;
    }
    const now = Date.now();
    // Topics left with nothing are forgotten (a subscription made while loading keeps its own).
    store.expireAll(now);
    store.epoch = epoch === 0 ? now : epoch;
    return { stored: meta !== undefined, newest };
  }

  /** Every stored item under `prefix`, in key order, a page at a time. */
  async *list(prefix: string): AsyncGenerator<[string, unknown]> {
    let start: string | undefined;
    while (true) {
      const page = await this.#storage.list(start === undefined ? { prefix, limit: PAGE } : { prefix, start, limit: PAGE });
      let last: string | undefined;
      for (const item of page) {
        last = item[0];
        yield item;
      }
      if (page.size < PAGE || last === undefined) return;
      // `start` is inclusive: the smallest key after `last` is `last` followed by U+0000.
      start = `${last}\u0000`;
    }
  }

  #startHousekeeping(): void {
    if (this.#evictions.size === 0 && this.#markers.size === 0) return;
    const deletes = [...this.#evictions];
    const markers = [...this.#markers];
    this.#evictions.clear();
    this.#markers.clear();
    // One after the other, so that a marker deleted after it was written stays deleted.
    this.#housekeeping = this.#housekeeping
      .then(async () => {
        const puts: [string, unknown][] = [];
        for (const [topic, marker] of markers) {
          // A released topic's hash is not cached again: the cache holds live topics only.
          const key = `${this.prefix}t:${marker === null ? await topicHash(topic) : await this.#hash(topic)}`;
          if (marker === null) deletes.push(key);
          else puts.push([key, marker]);
        }
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < puts.length; i += BATCH) writes.push(this.#storage.put(Object.fromEntries(puts.slice(i, i + BATCH))));
        writes.push(this.#delete(deletes));
        await Promise.all(writes);
      })
      .catch(this.#onError);
  }

  async #hash(topic: string): Promise<string> {
    let hash = this.#hashes.get(topic);
    if (hash === undefined) {
      hash = await topicHash(topic);
      // Entries of topics released while their marker was being written are not removed: a bound
      // keeps those from adding up.
      if (this.#hashes.size >= MAX_CACHED_HASHES) this.#hashes.clear();
      this.#hashes.set(topic, hash);
    }
    return hash;
  }

  async #delete(keys: string[]): Promise<void> {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < keys.length; i += BATCH) writes.push(this.#storage.delete(keys.slice(i, i + BATCH)));
    await Promise.all(writes);
  }
}
