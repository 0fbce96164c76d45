/**
 * Compound ids: what a subscription whose topics span several groups of its backplane (hash slots
 * of a Redis Cluster, each with its own order) sends as `id:`, so that one `Last-Event-ID` resumes
 * every group exactly. Internal to the hub.
 *
 * @module
 */

import { utf8Length } from "../_internal/bytes.ts";
import type { Backplane, BackplaneEntry } from "./backplane.ts";

const ENCODER = new TextEncoder();

/**
 * Frames up to 2 KiB are cut from a per-subscriber slab of 8 KiB. Measured on Node 20: a new
 * `Uint8Array` of 170 bytes costs 360-1240 ns (V8 keeps arrays above 64 bytes off the heap), a
 * `subarray` of a slab 50 ns: 1000 subscribers × 2000 events of 170 bytes went from 12x to about 4.5x
 * the time of the shared-frame fan-out (0.7 against 3.3 million deliveries/s; 32 KiB slabs were
 * slower). A slab belongs to one subscriber, so what it keeps alive is that subscriber's own recent
 * frames: at most its queue plus one slab.
 */
const SLAB = 8192;
const SLAB_FRAME = 2048;

/** The most groups one subscription may span when the backplane does not say (`Backplane.maxGroups`). */
export const DEFAULT_MAX_GROUPS = 64;

/**
 * The last delivered id per group of one subscription, written as one id: the positions joined by
 * `,`, in the order of the subscription's groups, those not known yet left out. The event's bytes
 * stay encoded once and shared: only the `id:` line of each frame is this subscriber's own.
 */
export class CompoundIds {
  /** The index of each topic's group. */
  readonly #groupOf: ReadonlyMap<string, number>;
  /** The index of each group. */
  readonly #groups: ReadonlyMap<string, number>;
  readonly #positions: (string | undefined)[];
  #id = "";
  #slab: Uint8Array | undefined = undefined;
  #offset = 0;

  constructor(groupOf: ReadonlyMap<string, number>, groups: ReadonlyMap<string, number>) {
    this.#groupOf = groupOf;
    this.#groups = groups;
    this.#positions = new Array<string | undefined>(groups.size).fill(undefined);
  }

  /** How many groups the subscription spans. */
  get size(): number {
    return this.#groups.size;
  }

  /** The id the client resumes from after what was sent so far, or `undefined` when nothing is known. */
  get id(): string | undefined {
    return this.#id === "" ? undefined : this.#id;
  }

  /** Takes the positions a `Last-Event-ID` names for the subscription's groups (those of other groups are dropped). */
  seed(lastEventId: string, groupOfId: ((id: string) => string | undefined) | undefined): void {
    if (groupOfId === undefined) return;
    // Bounded: the backplane refuses an id with more parts than it accepts anyway.
    for (const part of lastEventId.split(",", this.#groups.size * 2 + 1)) {
      const group = groupOfId(part);
      const index = group === undefined ? undefined : this.#groups.get(group);
      if (index !== undefined) this.#positions[index] = part;
    }
    this.#join();
  }

  /**
   * Starts the groups with no position yet from the last entry of one of their topics delivered
   * before the subscription joined (`lastIdOf`): everything after it reaches this subscriber live,
   * so a resume from there misses nothing. A group with none stays unnamed (resumed by time).
   */
  start(topics: readonly string[], lastIdOf: (topic: string) => string | undefined): void {
    for (const topic of topics) {
      const index = this.#groupOf.get(topic)!;
      if (this.#positions[index] !== undefined) continue;
      const id = lastIdOf(topic);
      if (id !== undefined) this.#positions[index] = id;
    }
    this.#join();
  }

  /** Forgets every position but `lastId`'s (after a reset event: the client follows live from there). */
  reset(lastId: string | undefined, groupOfId: ((id: string) => string | undefined) | undefined): void {
    this.#positions.fill(undefined);
    if (lastId !== undefined) this.seed(lastId, groupOfId);
    else this.#id = "";
  }

  /** Records `entry` as sent, without making its frame (for a replay cut short by a bound). */
  advance(entry: BackplaneEntry): void {
    const index = this.#groupOf.get(entry.topic);
    if (index === undefined) return;
    this.#positions[index] = entry.id;
    this.#join();
  }

  /**
   * Records `entry` as sent and returns its frame with this subscriber's compound id: `shared` (the
   * entry's frame, `…id: <entry.id>\n[retry: N\n]\n`, as the encoder writes the fields) with only
   * its `id:` line replaced. One allocation and two copies per subscriber; nothing re-encoded.
   */
  frame(entry: BackplaneEntry, shared: Uint8Array): Uint8Array {
    const index = this.#groupOf.get(entry.topic);
    if (index === undefined) return shared;
    this.#positions[index] = entry.id;
    this.#join();
    if (shared !== cached) cut(entry, shared);
    const line = `id: ${this.#id}\n`;
    const lineBytes = utf8Length(line);
    const at = cachedHead.byteLength;
    const out = this.#alloc(at + lineBytes + cachedTail.byteLength);
    out.set(cachedHead);
    if (lineBytes === line.length) {
      // ASCII, as the ids of Redis are: a loop costs less than encodeInto() and its subarray.
      for (let i = 0; i < lineBytes; i++) out[at + i] = line.charCodeAt(i);
    } else {
      ENCODER.encodeInto(line, out.subarray(at));
    }
    out.set(cachedTail, at + lineBytes);
    return out;
  }

  #alloc(size: number): Uint8Array {
    if (size > SLAB_FRAME) return new Uint8Array(size);
    let slab = this.#slab;
    if (slab === undefined || this.#offset + size > SLAB) {
      slab = this.#slab = new Uint8Array(SLAB);
      this.#offset = 0;
    }
    const start = this.#offset;
    this.#offset = start + size;
    return slab.subarray(start, start + size);
  }

  #join(): void {
    let id = "";
    for (const position of this.#positions) {
      if (position !== undefined) id = id === "" ? position : `${id},${position}`;
    }
    this.#id = id;
  }
}

// The fan-out hands one entry to all its subscribers in a row: the shared frame's parts before and
// after its `id:` line are cut once per entry, not once per subscriber.
let cached: Uint8Array | undefined;
let cachedHead: Uint8Array = new Uint8Array(0);
let cachedTail: Uint8Array = new Uint8Array(0);

function cut(entry: BackplaneEntry, shared: Uint8Array): void {
  const retry = entry.event.retry;
  // Both ASCII: the blank line, and the retry line before it (the encoder writes `id:` then `retry:`).
  const tail = retry === undefined ? 1 : `retry: ${retry}\n`.length + 1;
  const head = shared.byteLength - tail - (utf8Length(entry.id) + 5);
  cachedHead = shared.subarray(0, head);
  cachedTail = shared.subarray(shared.byteLength - tail);
  cached = shared;
}

/**
 * The compound ids of a subscription to `topics`, or `undefined` when they are all in one group (or
 * the backplane has no groups): the common case, which keeps the encode-once fan-out untouched.
 */
export function compoundOf(backplane: Backplane, topics: readonly string[]): CompoundIds | undefined {
  if (topics.length < 2 || typeof backplane.groupOf !== "function") return undefined;
  const groupOf = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const topic of topics) {
    const group = backplane.groupOf(topic);
    let index = groups.get(group);
    if (index === undefined) groups.set(group, (index = groups.size));
    groupOf.set(topic, index);
  }
  return groups.size < 2 ? undefined : new CompoundIds(groupOf, groups);
}
