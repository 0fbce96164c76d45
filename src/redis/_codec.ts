/**
 * What the Redis backplane writes to Redis and reads back: ids, key names, stream entry fields,
 * and the shapes of replies. Pure functions, no I/O.
 *
 * @module
 */

import type { BackplaneEntry, BackplaneEvent } from "../hub/backplane.ts";

// ---------------------------------------------------------------------------------------------
// Ids: Redis stream ids "<ms>-<seq>", compared as number pairs (both parts stay below 2^53). On a
// single Redis one clock issues them for every topic of the prefix. On Redis Cluster each hash
// slot has its own clock, and the slot is written into the sequence (`seq = n × 16384 + slot`), so
// that ids stay unique across the cluster and every id says which clock issued it.

export type ParsedId = readonly [ms: number, seq: number];

/** The number of hash slots of Redis Cluster. */
export const SLOTS = 16_384;

const ID = /^(\d{1,15})-(\d{1,15})$/;

export function parseId(id: string): ParsedId | undefined {
  const match = ID.exec(id);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

export function compareIds(a: ParsedId, b: ParsedId): number {
  return a[0] - b[0] || a[1] - b[1];
}

/** The slot whose clock issued a cluster id. */
export function slotOfId(id: ParsedId): number {
  return id[1] % SLOTS;
}

/**
 * The positions named by a `Last-Event-ID` on a cluster: one id, or several joined by `,` (at most
 * one per slot, each from its own slot's clock). Undefined when any part is malformed.
 */
export function parseCompoundId(text: string, maxParts: number): ParsedId[] | undefined {
  const parts = text.split(",", maxParts + 1);
  if (parts.length > maxParts) return undefined;
  const ids: ParsedId[] = [];
  for (const part of parts) {
    const id = parseId(part);
    if (id === undefined) return undefined;
    ids.push(id);
  }
  return ids;
}

// ---------------------------------------------------------------------------------------------
// Keys. Every key is `<prefix><kind>:<rest>`, where the kind is `s` (a topic's stream), `c` (a
// clock) or `n` (a cluster slot's doorbell channel), and the rest never contains ":" (topics are
// encoded). So a key's last ":" ends `<prefix><kind>:`: no topic name can reach another kind of
// key, and two backplanes with different prefixes, even where one prefix extends the other
// ("sse:" and "sse:admin:"), can never name the same key.

const UTF8 = new TextEncoder();
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are among what it escapes
const ESCAPED = /[%:{}\x00-\x1f\x7f]/g;

/** The UTF-8 length of a string, without encoding it when its length settles the answer. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * A topic as it appears in a key: `%`, `:`, `{`, `}` and control characters percent-encoded, the
 * rest unchanged (so keys stay readable in `redis-cli`). One-to-one for well-formed strings, which
 * is why topics with lone surrogates are refused before they get here (UTF-8 would merge them).
 */
export function encodeTopic(topic: string): string {
  return topic.replace(ESCAPED, (char) => `%${char.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`);
}

/**
 * The hash tag Redis Cluster would use for a key: the text between its first `{` and the next
 * `}`, when not empty; else the whole key.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf("{");
  if (open === -1) return key;
  const close = key.indexOf("}", open + 1);
  if (close === -1 || close === open + 1) return key;
  return key.slice(open + 1, close);
}

// CRC16-CCITT (XMODEM), as Redis Cluster hashes keys to slots.
const CRC16 = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  CRC16[i] = crc & 0xffff;
}

/** The hash slot of a key, as Redis Cluster computes it. */
export function keySlot(key: string): number {
  let crc = 0;
  for (const byte of UTF8.encode(hashTagOf(key))) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!;
  return crc % SLOTS;
}

let slotTags: string[] | undefined;

/**
 * A short hash tag for each slot (the first base-36 number that hashes to it), so that a slot's
 * clock and doorbell can be named into the slot of the streams they serve. Built once, on first
 * use on a cluster: about 170 000 hashes of 1 to 4 characters, a few milliseconds.
 */
export function slotTag(slot: number): string {
  if (slotTags === undefined) {
    const tags: string[] = new Array(SLOTS);
    let found = 0;
    for (let n = 0; found < SLOTS; n++) {
      const tag = n.toString(36);
      const s = keySlot(tag);
      if (tags[s] === undefined) {
        tags[s] = tag;
        found++;
      }
    }
    slotTags = tags;
  }
  return slotTags[slot]!;
}

/** Where a topic lives: its stream's key, its slot, and the clock that orders it. */
export interface TopicKeys {
  readonly stream: string;
  /** The hash slot (0 on a single Redis). */
  readonly slot: number;
  readonly clock: string;
  /** The slot's doorbell channel (cluster only). */
  readonly channel: string;
}

/**
 * The keys of a topic. On a single Redis: `<prefix>s:<topic>` and the clock `<prefix>c:`. On a
 * cluster the stream key carries the topic's group as a hash tag — the topic's own hash tag
 * (`{room42}:chat` is in group `room42`), else the whole topic — and the slot's clock and
 * doorbell carry a tag of the same slot.
 */
export function topicKeys(prefix: string, topic: string, cluster: boolean): TopicKeys {
  const encoded = encodeTopic(topic);
  if (!cluster) return { stream: `${prefix}s:${encoded}`, slot: 0, clock: `${prefix}c:`, channel: "" };
  const stream = `${prefix}s:{${encodeTopic(hashTagOf(topic))}}${encoded}`;
  const slot = keySlot(stream);
  const tag = slotTag(slot);
  return { stream, slot, clock: `${prefix}c:{${tag}}`, channel: `${prefix}n:{${tag}}` };
}

// ---------------------------------------------------------------------------------------------
// Entries: the event's fields under one-letter names, only those set. An event with none is
// stored with the field "_", since XADD needs one.

export function encodeFields(event: BackplaneEvent): string[] {
  const fields: string[] = [];
  if (event.event !== undefined) fields.push("e", event.event);
  if (event.data !== undefined) fields.push("d", event.data);
  if (event.comment !== undefined) fields.push("c", event.comment);
  if (event.retry !== undefined) fields.push("r", String(event.retry));
  if (fields.length === 0) fields.push("_", "");
  return fields;
}

export function decodeFields(fields: unknown): BackplaneEvent {
  let event: string | undefined;
  let data: string | undefined;
  let comment: string | undefined;
  let retry: number | undefined;
  const set = (name: unknown, value: unknown): void => {
    const text = String(value);
    if (name === "e") event = text;
    else if (name === "d") data = text;
    else if (name === "c") comment = text;
    else if (name === "r") retry = Number(text);
  };
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) set(fields[i], fields[i + 1]);
  } else if (fields !== null && typeof fields === "object") {
    for (const [name, value] of Object.entries(fields)) set(name, value);
  }
  // Always the same shape, as the hub makes them.
  return { event, data, comment, retry };
}

