/**
 * The parser's second step: decoded text to lines, per the WHATWG "parse an event stream" rules
 * (CRLF, LF and CR each end a line), incrementally.
 *
 * @module
 */

const LF = 0x0a;
const CR = 0x0d;
const LINE_BREAK = /\r\n?/g;

/** Where the lines go: the event interpreter. */
export interface _LineSink {
  /**
   * Takes the lines of `s` from `start` on, each ended by LF; returns where the unterminated rest
   * begins (`s.length` if none), or -1 to drop the rest of `s`.
   */
  lines(s: string, start: number): number;
  /** Takes the length of a line not ended yet; false means "drop it" (too large, or skipped). */
  partial(length: number): boolean;
}

/**
 * Splits text into lines ended by LF for a {@linkcode _LineSink}: CRLF and CR become LF, and a
 * line begun in earlier chunks is joined, so that the sink finds the line ends with one
 * `indexOf("\n")` per line.
 *
 * [spec] CRLF, LF and CR each end a line. A text with a CR has its line ends replaced by LF (one
 * regular expression over it; a CR is absent from most streams, and one `indexOf` per text tells).
 * A CR at the end of a text ends its line at once; an LF that starts the next text is then the
 * second half of a CRLF, and dropped.
 *
 * A line that is not ended within a text is kept as the text it began in (and where), plus the
 * whole texts after it, and joined once, when its end arrives. Appending each text to a string
 * instead would be cheap in itself (engines build ropes), but searching the result for the line
 * end flattens the rope and rescans it on every text: a line spread over n texts would cost
 * O(n²).
 *
 * The sink is only ever handed a text as decoded, normalised by `replace()`, or a line made by
 * `join()`: flat strings, one-byte or two-byte. A rope (`a + b`) or a slice there would make the
 * `charCodeAt` and `slice` calls of the interpreter see five kinds of string, which V8 then looks
 * up the slow, megamorphic way: that lookup was 13% of the instructions parsing the mixed corpus,
 * and the interpretation of a rope 1.8× slower (valgrind --tool=callgrind, bench/parse-throughput.ts).
 */
export class _LineSplitter {
  /** Changed by reset(), so that a split interrupted by a callback that resets stops. */
  generation = 0;
  readonly #sink: _LineSink;
  #first = ""; // The text the unterminated line began in ("" if none, or if it was dropped)...
  #firstStart = 0; // ...where it began in it...
  readonly #pieces: string[] = []; // ...and the whole texts since.
  #pending = 0; // Characters of the line not ended yet (kept, or dropped).
  #skipLF = false; // The previous text ended with CR: an LF starting this one ends nothing.

  constructor(sink: _LineSink) {
    this.#sink = sink;
  }

  /** Splits `s` (from `start` on) into lines; keeps the unterminated rest for the next call. */
  split(s: string, start: number): void {
    const generation = this.generation;
    let text = s;
    let pos = start;
    if (this.#skipLF) {
      this.#skipLF = false;
      if (pos < text.length && text.charCodeAt(pos) === LF) pos++;
    }
    if (text.indexOf("\r", pos) !== -1) {
      if (text.charCodeAt(text.length - 1) === CR) this.#skipLF = true;
      text = text.slice(pos).replace(LINE_BREAK, "\n");
      pos = 0;
    }
    const length = text.length;
    if (this.#pending > 0) {
      const end = text.indexOf("\n", pos);
      if (end === -1) {
        this.#keep(text, pos);
        return;
      }
      this.#end(text, pos, end);
      if (this.generation !== generation) return; // A callback called reset().
      pos = end + 1;
    }
    if (pos < length) {
      pos = this.#sink.lines(text, pos);
      if (pos < 0 || this.generation !== generation) return;
      if (pos < length) this.#keep(text, pos);
    }
  }

  /** Forgets the line being read and the CR state: the next text starts a new stream. */
  reset(): void {
    this.generation++;
    this.#drop();
    this.#pending = 0;
    this.#skipLF = false;
  }

  /** Keeps `text.slice(pos)`, the start of a line or more of it, until the line's end arrives. */
  #keep(text: string, pos: number): void {
    if (this.#pending === 0) {
      this.#first = text;
      this.#firstStart = pos;
    } else if (this.#first !== "") {
      this.#pieces.push(pos === 0 ? text : text.slice(pos));
    }
    this.#pending += text.length - pos;
    if (!this.#sink.partial(this.#pending)) this.#drop();
  }

  /** Ends the line begun in earlier texts with `text.slice(pos, end)` and its LF, unless it was dropped. */
  #end(text: string, pos: number, end: number): void {
    const first = this.#first;
    const pieces = this.#pieces;
    this.#pending = 0;
    if (first === "") return; // Dropped: too large, or part of a block being skipped.
    this.#first = "";
    let line: string;
    if (pieces.length === 0) {
      line = [first.slice(this.#firstStart), text.slice(pos, end + 1)].join("");
    } else {
      pieces.unshift(first.slice(this.#firstStart));
      pieces.push(text.slice(pos, end + 1));
      line = pieces.join("");
      pieces.length = 0;
    }
    this.#sink.lines(line, 0);
  }

  #drop(): void {
    this.#first = "";
    this.#pieces.length = 0;
  }
}
