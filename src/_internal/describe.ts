/**
 * Names a value's type for an error message ("the string \"x\"", "an object", "number 3").
 *
 * @module
 */

/** Names a value's type for an error message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}
