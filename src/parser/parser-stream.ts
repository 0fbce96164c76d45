/**
 * `EventStreamParserStream`: the parser as a `TransformStream`, for piping.
 *
 * @module
 */

import type { SSEMessage } from "../core/event.ts";
import { createParser, type ParserOptions } from "./create-parser.ts";
import type { ParseError } from "./parse-error.ts";

/** Options for {@linkcode EventStreamParserStream}: the parser's, except `onEvent`. */
export interface EventStreamParserStreamOptions extends Omit<ParserOptions, "onEvent" | "onError"> {
  /**
   * Called when an oversized event was dropped (see {@linkcode ParserOptions.maxEventSize}); the
   * stream goes on. Without it, the stream errors with the {@linkcode ParseError} instead.
   *
   * @default {undefined} (the stream errors)
   */
  onError?: (error: ParseError) => void;
}

/**
 * A `TransformStream` from event-stream bytes (or text) to messages: `response.body.pipeThrough(
 * new EventStreamParserStream())`. Bytes are decoded as UTF-8 by the parser itself, so no
 * `TextDecoderStream` is needed (and none should be used: the parser drops the BOM, and a decoder
 * stage would drop it a second time). The unterminated block at the end of the input is
 * discarded, as the standard requires.
 *
 * @example Usage
 * ```ts
 * import { EventStreamParserStream } from "@hertz/sse/parser";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const body = new Response("event: greeting\ndata: hello\n\ndata: unterminated").body!;
 * const messages = await Array.fromAsync(body.pipeThrough(new EventStreamParserStream()));
 * assertEquals(messages, [{ type: "greeting", data: "hello", lastEventId: "" }]);
 * ```
 *
 * @example A proxy that filters events
 * ```ts
 * import { EventStreamEncoderStream } from "@hertz/sse";
 * import { EventStreamParserStream } from "@hertz/sse/parser";
 *
 * const upstream = new Response("event: a\ndata: 1\n\nevent: b\ndata: 2\n\n").body!;
 * const body = upstream
 *   .pipeThrough(new EventStreamParserStream())
 *   .pipeThrough(new TransformStream({
 *     transform(message, controller) {
 *       if (message.type === "a") controller.enqueue({ event: message.type, data: message.data });
 *     },
 *   }))
 *   .pipeThrough(new EventStreamEncoderStream());
 * ```
 */
export class EventStreamParserStream extends TransformStream<Uint8Array | string, SSEMessage> {
  /** Creates the stream; `options` are passed to the parser. */
  constructor(options: EventStreamParserStreamOptions = {}) {
    let controller!: TransformStreamDefaultController<SSEMessage>;
    const onError = options.onError;
    const parser = createParser({
      ...options,
      onEvent: (message) => controller.enqueue(message),
      onError:
        onError ??
        ((error) => {
          controller.error(error);
          parser.reset(); // Stops the chunk being parsed: nothing more can be enqueued.
        }),
    });
    super({
      start(c) {
        controller = c;
      },
      transform(chunk) {
        parser.feed(chunk);
      },
      flush() {
        parser.end();
      },
    });
  }
}
