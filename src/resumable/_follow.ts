/**
 * One subscriber's response: the replayed frames, then (while the stream runs) its live frames,
 * each once, until the first terminal entry; keep-alive comments from the first byte; and the
 * watch for a producer that has stopped sending heartbeats.
 *
 * @module
 */

import { encodeComment, encodeEvent } from "../core/encoder.ts";
import type { SSEMetrics } from "../core/metrics.ts";
import { SSEStream } from "../core/stream.ts";
import type { BackplaneEntry, BackplaneSubscription } from "../hub/backplane.ts";
import { kindOf } from "./_entries.ts";

/** What a subscriber's response needs. */
export interface FollowOptions {
  /** The frames to replay, then the rest of the entries known before going live. */
  readonly entries: readonly BackplaneEntry[];
  /** Starts live delivery, or nothing when `entries` already end with a terminal entry. */
  readonly live?: (listener: (entry: BackplaneEntry) => void) => BackplaneSubscription;
  /** Entries read after live delivery started: they may also arrive live, and are sent once. */
  readonly gap?: () => Promise<readonly BackplaneEntry[]>;
  /** Called when no entry arrived live for this long: the producer is presumed lost. */
  readonly silence: number;
  readonly onSilence: () => void;
  readonly keepAlive: number | false;
  readonly signal: AbortSignal | undefined;
  readonly headers: HeadersInit | undefined;
  readonly onError: (error: unknown) => void;
  /** Called once when the response ends, for any reason. */
  readonly onEnd: () => void;
  /** The response's metrics (kind `resumable`), if any. */
  readonly metrics?: SSEMetrics;
}

// The first bytes of every response: they reach the client at once, before any frame, so that
// the response's headers go out (Bun sends them only with a first chunk) and proxies see traffic
// even when the model is silent before its first token.
const OPENING = encodeComment("");

function wire(entry: BackplaneEntry): string {
  const { event, data } = entry.event;
  return encodeEvent(event === undefined ? { data, id: entry.id } : { event, data, id: entry.id });
}

/** Returns the response at once; frames follow as they are known. */
export function follow(options: FollowOptions): Response {
  const stream = new SSEStream({ keepAlive: options.keepAlive, signal: options.signal, metrics: options.metrics });
  void stream.write(OPENING);
  let done = false;
  let subscription: BackplaneSubscription | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Live entries wait here while the gap is read; afterwards they are sent as they come.
  let held: BackplaneEntry[] | undefined;
  // Ids of the gap's entries: live entries with these ids were sent already.
  let sent: Set<string> | undefined;

  const finish = (): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    subscription?.unsubscribe();
    stream.close();
    options.onEnd();
  };
  stream.signal.addEventListener("abort", finish, { once: true });

  // Frames wait here for the client, which the SSEStream lets hold only a bounded queue. Their
  // number is bounded by the stream's maxFrames; a client that stops reading altogether is cut
  // off by the SSEStream's drainTimeout.
  const pending: string[] = [];
  let pumping = false;
  let ending = false;
  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    try {
      while (pending.length > 0 && !done) {
        // Everything that arrived while the client was busy goes out as one write: one chunk,
        // one encode, instead of a write per token.
        const text = pending.length === 1 ? pending[0]! : pending.join("");
        pending.length = 0;
        if (!(await stream.write(text))) return;
      }
    } catch (error) {
      options.onError(error);
      finish();
    } finally {
      pumping = false;
    }
    if (ending && pending.length === 0) finish();
  };

  // Sends an entry; returns false once the stream has reached its terminal entry.
  const deliver = (entry: BackplaneEntry): boolean => {
    if (done || ending) return false;
    const kind = kindOf(entry);
    if (kind.kind === "frame") {
      // The usual case while tokens trickle in: nothing waits and the stream's queue is empty,
      // which takes any one chunk at once, so the write needs no await (a promise per frame
      // and a microtask are saved per frame).
      if (!pumping && stream.queued === 0) void stream.write(wire(entry));
      else {
        pending.push(wire(entry));
        if (!pumping) void pump();
      }
      return true;
    }
    if (kind.kind === "end") {
      if (kind.visible) pending.push(wire(entry));
      ending = true;
      void pump();
      return false;
    }
    return true;
  };

  // The silence watch: one timer that re-arms itself from the time of the newest live entry,
  // rather than a clearTimeout and a setTimeout per token (timer bookkeeping showed up in the
  // relay's CPU profile; a Date.now() per entry does not).
  let heard = Date.now();
  const check = (): void => {
    if (done || ending) return;
    const quiet = Date.now() - heard;
    if (quiet >= options.silence) {
      heard = Date.now();
      options.onSilence();
    }
    timer = setTimeout(check, Math.max(1, options.silence - (Date.now() - heard)));
  };
  const watch = (): void => {
    heard = Date.now();
    if (timer === undefined && !done && !ending) timer = setTimeout(check, options.silence);
  };

  for (const entry of options.entries) if (!deliver(entry)) return stream.toResponse({ headers: options.headers });
  if (options.live === undefined) {
    ending = true;
    void pump();
    return stream.toResponse({ headers: options.headers });
  }

  held = [];
  const onLive = (entry: BackplaneEntry): void => {
    if (done) return;
    if (held !== undefined) {
      held.push(entry);
      return;
    }
    watch();
    if (sent !== undefined) {
      if (sent.has(entry.id)) return;
      sent = undefined;
    }
    deliver(entry);
  };
  try {
    subscription = options.live(onLive);
  } catch (error) {
    options.onError(error);
    finish();
    return stream.toResponse({ headers: options.headers });
  }
  if (done) subscription.unsubscribe();
  const ready = subscription.ready ?? Promise.resolve();
  ready
    .then(() => (done ? [] : (options.gap?.() ?? [])))
    .then(
      (gap) => {
        if (done) return;
        sent = new Set();
        for (const entry of gap) {
          sent.add(entry.id);
          if (!deliver(entry)) return;
        }
        const waiting = held ?? [];
        held = undefined;
        watch();
        for (const entry of waiting) onLive(entry);
      },
      (error: unknown) => {
        options.onError(error);
        finish();
      },
    );
  return stream.toResponse({ headers: options.headers });
}
