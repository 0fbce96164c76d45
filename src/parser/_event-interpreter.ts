/**
 * The parser's third step: lines to messages, per the WHATWG "interpret an event stream" rules,
 * within the `maxEventSize` bound.
 *
 * @module
 */
import type { SSEMessage } from "../core/event.ts";
import { ParseError } from "./parse-error.ts";

const SPACE = 0x20;
const COLON = 0x3a;

/** What the interpreter reports to: the parser's callbacks. */
export interface _Callbacks {
  onEvent: (message: SSEMessage) => void;
  onRetry: (retry: number) => void;
  onComment: ((comment: string) => void) | undefined;
  onError: (error: ParseError) => void;
}

/** Whether `s.slice(start, end)` is one or more ASCII digits, as `retry:` requires. */
function isDigits(s: string, start: number, end: number): boolean {
  if (start === end) return false;
  for (let i = start; i < end; i++) {
    const code = s.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return false;
  }
  return true;
}

/**
 * The interpretation state, as the standard names it (data buffer, event type buffer, last event
 * ID buffer, last event ID string), fed one line at a time by the line splitter.
 *
 * The event's size is what it holds: its data joined by LF, its event type, the id it set, plus
 * the line being read. Beyond `maxEventSize` the event is dropped and the rest of its block
 * skipped ({@linkcode _EventInterpreter.discarding}).
 */
export class _EventInterpreter {
  /** The last event ID string, committed by a blank line. */
  lastEventId: string;
  /** Skipping the rest of an oversized event, up to its blank line. */
  discarding = false;
  #data = ""; // The data buffer, without its trailing LF (see `#dataLines`).
  #dataLines = 0; // How many `data:` lines the buffer holds; 0 means an empty buffer.
  #type = ""; // The event type buffer.
  #lastType = "message"; // The last short event type read (see "event" in line()).
  #lastTypeSize = 7;
  #id: string; // The last event ID buffer.
  // The event's size so far: its data (joined by LF), its type, and the id this block set. Kept as
  // numbers, not read from the strings: a string's length read at a site that has seen flat,
  // sliced and concatenated strings of both widths is a megamorphic property load, and those
  // loads were 15% of the instructions parsing the mixed corpus (valgrind --tool=callgrind).
  #size = 0;
  #typeSize = 0;
  #idSize = 0;
  readonly #max: number;
  readonly #callbacks: _Callbacks;

  constructor(callbacks: _Callbacks, maxEventSize: number, lastEventId: string) {
    this.#callbacks = callbacks;
    this.#max = maxEventSize;
    this.lastEventId = lastEventId;
    this.#id = lastEventId;
  }

  /** Interprets the line `s.slice(start, end)` (`end` excluded), without copying it when possible. */
  line(s: string, start: number, end: number): void {
    if (this.discarding) {
      if (start === end) this.discarding = false; // The blank line ending the dropped block.
      return;
    }
    // [spec] If the line is empty (a blank line): dispatch the event.
    if (start === end) {
      this.#dispatch();
      return;
    }
    if (end - start + this.#size > this.#max) {
      this.#overflow();
      return;
    }
    // [spec] "data": append the field value to the data buffer, then append a single LF. The LF
    // goes in before the next value instead, which leaves the buffer without the trailing LF that
    // dispatching removes. Concatenation is fine here: the buffer is never searched. The field is
    // recognised by its first five characters (no search for the colon), and the other fields are
    // interpreted in #field(): kept apart, this method is small enough for V8 to inline into the
    // line splitter's loop (with them, it was too large: "reason: 5" under
    // --trace-turbo-inlining). Moving "event" here too made it too large again, and the mixed
    // corpus 5-10% slower.
    if (
      s.charCodeAt(start) === 0x64 && s.charCodeAt(start + 1) === 0x61 && s.charCodeAt(start + 2) === 0x74 &&
      s.charCodeAt(start + 3) === 0x61 && (start + 4 === end || s.charCodeAt(start + 4) === COLON)
    ) {
      const value = start + 5 < end && s.charCodeAt(start + 5) === SPACE ? start + 6 : Math.min(start + 5, end);
      const text = s.slice(value, end);
      if (this.#dataLines++ === 0) {
        this.#data = text;
        this.#size += end - value;
      } else {
        this.#data = `${this.#data}\n${text}`;
        this.#size += end - value + 1;
      }
      return;
    }
    this.#field(s, start, end);
  }

