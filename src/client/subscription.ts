/**
 * `Subscription`: what {@linkcode subscribe} returns.
 *
 * @module
 */

import type { SSEMessage } from "../core/event.ts";

/** The state of a {@linkcode Subscription}. */
export type SubscriptionState = "connecting" | "open" | "closed";

/**
 * A running subscription, made by {@linkcode subscribe}: an async iterable of messages (of type
 * `M`) that reconnects by itself until it is closed or fails.
 */
export interface Subscription<M = SSEMessage> extends AsyncIterable<M> {
  /** The last event id seen (what the next reconnection sends as `Last-Event-ID`). */
  readonly lastEventId: string;
  /** `"connecting"` (also while waiting to reconnect), `"open"` or `"closed"`. */
  readonly readyState: SubscriptionState;
  /** Resolves when the subscription has ended, for whatever reason. Never rejects. */
  readonly closed: Promise<void>;
  /**
   * The error that ended the subscription, or `undefined` if it has not ended or ended normally
   * (`close()`, a 204 response, or a loop that was left).
   */
  readonly error: unknown;
  /** Ends the subscription at once: the connection is cut and nothing more is delivered. */
  close(): void;
  /** Iterates the messages; a subscription can be iterated once. Leaving the loop closes it. */
  [Symbol.asyncIterator](): AsyncIterator<M, undefined>;
}
