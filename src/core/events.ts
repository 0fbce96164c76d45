/**
 * The typed event map: one contract for both ends of a stream, from any Standard Schema library
 * (Zod 4, Valibot 1, ArkType 2, …). The server checks each event's name and data against it
 * before a byte is written; the client parses each message's data as JSON and validates it.
 *
 * @module
 */

import { brand, hasBrand } from "../_internal/brand.ts";
import { describe } from "../_internal/describe.ts";
import { isPromiseLike } from "../_internal/log.ts";
import type { StandardJSONSchemaV1, StandardSchemaV1 } from "./_standard-schema.ts";
import type { SSEEvent, SSEMessage } from "./event.ts";

export type { StandardJSONSchemaV1, StandardSchemaV1 } from "./_standard-schema.ts";

/** Event names and the Standard Schema of each one's data; `message` is the event without a name. */
export type EventSchemas = { readonly [name: string]: StandardSchemaV1 };

/**
 * An OpenAPI 3.2 media type object for `text/event-stream`: `itemSchema` describes one event.
 */
export interface OpenAPIMediaType {
  /** The JSON Schema (2020-12 dialect) of one event: `event`, `data`, `id`, `retry`. */
  itemSchema: Record<string, unknown>;
}

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
    [K in keyof S & string]: EventFields & (K extends "message" ? { event?: "message" } : { event: K }) & {
      data: StandardSchemaV1.InferInput<S[K]>;
    };
  }[keyof S & string]
  | (EventFields & { event?: undefined; data?: undefined });

/**
 * What `send()` and `publish()` take: {@linkcode TypedEvent} when `M` is a particular event map,
 * any `SSEEvent` otherwise: `undefined` or `EventMap | undefined` (an untyped stream or hub, the
 * default of their type parameter), or the wide `EventMap` (any map, names unknown).
 */
export type EventOf<M extends EventMap | undefined> = [M] extends [EventMap<infer S>] ? string extends keyof S ? SSEEvent : TypedEvent<S>
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

const EVENT_MAP = "EventMap";

/** Whether `value` was made by {@linkcode defineEvents}, by this or another copy of the package. (Internal: not exported by an entry point.) */
export function isEventMap(value: unknown): value is EventMap {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[Symbol.for(`hertz-sse.${EVENT_MAP}`)] === true;
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
 * schema's output (always JSON, strings included, whatever the stream's `serialize`: the typed
 * client parses JSON); a promise of it when the schema validates asynchronously. Throws (or rejects with) an
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
export function checkTypedEvent(events: EventMap, event: SSEEvent, action = "Cannot send event"): SSEEvent | Promise<SSEEvent> {
  if (event === null || typeof event !== "object") return event;
  const name = event.event;
  if (name === undefined && event.data === undefined) return event;
  if (name !== undefined && typeof name !== "string") return event;
  const type = name ?? "message";
  const schema = schemaOf(events, type);
  if (schema === undefined) throw new EventValidationError(action, { kind: "unknown-event", event: type });
  const result = schema["~standard"].validate(event.data);
  if (isPromiseLike(result)) return Promise.resolve(result).then((settled) => accept(settled, event, type, action));
  return accept(result, event, type, action);
}

function accept(result: StandardSchemaV1.Result<unknown>, event: SSEEvent, type: string, action: string): SSEEvent {
  if (result.issues) throw new EventValidationError(action, { kind: "invalid-data", event: type, issues: result.issues });
  // Always JSON, strings included, whatever the stream's `serialize`: the client parses JSON.
  let data: string | undefined;
  try {
    data = JSON.stringify(result.value);
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
    throw new EventValidationError(action, { kind: "invalid-data", event: type, issues: [{ message: `not JSON (${reason})` }], cause });
  }
  const result = schema["~standard"].validate(data);
  const typed = (settled: StandardSchemaV1.Result<unknown>): TypedMessage<S> => {
    if (settled.issues) throw new EventValidationError(action, { kind: "invalid-data", event: type, issues: settled.issues });
    return { type, data: settled.value, lastEventId: message.lastEventId } as TypedMessage<S>;
  };
  return isPromiseLike(result) ? Promise.resolve(result).then(typed) : typed(result);
}

type Outcome = { ok: true; event: SSEEvent } | { ok: false; error: unknown };

/**
 * Internal (used by `SSEStream` and `SSEHub`; not exported by an entry point). Keeps typed writes
 * in call order when some schemas validate asynchronously: for the stream's
 * `send()` and the hub's `publish()`. While nothing is pending and the schema is synchronous,
 * `write` runs at once, in the caller's turn (so the untyped and synchronous paths cost one
 * schema call and nothing else); otherwise each write waits for the writes called before it.
 */
export class EventGate {
  readonly #events: EventMap;
  readonly #action: string;
  #pending = 0;
  #tail: Promise<void> = Promise.resolve();

