/**
 * Argument checks shared by the hub's option resolution and its methods.
 *
 * @module
 */

import { utf8Length } from "../_internal/bytes.ts";
import { describe } from "../_internal/describe.ts";

/** Throws a `RangeError` unless `value` is a positive number (an integer when `integer`). */
export function checkPositive(value: unknown, name: string, integer: boolean, what = "Cannot create SSEHub"): void {
  const ok = integer
    ? Number.isSafeInteger(value) && (value as number) > 0
    : typeof value === "number" && Number.isFinite(value) && value > 0;
  if (!ok) {
    throw new RangeError(`${what}: "${name}" must be a positive ${integer ? "integer" : "number"}, got ${describe(value)}`);
  }
}

/** Throws a `RangeError` unless `retry` is a non-negative integer. */
export function checkRetry(retry: unknown, what: string): void {
  if (!Number.isSafeInteger(retry) || (retry as number) < 0) {
    throw new RangeError(`${what}: "retry" must be a non-negative integer, got ${describe(retry)}`);
  }
}

/** Throws a `TypeError` unless `topic` is a non-empty string. */
export function checkTopic(topic: unknown, what: string, name = "topic"): asserts topic is string {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`${what}: "${name}" must be a non-empty string, got ${describe(topic)}`);
  }
}

/**
 * Whether `topic` is at most `maxBytes` long in UTF-8. Checked without encoding when the answer is
 * plain from the length: a UTF-16 code unit takes 1 to 3 bytes.
 */
export function topicFits(topic: string, maxBytes: number): boolean {
  if (topic.length * 3 <= maxBytes) return true;
  if (topic.length > maxBytes) return false;
  return utf8Length(topic) <= maxBytes;
}

/** Throws a `RangeError` when `topic` is longer than `maxBytes` in UTF-8. */
export function checkTopicLength(topic: string, maxBytes: number, what: string): void {
  if (!topicFits(topic, maxBytes)) {
    throw new RangeError(`${what}: "topic" must be at most ${maxBytes} bytes, got ${utf8Length(topic)} bytes`);
  }
}
