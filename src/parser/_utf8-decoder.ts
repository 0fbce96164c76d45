/**
 * The parser's first step: UTF-8 bytes to text, streaming, exactly as one `TextDecoder` over the
 * whole stream would decode them.
 *
 * @module
 */

const STREAM: TextDecodeOptions = { stream: true };

/** How many bytes the UTF-8 sequence that starts with the lead byte `byte` (>= 0xC0) has. */
function sequenceLength(byte: number): number {
  return byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : 2;
}

/**
 * A streaming UTF-8 decoder that picks, chunk by chunk, whichever of two `TextDecoder`s is faster,
 * and hands the text to `onText`.
 *
 * A chunk is decoded up to its last complete character, and the bytes of an incomplete one (at
 * most 3) are carried over to the next. Splitting right before a lead or ASCII byte never changes
 * what a UTF-8 decoder outputs, so the text is exactly what one streaming decoder would give,
 * U+FFFD for invalid bytes included. This lets each chunk go to the faster decoder: in Node, a
 * `TextDecoder` called without `{ stream: true }` takes a fast path (simdutf) that is 2-4× faster
 * on ASCII, and slower than the streaming one on other text in large chunks (measured with
 * bench/parse-throughput.ts). `ignoreBOM: true` because each call would otherwise drop a BOM: the
 * parser drops only the stream's first one, itself.
 *
 * A character completed by a chunk is handed over as a text of its own, before the chunk's: `+`
 * would make a rope, which the parser's steps then read the slow way (see `_LineSplitter`).
 */
export class _Utf8Decoder {
  readonly #onText: (text: string) => void;
  readonly #decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  readonly #streaming = new TextDecoder("utf-8", { ignoreBOM: true });
  #ascii = true; // The previous chunk was ASCII only.
  #sparse = true; // The previous chunk had less than one non-ASCII byte in 64.
  #streamHolds = false; // The carried bytes are (also) held by the streaming decoder.
  readonly #carry = new Uint8Array(4);
  #carried = 0;

  constructor(onText: (text: string) => void) {
    this.#onText = onText;
  }

  /** Decodes `chunk` up to its last complete character; the rest waits for the next chunk. */
  decode(chunk: Uint8Array): void {
    const length = chunk.length;
    const carry = this.#carry;
    // How far the character left incomplete by the previous chunk (in `carry`) extends into this
    // one: the continuation bytes that complete it.
    let start = 0;
    const held = this.#carried;
    let whole = 0; // The bytes of the completed (or broken) character, in `carry`.
    if (held > 0) {
      const needed = sequenceLength(carry[0]!);
      let carried = held;
      while (carried < needed && start < length && (chunk[start]! & 0xc0) === 0x80) carry[carried++] = chunk[start++]!;
      this.#carried = carried;
      if (carried < needed && start === length) {
        // Still incomplete: wait for more. A streaming decoder that holds the bytes is kept in
        // step, and what it outputs is passed on: it knows, where this count of continuation bytes
        // does not, that some are not allowed after the lead byte (F4 90 is two errors, not the
        // start of a character).
        if (this.#streamHolds) {
          const text = this.#streaming.decode(chunk, STREAM);
          if (text !== "") this.#onText(text);
        }
        return;
      }
      whole = carried;
      this.#carried = 0;
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
    // given whole characters, and the bytes of an incomplete one are carried over.
    let head = ""; // The character completed by this chunk.
    let decoded = "";
    if (!(this.#ascii || (this.#sparse && length <= 2048))) {
      if (held > 0 && !this.#streamHolds) {
        // Bytes carried by the fast decoder: the streaming one starts with them (then the chunk's
        // first bytes complete the character, inside the streaming decoder).
        head = this.#streaming.decode(carry.subarray(0, held), STREAM);
      }
      decoded = this.#streaming.decode(chunk, STREAM);
      this.#streamHolds = end < length;
    } else {
      if (held > 0) {
        // The completed (or broken) character: decoded by whichever decoder holds its first bytes.
        // Without `stream`, the streaming decoder flushes: it holds nothing afterwards.
        head = this.#streamHolds
          ? this.#streaming.decode(chunk.subarray(0, start))
          : this.#decoder.decode(carry.subarray(0, whole));
        this.#streamHolds = false;
      }
      if (end > start) decoded = this.#decoder.decode(start === 0 && end === length ? chunk : chunk.subarray(start, end));
    }
    let carried = 0;
    for (let i = end; i < length; i++) carry[carried++] = chunk[i]!;
    this.#carried = carried;
    const multiByte = length - head.length - decoded.length; // Bytes beyond one per UTF-16 unit, roughly.
    this.#ascii = multiByte === 0;
    this.#sparse = multiByte * 64 < length;
    if (head !== "") this.#onText(head);
    if (decoded !== "") this.#onText(decoded);
  }

  /** Ends a character left incomplete by the last bytes (as U+FFFD, or "" if there is none). */
  flush(): string {
    if (this.#carried === 0) return "";
    const rest = this.#streamHolds ? this.#streaming.decode() : this.#decoder.decode(this.#carry.subarray(0, this.#carried));
    this.#carried = 0;
    this.#streamHolds = false;
    return rest;
  }
}