  /** Interprets a line other than `data`, `s.slice(start, end)`. */
  #field(s: string, start: number, end: number): void {
    // [spec] If the line starts with a colon: ignore the line (a comment). If it contains a
    // colon: the field is what comes before the first colon, the value what comes after it, minus
    // one leading space. Otherwise the whole line is the field and the value is empty. The colon
    // is searched for within the line only: `indexOf` could run far past a colon-less line's end,
    // and a run of such lines would then be quadratic. Field names are compared in place: slicing
    // each one would allocate a string per line.
    let colon = start;
    while (colon < end && s.charCodeAt(colon) !== COLON) colon++;
    let value = colon + 1;
    if (value < end && s.charCodeAt(value) === SPACE) value++;
    else if (value > end) value = end;
    const first = s.charCodeAt(start);
    switch (colon - start) {
      case 0:
        if (this.#callbacks.onComment) this.#callbacks.onComment(s.slice(value, end));
        return;
      case 5:
        if (first === 0x65 && s.charCodeAt(start + 1) === 0x76 && s.charCodeAt(start + 2) === 0x65 && s.charCodeAt(start + 3) === 0x6e && s.charCodeAt(start + 4) === 0x74) {
          // [spec] "event": set the event type buffer to the field value. A stream repeats a few
          // types: the last one is reused when the value is the same, instead of a new copy.
          const size = end - value;
          this.#type = size === this.#lastTypeSize && s.startsWith(this.#lastType, value) ? this.#lastType : s.slice(value, end);
          this.#size += size - this.#typeSize;
          this.#typeSize = size;
          // Only a short type is kept once its event is gone: V8 copies a slice of fewer than 13
          // characters, while a longer one is a view that would keep the whole chunk's text alive.
          if (size < 13) {
            this.#lastType = this.#type;
            this.#lastTypeSize = size;
          }
        } else if (first === 0x72 && s.charCodeAt(start + 1) === 0x65 && s.charCodeAt(start + 2) === 0x74 && s.charCodeAt(start + 3) === 0x72 && s.charCodeAt(start + 4) === 0x79) {
          // [spec] "retry": if the field value consists of only ASCII digits, interpret it as an
          // integer in base ten and set the reconnection time to it. Otherwise, ignore the field.
          if (isDigits(s, value, end)) this.#callbacks.onRetry(Number.parseInt(s.slice(value, end), 10));
        }
        return;
      case 2:
        // [spec] "id": if the field value does not contain U+0000 NULL, set the last event ID
        // buffer to the field value. Otherwise, ignore the field.
        if (first === 0x69 && s.charCodeAt(start + 1) === 0x64) {
          for (let i = value; i < end; i++) if (s.charCodeAt(i) === 0) return;
          this.#id = s.slice(value, end);
          this.#size += end - value - this.#idSize;
          this.#idSize = end - value;
        }
        return;
    }
    // [spec] Otherwise: the field is ignored.
  }

  /**
   * Checks the line being read, `length` characters so far, against the bound: returns whether to
   * keep it (false while discarding, or when it makes the event too large, which drops the event).
   */
  partial(length: number): boolean {
    if (this.discarding) return false;
    if (length + this.#size <= this.#max) return true;
    this.#overflow();
    return false;
  }

  /** Forgets the block being read (as at the end of the stream); keeps the last event ID string. */
  reset(): void {
    this.#clear();
    this.#id = this.lastEventId;
    this.discarding = false;
  }

  #dispatch(): void {
    // [spec] Set the last event ID string of the event source to the value of the last event ID
    // buffer. The buffer does not get reset.
    const lastEventId = (this.lastEventId = this.#id);
    this.#size -= this.#idSize;
    this.#idSize = 0;
    // [spec] If the data buffer is an empty string, set the data buffer and the event type buffer
    // to the empty string and return.
    if (this.#dataLines === 0) {
      this.#type = "";
      this.#size = this.#typeSize = 0;
      return;
    }
    // [spec] Remove the data buffer's last LF; type "message" unless the event type buffer has
    // another value; then set the data buffer and the event type buffer to the empty string.
    const message: SSEMessage = { type: this.#type === "" ? "message" : this.#type, data: this.#data, lastEventId };
    this.#data = "";
    this.#dataLines = 0;
    this.#type = "";
    this.#size = this.#typeSize = 0;
    this.#callbacks.onEvent(message);
  }

  #clear(): void {
    this.#data = "";
    this.#dataLines = 0;
    this.#type = "";
    this.#size = this.#typeSize = this.#idSize = 0;
  }

  #overflow(): void {
    this.#clear();
    this.#id = this.lastEventId; // The dropped block's id must not be committed either.
    this.discarding = true;
    this.#callbacks.onError(
      new ParseError(`Cannot parse event: it exceeds the maximum size of ${this.#max} characters`, { type: "max-event-size-exceeded" }),
    );
  }
}
