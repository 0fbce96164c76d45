/**
 * Replay: what a subscriber that reconnects with `Last-Event-ID` gets before the live events, read
 * from the backplane's history.
 *
 * @module
 */

import { isPromiseLike } from "../_internal/log.ts";
import { _record, type SSEMetrics } from "../core/metrics.ts";
import type { CompoundIds } from "./_compound.ts";
import { frameOf, resetFrame } from "./_frame.ts";
import type { HubSubscriber } from "./_subscriber.ts";
import type { Backplane, BackplaneEntry, BackplaneHistory } from "./backplane.ts";

/** What a replay needs from its hub. */
export interface ReplayContext {
  readonly backplane: Backplane;
  readonly resetEvent: string;
  /** The most events one replay may send; past it, the reset event instead. */
  readonly maxEvents: number;
  /** The most bytes one replay may send; past it, the reset event instead. */
  readonly maxBytes: number;
  readonly onError: (error: unknown) => void;
  /** The promise after which live delivery of `topic` has started, if it has not yet. */
  readyOf(topic: string): Promise<void> | undefined;
  /** The hub's metrics, told each replay's result. */
  readonly metrics: SSEMetrics | undefined;
}

/**
 * Sends `subscriber` the events of `topics` after `lastEventId`, then lets the live events through.
 * With a synchronous backplane it is done on return; with an asynchronous one the live events are
 * held until the history has arrived, and those the history already contained are skipped.
 */
export function replay(context: ReplayContext, subscriber: HubSubscriber, topics: readonly string[], lastEventId: string): void {
  let ready: Promise<void>[] | undefined;
  for (const name of topics) {
    const promise = context.readyOf(name);
    if (promise !== undefined) (ready ??= []).push(promise);
  }
  const failed = (error: unknown) => historyFailed(context, subscriber, error);
  if (ready === undefined) {
    let history: BackplaneHistory | Promise<BackplaneHistory>;
    try {
      history = context.backplane.history(topics, lastEventId);
    } catch (error) {
      failed(error);
      return;
    }
    if (!isPromiseLike(history)) {
      // Synchronous: nothing can be published between the read and the first live event.
      applyHistory(context, subscriber, topics, lastEventId, history, false);
      return;
    }
    subscriber.hold();
    Promise.resolve(history).then((result) => applyHistory(context, subscriber, topics, lastEventId, result, true), failed);
    return;
  }
  // Asynchronous: live events are held from now on; the history is read once live delivery
  // has started, so the two overlap rather than leave a gap, and the overlap is skipped by id.
  subscriber.hold();
  Promise.all(ready)
    .then(() => context.backplane.history(topics, lastEventId))
    .then((result) => applyHistory(context, subscriber, topics, lastEventId, result, true), failed);
}

function applyHistory(
  context: ReplayContext,
  subscriber: HubSubscriber,
  topics: readonly string[],
  lastEventId: string,
  history: BackplaneHistory,
  held: boolean,
): void {
  if (subscriber.closed) return;
  const compound = subscriber.compound;
  if (history.gone) {
    if (context.metrics !== undefined) _record(context.metrics, "replay", "hub", "reset");
    // A compound subscriber follows live from the newest retained id, as the others do.
    compound?.reset(history.lastId, context.backplane.groupOfId?.bind(context.backplane));
    subscriber.replay([
      resetFrame(context.resetEvent, lastEventId, topics, compound === undefined ? history.lastId : compound.id),
    ]);
    return;
  }
  const entries = history.entries;
  const frames = boundedFrames(context, entries, compound);
  // Held live events the history already contained are skipped, whether it is replayed or reset.
  const skip = held && entries.length > 0 ? new Set(entries.map((entry) => entry.id)) : undefined;
  if (frames !== undefined) {
    if (context.metrics !== undefined) _record(context.metrics, "replay", "hub", frames.length > 0 ? "hit" : "none");
    subscriber.replay(frames, skip);
    return;
  }
  if (context.metrics !== undefined) _record(context.metrics, "replay", "hub", "reset");
  // Past a bound: the reset event instead of a partial replay, with the newest id, so that the
  // client refetches its state and follows live from there (for a compound subscriber, the newest
  // id of each group).
  let newest = entries[entries.length - 1]!.id;
  if (compound !== undefined) {
    for (const entry of entries) compound.advance(entry);
    newest = compound.id ?? newest;
  }
  subscriber.replay([resetFrame(context.resetEvent, lastEventId, topics, newest)], skip);
}

/**
 * The frames of `entries`, or `undefined` as soon as they pass `maxEvents` or `maxBytes`: the
 * history is consumed only up to the bound, and nothing past it is encoded.
 */
function boundedFrames(
  context: ReplayContext,
  entries: readonly BackplaneEntry[],
  compound: CompoundIds | undefined,
): Uint8Array[] | undefined {
  if (entries.length > context.maxEvents) return undefined;
  const frames: Uint8Array[] = [];
  let bytes = 0;
  for (const entry of entries) {
    let frame: Uint8Array;
    try {
      frame = frameOf(entry);
      // A compound subscriber's frame carries its own id, made in the order the client gets them.
      if (compound !== undefined) frame = compound.frame(entry, frame);
    } catch (error) {
      context.onError(error);
      continue;
    }
    bytes += frame.byteLength;
    if (bytes > context.maxBytes) return undefined;
    frames.push(frame);
  }
  return frames;
}

function historyFailed(context: ReplayContext, subscriber: HubSubscriber, error: unknown): void {
  // The client reconnects with the same id and tries again.
  context.onError(error);
  subscriber.cut("error");
}
