/**
 * The schedule of a graceful drain, shared by `SSEGroup.drain()` and `SSEHub.drain()`: which
 * stream is closed when, and the `retry:` each is sent first, so that the clients of a whole
 * instance come back spread evenly over `jitter` instead of all at once.
 *
 * @module
 */

import { textResponse } from "../_internal/http.ts";
import { encodeEvent } from "./encoder.ts";

/** Options of a graceful drain (`SSEGroup.drain()`, `SSEHub.drain()`). */
export interface DrainOptions {
  /**
   * Milliseconds from the call after which every stream still open is cut (close reason
   * `drain-timeout`) and the drain resolves. Give the process's own shutdown limit minus a margin
   * (Kubernetes sends SIGKILL 30 s after SIGTERM by default).
   *
   * @default {25000}
   */
  deadline?: number;
  /**
   * Milliseconds over which the open streams are closed (close reason `drain`), in waves about
   * 50 ms apart, each wave an even share of the streams in random order. At most `deadline`; `0`
   * closes them all at once.
   *
   * @default {10000, or deadline if shorter}
   */
  jitter?: number;
}

/** The resolved drain options. */
export interface DrainPlan {
  readonly deadline: number;
  readonly jitter: number;
}

/** The wave interval aimed at: short enough that a late timer bunches few clients together. */
const WAVE = 50;
/**
 * The least `retry:` sent. A client waits at least 100 ms after a connection that opened anyway
 * (see the client's `MIN_DELAY_AFTER_OPEN`, and browsers' own floors), so a smaller value would
 * make a wave's clients return together at that floor instead of spread over the interval.
 */
const MIN_RETRY = 100;

/** Checks and resolves the options of `drain()`; throws a `RangeError` naming `what`. */
export function resolveDrain(options: DrainOptions, what: string): DrainPlan {
  const deadline = options.deadline ?? 25_000;
  if (typeof deadline !== "number" || !(deadline >= 0) || !Number.isFinite(deadline)) {
    throw new RangeError(`Cannot ${what}: "deadline" must be a non-negative number of milliseconds, got ${String(deadline)}`);
  }
  const jitter = options.jitter ?? Math.min(10_000, deadline);
  if (typeof jitter !== "number" || !(jitter >= 0) || !(jitter <= deadline)) {
    throw new RangeError(
      `Cannot ${what}: "jitter" must be a number of milliseconds from 0 to "deadline" (${deadline}), got ${String(jitter)}`,
    );
  }
  return { deadline, jitter };
}

/**
 * Closes `items` in waves spread evenly over `plan.jitter`: they are shuffled, then wave `k` of
 * `W` (one every ~50 ms) closes the `k`-th of `W` equal shares at `k × jitter / W`. Each is first
 * sent `retry:` stratified over [100, 100 + the wave interval) ms, in random order within its
 * wave, so that a wave's clients reconnect spread over the interval up to the next wave: the
 * arrival rate elsewhere stays flat (a uniform random delay per client would give Poisson
 * clumps instead). `close(item, retryText)` is called once per item still open when its wave
 * comes; a late timer runs every wave that is due, with retries shortened by its lateness.
 * Returns a function that cancels what is left.
 */
export function scheduleWaves<T>(items: readonly T[], plan: DrainPlan, close: (item: T, retry: string) => void): () => void {
  const order = items.slice();
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const n = order.length;
  const waves = plan.jitter <= 0 ? 1 : Math.max(1, Math.min(n, Math.round(plan.jitter / WAVE)));
  const interval = plan.jitter / waves;
  const start = Date.now();
  let next = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = (): void => {
    timer = undefined;
    const elapsed = Date.now() - start;
    while (next < waves && next * interval <= elapsed) {
      const from = Math.round((next * n) / waves);
      const to = Math.round(((next + 1) * n) / waves);
      const count = to - from;
      for (let j = 0; j < count; j++) {
        // The j-th stratum of the wave's interval; `order` is shuffled, so which client gets it is
        // random. The time is counted from when the wave was due: a wave run late (a busy event
        // loop, or several waves due at once) sends shorter retries, so that its clients still
        // come back when they would have, rather than all together after the delay.
        const due = next * interval + ((j + Math.random()) / count) * interval;
        const retry = MIN_RETRY + Math.max(0, Math.floor(due - elapsed));
        close(order[from + j]!, encodeEvent({ retry }));
      }
      next++;
    }
    if (next < waves) timer = setTimeout(run, Math.max(0, next * interval - (Date.now() - start)));
  };
  run();
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    next = waves;
  };
}

/** 503 for a stream refused while draining: the client should come back, to another instance. */
export function drainingResponse(): Response {
  return textResponse(503, "The server is shutting down", { "Retry-After": "1" });
}
