/**
 * How a stream's queued writes become one chunk: how many the next chunk takes, and how they are
 * joined into bytes. Internal.
 *
 * @module
 */

import { concatChunks } from "../_internal/bytes.ts";

/** A queued write: text (an encoded event or comment) or bytes (`SSEStream.write()`). */
export type QueuedWrite = string | Uint8Array;

/**
 * The most a chunk joins, in bytes (or UTF-16 code units of text): some 700 small events, or four
 * 16 KiB ones. One write larger than this still goes out whole. Joining large events into bigger
 * chunks only copies them again, into chunks large enough to cost full garbage collections: with
 * whole 1 MiB queues joined, streaming 16 KiB events was 3× slower (bench/encode.ts, BENCHMARKS.md).
 */
export const MAX_CHUNK = 64 * 1024;

// Stateless, so one serves every stream.
const ENCODER = new TextEncoder();

/** The size a queued write counts for: bytes, or UTF-16 code units for text (the same for ASCII). */
export function sizeOf(write: QueuedWrite): number {
  return typeof write === "string" ? write.length : write.byteLength;
}

/**
 * How many writes from the start of `queue` (holding `size` in all) the next chunk takes: all of
 * them, or as many as fit in {@linkcode MAX_CHUNK}, at least one.
 */
export function joinCount(queue: readonly QueuedWrite[], size: number): number {
  if (size <= MAX_CHUNK) return queue.length;
  let n = 1;
  let joined = sizeOf(queue[0]!);
  while (n < queue.length) {
    joined += sizeOf(queue[n]!);
    if (joined > MAX_CHUNK) break;
    n++;
  }
  return n;
}

/** Joins `writes` into one chunk of bytes: one `TextEncoder` call for all of them when none is bytes. */
export function joinWrites(writes: readonly QueuedWrite[], hasBytes: boolean): Uint8Array {
  if (writes.length === 1) {
    const only = writes[0]!;
    return typeof only === "string" ? ENCODER.encode(only) : only;
  }
  // One TextEncoder call on the joined text is far cheaper than one per event.
  if (!hasBytes) return ENCODER.encode((writes as string[]).join(""));
  return concatChunks(writes.map((write) => (typeof write === "string" ? ENCODER.encode(write) : write)));
}
