/**
 * How a resumable stream lives on a backplane: two topics per stream, and the internal entries
 * that mark its generations, heartbeats and end. Everything a stream's state consists of is an
 * entry, so any instance sharing the backplane reads the same state.
 *
 * - `<prefix><id>:head` holds one entry per generation, published by `start()` before anything
 *   else. A backplane answers `history()` for an unknown id with the newest retained id of the
 *   topics (`gone`, `lastId`): that is how any instance finds the current generation's head
 *   without a key-value store, and `history([frames], head)` then returns the whole generation.
 * - `<prefix><id>` holds the frames, the producer's heartbeats and the terminal entry. Frames are
 *   entries without a comment; internal entries carry a comment starting with `hertz:` (the
 *   `comment` field is never sent to clients by this layer, and a source's comments are dropped).
 *
 * @module
 */

import type { BackplaneEntry, BackplaneEvent } from "../hub/backplane.ts";

/** How a stream ended, or that it runs. */
export type StreamStatus = "active" | "done" | "stopped" | "failed";

/** The topics of stream `id`. */
export interface StreamTopics {
  readonly frames: string;
  readonly head: string;
}

export function topicsOf(prefix: string, id: string): StreamTopics {
  return { frames: prefix + id, head: `${prefix}${id}:head` };
}

// An id no backplane issues: history() answers it with `gone` and the newest retained id.
export const UNKNOWN_ID = "";

const HEAD = "hertz:head";
const BEAT = "hertz:beat ";
const END = "hertz:end ";

/** The head entry of a generation. */
export function headEvent(now: number): BackplaneEvent {
  return { comment: HEAD, data: String(now) };
}

/** A heartbeat: the producer's clock, in milliseconds. */
export function beatEvent(now: number): BackplaneEvent {
  return { comment: BEAT + now };
}

/** A terminal entry, with the frame to send (if any) as its `event` and `data`. */
export function endEvent(
  status: Exclude<StreamStatus, "active">,
  now: number,
  frame: BackplaneEvent | undefined,
): BackplaneEvent {
  const comment = `${END}${status} ${now}`;
  if (frame === undefined) return { comment };
  return frame.event === undefined
    ? { comment, data: frame.data ?? "" }
    : { comment, event: frame.event, data: frame.data ?? "" };
}

/** What an entry of the frames topic is. */
export type EntryKind =
  | { readonly kind: "frame" }
  | { readonly kind: "beat"; readonly time: number }
  | { readonly kind: "end"; readonly status: Exclude<StreamStatus, "active">; readonly time: number; readonly visible: boolean }
  | { readonly kind: "other" };

const FRAME: EntryKind = { kind: "frame" };
const OTHER: EntryKind = { kind: "other" };

export function kindOf(entry: BackplaneEntry): EntryKind {
  const comment = entry.event.comment;
  if (comment === undefined) return FRAME;
  if (comment.startsWith(BEAT)) return { kind: "beat", time: Number(comment.slice(BEAT.length)) };
  if (comment.startsWith(END)) {
    const [status, time] = comment.slice(END.length).split(" ");
    if (status === "done" || status === "stopped" || status === "failed") {
      return { kind: "end", status, time: Number(time), visible: entry.event.data !== undefined };
    }
  }
  return OTHER;
}
