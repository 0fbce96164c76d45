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
 * A line that is not ended within a chunk is kept as an array of pieces and joined once, when its
 * end arrives. Appending each chunk to a string instead would be cheap in itself (engines build
 * ropes), but searching the result for the line end flattens the rope and rescans it on every
 * chunk: a line spread over n chunks would cost O(n²).
 */
export class _LineSplitter {
  /** Changed by reset(), so that a split interrupted by a callback that resets stops. */
  generation = 0;
  readonly #sink: _LineSink;
  readonly #pieces: string[] = [];
  #pending = 0; // Characters of the line not ended yet (kept in `#pieces`, or dropped).
  #skipLF = false; // The previous chunk ended with CR: an LF starting this one ends nothing.

  constructor(sink: _LineSink) {
    this.#sink = sink;
  }

  /** Splits `s` into lines; keeps the unterminated rest for the next call. */
  split(s: string): void {
    const length = s.length;
    const sink = this.#sink;
    const generation = this.generation;
    let pos = 0;
    if (this.#skipLF) {
      this.#skipLF = false;
      if (s.charCodeAt(0) === LF) pos = 1;
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
      if (this.#pending === 0) {
        sink.line(s, pos, end);
      } else {
        // The end of a line begun in earlier chunks (unless it was dropped).
        this.#pending = 0;
        const pieces = this.#pieces;
        if (pieces.length > 0) {
          // join() makes a flat string, where `+` would make a rope that every charCodeAt of the
          // interpreter then has to walk (interpretation 1.8× slower on the mixed corpus in 1 KiB chunks).
          pieces.push(s.slice(pos, end));
          const whole = pieces.join("");
          pieces.length = 0;
          sink.line(whole, 0, whole.length);
        }
      }
      pos = next;
      if (this.generation !== generation) return; // A callback called reset().
    }
    if (pos < length) {
      this.#pending += length - pos;
      if (sink.partial(this.#pending)) this.#pieces.push(pos === 0 ? s : s.slice(pos));
      else this.#pieces.length = 0;
    }
  }

  /** Forgets the line being read and the CR state: the next text starts a new stream. */
  reset(): void {
    this.generation++;
    this.#pieces.length = 0;
    this.#pending = 0;
    this.#skipLF = false;
  }
}
