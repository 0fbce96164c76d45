/**
 * The options of {@linkcode subscribe}, untyped and typed, and what its callbacks are told.
 *
 * @module
 */

import type { SSEMessage } from "../core/event.ts";
import type { EventMap, EventSchemas, TypedMessage, UncheckedMessage } from "../core/events.ts";
import type { FetchLike, FetchLikeResponse, SubscribeBody } from "./fetch-like.ts";

/** What `shouldRetry` and `onRetry` are told about a reconnection. */
export interface RetryInfo {
  /** Which reconnection this is since the last successful open: 1, 2, … */
  attempt: number;
  /** How long the subscription waits before reconnecting, in milliseconds. */
  delay: number;
  /** Why it reconnects: usually a {@linkcode ConnectionError}. */
  error: unknown;
  /** The id that the reconnection sends as `Last-Event-ID` (none if empty). */
  lastEventId: string;
}

/** How the delay between reconnections grows while they keep failing. */
export interface BackoffOptions {
  /**
   * Each failed reconnection in a row multiplies the delay by this (1 keeps it constant). The
   * delay starts from the reconnection time (`retry`, or the server's `retry:`) and goes back to
   * it once a connection opens.
   *
   * @default {2}
   */
  factor?: number;
  /**
   * The delay never grows beyond this many milliseconds (plus jitter), unless the reconnection
   * time itself is longer (a server's `retry:` is honoured as a minimum, up to `maxRetry`).
   *
   * @default {30000}
   */
  maxDelay?: number;
  /**
   * How much random time to add to each delay, as a fraction of it: the delay is multiplied by a
   * random factor between 1 and `1 + jitter`, so that clients dropped together do not all come
   * back at once. (It only adds: the standard makes the reconnection time a minimum.)
   *
   * @default {0.2}
   */
  jitter?: number;
  /**
   * How many reconnections in a row may fail to open a stream before the subscription gives up
   * with a {@linkcode RetryLimitError}. A connection that opens resets the count, so a server
   * that ends each response normally is reconnected to indefinitely, as the standard says (at
   * least 100 ms apart). `Infinity` never gives up. `0` turns reconnection off: the subscription
   * ends with its first connection, normally if the server ended the response, with the error if
   * it failed (for streams that cannot be resumed, such as an LLM's answer).
   *
   * @default {10}
   */
  maxAttempts?: number;
}

/**
 * What a subscription does with a message it cannot deliver as it should:
 *
 * - `"throw"`: end the subscription with the error (thrown from the `for await` loop);
 * - `"skip"`: drop the message, report the error to `onError`, and go on;
 * - `"pass"`: deliver the message as received, untyped (for a typed subscription, an
 *   {@linkcode UncheckedMessage} whose `error` says why).
 */
export type MessageChoice = "throw" | "skip" | "pass";

/**
 * Options for {@linkcode subscribe}, the client's; not the hub's `subscribe` options. `M` is the
 * type of the messages delivered (`SSEMessage` unless `events` is given).
 */
