/**
 * The delay before a reconnection: a pure function of the attempt and the options, so that the
 * backoff arithmetic is tested without a clock.
 *
 * @module
 */

/** Timers take at most 2³¹-1 ms; a longer delay would fire at once. */
export const MAX_TIMER = 2 ** 31 - 1;

/**
 * The least delay before reconnecting to a stream that opened and then ended or broke. Without
 * it, a server that answers, ends at once and sends `retry: 0` (or a reconnection time of 0
 * given as an option) makes the client reconnect in a busy loop: attempts are counted from the
 * last connection that opened, so backoff never starts.
 */
export const MIN_DELAY_AFTER_OPEN = 100;

/** What {@linkcode reconnectDelay} computes from. */
export interface ReconnectDelayInput {
  /** Which reconnection in a row this is since the last connection that opened: 1, 2, … */
  attempt: number;
  /** The reconnection time: the `retry` option, or the server's last `retry:`. */
  reconnectionTime: number;
  /** The growth factor per failed attempt. */
  factor: number;
  /** The cap of the growth (the reconnection time itself may be longer). */
  maxDelay: number;
  /** The jitter fraction (0 to 1). */
  jitter: number;
  /** Whether the connection that was lost had opened (then the delay is at least 100 ms). */
  afterOpen: boolean;
  /** A random number in [0, 1), for the jitter. */
  random: number;
}

/**
 * The reconnection delay in milliseconds: the reconnection time for the first attempt, then
 * growing by `factor` per attempt (from at least 1 ms, so that `retry: 0` cannot busy-loop on a
 * refused connection) up to `maxDelay` (or the reconnection time, if longer); at least
 * {@linkcode MIN_DELAY_AFTER_OPEN} after a connection that opened; plus jitter, which only adds
 * (the standard makes the reconnection time a minimum); at most {@linkcode MAX_TIMER}.
 */
export function reconnectDelay(input: ReconnectDelayInput): number {
  const { attempt, reconnectionTime: base, factor, maxDelay, jitter, afterOpen, random } = input;
  const cap = Math.max(maxDelay, base);
  let delay = attempt <= 1 ? base : Math.min(cap, Math.max(base, 1) * factor ** (attempt - 1));
  if (afterOpen) delay = Math.max(delay, MIN_DELAY_AFTER_OPEN);
  return Math.min(MAX_TIMER, Math.round(delay * (1 + jitter * random)));
}
