/**
 * Replay: what a subscriber that reconnects with `Last-Event-ID` gets before the live events, read
 * from the backplane's history.
 *
 * @module
 */

import { concatChunks } from "../_internal/bytes.ts";
import { isPromiseLike } from "../_internal/log.ts";
import { frameOf, resetFrame } from "./_frame.ts";
import type { HubSubscriber } from "./_subscriber.ts";
import type { Backplane, BackplaneHistory } from "./backplane.ts";

/** What a replay needs from its hub. */
export interface ReplayContext {
  readonly backplane: Backplane;
  readonly resetEvent: string;
  readonly onError: (error: unknown) => void;
  /** The promise after which live delivery of `topic` has started, if it has not yet. */
  readyOf(topic: string): Promise<void> | undefined;
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
  let first: Uint8Array | undefined;
  let skip: Set<string> | undefined;
  if (history.gone) {
    first = resetFrame(context.resetEvent, lastEventId, topics, history.lastId);
  } else if (history.entries.length > 0) {
    const frames: Uint8Array[] = [];
    for (const entry of history.entries) {
      try {
        frames.push(frameOf(entry));
      } catch (error) {
        context.onError(error);
      }
    }
    first = frames.length === 1 ? frames[0] : concatChunks(frames);
    if (held) skip = new Set(history.entries.map((entry) => entry.id));
  }
  if (held) subscriber.resume(first, skip);
  else if (first !== undefined) subscriber.push(first);
}

function historyFailed(context: ReplayContext, subscriber: HubSubscriber, error: unknown): void {
  // The client reconnects with the same id and tries again.
  context.onError(error);
  subscriber.disconnect();
}
