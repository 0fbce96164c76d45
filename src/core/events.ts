/**
 * The typed event map: one contract for both ends of a stream, from any Standard Schema library
 * (Zod 4, Valibot 1, ArkType 2, …). The server checks each event's name and data against it
 * before a byte is written; the client parses each message's data as JSON and validates it.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { isPromiseLike } from "../_internal/log.ts";
import { type OpenAPIMediaType, toOpenAPI } from "./_openapi.ts";
import type { StandardSchemaV1 } from "./_standard-schema.ts";
import type { SSEEvent, SSEMessage } from "./event.ts";
import { EventValidationError } from "./event-validation-error.ts";

export type { OpenAPIMediaType } from "./_openapi.ts";
export type { StandardJSONSchemaV1, StandardSchemaV1 } from "./_standard-schema.ts";
export {
  EventValidationError,
  type EventValidationErrorKind,
  type EventValidationErrorOptions,
} from "./event-validation-error.ts";

/** Event names and the Standard Schema of each one's data; `message` is the event without a name. */
export type EventSchemas = { readonly [name: string]: StandardSchemaV1 };

/**
 * The contract made by {@linkcode defineEvents}: the schemas by event name, and their OpenAPI
 * description. Pass it as `events` to the server (`sseResponse`, `SSEStream`, `SSEHub`, the Hono
 * helper) and to the client (`subscribe`, `EventSource`).
 */
export interface EventMap<S extends EventSchemas = EventSchemas> {
  /** The schemas, by event name (`message` for events without an `event:` field). */
  readonly schemas: S;
  /**
   * The OpenAPI 3.2 media type object for `text/event-stream`, with an `itemSchema` that
   * describes each event of the map (its name, its data as JSON with the schema's JSON Schema,
   * `id` and `retry`). Throws a `TypeError` naming the event whose schema offers no JSON Schema
   * (`~standard.jsonSchema`).
   */
  toOpenAPI(): OpenAPIMediaType;
}

/** The names of the events in `M`. */
export type EventName<M extends EventMap> = keyof M["schemas"] & string;

/** What the server sends as the data of event `K` of `M`: its schema's input type. */
export type EventInput<M extends EventMap, K extends EventName<M>> = StandardSchemaV1.InferInput<M["schemas"][K]>;

/** What the client receives as the data of event `K` of `M`: its schema's output type. */
export type EventOutput<M extends EventMap, K extends EventName<M>> = StandardSchemaV1.InferOutput<M["schemas"][K]>;

type EventFields = Omit<SSEEvent, "event" | "data">;

/**
 * The events a typed stream or hub accepts: for each name of the map, `event` set to it and
 * `data` of its schema's input type (for `message`, `event` may be left out); or an event with
 * neither `event` nor `data` (only `id`, `retry` or `comment`), which no client dispatches.
 */
export type TypedEvent<S extends EventSchemas> =
  | {
      [K in keyof S & string]: EventFields &
        (K extends "message" ? { event?: "message" } : { event: K }) & {
          data: StandardSchemaV1.InferInput<S[K]>;
        };
    }[keyof S & string]
  | (EventFields & { event?: undefined; data?: undefined });

/**
 * What `send()` and `publish()` take: {@linkcode TypedEvent} when `M` is a particular event map,
 * any `SSEEvent` otherwise: `undefined` or `EventMap | undefined` (an untyped stream or hub, the
 * default of their type parameter), or the wide `EventMap` (any map, names unknown).
 */
export type EventOf<M extends EventMap | undefined> = [M] extends [EventMap<infer S>]
  ? string extends keyof S
    ? SSEEvent
    : TypedEvent<S>
  : SSEEvent;

/**
 * One message of a typed subscription: `type` is the event name and narrows `data`, which was
 * parsed from JSON and validated (the schema's output type). `error` is `undefined`.
 */
export type TypedMessage<S extends EventSchemas> = {
  [K in keyof S & string]: {
    /** The event name (`"message"` for events without an `event:` field). */
    type: K;
    /** The data, parsed from JSON and validated by the schema of `type`. */
    data: StandardSchemaV1.InferOutput<S[K]>;
    /** The last event id seen so far in the stream. */
    lastEventId: string;
    /** Always `undefined`: set only on messages passed through unchecked. */
    error?: undefined;
  };
}[keyof S & string];

