/**
 * `EventValidationError`: an event that does not fit its typed event map, on either end.
 *
 * @module
 */

import { brand, hasBrand } from "../_internal/brand.ts";
import type { StandardSchemaV1 } from "./_standard-schema.ts";

/** Whether an event's name was unknown to the map, or its data failed validation. */
export type EventValidationErrorKind = "unknown-event" | "invalid-data";

/** Options for {@linkcode EventValidationError}. */
export interface EventValidationErrorOptions extends ErrorOptions {
  /** What failed. */
  kind: EventValidationErrorKind;
  /** The event name (`"message"` for an event without one). */
  event: string;
  /**
   * The schema's issues, for `"invalid-data"`.
   *
   * @default {[]}
   */
  issues?: readonly StandardSchemaV1.Issue[];
}

/**
 * An event that does not fit its {@linkcode EventMap}: its name is not in the map
 * (`kind: "unknown-event"`), or its data failed the schema (`kind: "invalid-data"`, with the
 * schema's `issues`). The message names the event and the path of the first issue. Thrown (or
 * rejected) by a typed `send()` or `publish()` before anything is written, and met by a typed
 * client as its `onInvalid` and `onUnknown` options decide.
 *
 * @example Usage
 * ```ts
 * import { EventValidationError } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const error = new EventValidationError("Cannot send event", {
 *   kind: "invalid-data",
 *   event: "price",
 *   issues: [{ message: "Expected number", path: ["price"] }],
 * });
 * assertEquals(error.message, 'Cannot send event "price": invalid data at price: Expected number');
 * assertEquals(EventValidationError.is(error), true);
 * ```
 */
export class EventValidationError extends TypeError {
  /** What failed; stable, unlike the message. */
  readonly kind: EventValidationErrorKind;
  /** The event name (`"message"` for an event without one). */
  readonly event: string;
  /** The schema's issues (empty for `"unknown-event"`). */
  readonly issues: readonly StandardSchemaV1.Issue[];

  /**
   * Creates the error. `action` starts the message (`"Cannot send event"`); the event name and
   * what failed follow.
   */
  constructor(action: string, options: EventValidationErrorOptions) {
    const issues = options.issues ?? [];
    super(
      `${action} ${JSON.stringify(options.event)}: ${
        options.kind === "unknown-event" ? "it is not in the event map" : `invalid data${describeIssues(issues)}`
      }`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "EventValidationError";
    this.kind = options.kind;
    this.event = options.event;
    this.issues = issues;
    brand(this, "EventValidationError");
  }

  /**
   * Whether `value` is an `EventValidationError`, even one made by another copy of this package.
   *
   * @example Usage
   * ```ts
   * import { EventValidationError } from "@hertz/sse";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(EventValidationError.is(new EventValidationError("Cannot send event", { kind: "unknown-event", event: "x" })), true);
   * assertEquals(EventValidationError.is(new TypeError("x")), false);
   * ```
   */
  static is(value: unknown): value is EventValidationError {
    return hasBrand(value, "EventValidationError");
  }
}

/** ` at a.b[0]: message` for the first issue, and how many more there are. */
function describeIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  const first = issues[0];
  if (first === undefined) return "";
  const path = formatPath(first.path);
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length === 2 ? "" : "s"})` : "";
  return `${path === "" ? "" : ` at ${path}`}: ${first.message}${more}`;
}

/** `items[0].name`, `["a b"]`: the path of an issue, as a reader would write it. */
function formatPath(path: StandardSchemaV1.Issue["path"]): string {
  let text = "";
  for (const segment of path ?? []) {
    const key = typeof segment === "object" && segment !== null ? segment.key : segment;
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) text += text === "" ? key : `.${key}`;
    else text += `[${typeof key === "symbol" ? key.toString() : JSON.stringify(key)}]`;
  }
  return text;
}
