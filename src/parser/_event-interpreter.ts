/**
 * The parser's third step: lines to messages, per the WHATWG "interpret an event stream" rules,
 * within the `maxEventSize` bound.
 *
 * @module
 */
import type { SSEMessage } from "../core/event.ts";
import { ParseError } from "./parse-error.ts";

const LF = 0x0a;
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
 * ID buffer, last event ID string), fed text whose every line ends with LF by the line splitter.
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
  #lastType = "message"; // The last short event type read (see "event" in lines()).
  #lastTypeSize = 7;
  #id: string; // The last event ID buffer.
  // The event's size so far: its data (joined by LF), its type, and the id this block set. Kept as
  // numbers, not read from the strings: a string's length read at a site that has seen flat,
  // sliced and concatenated strings of both widths is a megamorphic property load, and those
  // loads were 15% of the instructions parsing the mixed corpus (valgrind --tool=callgrind).
  #size = 0;
  #typeSize = 0;
  #idSize = 0;
  #resets = 0; // Counts reset() calls, so that lines() sees a callback that resets.
  readonly #max: number;
  readonly #callbacks: _Callbacks;

  constructor(callbacks: _Callbacks, maxEventSize: number, lastEventId: string) {
    this.#callbacks = callbacks;
    this.#max = maxEventSize;
    this.lastEventId = lastEventId;
    this.#id = lastEventId;
  }

  /**
   * Interprets the lines of `s` from `start` (the start of a line) up to its last LF, where every
   * line ends with LF (the splitter has turned CR and CRLF into LF). Returns where the
   * unterminated rest begins, or -1 if a callback called `reset()` (the rest is then dropped).
   *
   * One loop, with the state in local variables, finds each line's end and interprets the line:
   * interpreting each line in a method of its own, fed by the splitter's own search for CR and LF
   * (the previous design), was 1.3-1.5× slower on the mixed and CJK corpora (bench/parse-throughput.ts):
   * per line a call and a second `indexOf`, and per field a store into this object, which V8
   * follows with a write barrier (`RecordWrite`, 5.7% of the time in `perf`) when the string
   * stored is younger than the parser. The state goes back into the fields before a callback
   * (which may read `lastEventId` or call `reset()`) and at the end.
   */
  lines(s: string, start: number): number {
    const length = s.length;
    const max = this.#max;
    const resets = this.#resets;
    let data = this.#data;
    let dataLines = this.#dataLines;
    let type = this.#type;
    let id = this.#id;
    let size = this.#size;
    let typeSize = this.#typeSize;
    let idSize = this.#idSize;
    let discarding = this.discarding;
    let pos = start;
    while (pos < length) {
      // [spec] If the line is empty (a blank line): dispatch the event. Found without a search: a
      // line that starts with LF.
      if (s.charCodeAt(pos) === LF) {
        pos++;
        if (discarding) {
          discarding = false; // The blank line ending the dropped block.
          continue;
        }
        // [spec] Set the last event ID string of the event source to the value of the last event
        // ID buffer. The buffer does not get reset. If the data buffer is an empty string, set the
        // data buffer and the event type buffer to the empty string and return. Otherwise remove
        // the data buffer's last LF; type "message" unless the event type buffer has another
        // value; then set the data buffer and the event type buffer to the empty string.
        if (id !== this.lastEventId) this.lastEventId = id;
        size = typeSize = idSize = 0;
        if (dataLines === 0) {
          type = "";
          continue;
        }
        const message: SSEMessage = { type: type === "" ? "message" : type, data, lastEventId: id };
        data = type = "";
        dataLines = 0;
        this.#save("", 0, "", id, 0, 0, 0, false);
        this.#callbacks.onEvent(message);
        if (this.#resets !== resets) return -1;
        continue;
      }
      const end = s.indexOf("\n", pos);
      if (end === -1) break;
      if (discarding) {
        pos = end + 1;
        continue;
      }
      if (end - pos + size > max) {
        this.#overflow();
        if (this.#resets !== resets) return -1;
        data = type = "";
        dataLines = size = typeSize = idSize = 0;
        id = this.lastEventId; // The dropped block's id must not be committed either.
        discarding = true;
        pos = end + 1;
        continue;
      }
      // [spec] If the line contains a colon: the field is what comes before the first colon, the
      // value what comes after it, minus one leading space. Otherwise the whole line is the field
      // and the value is empty. The three fields of every event are recognised here by their
      // characters, up to the colon or the LF that ends the line (which stops every comparison
      // within the line); the others, and comments, in #other().
      const first = s.charCodeAt(pos);
      if (
        first === 0x64 &&
        s.charCodeAt(pos + 1) === 0x61 &&
        s.charCodeAt(pos + 2) === 0x74 &&
        s.charCodeAt(pos + 3) === 0x61 &&
        (pos + 4 === end || s.charCodeAt(pos + 4) === COLON)
      ) {
        // [spec] "data": append the field value to the data buffer, then append a single LF. The
        // LF goes in before the next value instead, which leaves the buffer without the trailing
        // LF that dispatching removes. Concatenation is fine here: the buffer is never searched.
        const value = pos + 5 < end && s.charCodeAt(pos + 5) === SPACE ? pos + 6 : Math.min(pos + 5, end);
        const text = s.slice(value, end);
        if (dataLines++ === 0) {
          data = text;
          size += end - value;
        } else {
          data = `${data}\n${text}`;
          size += end - value + 1;
        }
      } else if (
        first === 0x65 &&
        s.charCodeAt(pos + 1) === 0x76 &&
        s.charCodeAt(pos + 2) === 0x65 &&
        s.charCodeAt(pos + 3) === 0x6e &&
        s.charCodeAt(pos + 4) === 0x74 &&
        (pos + 5 === end || s.charCodeAt(pos + 5) === COLON)
      ) {
        // [spec] "event": set the event type buffer to the field value. A stream repeats a few
        // types: the last one is reused when the value is the same, instead of a new copy.
        const value = pos + 6 < end && s.charCodeAt(pos + 6) === SPACE ? pos + 7 : Math.min(pos + 6, end);
        const typeLength = end - value;
        if (typeLength === this.#lastTypeSize && s.startsWith(this.#lastType, value)) {
          type = this.#lastType;
        } else {
          type = s.slice(value, end);
          // Only a short type is kept once its event is gone: V8 copies a slice of fewer than 13
          // characters, while a longer one is a view that would keep the whole chunk's text alive.
          if (typeLength < 13) {
            this.#lastType = type;
            this.#lastTypeSize = typeLength;
          }
        }
        size += typeLength - typeSize;
        typeSize = typeLength;
      } else if (first === 0x69 && s.charCodeAt(pos + 1) === 0x64 && (pos + 2 === end || s.charCodeAt(pos + 2) === COLON)) {
        // [spec] "id": if the field value does not contain U+0000 NULL, set the last event ID
        // buffer to the field value. Otherwise, ignore the field.
        const value = pos + 3 < end && s.charCodeAt(pos + 3) === SPACE ? pos + 4 : Math.min(pos + 3, end);
        let i = value;
        while (i < end && s.charCodeAt(i) !== 0) i++;
        if (i === end) {
          id = s.slice(value, end);
          size += end - value - idSize;
          idSize = end - value;
        }
      } else if (first !== COLON || this.#callbacks.onComment !== undefined) {
        // A comment, `retry`, or a field to ignore: rare, and they touch none of the buffers.
        this.#save(data, dataLines, type, id, size, typeSize, idSize, false);
        this.#other(s, pos, end);
        if (this.#resets !== resets) return -1;
      }
      pos = end + 1;
    }
    this.#save(data, dataLines, type, id, size, typeSize, idSize, discarding);
    return pos;
  }

  /** Interprets a comment, `retry`, or a field to ignore: the line `s.slice(start, end)`. */
  #other(s: string, start: number, end: number): void {
    // [spec] If the line starts with a colon: ignore the line (a comment). The colon is searched
    // for within the line only: `indexOf` could run far past a colon-less line's end, and a run of
    // such lines would then be quadratic.
    let colon = start;
    while (colon < end && s.charCodeAt(colon) !== COLON) colon++;
    let value = colon + 1;
    if (value < end && s.charCodeAt(value) === SPACE) value++;
    else if (value > end) value = end;
    if (colon === start) {
      this.#callbacks.onComment?.(s.slice(value, end));
    } else if (
      colon - start === 5 &&
      s.charCodeAt(start) === 0x72 &&
      s.charCodeAt(start + 1) === 0x65 &&
      s.charCodeAt(start + 2) === 0x74 &&
      s.charCodeAt(start + 3) === 0x72 &&
      s.charCodeAt(start + 4) === 0x79
    ) {
      // [spec] "retry": if the field value consists of only ASCII digits, interpret it as an
      // integer in base ten and set the reconnection time to it. Otherwise, ignore the field.
      if (isDigits(s, value, end)) this.#callbacks.onRetry(Number.parseInt(s.slice(value, end), 10));
    }
    // [spec] Otherwise: the field is ignored.
  }

  #save(
    data: string,
    dataLines: number,
    type: string,
    id: string,
    size: number,
    typeSize: number,
    idSize: number,
    discarding: boolean,
  ): void {
    this.#data = data;
    this.#dataLines = dataLines;
    this.#type = type;
    this.#id = id;
    this.#size = size;
    this.#typeSize = typeSize;
    this.#idSize = idSize;
    this.discarding = discarding;
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
    this.#resets++;
    this.#save("", 0, "", this.lastEventId, 0, 0, 0, false);
  }

  #overflow(): void {
    // The dropped block's id must not be committed either.
    this.#save("", 0, "", this.lastEventId, 0, 0, 0, true);
    this.#callbacks.onError(
      new ParseError(`Cannot parse event: it exceeds the maximum size of ${this.#max} characters`, {
        type: "max-event-size-exceeded",
      }),
    );
  }
}