export class RedisEntry implements BackplaneEntry {
  frame: Uint8Array | undefined = undefined;
  constructor(
    readonly topic: string,
    readonly id: string,
    readonly event: BackplaneEvent,
  ) {}
}

/** A stream's entries as `[id, fields]` pairs; anything malformed is skipped. */
export function entriesOf(list: unknown): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (Array.isArray(item) && typeof item[0] === "string") out.push([item[0], item[1]]);
  }
  return out;
}

/**
 * The streams of an XREAD reply as `[key, entries]` pairs, whichever shape the client gives:
 * `[[key, entries], …]` (RESP2), `[key, entries, key, entries, …]` (RESP3 with ioredis' default
 * "legacy" mapping) or `{ key: entries }` (RESP3 maps).
 */
export function streamsOf(reply: unknown): [string, unknown][] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return reply.map((pair) => [String((pair as unknown[])[0]), (pair as unknown[])[1]]);
    const pairs: [string, unknown][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1]]);
    return pairs;
  }
  if (typeof reply === "object") return Object.entries(reply);
  return [];
}

/** Sorts entries of several streams into id order (each stream's list is already in order). */
export function mergeById<T extends { readonly id: string }>(lists: readonly (readonly T[])[]): T[] {
  if (lists.length <= 1) return [...(lists[0] ?? [])];
  const keyed = lists.flat().map((entry) => ({ entry, parsed: parseId(entry.id) ?? ([0, 0] as const) }));
  keyed.sort((a, b) => compareIds(a.parsed, b.parsed));
  return keyed.map((item) => item.entry);
}
