/**
 * `hertz-sse/client`: consuming event streams. {@linkcode subscribe} is a fetch-based client
 * with reconnection, any method, headers and body, as an async iterable or with callbacks;
 * {@linkcode EventSource} is the standard interface on top of it.
 *
 * @example Usage
 * ```ts
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
export { ParseError, type ParseErrorType } from "../parser/parse-error.ts";
export {
  ClientError,
  ConnectionError,
  type ConnectionErrorKind,
  ResponseError,
  RetryLimitError,
} from "./errors.ts";
export { EventSource, type EventSourceEventMap, type EventSourceLike, type EventSourceOptions } from "./event-source.ts";
export type { FetchLike, FetchLikeInit, FetchLikeResponse, SubscribeBody } from "./fetch-like.ts";
export {
  type BackoffOptions,
  type RetryInfo,
  type SubscribeOptions,
  type Subscription,
  type SubscriptionState,
  subscribe,
} from "./subscribe.ts";