  /** A gate for `events`; `action` starts the error messages (`"Cannot publish event"`). */
  constructor(events: EventMap, action = "Cannot send event") {
    this.#events = events;
    this.#action = action;
  }

  /**
   * Checks `event` and calls `write` with the event to encode, after the writes passed before
   * it. Returns what `write` returns, at once when nothing had to wait, else a promise of it.
   * Throws or rejects with the {@linkcode EventValidationError}; `write` is not called then.
   */
  pass<T>(event: SSEEvent, write: (event: SSEEvent) => T): T | Promise<Awaited<T>> {
    if (this.#pending === 0) {
      const checked = checkTypedEvent(this.#events, event, this.#action);
      if (!isPromiseLike(checked)) return write(checked);
      return this.#queue(checked, write);
    }
    let checked: SSEEvent | Promise<SSEEvent>;
    try {
      checked = checkTypedEvent(this.#events, event, this.#action);
    } catch (error) {
      checked = Promise.reject(error);
    }
    return this.#queue(checked, write);
  }

  /**
   * The synchronous form, for `tryPublish()`: returns what `write` returns, or `undefined`
   * without calling it when earlier writes are still pending (calling it now would reorder
   * events). Throws the {@linkcode EventValidationError}, and a `TypeError` when the schema
   * validates asynchronously (`what` names the asynchronous method to use instead).
   */
  passNow<T>(event: SSEEvent, write: (event: SSEEvent) => T, what = "publish()"): T | undefined {
    if (this.#pending > 0) return undefined;
    const checked = checkTypedEvent(this.#events, event, this.#action);
    if (isPromiseLike(checked)) {
      checked.then(undefined, () => {}); // The answer is the TypeError below.
      throw new TypeError(
        `${this.#action} ${JSON.stringify(event.event ?? "message")}: its schema validates asynchronously, use ${what}`,
      );
    }
    return write(checked);
  }

  #queue<T>(checked: SSEEvent | Promise<SSEEvent>, write: (event: SSEEvent) => T): Promise<Awaited<T>> {
    this.#pending++;
    // Settled into an outcome at once, so that a rejection waiting for its turn is not reported
    // as unhandled.
    const outcome: Promise<Outcome> = Promise.resolve(checked).then(
      (event) => ({ ok: true, event }),
      (error: unknown) => ({ ok: false, error }),
    );
    const called = this.#tail.then(() => outcome).then((result): { value: T } | { error: unknown } => {
      if (!result.ok) return { error: result.error };
      try {
        return { value: write(result.event) };
      } catch (error) {
        return { error };
      }
    });
    // The next write waits until this one is called, not until it resolves: a write that waits
    // for room (backpressure, a backplane's acknowledgement) must not hold the others back more
    // than it would untyped.
    this.#tail = called.then(() => {
      this.#pending--;
    });
    return called.then((result) => ("error" in result ? Promise.reject(result.error) : (result.value as Awaited<T>)));
  }
}

const JSON_SCHEMA_TARGET = "draft-2020-12";

function jsonSchemaOf(name: string, schema: StandardSchemaV1): Record<string, unknown> {
  const standard = schema["~standard"] as Partial<StandardJSONSchemaV1.Props>;
  const converter = standard.jsonSchema;
  if (typeof converter?.output !== "function") {
    const hint = standard.vendor === "valibot" ? ": wrap it with toStandardJsonSchema() from @valibot/to-json-schema" : "";
    throw new TypeError(
      `Cannot describe event ${JSON.stringify(name)} in OpenAPI: its schema (vendor ${JSON.stringify(standard.vendor)}) has no JSON Schema ("~standard.jsonSchema")${hint}`,
    );
  }
  let json: Record<string, unknown>;
  try {
    json = converter.output({ target: JSON_SCHEMA_TARGET });
  } catch (cause) {
    throw new TypeError(`Cannot describe event ${JSON.stringify(name)} in OpenAPI: its schema has no ${JSON_SCHEMA_TARGET} JSON Schema`, { cause });
  }
  // `$schema` may only stand at the root of a schema resource; the document sets the dialect.
  const { $schema: _dialect, ...rest } = json;
  return rest;
}

/**
 * The media type object: one `oneOf` branch per event, told apart by `event` (required for
 * every name but `message`, whose branch also takes events without one), with `data` a JSON
 * string whose `contentSchema` is the event's schema.
 */
function toOpenAPI(schemas: Readonly<Record<string, StandardSchemaV1>>): OpenAPIMediaType {
  const branches: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(schemas)) {
    branches.push({
      properties: {
        event: { const: name },
        data: { contentMediaType: "application/json", contentSchema: jsonSchemaOf(name, schema) },
      },
      required: name === "message" ? ["data"] : ["event", "data"],
    });
  }
  return {
    itemSchema: {
      type: "object",
      properties: {
        event: { type: "string" },
        data: { type: "string" },
        id: { type: "string" },
        retry: { type: "integer", minimum: 0 },
      },
      oneOf: branches,
    },
  };
}
