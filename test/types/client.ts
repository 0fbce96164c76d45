// Type tests of the typed client (compiled by tsc, not run): subscribe() yields a discriminated
// union typed by the map, `onInvalid`/`onUnknown: "pass"` add the unchecked messages, and
// EventSource listeners get typed data.
import * as z from "zod";
import { EventSource } from "../../src/client/event-source.ts";
import { type SSEMessage, type Subscription, subscribe, type UncheckedMessage } from "../../src/client/index.ts";
import { defineEvents, type TypedMessage } from "../../src/index.ts";
import { arktypeEvents, valibotEvents, zodEvents } from "../client/_schemas.ts";
import { assertType, type Equal } from "./_assert.ts";

type Price = { symbol: string; price: number };
type Chat = { from: string; text: string };

async function loop(): Promise<void> {
  for await (const message of subscribe("http://localhost/sse", { events: zodEvents })) {
    assertType<Equal<typeof message, TypedMessage<(typeof zodEvents)["schemas"]>>>();
    if (message.type === "price") {
      assertType<Equal<typeof message.data, Price>>();
      // @ts-expect-error: a field that does not exist on the narrowed message
      void message.data.text;
    } else if (message.type === "chat") {
      assertType<Equal<typeof message.data, Chat>>();
    } else {
      assertType<Equal<typeof message.type, "message">>();
      assertType<Equal<typeof message.data, string>>();
    }
    // @ts-expect-error: an event name that is not in the map
    if (message.type === "weather") break;
  }
  for await (const message of subscribe("http://localhost/sse", { events: valibotEvents })) {
    assertType<Equal<typeof message, TypedMessage<(typeof valibotEvents)["schemas"]>>>();
    if (message.type === "price") {
      assertType<Equal<typeof message.data, Price>>();
      // @ts-expect-error: a field that does not exist on the narrowed message
      void message.data.text;
    } else if (message.type === "chat") {
      assertType<Equal<typeof message.data, Chat>>();
    } else {
      assertType<Equal<typeof message.type, "message">>();
      assertType<Equal<typeof message.data, string>>();
    }
    // @ts-expect-error: an event name that is not in the map
    if (message.type === "weather") break;
  }
  for await (const message of subscribe("http://localhost/sse", { events: arktypeEvents })) {
    assertType<Equal<typeof message, TypedMessage<(typeof arktypeEvents)["schemas"]>>>();
    if (message.type === "price") {
      assertType<Equal<typeof message.data, Price>>();
      // @ts-expect-error: a field that does not exist on the narrowed message
      void message.data.text;
    } else if (message.type === "chat") {
      assertType<Equal<typeof message.data, Chat>>();
    } else {
      assertType<Equal<typeof message.type, "message">>();
      assertType<Equal<typeof message.data, string>>();
    }
    // @ts-expect-error: an event name that is not in the map
    if (message.type === "weather") break;
  }
  // Untyped: SSEMessage, as before.
  const plain = subscribe("http://localhost/sse");
  assertType<Equal<typeof plain, Subscription<SSEMessage>>>();

  // "pass" lets unchecked messages through: they carry an error, typed ones do not.
  for await (const message of subscribe("http://localhost/sse", { events: zodEvents, onInvalid: "pass" })) {
    assertType<Equal<typeof message, TypedMessage<(typeof zodEvents)["schemas"]> | UncheckedMessage>>();
    if (message.error) {
      assertType<Equal<typeof message.data, string>>();
      continue;
    }
    if (message.type === "price") assertType<Equal<typeof message.data, Price>>();
  }
  // "skip" and "throw" do not.
  const strict = subscribe("http://localhost/sse", { events: zodEvents, onInvalid: "skip", onUnknown: "throw" });
  assertType<Equal<typeof strict, Subscription<TypedMessage<(typeof zodEvents)["schemas"]>>>>();

  // onMessage is typed too.
  subscribe("http://localhost/sse", {
    events: zodEvents,
    onMessage: (message) => {
      if (message.type === "chat") assertType<Equal<typeof message.data, Chat>>();
    },
  });
  // @ts-expect-error: not a choice
  subscribe("http://localhost/sse", { events: zodEvents, onInvalid: "ignore" });
}
void loop;

// EventSource: listeners of the map's names get typed data; other names stay untyped.
const source = new EventSource("http://localhost/sse", { events: zodEvents });
source.addEventListener("price", (event) => {
  assertType<Equal<typeof event.data, Price>>();
  // @ts-expect-error: a field that does not exist on the event's data
  void event.data.text;
});
source.addEventListener("open", (event) => assertType<Equal<typeof event, Event>>());
const withMessage = new EventSource("http://localhost/sse", { events: defineEvents({ message: z.object({ n: z.number() }) }) });
withMessage.onmessage = (event) => assertType<Equal<typeof event.data, { n: number }>>();
// An untyped EventSource is still a DOM EventSource.
const dom: globalThis.EventSource = new EventSource("http://localhost/sse");
void dom;
