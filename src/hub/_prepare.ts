/**
 * The one validation point of a hub publish: the event checked and serialised once, in the shape
 * every backplane stores.
 *
 * @module
 */

import { serializeData } from "../core/encoder.ts";
import { type SSEEvent, validateEvent } from "../core/event.ts";
import type { BackplaneEvent } from "./backplane.ts";

/** Validates `event` (`TypeError`, `RangeError`, `SyntaxError`) and serialises its data, before anything is sent. */
export function prepareEvent(event: SSEEvent, serialize: ((data: unknown) => string) | undefined): BackplaneEvent {
  validateEvent(event);
  let id: string | undefined;
  if (event.id !== undefined) {
    id = String(event.id);
    if (id === "") throw new TypeError('Cannot publish: "id" must not be empty, as the hub replays by id');
  }
  // Always the same shape, whichever fields are set.
  return {
    event: event.event,
    data: event.data === undefined ? undefined : serializeData(event.data, serialize),
    comment: event.comment,
    retry: event.retry,
    id,
  };
}
