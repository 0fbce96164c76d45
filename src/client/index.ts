/**
 * `hertz-sse/client`: consuming event streams. {@linkcode subscribe} is a fetch-based client
 * with reconnection, any method, headers and body, as an async iterable or with callbacks;
 * {@linkcode EventSource} is the standard interface on top of it.
 *
 * @example Usage
 * (Not run by the doc tests: it needs a server; the client's tests cover it.)
 * ```ts ignore
 * import { subscribe } from "@hertz/sse/client";
 *
 * for await (const message of subscribe("https://example.com/sse")) {
 *   console.log(message.type, message.data, message.lastEventId);
 * }
 * ```
 *
 * @module
 */

export type { SSEMessage } from "../core/event.ts";
export {
  type EventMap,
  EventValidationError,
  type EventValidationErrorKind,
  type TypedMessage,
  type UncheckedMessage,
} from "../core/events.ts";
export { ParseError, type ParseErrorKind, type ParseErrorType } from "../parser/parse-error.ts";
export {
  ClientError,
  type ClientErrorKind,
  ConnectionError,
  type ConnectionErrorKind,
  ResponseError,
  RetryLimitError,
} from "./errors.ts";
export {
  EventSource,
  type EventSourceData,
  type EventSourceEventMap,
  type EventSourceEventName,
  type EventSourceLike,
  type EventSourceOptions,
} from "./event-source.ts";
export type { FetchLike, FetchLikeInit, FetchLikeResponse, SubscribeBody } from "./fetch-like.ts";
export { subscribe } from "./subscribe.ts";
export type {
  BackoffOptions,
  ClientSubscribeOptions,
  MessageChoice,
  RetryInfo,
  SubscribeOptions,
  TypedSubscribeOptions,
  TypedSubscriptionMessage,
} from "./subscribe-options.ts";
export type { Subscription, SubscriptionState } from "./subscription.ts";
