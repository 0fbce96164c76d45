/**
 * `createParser()`: an incremental, push-style event-stream parser, exactly per the WHATWG
 * "parse an event stream" and "interpret an event stream" algorithms.
 *
 * @module
 */
import type { SSEMessage } from "../core/event.ts";
import { type _Callbacks, _EventInterpreter } from "./_event-interpreter.ts";
import { _LineSplitter } from "./_line-splitter.ts";
import { _Utf8Decoder } from "./_utf8-decoder.ts";
import type { ParseError } from "./parse-error.ts";

/** Options for {@linkcode createParser}: one callback per kind of output, and the limits. */
export interface ParserOptions {
  /**
   * Called with each message, when the blank line that ends its block is read.
   *
   * @default {does nothing}
   */
  onEvent?: (message: SSEMessage) => void;
  /**
   * Called with the value of each valid `retry:` field (ASCII digits only), as soon as its line
   * is read: the reconnection time in milliseconds that the server asks for. The number is as
   * large as the digits say; a client must clamp it to what its timers accept.
   *
   * @default {does nothing}
   */
  onRetry?: (retry: number) => void;
  /**
   * Called with the text of each comment line (a line starting with `:`), without the colon and
   * without one following space.
   *
   * @default {does nothing}
   */
  onComment?: (comment: string) => void;
  /**
   * Called when the parser had to drop input: an event larger than `maxEventSize`. The parser has
   * recovered already; parsing goes on.
   *
   * @default {does nothing}
   */
  onError?: (error: ParseError) => void;
  /**
   * The most characters (UTF-16 code units, as `String#length` counts them) that the parser holds
   * for one event: its data so far, joined by LF, its event type and the id it set, plus the whole
   * line being read (field name included), whether or not its end has arrived. The parser's memory stays within a small
   * multiple of this bound, and whether an event exceeds it does not depend on the chunking.
   *
   * An event that grows beyond it is dropped: `onError` receives a {@linkcode ParseError} of type
   * `"max-event-size-exceeded"`, the rest of the block (up to and including the next blank line)
   * is skipped, its `id:` is not committed, and parsing resumes after it. `reset()` also ends the
   * skipping. `Infinity` turns the bound off.
   *
   * @default {16777216} (16 Mi characters)
   */
  maxEventSize?: number;
  /**
   * The last event id to start from, as a reconnecting client knows it; messages carry it until
   * the stream sets another one.
   *
   * @default {""}
   */
  lastEventId?: string;
}

/** An incremental event-stream parser, made by {@linkcode createParser}. */
export interface EventStreamParser {
  /**
   * Parses the next chunk of the stream: UTF-8 bytes (decoded here, streaming: a character split
   * between chunks is joined, invalid bytes become U+FFFD) or already-decoded text. Bytes and
   * strings may be mixed; a string that arrives while a multi-byte character is incomplete ends
   * that character (as U+FFFD).
   *
   * Callbacks run synchronously, before `feed` returns. A callback may call `reset()`: the rest
   * of the chunk is then dropped. If a callback throws, `feed` throws that error and the rest of
   * the chunk is not parsed; call `reset()` before feeding more.
   */
  feed(chunk: Uint8Array | string): void;
  /**
   * Ends the stream: the unterminated block at the end is discarded, as the standard requires,
   * and the parser is ready for a new stream (as after `reset()`).
   */
  end(): void;
  /**
   * Discards everything buffered (a partial line, character or event, the skipping of an
   * oversized event) and starts over as for a new stream: the next leading BOM is dropped again.
   * `lastEventId` is kept, as an `EventSource` keeps it across reconnections.
   */
  reset(): void;
  /**
   * The last event id string: the value of the last `id:` field committed by a blank line (a
   * block commits its id even when it has no data and dispatches nothing).
   */
  readonly lastEventId: string;
}

/** The default of {@linkcode ParserOptions.maxEventSize}: 16 Mi characters. */
export const DEFAULT_MAX_EVENT_SIZE: number = 16 * 1024 * 1024;

const BOM = 0xfeff;

function noop(): void {}

