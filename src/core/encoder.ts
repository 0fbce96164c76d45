/**
 * The encoder: events to wire text, exactly per the WHATWG event-stream grammar.
 *
 * @module
 */
import { type EncodeOptions, type SSEEvent, validateEvent } from "./event.ts";

// A conformant parser ends a line at CRLF, CR or LF. Splitting on all three (not only LF) is what
// keeps a CR inside user data from ending the line early on the receiving side and corrupting
// the frame; the receiver sees each break as LF. CRs are rare, so they are first turned into LF,
// and only then is every LF followed by the field prefix.
const CR_BREAKS = /\r\n?/g;

/**
 * Turns an event's `data` into the text its `data:` lines carry: a string as it is, anything else
 * through `serialize` (JSON by default). Throws a `SyntaxError` for data JSON cannot express and
 * a `TypeError` when `serialize` returns something other than a string.
 *
 * @example Usage
 * ```ts
 * import { serializeData } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * assertEquals(serializeData({ n: 1 }), '{"n":1}');
 * assertEquals(serializeData("as is"), "as is");
 * ```
 */
export function serializeData(data: unknown, serialize?: (data: unknown) => string): string {
  if (typeof data === "string") return data;
  if (serialize) {
    const text = serialize(data);
    if (typeof text !== "string") {
      throw new TypeError(`Cannot encode event: "serialize" must return a string, got ${typeof text}`);
    }
    return text;
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(data);
  } catch (cause) {
    throw new SyntaxError(`Cannot serialise data: ${(cause as Error).message}`, { cause });
  }
  if (typeof text !== "string") {
    throw new SyntaxError(`Cannot serialise data: JSON.stringify returned nothing for ${typeof data}`);
  }
  return text;
}

/** Prefixes every line of `text` with `prefix` and ends each with LF. */
function lines(prefix: string, text: string): string {
  // indexOf and a plain-string replaceAll are memory scans; the regular expression
  // /\r\n|\r|\n/g that says the same thing costs four times as much on 16 KiB of text
  // (bench/encode.ts, large events), which made it the largest single cost of encoding.
  if (text.indexOf("\r") !== -1) text = text.replace(CR_BREAKS, "\n");
  return text.indexOf("\n") === -1 ? `${prefix}${text}\n` : `${prefix}${text.replaceAll("\n", `\n${prefix}`)}\n`;
}

/**
 * Turns one event into its wire text, terminated by the blank line that dispatches it.
 *
 * The event is validated first (see {@linkcode validateEvent}); a bad field throws and nothing is
 * returned. Fields are written in the order comment, `event`, `data`, `id`, `retry`, each as
 * `name: value`. `data` and comments are split on CRLF, CR and LF; nothing else is escaped or
 * altered, so a conformant parser reads back exactly what was sent (with line breaks as LF).
 * Lone surrogates cannot be represented in UTF-8: they become U+FFFD when the text is encoded to
 * bytes, as with every `TextEncoder`.
 *
 * @example Usage
 * ```ts
 * import { encodeEvent } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * assertEquals(encodeEvent({ event: "greeting", data: "hello\nworld", id: 1 }),
 *   "event: greeting\ndata: hello\ndata: world\nid: 1\n\n");
 * ```
 *
 * @example JSON data
 * ```ts
 * import { encodeEvent } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * assertEquals(encodeEvent({ data: { n: 1 } }), 'data: {"n":1}\n\n');
 * ```
 */
export function encodeEvent(event: SSEEvent, options?: EncodeOptions): string {
  validateEvent(event);
  let out = "";
  if (event.comment !== undefined) out += lines(": ", event.comment);
  if (event.event !== undefined) out += `event: ${event.event}\n`;
  const data = event.data;
  if (data !== undefined) out += lines("data: ", serializeData(data, options?.serialize));
  if (event.id !== undefined) out += `id: ${event.id}\n`;
  if (event.retry !== undefined) out += `retry: ${event.retry}\n`;
  return `${out}\n`;
}

/**
 * Turns a comment into wire text: one `: ` line per line of `text`, then a blank line. Receivers
 * ignore comments; they keep idle connections (and the proxies in between) alive.
 *
 * @example Usage
 * ```ts
 * import { encodeComment } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * assertEquals(encodeComment("ping"), ": ping\n\n");
 * ```
 */
export function encodeComment(text = ""): string {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot encode comment: expected a string, got ${typeof text}`);
  }
  return `${lines(": ", text)}\n`;
}

/**
 * A `TransformStream` from events to UTF-8 bytes, for piping: `events.pipeThrough(new
 * EventStreamEncoderStream())`. An invalid event errors the stream with the validation error
 * before any of its bytes are written.
 *
 * @example Usage
 * ```ts
 * import { EventStreamEncoderStream } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const body = ReadableStream.from([{ data: "a" }, { event: "b", data: "c" }])
 *   .pipeThrough(new EventStreamEncoderStream());
 * assertEquals(await new Response(body).text(), "data: a\n\nevent: b\ndata: c\n\n");
 * ```
 */
export class EventStreamEncoderStream extends TransformStream<SSEEvent, Uint8Array> {
  /** Creates the stream; `options` apply to every event. */
  constructor(options?: EncodeOptions) {
    const encoder = new TextEncoder();
    super({
      transform(event, controller) {
        controller.enqueue(encoder.encode(encodeEvent(event, options)));
      },
    });
  }
}
