import { describe } from "../_internal/describe.ts";
/**
 * The event model: what one Server-Sent Event is, on the way out and on the way in.
 *
 * @module
 */

/**
 * One event to send. Every field is optional, but an event must carry at least one of them.
 *
 * @example Usage
 * ```ts
 * import type { SSEEvent } from "@hertz/sse";
 *
 * const event: SSEEvent = { event: "price", id: 42, data: { symbol: "AAPL", price: 189.5 } };
 * ```
 */
export interface SSEEvent {
  /**
   * The payload. A string is sent as it is, split into one `data:` line per line; anything else
   * is serialised first (JSON by default, see {@linkcode EncodeOptions.serialize}).
   * `undefined` sends no `data:` line, so the receiver dispatches nothing for this block.
   */
  data?: unknown;
  /** The event type (`event:` field). Must not contain CR or LF. */
  event?: string;
  /**
   * The event id (`id:` field). A number is written in decimal. Must not contain CR, LF or NUL.
   * `""` is allowed: it resets the receiver's last event id.
   */
  id?: string | number;
  /** The reconnection time in milliseconds (`retry:` field): a non-negative integer. */
  retry?: number;
  /** A comment, written before the fields. Line breaks make several comment lines. */
  comment?: string;
}

/**
 * One message as a receiver dispatches it, shaped like the standard `MessageEvent`.
 *
 * @example Usage
 * ```ts
 * import type { SSEMessage } from "@hertz/sse";
 *
 * const message: SSEMessage = { type: "message", data: "hello", lastEventId: "" };
 * ```
 */
export interface SSEMessage {
  /** The event type; `"message"` when the block had no `event:` field. */
  type: string;
  /** The data lines joined by LF. */
  data: string;
  /** The last event id seen so far in the stream (not only in this block). */
  lastEventId: string;
}

/** Options that control how an event becomes text. */
export interface EncodeOptions {
  /**
   * Turns non-string `data` into a string. It may return a string with line breaks; each line
   * becomes a `data:` line.
   *
   * @default {JSON.stringify}
   */
  serialize?: (data: unknown) => string;
}

const LINE_BREAK = /[\r\n]/;

/**
 * Checks an event against the event-stream grammar and throws the error that explains the first
 * problem found: `TypeError` for a field of the wrong type or with a forbidden character,
 * `RangeError` for a `retry` or numeric `id` out of range. Nothing is written by this function.
 *
 * @example Refusing an injected field
 * ```ts
 * import { validateEvent } from "@hertz/sse";
 * import { assertThrows } from "jsr:@std/assert";
 *
 * assertThrows(() => validateEvent({ event: "x\ndata: y" }), TypeError);
 * ```
 */
export function validateEvent(event: SSEEvent): void {
  if (event === null || typeof event !== "object") {
    throw new TypeError(`Cannot encode event: expected an object, got ${describe(event)}`);
  }
  const { event: type, id, retry, comment } = event;
  if (type !== undefined) {
    if (typeof type !== "string") {
      throw new TypeError(`Cannot encode event: "event" must be a string, got ${describe(type)}`);
    }
    if (LINE_BREAK.test(type)) {
      throw new TypeError(`Cannot encode event: "event" must not contain CR or LF, got ${JSON.stringify(type)}`);
    }
  }
  if (id !== undefined) {
    if (typeof id === "number") {
      if (!Number.isFinite(id)) {
        throw new RangeError(`Cannot encode event: a numeric "id" must be finite, got ${id}`);
      }
    } else if (typeof id !== "string") {
      throw new TypeError(`Cannot encode event: "id" must be a string or a number, got ${describe(id)}`);
    } else if (LINE_BREAK.test(id) || id.includes("\0")) {
      throw new TypeError(`Cannot encode event: "id" must not contain CR, LF or NUL, got ${JSON.stringify(id)}`);
    }
  }
  if (retry !== undefined) {
    if (typeof retry !== "number") {
      throw new TypeError(`Cannot encode event: "retry" must be a number, got ${describe(retry)}`);
    }
    if (!Number.isSafeInteger(retry) || retry < 0) {
      throw new RangeError(`Cannot encode event: "retry" must be a non-negative integer, got ${retry}`);
    }
  }
  if (comment !== undefined && typeof comment !== "string") {
    throw new TypeError(`Cannot encode event: "comment" must be a string, got ${describe(comment)}`);
  }
  if (event.data === undefined && type === undefined && id === undefined && retry === undefined && comment === undefined) {
    throw new TypeError("Cannot encode event: it has none of data, event, id, retry or comment");
  }
}
