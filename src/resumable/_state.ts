/**
 * Reading a resumable stream's state from its backplane: the current generation's head and
 * entries, how it ended, its last heartbeat. Every instance derives the same state from the same
 * entries; nothing is kept in memory between calls.
 *
 * @module
 */

import type { Backplane, BackplaneEntry } from "../hub/backplane.ts";
import { kindOf, type StreamStatus, type StreamTopics, UNKNOWN_ID } from "./_entries.ts";

/** The current generation of a stream, as read from the backplane. */
export interface StreamState {
  /** The id of the generation's head entry: every entry of the generation comes after it. */
  readonly head: string;
  /** The generation's entries of the frames topic, oldest first. */
  readonly entries: readonly BackplaneEntry[];
  /** The index in `entries` of the first terminal entry, or -1 while the stream runs. */
  readonly end: number;
  /** How it ended, with the producer's clock at the end; absent while it runs. */
  readonly ended?: { readonly status: Exclude<StreamStatus, "active">; readonly time: number };
  /** The producer's clock at its newest heartbeat in the generation. */
  readonly lastBeat?: number;
}

/**
 * Reads the current generation of a stream: `undefined` when the backplane holds none (the stream
 * is unknown, or has expired), or when its start has been trimmed (the backplane's bounds are
 * smaller than the stream's: `trimmed` is then true).
 */
export async function readState(backplane: Backplane, topics: StreamTopics): Promise<{ state?: StreamState; trimmed?: boolean }> {
  const heads = await backplane.history([topics.head], UNKNOWN_ID);
  const head = heads.gone ? heads.lastId : heads.entries[heads.entries.length - 1]?.id;
  if (head === undefined) return {};
  const generation = await backplane.history([topics.frames], head);
  if (generation.gone) return { trimmed: true };
  return { state: summarize(head, generation.entries) };
}

/** The state of a generation from its entries. */
export function summarize(head: string, entries: readonly BackplaneEntry[]): StreamState {
  let lastBeat: number | undefined;
  for (let i = 0; i < entries.length; i++) {
    const kind = kindOf(entries[i]!);
    if (kind.kind === "beat") lastBeat = kind.time;
    else if (kind.kind === "end") return { head, entries, end: i, ended: { status: kind.status, time: kind.time }, lastBeat };
  }
  return { head, entries, end: -1, lastBeat };
}

/**
 * What a state means at time `now`: its end status; `"expired"` once `retention` has passed since
 * the end; `"lost"` when it runs but its producer's newest heartbeat is older than three
 * heartbeats; else `"active"`.
 */
export function statusAt(
  state: StreamState,
  now: number,
  heartbeat: number,
  retention: number,
): StreamStatus | "lost" | "expired" {
  if (state.ended !== undefined) return now - state.ended.time > retention ? "expired" : state.ended.status;
  if (state.lastBeat !== undefined && now - state.lastBeat > 3 * heartbeat) return "lost";
  return "active";
}
