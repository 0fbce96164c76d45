/**
 * One parsed message on its way to the loop: decoded, parsed and validated as the options say,
 * and, when that fails, what `onInvalid` or `onUnknown` say to do with it.
 *
 * @module
 */

import { isPromiseLike } from "../_internal/log.ts";
import type { SSEMessage } from "../core/event.ts";
import { EventValidationError } from "../core/event-validation-error.ts";
import { checkMessage, type UncheckedMessage } from "../core/events.ts";
import { ParseError } from "../parser/parse-error.ts";
import type { ResolvedOptions } from "./_options.ts";

type MessageOptions = Pick<ResolvedOptions, "decode" | "events" | "onInvalid" | "onUnknown">;

/**
 * What to deliver for `item`: the message, decoded (`decode`) and typed (`events`), or a promise
 * of it when a schema validates asynchronously. Throws what failed; a `ParseError` (an event the
 * parser dropped) is thrown as it is.
 */
export function prepareMessage(item: SSEMessage | ParseError, options: MessageOptions): unknown {
  if (item instanceof ParseError) throw item;
  const message = options.decode ? { type: item.type, data: options.decode(item.data), lastEventId: item.lastEventId } : item;
  if (!options.events) return message;
  const checked = checkMessage(options.events, message);
  return isPromiseLike(checked) ? Promise.resolve(checked) : checked;
}

/**
 * What to do with `item`, which failed with `error`: `"throw"` (end the subscription), `"skip"`,
 * or a message to deliver as received (untyped; with its `error` when the subscription is typed).
 * `onUnknown` decides for a type not in the map, `onInvalid` for everything else; an event the
 * parser dropped cannot be passed, only skipped.
 */
export function badMessage(
  error: unknown,
  item: SSEMessage | ParseError,
  options: MessageOptions,
): "throw" | "skip" | { deliver: unknown } {
  const unknown = EventValidationError.is(error) && error.kind === "unknown-event";
  const choice = unknown ? options.onUnknown : options.onInvalid;
  if (choice === "throw") return "throw";
  if (choice === "skip" || item instanceof ParseError) return "skip";
  if (!options.events) return { deliver: item };
  const reason = EventValidationError.is(error)
    ? error
    : new EventValidationError("Cannot accept event", {
        kind: "invalid-data",
        event: item.type,
        issues: [{ message: error instanceof Error ? error.message : String(error) }],
        cause: error,
      });
  const unchecked: UncheckedMessage = { type: item.type, data: item.data, lastEventId: item.lastEventId, error: reason };
  return { deliver: unchecked };
}