function checkCallback(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Cannot create parser: "${name}" must be a function, got ${typeof value}`);
  }
}

/**
 * Creates an incremental event-stream parser. Feed it chunks as they arrive, in any sizes; it
 * calls `onEvent` with each message as soon as the blank line that ends its block is read, and
 * `onRetry` / `onComment` as soon as their lines are read.
 *
 * It implements the WHATWG algorithms exactly, including where popular parsers differ: CRLF, LF
 * and CR each end a line, and a CR ends it at once (a CR at the end of a chunk does not wait for
 * the next one, and an LF that then starts the next chunk is not a second line end); exactly one
 * space after the colon is removed; `data:` alone dispatches an empty message; a block without
 * data dispatches nothing but commits its `id:`; an id containing NUL is ignored; `retry:` must be
 * digits only; an empty `event:` means `"message"`; U+2028, NEL, VT and FF are not line breaks;
 * the unterminated block at the end of the stream is discarded.
 *
 * Time is linear in the input whatever the chunking, and memory is bounded by
 * {@linkcode ParserOptions.maxEventSize}.
 *
 * @example Usage
 * ```ts
 * import { createParser } from "@hertz/sse/parser";
 * import type { SSEMessage } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const messages: SSEMessage[] = [];
 * const parser = createParser({ onEvent: (message) => messages.push(message) });
 * parser.feed("event: greeting\ndata: hel");
 * parser.feed(new TextEncoder().encode("lo\nid: 1\n\n"));
 * assertEquals(messages, [{ type: "greeting", data: "hello", lastEventId: "1" }]);
 * assertEquals(parser.lastEventId, "1");
 * ```
 *
 * @example Retry and comments
 * ```ts
 * import { createParser } from "@hertz/sse/parser";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const seen: (number | string)[] = [];
 * const parser = createParser({ onRetry: (ms) => seen.push(ms), onComment: (text) => seen.push(text) });
 * parser.feed(": keep-alive\nretry: 3000\n");
 * assertEquals(seen, ["keep-alive", 3000]);
 * ```
 */
export function createParser(options: ParserOptions = {}): EventStreamParser {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot create parser: options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  checkCallback("onEvent", options.onEvent);
  checkCallback("onRetry", options.onRetry);
  checkCallback("onComment", options.onComment);
  checkCallback("onError", options.onError);
  const maxEventSize = options.maxEventSize ?? DEFAULT_MAX_EVENT_SIZE;
  if (typeof maxEventSize !== "number" || !(maxEventSize >= 1)) {
    throw new RangeError(`Cannot create parser: "maxEventSize" must be a positive number, got ${String(maxEventSize)}`);
  }
  const initialId = options.lastEventId ?? "";
  if (typeof initialId !== "string") {
    throw new TypeError(`Cannot create parser: "lastEventId" must be a string, got ${typeof initialId}`);
  }
  return new _Parser(
    {
      onEvent: options.onEvent ?? noop,
      onRetry: options.onRetry ?? noop,
      onComment: options.onComment,
      onError: options.onError ?? noop,
    },
    maxEventSize,
    initialId,
  );
}

/**
 * The parser: three steps, each its own object — bytes to text ({@linkcode _Utf8Decoder}), text
 * to lines ({@linkcode _LineSplitter}), lines to messages ({@linkcode _EventInterpreter}) — and
 * the leading BOM, which is dropped once per stream whether it arrives as bytes or as text.
 */
class _Parser implements EventStreamParser {
  // A chunk of bytes can give two texts (a character completed across chunks, then the rest): if
  // a callback resets the parser during the first, the second is dropped with the rest of the chunk.
  readonly #decoder = new _Utf8Decoder((text) => {
    if (this.#splitter.generation === this.#generation) this.#text(text);
  });
  readonly #splitter: _LineSplitter;
  readonly #interpreter: _EventInterpreter;
  #atStart = true; // No text seen yet: a leading BOM is still to be dropped.
  #generation = 0; // The splitter's generation when the chunk being decoded was fed.

  constructor(callbacks: _Callbacks, maxEventSize: number, lastEventId: string) {
    this.#interpreter = new _EventInterpreter(callbacks, maxEventSize, lastEventId);
    this.#splitter = new _LineSplitter(this.#interpreter);
  }

  feed(chunk: Uint8Array | string): void {
    if (typeof chunk === "string") {
      const rest = this.#decoder.flush();
      const generation = this.#splitter.generation;
      this.#text(rest);
      if (this.#splitter.generation === generation) this.#text(chunk);
    } else if (chunk instanceof Uint8Array) {
      this.#generation = this.#splitter.generation;
      this.#decoder.decode(chunk);
    } else {
      throw new TypeError(`Cannot feed parser: expected a Uint8Array or a string, got ${chunk === null ? "null" : typeof chunk}`);
    }
  }

  end(): void {
    // [spec] Once the end of the file is reached, any pending data must be discarded. (If the
    // file ends in the middle of an event, before the final empty line, the incomplete event is
    // not dispatched.)
    this.reset();
  }

  reset(): void {
    this.#decoder.flush(); // Empties the streaming decoder too, if it holds bytes.
    this.#splitter.reset();
    this.#interpreter.reset();
    this.#atStart = true;
  }

  get lastEventId(): string {
    return this.#interpreter.lastEventId;
  }

  #text(s: string): void {
    if (s.length === 0) return;
    let start = 0;
    if (this.#atStart) {
      this.#atStart = false;
      // [spec] The stream is decoded with "UTF-8 decode", which drops one leading BOM.
      if (s.charCodeAt(0) === BOM) {
        if (s.length === 1) return;
        start = 1;
      }
    }
    this.#splitter.split(s, start);
  }
}
