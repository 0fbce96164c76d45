/**
 * Byte-chunk helpers shared by the stream, the hub and the backplanes.
 *
 * @module
 */

/** Joins chunks into one, so that a backlog goes out in one write. */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

// Bounds on topics and frames count UTF-8 bytes, usually of short ASCII strings: a native regular
// expression scan answers for those, and a loop over code units costs less than a TextEncoder call
// and its copy otherwise.
const NON_ASCII = /[\u0080-\uffff]/;

/** The length of `text` in UTF-8 (a lone surrogate counts as U+FFFD, as `TextEncoder` writes it). */
export function utf8Length(text: string): number {
  let bytes = text.length;
  if (!NON_ASCII.test(text)) return bytes;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if ((code & 0xfc00) === 0xd800 && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
