/**
 * The parser's second step: decoded text to lines, per the WHATWG "parse an event stream" rules
 * (CRLF, LF and CR each end a line), incrementally.
 *
 * @module
 */

const LF = 0x0a;

/** Where the lines go: the event interpreter. */
export interface _LineSink {
  /** Takes the line `s.slice(start, end)`. */
  line(s: string, start: number, end: number): void;
  /** Takes the length of a line not ended yet; false means "drop it" (too large, or skipped). */
  partial(length: number): boolean;
}

/**
 * Splits text into lines, and hands each to a {@linkcode _LineSink} as soon as its end is read.
 *
 * A line that is not ended within a chunk is kept as the chunk it began in (and where), plus the
 * whole chunks after it, and joined once, when its end arrives. Appending each chunk to a string
 * instead would be cheap in itself (engines build ropes), but searching the result for the line
 * end flattens the rope and rescans it on every chunk: a line spread over n chunks would cost
 * O(n²).
 *
 * The interpreter is only ever handed a chunk as decoded, or a line made by `join()`: flat
 * strings, one-byte or two-byte. A rope (`a + b`) or a slice there would make the `charCodeAt`
 * and `slice` calls of the interpreter see five kinds of string, which V8 then looks up the slow,
 * megamorphic way: that lookup was 13% of the instructions parsing the mixed corpus, and the
 * interpretation of a rope 1.8× slower (valgrind --tool=callgrind, bench/parse-throughput.ts).
 */
export class _LineSplitter {
  /** Changed by reset(), so that a split interrupted by a callback that resets stops. */
  generation = 0;
  readonly #sink: _LineSink;
  #first = ""; // The chunk the unterminated line began in ("" if none, or if it was dropped)...
  #firstStart = 0; // ...where it began in it...
  readonly #pieces: string[] = []; // ...and the whole chunks since.
  #pending = 0; // Characters of the line not ended yet (kept, or dropped).
  #skipLF = false; // The previous chunk ended with CR: an LF starting this one ends nothing.

  constructor(sink: _LineSink) {
    this.#sink = sink;
  }

  /** Splits `s` (from `start` on) into lines; keeps the unterminated rest for the next call. */
  split(s: string, start: number): void {
    const length = s.length;
    const sink = this.#sink;
    const generation = this.generation;
    let pos = start;
    if (this.#skipLF) {
      this.#skipLF = false;
      if (s.charCodeAt(pos) === LF) pos++;
    }
    // The next CR and LF are each searched for once and remembered until passed, so the text is
    // scanned for each kind of line end once in all (not once per line).
    let lf = s.indexOf("\n", pos);
    let cr = s.indexOf("\r", pos);
    while (lf !== -1 || cr !== -1) {
      // [spec] A line ends with CRLF, with an LF not preceded by CR, or with a CR not followed by
      // LF. A CR at the end of the chunk ends its line now; an LF that starts the next chunk is
      // then the second half of a CRLF.
      let end: number;
      let next: number;
      if (cr === -1 || (lf !== -1 && lf < cr)) {
        end = lf;
        next = lf + 1;
        lf = s.indexOf("\n", next);
      } else {
        end = cr;
        next = cr + 1;
        if (next === length) this.#skipLF = true;
        else if (s.charCodeAt(next) === LF) lf = s.indexOf("\n", ++next);
        cr = s.indexOf("\r", next);
      }
      if (this.#pending === 0) sink.line(s, pos, end);
      else this.#join(s, pos, end);
      pos = next;
      if (this.generation !== generation) return; // A callback called reset().
    }
    if (pos < length) {
      if (this.#pending === 0) {
        this.#first = s;
        this.#firstStart = pos;
      } else if (this.#first !== "") {
        this.#pieces.push(s);
      }
      this.#pending += length - pos;
      if (!sink.partial(this.#pending)) this.#drop();
    }
  }

  /** Forgets the line being read and the CR state: the next text starts a new stream. */
  reset(): void {
    this.generation++;
    this.#drop();
    this.#pending = 0;
    this.#skipLF = false;
  }

  /** Ends the line begun in earlier chunks with `s.slice(pos, end)`, unless it was dropped. */
  #join(s: string, pos: number, end: number): void {
    const first = this.#first;
    const pieces = this.#pieces;
    this.#pending = 0;
    if (first === "") return; // Dropped: too large, or part of a block being skipped.
    this.#first = "";
    if (pieces.length === 0 && pos === end) {
      this.#sink.line(first, this.#firstStart, first.length);
      return;
    }
    let whole: string;
    if (pieces.length === 0) {
      whole = [first.slice(this.#firstStart), s.slice(pos, end)].join("");
    } else {
      pieces.unshift(first.slice(this.#firstStart));
      pieces.push(s.slice(pos, end));
      whole = pieces.join("");
      pieces.length = 0;
    }
    this.#sink.line(whole, 0, whole.length);
  }

  #drop(): void {
    this.#first = "";
    this.#pieces.length = 0;
  }
}