/**
 * A message that a typed subscription passes through unchecked (`onInvalid: "pass"` or
 * `onUnknown: "pass"`): the data as received, and the error that says why it is not typed.
 */
export interface UncheckedMessage extends SSEMessage {
  /** Why the message is not typed: an unknown event, or data that failed parsing or validation. */
  error: EventValidationError;
}

const EVENT_MAP = "EventMap";

/** Whether `value` was made by {@linkcode defineEvents}, by this or another copy of the package. (Internal: not exported by an entry point.) */
export function isEventMap(value: unknown): value is EventMap {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[Symbol.for(`hertz-sse.${EVENT_MAP}`)] === true
  );
}

/**
 * Internal (not exported by an entry point). Throws a `TypeError` unless `value` is `undefined`
 * or an {@linkcode EventMap}: for the
 * constructors that take an `events` option (`context` starts the message, e.g.
 * `"Cannot create SSEHub"`).
 */
export function checkEventsOption(value: unknown, context: string): EventMap | undefined {
  if (value === undefined || isEventMap(value)) return value;
  throw new TypeError(`${context}: "events" must be made by defineEvents(), got ${describe(value)}`);
}

/**
 * Defines the events of a stream: each name with the Standard Schema of its data (Zod 4,
 * Valibot 1, ArkType 2 or any other implementation of `~standard.validate`). Events without an
 * `event:` field are the `message` key. The result is shared by the server, which checks every
 * event against it before writing, and the client, which parses and validates every message.
 *
 * Data crosses the wire as JSON: the server sends the schema's output of what it was given, the
 * client validates the parsed JSON with the same schema. Use schemas whose output survives a JSON
 * round trip (no `Date`, `Map` or transforms to non-JSON values).
 *
 * @example Usage
 * ```ts
 * import { defineEvents, type StandardSchemaV1 } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * // Any Standard Schema works; this one is written by hand to keep the example dependency-free.
 * const price: StandardSchemaV1<{ symbol: string; price: number }> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) =>
 *       typeof (value as { price?: unknown })?.price === "number"
 *         ? { value: value as { symbol: string; price: number } }
 *         : { issues: [{ message: "Expected a number", path: ["price"] }] },
 *   },
 * };
 * const events = defineEvents({ price });
 * assertEquals(Object.keys(events.schemas), ["price"]);
 * ```
 */
export function defineEvents<S extends EventSchemas>(schemas: S): EventMap<S> {
  if (schemas === null || typeof schemas !== "object") {
    throw new TypeError(`Cannot define events: expected an object of schemas, got ${describe(schemas)}`);
  }
  const copy: Record<string, StandardSchemaV1> = Object.create(null);
  for (const [name, schema] of Object.entries(schemas)) {
    if (name === "" || /[\r\n]/.test(name)) {
      throw new TypeError(`Cannot define events: an event name must be non-empty, without CR or LF, got ${JSON.stringify(name)}`);
    }
    const standard = (schema as Partial<StandardSchemaV1> | null)?.["~standard"];
    if (typeof standard?.validate !== "function" || standard.version !== 1) {
      throw new TypeError(
        `Cannot define events: the schema of ${JSON.stringify(name)} is not a Standard Schema v1 (it has no "~standard.validate"), got ${describe(schema)}`,
      );
    }
    copy[name] = schema;
  }
  if (Object.keys(copy).length === 0) throw new TypeError("Cannot define events: expected at least one event schema, got none");
  Object.freeze(copy);
  const map: EventMap<S> = {
    schemas: copy as S,
    toOpenAPI: () => toOpenAPI(copy),
  };
  Object.defineProperty(map, Symbol.for(`hertz-sse.${EVENT_MAP}`), { value: true });
  return Object.freeze(map);
}

/** Looks up the schema of `name`, own properties only (`__proto__` is not an event). */
function schemaOf(events: EventMap, name: string): StandardSchemaV1 | undefined {
  return Object.hasOwn(events.schemas, name) ? events.schemas[name] : undefined;
}

