/**
 * A backplane entry's wire bytes, encoded once and kept on the entry for every later subscriber.
 *
 * @module
 */

import { encodeEvent } from "../core/encoder.ts";
import type { BackplaneEntry } from "./backplane.ts";

const ENCODER = new TextEncoder();

/** The entry's frame: the one it carries, or a new one, stored on the entry when it can be. */
export function frameOf(entry: BackplaneEntry): Uint8Array {
  const cached = entry.frame;
  if (cached !== undefined) return cached;
  const { event } = entry;
  const frame = ENCODER.encode(
    encodeEvent({ comment: event.comment, event: event.event, data: event.data, id: entry.id, retry: event.retry }),
  );
  try {
    entry.frame = frame;
  } catch {
    // A frozen entry: it is encoded again next time.
  }
  return frame;
}

/** The reset event: what a client whose `Last-Event-ID` cannot be replayed gets instead. */
export function resetFrame(
  resetEvent: string,
  lastEventId: string,
  topics: readonly string[],
  lastId: string | undefined,
): Uint8Array {
  return ENCODER.encode(encodeEvent({ event: resetEvent, data: JSON.stringify({ lastEventId, topics }), id: lastId }));
}
