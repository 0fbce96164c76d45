/**
 * `hertz-sse/parser`: the event-stream parser, exactly per the WHATWG "parse an event stream" and
 * "interpret an event stream" algorithms, as a push-style parser ({@linkcode createParser}) and as
 * a `TransformStream` ({@linkcode EventStreamParserStream}).
 *
 * @example Usage
 * ```ts
 * import { EventStreamParserStream } from "@hertz/sse/parser";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * // Any byte stream: usually `(await fetch(url)).body`.
 * const response = new Response("event: greeting\ndata: hello\nid: 1\n\n");
 * const messages = [];
 * for await (const message of response.body!.pipeThrough(new EventStreamParserStream())) {
 *   messages.push([message.type, message.data, message.lastEventId]);
 * }
 * assertEquals(messages, [["greeting", "hello", "1"]]);
 * ```
 *
 * @module
 */

export type { SSEMessage } from "../core/event.ts";
export {
  createParser,
  DEFAULT_MAX_EVENT_SIZE,
  type EventStreamParser,
  type ParserOptions,
} from "./create-parser.ts";
export { ParseError, type ParseErrorKind, type ParseErrorOptions, type ParseErrorType } from "./parse-error.ts";
export { EventStreamParserStream, type EventStreamParserStreamOptions } from "./parser-stream.ts";