/**
 * Checks `event` against `events` as a typed `send()` or `publish()` must, before anything is
 * written: its name (or `message`, when it has none) must be in the map and its data must pass
 * that event's schema. Returns the event to encode, with `data` replaced by the JSON text of the
 * schema's output (strings included: the typed client parses JSON) made by `serialize` when one is
 * given (it must write JSON: a custom number format, say) or else `JSON.stringify`; a promise of it
 * when the schema validates asynchronously. Throws (or rejects with) an
 * {@linkcode EventValidationError}. An event with neither `event` nor `data` (only `id`, `retry`
 * or `comment`) passes as it is; malformed fields are left to `validateEvent`.
 *
 * `action` starts the error message.
 *
 * @example Usage
 * ```ts
 * import { checkTypedEvent, defineEvents, EventValidationError, type StandardSchemaV1 } from "@hertz/sse";
 * import { assertEquals, assertThrows } from "jsr:@std/assert";
 *
 * const text: StandardSchemaV1<string> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "example",
 *     validate: (value) => (typeof value === "string" ? { value } : { issues: [{ message: "Expected a string" }] }),
 *   },
 * };
 * const events = defineEvents({ chat: text });
 * assertEquals(checkTypedEvent(events, { event: "chat", data: "hi" }), { event: "chat", data: '"hi"' });
 * assertThrows(() => checkTypedEvent(events, { event: "chat", data: 1 }), EventValidationError, 'Cannot send event "chat": invalid data: Expected a string');
 * assertThrows(() => checkTypedEvent(events, { event: "nope", data: "hi" }), EventValidationError, "not in the event map");
 * ```
 */
export function checkTypedEvent(
  events: EventMap,
  event: SSEEvent,
  action = "Cannot send event",
  serialize?: (data: unknown) => string,
): SSEEvent | Promise<SSEEvent> {
  if (event === null || typeof event !== "object") return event;
  const name = event.event;
  if (name === undefined && event.data === undefined) return event;
  if (name !== undefined && typeof name !== "string") return event;
  const type = name ?? "message";
  const schema = schemaOf(events, type);
  if (schema === undefined) throw new EventValidationError(action, { kind: "unknown-event", event: type });
  const result = schema["~standard"].validate(event.data);
  if (isPromiseLike(result)) return Promise.resolve(result).then((settled) => accept(settled, event, type, action, serialize));
  return accept(result, event, type, action, serialize);
}

function accept(
  result: StandardSchemaV1.Result<unknown>,
  event: SSEEvent,
  type: string,
  action: string,
  serialize: ((data: unknown) => string) | undefined,
): SSEEvent {
  if (result.issues) throw new EventValidationError(action, { kind: "invalid-data", event: type, issues: result.issues });
  // JSON, strings included (the client parses JSON): the stream's `serialize` if it has one (it
  // must write JSON), else JSON.stringify, never the untyped path's "strings as they are".
  let data: string | undefined;
  try {
    data = serialize === undefined ? JSON.stringify(result.value) : serialize(result.value);
  } catch (cause) {
    throw new SyntaxError(`${action} ${JSON.stringify(type)}: its data cannot be serialised as JSON`, { cause });
  }
  return { ...event, data };
}

/**
 * Internal (used by `subscribe()`; not exported by an entry point). Parses and validates one
 * received message against `events`, as a typed client does: the data
 * is parsed as JSON, then checked by the schema of the message's type. Returns the typed message
 * (or a promise of it, for an asynchronous schema); throws (or rejects with) an
 * {@linkcode EventValidationError}: `"unknown-event"` for a type that is not in the map,
 * `"invalid-data"` for data that is not JSON (the `SyntaxError` is the cause) or fails the schema.
 */
export function checkMessage<S extends EventSchemas>(
  events: EventMap<S>,
  message: SSEMessage,
): TypedMessage<S> | Promise<TypedMessage<S>> {
  const action = "Cannot accept event";
  const type = message.type;
  const schema = schemaOf(events, type);
  if (schema === undefined) throw new EventValidationError(action, { kind: "unknown-event", event: type });
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new EventValidationError(action, {
      kind: "invalid-data",
      event: type,
      issues: [{ message: `not JSON (${reason})` }],
      cause,
    });
  }
  const result = schema["~standard"].validate(data);
  const typed = (settled: StandardSchemaV1.Result<unknown>): TypedMessage<S> => {
    if (settled.issues) throw new EventValidationError(action, { kind: "invalid-data", event: type, issues: settled.issues });
    return { type, data: settled.value, lastEventId: message.lastEventId } as TypedMessage<S>;
  };
  return isPromiseLike(result) ? Promise.resolve(result).then(typed) : typed(result);
}
