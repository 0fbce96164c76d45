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
