/**
 * `createParser()`: an incremental, push-style event-stream parser, exactly per the WHATWG
 * "parse an event stream" and "interpret an event stream" algorithms.
 *
 * @module
 */
import type { SSEMessage } from "../core/event.ts";
import { ParseError } from "./parse-error.ts";

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
   * for one event: its data so far, joined by LF, plus the whole line being read (field name
   * included), whether or not its end has arrived. The parser's memory stays within a small
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

const LF = 0x0a;
const SPACE = 0x20;
const COLON = 0x3a;
const BOM = 0xfeff;

const STREAM: TextDecodeOptions = { stream: true };

function noop(): void {}

/** How many bytes the UTF-8 sequence that starts with the lead byte `byte` (>= 0xC0) has. */
function sequenceLength(byte: number): number {
  return byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
}

/** Whether `value` is one or more ASCII digits, as `retry:` requires. */
function isDigits(value: string): boolean {
  if (value.length === 0) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

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
  const onEvent = options.onEvent ?? noop;
  const onRetry = options.onRetry ?? noop;
  const onComment = options.onComment;
  const onError = options.onError ?? noop;

  // Decoding. The parser does the streaming itself: a chunk is decoded up to its last complete
  // character, and the bytes of an incomplete one (at most 3) are carried over to the next.
  // Splitting right before a lead or ASCII byte never changes what a UTF-8 decoder outputs, so the
  // text is exactly what one streaming decoder would give, U+FFFD for invalid bytes included.
  // This lets each chunk go to whichever decoder is faster for it (see bytes()): in Node, a
  // `TextDecoder` called without `{ stream: true }` takes a fast path (simdutf) that is 2-4× faster
  // on ASCII, and slower than the streaming one on other text (measured with bench/parse.ts).
  // `ignoreBOM: true` because each call would otherwise drop a BOM: the parser drops only the
  // stream's first one, itself.
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const streamingDecoder = new TextDecoder("utf-8", { ignoreBOM: true });
  let ascii = true; // The previous chunk was ASCII only.
  let sparse = true; // The previous chunk had less than one non-ASCII byte in 64.
  let streamHolds = false; // The carried bytes are (also) held by the streaming decoder.
  const carry = new Uint8Array(4);
  let carried = 0;
  let atStart = true; // No text seen yet: a leading BOM is still to be dropped.

  // Line state. A line that is not terminated within a chunk is kept as an array of pieces and
  // joined once, when its end arrives. Appending each chunk to a string instead would be cheap in
  // itself (engines build ropes), but searching the result for the line end flattens the rope and
  // rescans it on every chunk: a line spread over n chunks would cost O(n²).
  const pieces: string[] = [];
  let pendingLength = 0; // Characters in `pieces` (or skipped, while discarding).
  let skipLF = false; // The previous chunk ended with CR: an LF starting this one ends nothing.

  // Interpretation state, as the standard names it.
  let data = ""; // The data buffer, without its trailing LF (see `dataLines`).
  let dataLines = 0; // How many `data:` lines the buffer holds; 0 means an empty buffer.
  let eventType = ""; // The event type buffer.
  let idBuffer = initialId; // The last event ID buffer.
  let lastEventId = initialId; // The last event ID string, committed by a blank line.
  let discarding = false; // Skipping the rest of an oversized event, up to its blank line.
  let generation = 0; // Changed by reset(), so that a scan interrupted by a callback stops.

  function dispatch(): void {
    // [spec] Set the last event ID string of the event source to the value of the last event ID
    // buffer. The buffer does not get reset.
    lastEventId = idBuffer;
    // [spec] If the data buffer is an empty string, set the data buffer and the event type buffer
    // to the empty string and return.
    if (dataLines === 0) {
      eventType = "";
      return;
    }
    // [spec] Remove the data buffer's last LF; type "message" unless the event type buffer has
    // another value; then set the data buffer and the event type buffer to the empty string.
    const message: SSEMessage = { type: eventType === "" ? "message" : eventType, data, lastEventId };
    data = "";
    dataLines = 0;
    eventType = "";
    onEvent(message);
  }

  function appendData(value: string): void {
    // [spec] Append the field value to the data buffer, then append a single LF. The LF goes in
    // before the next value instead, which leaves the buffer without the trailing LF that
    // dispatching removes. Concatenation is fine here: the buffer is never searched.
    if (dataLines === 0) data = value;
    else data = `${data}\n${value}`;
    dataLines++;
  }

  function setId(value: string): void {
    // [spec] If the field value does not contain U+0000 NULL, then set the last event ID buffer to
    // the field value. Otherwise, ignore the field.
    if (value.indexOf("\0") === -1) idBuffer = value;
  }

  function overflow(): void {
    data = "";
    dataLines = 0;
    eventType = "";
    idBuffer = lastEventId; // The dropped block's id must not be committed either.
    pieces.length = 0;
    discarding = true;
    onError(
      new ParseError(`Cannot parse event: it exceeds the maximum size of ${maxEventSize} characters`, {
        type: "max-event-size-exceeded",
      }),
    );
  }

  /** Interprets the line `s.slice(start, end)` (`end` excluded), without copying it when possible. */
  function line(s: string, start: number, end: number): void {
    // [spec] If the line is empty (a blank line): dispatch the event.
    if (start === end) {
      dispatch();
      return;
    }
    const first = s.charCodeAt(start);
    // Fast path for "data:", by far the most common line. The character after the colon may be
    // the line's terminator, never a space, so looking at it needs no bounds check.
    if (
      first === 0x64 && s.charCodeAt(start + 1) === 0x61 && s.charCodeAt(start + 2) === 0x74 &&
      s.charCodeAt(start + 3) === 0x61 && s.charCodeAt(start + 4) === COLON
    ) {
      appendData(s.slice(s.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end));
      return;
    }
    // The same for "event:" and "id:", the other fields of a typical event.
    if (
      first === 0x65 && s.charCodeAt(start + 1) === 0x76 && s.charCodeAt(start + 2) === 0x65 &&
      s.charCodeAt(start + 3) === 0x6e && s.charCodeAt(start + 4) === 0x74 && s.charCodeAt(start + 5) === COLON
    ) {
      // [spec] Set the event type buffer to the field value.
      eventType = s.slice(s.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end);
      return;
    }
    if (first === 0x69 && s.charCodeAt(start + 1) === 0x64 && s.charCodeAt(start + 2) === COLON) {
      setId(s.slice(s.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end));
      return;
    }
    // [spec] If the line starts with a colon: ignore the line (a comment).
    if (first === COLON) {
      if (onComment) onComment(s.slice(s.charCodeAt(start + 1) === SPACE ? start + 2 : start + 1, end));
      return;
    }
    // [spec] If the line contains a colon: the field is what comes before the first colon, the
    // value what comes after it, minus one leading space. Otherwise the whole line is the field
    // and the value is empty. The colon is searched for within the line only: `indexOf` could run
    // far past a colon-less line's end, and a run of such lines would then be quadratic.
    let colon = start + 1;
    while (colon < end && s.charCodeAt(colon) !== COLON) colon++;
    const field = s.slice(start, colon);
    let valueStart = colon + 1;
    if (valueStart < end && s.charCodeAt(valueStart) === SPACE) valueStart++;
    switch (field) {
      case "event":
        // [spec] Set the event type buffer to the field value.
        eventType = valueStart < end ? s.slice(valueStart, end) : "";
        break;
      case "data":
        appendData(valueStart < end ? s.slice(valueStart, end) : "");
        break;
      case "id":
        setId(valueStart < end ? s.slice(valueStart, end) : "");
        break;
      case "retry": {
        // [spec] If the field value consists of only ASCII digits, then interpret it as an
        // integer in base ten and set the reconnection time to it. Otherwise, ignore the field.
        const value = valueStart < end ? s.slice(valueStart, end) : "";
        if (isDigits(value)) onRetry(Number.parseInt(value, 10));
        break;
      }
      // [spec] Otherwise: the field is ignored.
    }
  }

  /** Splits decoded text into lines and interprets each; keeps the unterminated rest. */
  function scan(s: string): void {
    const length = s.length;
    let pos = 0;
    if (skipLF) {
      skipLF = false;
      if (s.charCodeAt(0) === LF) pos = 1;
    }
    // The next CR and LF are each searched for once and remembered until passed, so the text is
    // scanned for each kind of line end once in all (not once per line).
    let lf = s.indexOf("\n", pos);
    let cr = s.indexOf("\r", pos);
    const current = generation;
    // The first line ends what the previous chunks left unterminated, if anything.
    if ((pieces.length > 0 || discarding) && (lf !== -1 || cr !== -1)) {
      const start = pos;
      let end: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        pos = lf + 1;
        lf = s.indexOf("\n", pos);
      } else {
        end = cr;
        pos = cr + 1;
        if (pos === length) skipLF = true;
        else if (s.charCodeAt(pos) === LF) lf = s.indexOf("\n", ++pos);
        cr = s.indexOf("\r", pos);
      }
      if (discarding) {
        if (pendingLength === 0 && end === start) discarding = false; // The blank line ending it.
      } else {
        pieces.push(s.slice(start, end));
        const whole = pieces.join("");
        pieces.length = 0;
        if (whole.length + data.length > maxEventSize) overflow();
        else line(whole, 0, whole.length);
      }
      pendingLength = 0;
      if (generation !== current) return; // A callback called reset().
    }
    while (lf !== -1 || cr !== -1) {
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        next = lf + 1;
        lf = s.indexOf("\n", next);
      } else {
        // [spec] A line ends with CRLF, with an LF not preceded by CR, or with a CR not followed
        // by LF. A CR at the end of the chunk ends its line now; an LF that starts the next chunk
        // is then the second half of a CRLF.
        end = cr;
        next = cr + 1;
        if (next === length) skipLF = true;
        else if (s.charCodeAt(next) === LF) lf = s.indexOf("\n", ++next);
        cr = s.indexOf("\r", next);
      }
      if (discarding) {
        if (end === pos) discarding = false; // The blank line ending it.
      } else if (end === pos) {
        dispatch();
      } else if (end - pos + data.length > maxEventSize) {
        overflow();
      } else if (
        s.charCodeAt(pos) === 0x64 && s.charCodeAt(pos + 1) === 0x61 && s.charCodeAt(pos + 2) === 0x74 &&
        s.charCodeAt(pos + 3) === 0x61 && s.charCodeAt(pos + 4) === COLON
      ) {
        // "data:", the most common line, interpreted here rather than in line() (see there).
        appendData(s.slice(s.charCodeAt(pos + 5) === SPACE ? pos + 6 : pos + 5, end));
      } else {
        line(s, pos, end);
      }
      pos = next;
      if (generation !== current) return; // A callback called reset().
    }
    if (pos < length) {
      pendingLength += length - pos;
      if (!discarding) {
        pieces.push(pos === 0 ? s : s.slice(pos));
        if (pendingLength + data.length > maxEventSize) overflow();
      }
    }
  }

  function text(s: string): void {
    if (s.length === 0) return;
    if (atStart) {
      atStart = false;
      // [spec] The stream is decoded with "UTF-8 decode", which drops one leading BOM.
      if (s.charCodeAt(0) === BOM) {
        if (s.length === 1) return;
        s = s.slice(1);
      }
    }
    scan(s);
  }

  function bytes(chunk: Uint8Array): void {
    const length = chunk.length;
    // How far the character left incomplete by the previous chunk (in `carry`) extends into this
    // one: the continuation bytes that complete it.
    let start = 0;
    const held = carried;
    let whole = 0; // The bytes of the completed (or broken) character, in `carry`.
    if (held > 0) {
      const needed = sequenceLength(carry[0]!);
      while (carried < needed && start < length && (chunk[start]! & 0xc0) === 0x80) carry[carried++] = chunk[start++]!;
      if (carried < needed && start === length) {
        // Still incomplete: wait for more (a streaming decoder that holds the bytes is kept in step).
        if (streamHolds) streamingDecoder.decode(chunk, STREAM);
        return;
      }
      whole = carried;
      carried = 0;
    }
    // An incomplete character at the end: the last lead byte within the last 3 bytes, if fewer
    // bytes follow it than it announces.
    let end = length;
    for (let i = length - 1; i >= start && i >= length - 3; i--) {
      const byte = chunk[i]!;
      if (byte < 0x80) break;
      if (byte >= 0xc0) {
        if (length - i < sequenceLength(byte)) end = i;
        break;
      }
    }
    // Node's fast path (simdutf) wins big on ASCII; on other text it is slower than the streaming
    // decoder, except in small chunks, where the streaming decoder's cost per call dominates,
    // unless most of the text is non-ASCII (CJK, say). The previous chunk predicts which case this
    // one is. The streaming decoder handles the boundaries between chunks itself; the fast one is
    // given whole characters, and the parser carries the bytes of an incomplete one over.
    let decoded: string;
    if (!(ascii || (sparse && length <= 2048))) {
      decoded = held > 0 && !streamHolds ? streamingDecoder.decode(carry.subarray(0, held), STREAM) : "";
      decoded += streamingDecoder.decode(chunk, STREAM);
      streamHolds = end < length;
    } else {
      decoded = "";
      if (held > 0) {
        // The completed (or broken) character: decoded by whichever decoder holds its first bytes.
        // Without `stream`, the streaming decoder flushes: it holds nothing afterwards.
        decoded = streamHolds ? streamingDecoder.decode(chunk.subarray(0, start)) : decoder.decode(carry.subarray(0, whole));
        streamHolds = false;
      }
      if (end > start) decoded += decoder.decode(start === 0 && end === length ? chunk : chunk.subarray(start, end));
    }
    for (let i = end; i < length; i++) carry[carried++] = chunk[i]!;
    const multiByte = length - decoded.length; // Bytes beyond one per UTF-16 unit, roughly.
    ascii = multiByte === 0;
    sparse = multiByte * 64 < length;
    text(decoded);
  }

  /** Ends a character left incomplete by the last bytes (as U+FFFD), before text or a reset. */
  function flushCarry(): string {
    if (carried === 0) return "";
    const rest = streamHolds ? streamingDecoder.decode() : decoder.decode(carry.subarray(0, carried));
    carried = 0;
    streamHolds = false;
    return rest;
  }

  function reset(): void {
    generation++;
    flushCarry(); // Empties the streaming decoder too, if it holds bytes.
    atStart = true;
    pieces.length = 0;
    pendingLength = 0;
    skipLF = false;
    data = "";
    dataLines = 0;
    eventType = "";
    idBuffer = lastEventId;
    discarding = false;
  }

  return {
    feed(chunk: Uint8Array | string): void {
      if (typeof chunk === "string") {
        const rest = flushCarry();
        const current = generation;
        text(rest);
        if (generation === current) text(chunk);
      } else if (chunk instanceof Uint8Array) {
        bytes(chunk);
      } else {
        throw new TypeError(`Cannot feed parser: expected a Uint8Array or a string, got ${chunk === null ? "null" : typeof chunk}`);
      }
    },
    end(): void {
      // [spec] Once the end of the file is reached, any pending data must be discarded. (If the
      // file ends in the middle of an event, before the final empty line, the incomplete event is
      // not dispatched.)
      reset();
    },
    reset,
    get lastEventId(): string {
      return lastEventId;
    },
  };
}
