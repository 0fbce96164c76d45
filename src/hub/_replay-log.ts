/**
 * The replay log: one topic's recent events, bounded by count and by age, kept for clients that
 * reconnect with `Last-Event-ID`. Each topic of the in-memory and the Durable Object backplanes
 * has one (see `_topic-store.ts`).
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import type { BackplaneEntry, BackplaneHistory } from "./backplane.ts";

/** The bounds of a replay log. */
export interface ReplayLogOptions {
  /**
   * How many events a topic keeps. `0` keeps none: every reconnecting client gets the reset event.
   *
   * @default {1000}
   */
  maxEvents?: number;
  /**
   * How long, in milliseconds, an event stays replayable; `Infinity` for no limit. Expired events
   * are dropped when their topic is next written or read.
   *
   * @default {300000}
   */
  maxAge?: number;
}

/** What a log holds: anything with a position in its backplane's sequence and a time. */
export interface ReplayRecord {
  /** The position in the backplane's single sequence across topics; increases with every publish. */
  readonly seq: number;
  /** When the record was appended, in milliseconds since the epoch. */
  readonly time: number;
}

/** Checks the log bounds; `what` names the caller in error messages. */
export function checkReplayOptions(options: ReplayLogOptions, what: string): { maxEvents: number; maxAge: number } {
  const maxEvents = options.maxEvents ?? 1000;
  if (!Number.isSafeInteger(maxEvents) || maxEvents < 0) {
    throw new RangeError(`Cannot create ${what}: "maxEvents" must be a non-negative integer, got ${describe(maxEvents)}`);
  }
  const maxAge = options.maxAge ?? 300_000;
  if (typeof maxAge !== "number" || !(maxAge > 0)) {
    throw new RangeError(`Cannot create ${what}: "maxAge" must be a positive number of milliseconds, got ${describe(maxAge)}`);
  }
  return { maxEvents, maxAge };
}

// The log is an array with a moving head rather than a ring: appends and evictions are O(1), the
// array is compacted once the dead head is both large and at least half of it, and `after()` is a
// binary search because records are appended in `seq` order.
const COMPACT_AT = 1024;

/**
 * A FIFO of records, bounded by count (`maxEvents`) and age (`maxAge`), appended in increasing
 * `seq` order. Every record a bound drops goes to `onEvict`, oldest first; the owner remembers
 * what it needs of it (the topic store keeps the newest one, to answer `gone` correctly).
 */
export class ReplayLog<T extends ReplayRecord> {
  readonly #maxEvents: number;
  readonly #maxAge: number;
  readonly #onEvict: ((record: T) => void) | undefined;
  #records: (T | undefined)[] = [];
  #head = 0;

  /** Creates an empty log; `onEvict` is called for every record dropped by a bound. */
  constructor(options: ReplayLogOptions = {}, onEvict?: (record: T) => void) {
    const { maxEvents, maxAge } = checkReplayOptions(options, "ReplayLog");
    this.#maxEvents = maxEvents;
    this.#maxAge = maxAge;
    this.#onEvict = onEvict;
  }

  /** How many records are retained. */
  get size(): number {
    return this.#records.length - this.#head;
  }

  /** The newest retained record. */
  get last(): T | undefined {
    return this.size > 0 ? this.#records[this.#records.length - 1] : undefined;
  }

  /** Appends a record, then enforces both bounds (age measured from the record's `time`). */
  append(record: T): void {
    if (this.#maxEvents === 0) {
      this.#onEvict?.(record);
      return;
    }
    this.#records.push(record);
    while (this.size > this.#maxEvents) this.#shift();
    this.expire(record.time);
  }

  /** Drops the records older than `maxAge` at time `now`. */
  expire(now: number): void {
    if (this.#maxAge === Number.POSITIVE_INFINITY) return;
    const limit = now - this.#maxAge;
    while (this.size > 0 && this.#records[this.#head]!.time <= limit) this.#shift();
  }

  /** The retained records with a `seq` greater than `seq`, oldest first (a new array). */
  after(seq: number): T[] {
    const records = this.#records;
    let low = this.#head;
    let high = records.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (records[mid]!.seq <= seq) low = mid + 1;
      else high = mid;
    }
    return records.slice(low) as T[];
  }

  /** Drops every record without calling `onEvict`. */
  clear(): void {
    this.#records = [];
    this.#head = 0;
  }

  #shift(): void {
    const record = this.#records[this.#head]!;
    this.#records[this.#head++] = undefined;
    if (this.#head === this.#records.length) {
      this.#records = [];
      this.#head = 0;
    } else if (this.#head >= COMPACT_AT && this.#head * 2 >= this.#records.length) {
      this.#records = this.#records.slice(this.#head);
      this.#head = 0;
    }
    this.#onEvict?.(record);
  }
}

/** A topic's log and the sequence number of the newest entry a bound has evicted from it. */
export interface HistorySource<T extends ReplayRecord & BackplaneEntry> {
  readonly log: ReplayLog<T>;
  readonly evictedSeq: number;
}

/**
 * The answer of a backplane's `history()` once the client's position is known as a sequence
 * number (`undefined` when the id is unknown): the retained entries of `sources` after it in
 * publication order, or `gone` (with the newest retained id) when it is unknown or an entry after
 * it has been evicted. Shared by the in-memory and the Durable Object backplanes.
 */
export function historyAfter<T extends ReplayRecord & BackplaneEntry>(
  sources: readonly HistorySource<T>[],
  seq: number | undefined,
): BackplaneHistory {
  if (seq === undefined || sources.some((source) => source.evictedSeq > seq)) {
    let last: T | undefined;
    for (const source of sources) {
      const candidate = source.log.last;
      if (candidate !== undefined && (last === undefined || candidate.seq > last.seq)) last = candidate;
    }
    return last === undefined ? { gone: true } : { gone: true, lastId: last.id };
  }
  if (sources.length === 1) return { gone: false, entries: sources[0]!.log.after(seq) };
  const entries: T[] = [];
  for (const source of sources) {
    for (const entry of source.log.after(seq)) entries.push(entry);
  }
  entries.sort((a, b) => a.seq - b.seq);
  return { gone: false, entries };
}