export interface ClientSubscribeOptions<M = SSEMessage> {
  /**
   * The request method.
   *
   * @default {"GET", or "POST" when a body is given}
   */
  method?: string;
  /**
   * Request headers (for example `Authorization`). `Accept: text/event-stream` and
   * `Cache-Control: no-cache` are added unless given here; `Last-Event-ID` is set by the
   * subscription (use `lastEventId` for the first request).
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * The request body, sent again on every reconnection, for POST streams such as LLM APIs use.
   * A `ReadableStream` cannot be sent twice and is not accepted.
   *
   * @default {undefined}
   */
  body?: SubscribeBody | null;
  /**
   * The `fetch` to use: for a proxy agent, a test double, cookies, or a runtime's own options.
   *
   * @default {globalThis.fetch}
   */
  fetch?: FetchLike;
  /**
   * Closes the subscription when it aborts: the connection is cut, nothing is delivered after
   * it, and a `for await` loop over the subscription throws the signal's reason.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * The last event id to resume from: sent as `Last-Event-ID` from the first request on.
   *
   * @default {""}
   */
  lastEventId?: string;
  /**
   * The longest last event id sent back as `Last-Event-ID`, in bytes of UTF-8: a longer id from
   * the server is kept (`lastEventId` shows it) but not sent, so that a stream cannot make the
   * client send oversized headers (which servers refuse, ending the subscription).
   *
   * @default {1024}
   */
  maxLastEventIdLength?: number;
  /**
   * The reconnection time in milliseconds: the delay before reconnecting after a connection is
   * lost. A `retry:` field from the server replaces it (clamped to `maxRetry`). After a
   * connection that opened, the delay is at least 100 ms whatever the reconnection time.
   *
   * @default {3000}
   */
  retry?: number;
  /**
   * The longest reconnection time accepted from a server's `retry:` field, in milliseconds; a
   * larger value is clamped to this (unclamped, `retry: 2147483647` would park reconnection for
   * 24.8 days).
   *
   * @default {300000} (5 minutes)
   */
  maxRetry?: number;
  /**
   * How the delay grows while reconnections keep failing, and when to give up.
   *
   * @default {{ factor: 2, maxDelay: 30000, jitter: 0.2, maxAttempts: 10 }}
   */
  backoff?: BackoffOptions;
  /**
   * The largest event accepted, in characters (see the parser's `maxEventSize`). A larger event
   * is dropped and its `ParseError` handled as `onInvalid` says (`"pass"` acts as `"skip"`:
   * there is nothing to pass).
   *
   * @default {16777216}
   */
  maxEventSize?: number;
  /**
   * Turns each message's data into what is delivered: `"base64"` decodes base64-encoded UTF-8
   * (as the Go client's base64 option); a function does anything else. It runs before JSON
   * parsing and validation. An error it throws is handled as `onInvalid` says.
   *
   * @default {undefined} (data as received)
   */
  decode?: "base64" | ((data: string) => string);
  /**
   * The typed event map (see `defineEvents`): each message's data is parsed as JSON and
   * validated by the schema of its type, and messages are typed by it (`message.type` narrows
   * `message.data`).
   *
   * @default {undefined} (messages are delivered as received)
   */
  events?: EventMap;
  /**
   * What to do with a message whose data fails decoding (`decode`), JSON parsing or its schema,
   * or an event larger than `maxEventSize`. The default ends the subscription: data that breaks
   * the contract is a bug to see, not to pass over.
   *
   * @default {"throw"}
   */
  onInvalid?: MessageChoice;
  /**
   * For a typed subscription: what to do with a message whose type is not in `events`. The
   * default skips it (and reports it to `onError`), so that a server may add an event type
   * without breaking the clients that do not know it yet.
   *
   * @default {"skip"}
   */
  onUnknown?: MessageChoice;
  /**
   * Called with each response that opens a stream (status 200, `text/event-stream`), before any
   * of its messages: the connect callback and the response validator in one. If it throws (or
   * rejects), the response is refused: its body is cancelled, and the error is handled as a
   * failed connection (reported to `onError`, retried only if `shouldRetry` says so).
   *
   * @default {undefined}
   */
  onOpen?: (response: FetchLikeResponse) => unknown;
  /**
   * Called with each message. When given, messages go here instead of to iteration (a `for
   * await` loop then yields nothing, and ends when the subscription does). If it returns a
   * promise, the next message waits for it, and reading pauses meanwhile. An error it throws (or
   * rejects with) ends the subscription.
   *
   * @default {undefined} (messages are iterated)
   */
  onMessage?: (message: M) => unknown;
  /**
   * Reports every error, and decides nothing: each failed connection (a
   * {@linkcode ConnectionError}, the disconnect callback; a {@linkcode ResponseError}; what
   * `onOpen` threw), before `shouldRetry` is asked; each message skipped by `onInvalid` or
   * `onUnknown`; and the error that ends the subscription, when it is a new one (what
   * `onMessage` threw, a {@linkcode RetryLimitError}, an invalid message). What it returns is
   * ignored and what it throws is logged.
   *
   * @default {undefined}
   */
  onError?: (error: unknown) => unknown;
  /**
   * Decides whether to reconnect after a failed connection (`error`, also in `info`). May return
   * a promise (to refresh a token first, say); throwing (or rejecting) ends the subscription with
   * what was thrown. Reconnections stay bounded by `backoff.maxAttempts` whatever it answers.
   *
   * @default {(error) => ConnectionError.is(error)} (network errors and ended responses are retried; a refused response is not)
   */
  shouldRetry?: (error: unknown, info: RetryInfo) => boolean | Promise<boolean>;
  /**
   * Called before each reconnection, once it is decided and the delay is known.
   *
   * @default {undefined}
   */
  onRetry?: (info: RetryInfo) => void;
}

/**
 * The client's subscribe options.
 *
 * @deprecated Use {@linkcode ClientSubscribeOptions}: the new name cannot be confused with the
 * hub's subscribe options by an editor's auto-import.
 */
export type SubscribeOptions = ClientSubscribeOptions;

/**
 * What a typed subscription delivers: a {@linkcode TypedMessage} of the map, or, when
 * `onInvalid` or `onUnknown` is `"pass"`, an {@linkcode UncheckedMessage} too.
 */
export type TypedSubscriptionMessage<S extends EventSchemas, I extends MessageChoice, U extends MessageChoice> =
  | TypedMessage<S>
  | ("pass" extends I | U ? UncheckedMessage : never);

/** Options for a typed {@linkcode subscribe}: `events` is required, and messages are typed by it. */
export interface TypedSubscribeOptions<
  S extends EventSchemas,
  I extends MessageChoice = "throw",
  U extends MessageChoice = "skip",
> extends Omit<ClientSubscribeOptions<TypedSubscriptionMessage<S, I, U>>, "events" | "onInvalid" | "onUnknown"> {
  /** The typed event map (see `defineEvents`). */
  events: EventMap<S>;
  /**
   * What to do with a message whose data is not JSON or fails its schema (see
   * {@linkcode ClientSubscribeOptions.onInvalid}).
   *
   * @default {"throw"}
   */
  onInvalid?: I;
  /**
   * What to do with a message whose type is not in `events` (see
   * {@linkcode ClientSubscribeOptions.onUnknown}).
   *
   * @default {"skip"}
   */
  onUnknown?: U;
}
