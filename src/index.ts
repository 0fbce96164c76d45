/**
 * hertz-sse: Server-Sent Events for every JavaScript runtime, built only on web standards.
 *
 * The main entry holds the server side: the event model, the encoder, {@linkcode SSEStream} and
 * {@linkcode sseResponse}. The parser, the client, the hub and the runtime adapters have their own
 * entry points (`hertz-sse/parser`, `hertz-sse/client`, `hertz-sse/hub`, `hertz-sse/hono`, …).
 *
 * @example Usage
 * ```ts
 * import { sseResponse } from "@hertz/sse";
 *
 * export default {
 *   fetch: (request: Request) =>
 *     sseResponse(request, async (stream) => {
 *       await stream.send({ event: "greeting", data: "hello" });
 *     }),
 * };
 * ```
 *
 * @module
 */
export { EventStreamEncoderStream, encodeComment, encodeEvent, serializeData } from "./core/encoder.ts";
export { type EncodeOptions, type SSEEvent, type SSEMessage, validateEvent } from "./core/event.ts";
export {
  checkTypedEvent,
  defineEvents,
  type EventInput,
  type EventMap,
  type EventName,
  type EventOf,
  type EventOutput,
  type EventSchemas,
  EventValidationError,
  type EventValidationErrorKind,
  type EventValidationErrorOptions,
  type OpenAPIMediaType,
  type StandardJSONSchemaV1,
  type StandardSchemaV1,
  type TypedEvent,
  type TypedMessage,
  type UncheckedMessage,
} from "./core/events.ts";
export { type DrainOptions, SSEGroup } from "./core/group.ts";
export { sseHeaders } from "./core/headers.ts";
export { decodeByteString, encodeByteString, getLastEventId, type LastEventIdOptions } from "./core/last-event-id.ts";
export type {
  SSECloseReason,
  SSEDropReason,
  SSEMetrics,
  SSEReplayResult,
  SSEStreamClosedInfo,
  SSEStreamKind,
} from "./core/metrics.ts";
export { type SSEHandler, type SSEResponseOptions, sseResponse } from "./core/response.ts";
export { SSEStream, type SSEStreamOptions } from "./core/stream.ts";
