/** `input` cut at each of `points` (clamped to 0..length; a repeated point gives one cut), in order. */
export function cutAt<T extends string | Uint8Array>(input: T, points: readonly number[]): T[] {
  const at = [...new Set(points.map((p) => Math.max(0, Math.min(p, input.length))))].sort((a, b) => a - b);
  const pieces: T[] = [];
  let start = 0;
  for (const p of at) {
    pieces.push(input.slice(start, p) as T);
    start = p;
  }
  pieces.push(input.slice(start) as T);
  return pieces;
}
