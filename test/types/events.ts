// Type tests of the typed event map itself (compiled by tsc, not run): the event union a typed
// stream or hub takes (EventOf), the messages a typed client yields (TypedMessage), for Zod 4,
// Valibot 1 and ArkType 2.
import { toStandardJsonSchema } from "@valibot/to-json-schema";
import { type } from "arktype";
import * as v from "valibot";
import * as z from "zod";
import {
  defineEvents,
  type EventInput,
  type EventMap,
  type EventName,
  type EventOf,
  type EventOutput,
  type SSEEvent,
  type TypedMessage,
} from "../../src/index.ts";
import { assertType, type Equal } from "./_assert.ts";

const zodEvents = defineEvents({
  price: z.object({ symbol: z.string(), price: z.number() }),
  chat: z.object({ from: z.string(), text: z.string() }),
});
const valibotEvents = defineEvents({
  price: v.object({ symbol: v.string(), price: v.number() }),
  chat: toStandardJsonSchema(v.object({ from: v.string(), text: v.string() })),
});
const arktypeEvents = defineEvents({
  price: type({ symbol: "string", price: "number" }),
  chat: type({ from: "string", text: "string" }),
});

type Price = { symbol: string; price: number };
type Chat = { from: string; text: string };

assertType<Equal<EventName<typeof zodEvents>, "price" | "chat">>();
assertType<Equal<EventName<typeof valibotEvents>, "price" | "chat">>();
assertType<Equal<EventName<typeof arktypeEvents>, "price" | "chat">>();

// The inferred data types, per library.
assertType<Equal<EventInput<typeof zodEvents, "price">, Price>>();
assertType<Equal<EventOutput<typeof valibotEvents, "chat">, Chat>>();
assertType<Equal<EventOutput<typeof arktypeEvents, "price">, Price>>();

// zodEvents
const ok_zodEvents: EventOf<typeof zodEvents>[] = [
  { event: "price", data: { symbol: "AAPL", price: 1 }, id: 1 },
  { event: "chat", data: { from: "ann", text: "hi" } },
  { retry: 1000 },
  { comment: "no data, no name: dispatches nothing" },
];
const wrong_zodEvents: EventOf<typeof zodEvents>[] = [
  // @ts-expect-error: a wrong event name
  { event: "weather", data: { symbol: "AAPL", price: 1 } },
  // @ts-expect-error: a wrong payload
  { event: "price", data: { symbol: "AAPL", price: "1" } },
  // @ts-expect-error: a missing field
  { event: "chat", data: { from: "ann" } },
  // @ts-expect-error: no `message` in the map, so a name is required
  { data: { from: "ann", text: "hi" } },
];
void ok_zodEvents;
void wrong_zodEvents;

// valibotEvents
const ok_valibotEvents: EventOf<typeof valibotEvents>[] = [
  { event: "price", data: { symbol: "AAPL", price: 1 }, id: 1 },
  { event: "chat", data: { from: "ann", text: "hi" } },
  { retry: 1000 },
  { comment: "no data, no name: dispatches nothing" },
];
const wrong_valibotEvents: EventOf<typeof valibotEvents>[] = [
  // @ts-expect-error: a wrong event name
  { event: "weather", data: { symbol: "AAPL", price: 1 } },
  // @ts-expect-error: a wrong payload
  { event: "price", data: { symbol: "AAPL", price: "1" } },
  // @ts-expect-error: a missing field
  { event: "chat", data: { from: "ann" } },
  // @ts-expect-error: no `message` in the map, so a name is required
  { data: { from: "ann", text: "hi" } },
];
void ok_valibotEvents;
void wrong_valibotEvents;

// arktypeEvents
const ok_arktypeEvents: EventOf<typeof arktypeEvents>[] = [
  { event: "price", data: { symbol: "AAPL", price: 1 }, id: 1 },
  { event: "chat", data: { from: "ann", text: "hi" } },
  { retry: 1000 },
  { comment: "no data, no name: dispatches nothing" },
];
const wrong_arktypeEvents: EventOf<typeof arktypeEvents>[] = [
  // @ts-expect-error: a wrong event name
  { event: "weather", data: { symbol: "AAPL", price: 1 } },
  // @ts-expect-error: a wrong payload
  { event: "price", data: { symbol: "AAPL", price: "1" } },
  // @ts-expect-error: a missing field
  { event: "chat", data: { from: "ann" } },
  // @ts-expect-error: no `message` in the map, so a name is required
  { data: { from: "ann", text: "hi" } },
];
void ok_arktypeEvents;
void wrong_arktypeEvents;

// Untyped: any SSEEvent.
assertType<Equal<EventOf<undefined>, SSEEvent>>();

// With a `message` key, the name may be left out.
const withMessage = defineEvents({ message: z.string() });
const untitled: EventOf<typeof withMessage> = { data: "hello" };
void untitled;

// The messages a typed client yields: `type` narrows `data`.
declare const message: TypedMessage<(typeof zodEvents)["schemas"]>;
if (message.type === "price") {
  assertType<Equal<typeof message.data, Price>>();
  // @ts-expect-error: a field that does not exist on the narrowed message
  void message.data.text;
} else {
  assertType<Equal<typeof message.data, Chat>>();
}
// @ts-expect-error: a type that is not in the map
if (message.type === "weather") void message;

// The defaults of the server's type parameters, and the wide map, are untyped.
assertType<Equal<EventOf<EventMap | undefined>, SSEEvent>>();
assertType<Equal<EventOf<EventMap>, SSEEvent>>();
