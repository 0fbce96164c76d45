// The typed event contract, end to end through a real HTTP server, the same suite for Zod 4,
// Valibot 1 and ArkType 2: the server side through the helpers the stream and hub call
// (checkTypedEvent, EventGate), the client side through subscribe() and EventSource, and the
// OpenAPI 3.2 description checked by a published 3.2 validator and by JSON Schema 2020-12.
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import * as v from "valibot";
import { describe, expect, it } from "vitest";
import { EventSource } from "../../src/client/event-source.ts";
import { subscribe } from "../../src/client/subscribe.ts";
import { EventGate } from "../../src/core/_event-gate.ts";
import type { SSEEvent } from "../../src/core/event.ts";
import { checkTypedEvent, defineEvents, EventValidationError } from "../../src/core/events.ts";
import { sseResponse } from "../../src/core/response.ts";
import { routeServer } from "./_route-server.ts";
import { type Library, libraries, type zodEvents } from "./_schemas.ts";

const { route } = routeServer();

/** A stream that sends `events` untyped (as a server that broke the contract would), then holds. */
const raw = (events: SSEEvent[], hold = true) =>
  route((request) =>
    sseResponse(
      request,
      async (stream) => {
        for (const event of events) await stream.send(event);
        if (hold) await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
      },
      { keepAlive: false },
    ),
  );

async function take<T>(iterable: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= n) break;
  }
  return out;
}

const fast = { retry: 10, backoff: { jitter: 0 } };

describe.each(libraries)("typed events with $name", (library: Library) => {
  // The three maps have the same shapes: typed as one, so that the suite reads as users write.
  const lib = { ...library, events: library.events as typeof zodEvents };
  describe("server", () => {
    it("writes valid events with the schema's output, and refuses an invalid or unknown one before a byte is written", async () => {
      const outcomes: unknown[] = [];
      const url = route((request) =>
        sseResponse(
          request,
          async (stream) => {
            const attempts: SSEEvent[] = [
              { event: "price", id: "1", data: { symbol: "AAPL", price: 189.5 } },
              { event: "price", id: "2", data: { symbol: "AMZN", price: "cheap" } },
              { event: "weather", data: { sky: "blue" } },
              { data: "no name: the message key" },
              { retry: 2000 },
              { event: "chat", data: { from: "ann", text: "hi" } },
            ];
            for (const event of attempts) {
              try {
                outcomes.push(await stream.send(await checkTypedEvent(lib.events, event)));
              } catch (error) {
                outcomes.push(error);
              }
            }
          },
          { keepAlive: false },
        ),
      );
      const text = await (await fetch(url)).text();
      expect(text).toBe(
        'event: price\ndata: {"symbol":"AAPL","price":189.5}\nid: 1\n\n' +
          'data: "no name: the message key"\n\n' +
          "retry: 2000\n\n" +
          'event: chat\ndata: {"from":"ann","text":"hi"}\n\n',
      );
      expect(outcomes.filter((o) => o === true)).toHaveLength(4);
      const [invalid, unknown] = outcomes.filter((o) => o !== true) as EventValidationError[];
      expect(EventValidationError.is(invalid)).toBe(true);
      expect(invalid).toBeInstanceOf(TypeError);
      expect(invalid!.kind).toBe("invalid-data");
      expect(invalid!.event).toBe("price");
      expect(invalid!.message).toMatch(/^Cannot send event "price": invalid data at price: \S/);
      expect(invalid!.issues.length).toBeGreaterThan(0);
      expect(unknown!.kind).toBe("unknown-event");
      expect(unknown!.message).toBe('Cannot send event "weather": it is not in the event map');
    });

    it("validates asynchronously and keeps the order of sends that were not awaited", async () => {
      const outcomes: unknown[] = [];
      const url = route((request) =>
        sseResponse(
          request,
          async (stream) => {
            const gate = new EventGate(lib.slow);
            // n = 1 takes longest to validate; n = -1 fails; none of the sends is awaited alone.
            const sends = [1, 2, -1, 3].map((n) =>
              gate
                .pass({ event: "tick", data: { n } }, (event) => stream.send(event))
                .then(
                  (sent) => outcomes.push(sent),
                  (error: unknown) => outcomes.push(error),
                ),
            );
            await Promise.all(sends);
          },
          { keepAlive: false },
        ),
      );
      const text = await (await fetch(url)).text();
      expect(text).toBe('event: tick\ndata: {"n":1}\n\nevent: tick\ndata: {"n":2}\n\nevent: tick\ndata: {"n":3}\n\n');
      const failure = outcomes.find((o) => o !== true) as EventValidationError;
      expect(failure.kind).toBe("invalid-data");
      expect(failure.message).toMatch(/^Cannot send event "tick": invalid data/);
    });
  });

  describe("client", () => {
    it("yields typed messages: data parsed from JSON and validated, message.type narrowing it", async () => {
      const url = raw([
        { event: "price", id: "7", data: { symbol: "AAPL", price: 189.5 } },
        { data: JSON.stringify("plain") },
        { event: "chat", data: { from: "ann", text: "hi" } },
      ]);
      const messages = await take(subscribe(url, { ...fast, events: lib.events }), 3);
      expect(messages).toEqual([
        { type: "price", data: { symbol: "AAPL", price: 189.5 }, lastEventId: "7" },
        { type: "message", data: "plain", lastEventId: "7" },
        { type: "chat", data: { from: "ann", text: "hi" }, lastEventId: "7" },
      ]);
      const first = messages[0]!;
      if (first.type === "price") expect(first.data.price.toFixed(1)).toBe("189.5");
    });

    it("ends with the EventValidationError of an invalid message by default", async () => {
      const url = raw([
        { event: "price", data: { symbol: "AAPL", price: 1 } },
        { event: "price", data: { symbol: "AAPL" } },
      ]);
      const seen: unknown[] = [];
      const subscription = subscribe(url, { ...fast, events: lib.events });
      const failure = await (async () => {
        for await (const message of subscription) seen.push(message.data);
      })().catch((error: unknown) => error);
      expect(seen).toEqual([{ symbol: "AAPL", price: 1 }]);
      expect(EventValidationError.is(failure)).toBe(true);
      expect((failure as EventValidationError).kind).toBe("invalid-data");
      expect((failure as Error).message).toMatch(/^Cannot accept event "price": invalid data at price: \S/);
      expect(subscription.error).toBe(failure);
    });

    it('skips an invalid message and reports it with onInvalid: "skip", passes it untyped with "pass"', async () => {
      const url = raw([
        { event: "chat", data: { from: 1 } },
        { event: "chat", data: "not json" },
        { event: "chat", data: { from: "a", text: "b" } },
      ]);
      const reported: unknown[] = [];
      const skipped = await take(
        subscribe(url, { ...fast, events: lib.events, onInvalid: "skip", onError: (e) => reported.push(e) }),
        1,
      );
      expect(skipped).toEqual([{ type: "chat", data: { from: "a", text: "b" }, lastEventId: "" }]);
      expect(reported.map((e) => (e as EventValidationError).kind)).toEqual(["invalid-data", "invalid-data"]);
      expect((reported[1] as Error).message).toMatch(/^Cannot accept event "chat": invalid data: not JSON/);
      expect((reported[1] as Error).cause).toBeInstanceOf(SyntaxError);

      const passed = await take(subscribe(url, { ...fast, events: lib.events, onInvalid: "pass" }), 3);
      expect(passed.map((m) => [m.type, m.data, m.error?.kind])).toEqual([
        ["chat", '{"from":1}', "invalid-data"],
        ["chat", "not json", "invalid-data"],
        ["chat", { from: "a", text: "b" }, undefined],
      ]);
    });

    it("skips an unknown event by default, and throws or passes it when told", async () => {
      const url = raw([
        { event: "weather", data: { sky: "blue" } },
        { event: "chat", data: { from: "a", text: "b" } },
      ]);
      const reported: unknown[] = [];
      const skipped = await take(subscribe(url, { ...fast, events: lib.events, onError: (e) => reported.push(e) }), 1);
      expect(skipped.map((m) => m.type)).toEqual(["chat"]);
      expect((reported[0] as EventValidationError).kind).toBe("unknown-event");
      expect((reported[0] as Error).message).toBe('Cannot accept event "weather": it is not in the event map');

      const thrown = await take(subscribe(url, { ...fast, events: lib.events, onUnknown: "throw" }), 2).catch((e: unknown) => e);
      expect((thrown as EventValidationError).kind).toBe("unknown-event");

      const passed = await take(subscribe(url, { ...fast, events: lib.events, onUnknown: "pass" }), 2);
      expect(passed[0]).toMatchObject({ type: "weather", data: '{"sky":"blue"}' });
      expect(passed[0]!.error?.kind).toBe("unknown-event");
    });

    it("awaits an asynchronous schema, in order, and delivers to onMessage typed", async () => {
      const url = raw([1, 2, -1, 3].map((n) => ({ event: "tick", data: { n } })));
      const seen: number[] = [];
      let finished!: () => void;
      const done = { promise: new Promise<void>((resolve) => (finished = resolve)), resolve: () => finished() };
      const subscription = subscribe(url, {
        ...fast,
        events: lib.slow,
        onInvalid: "skip",
        onMessage: (message) => {
          seen.push(message.data.n);
          if (seen.length === 3) done.resolve();
        },
      });
      await done.promise;
      subscription.close();
      expect(seen).toEqual([1, 2, 3]);
    });

    it("gives EventSource listeners the parsed, validated data", async () => {
      const url = raw(
        [
          { event: "price", data: { symbol: "AAPL", price: 2 } },
          { event: "price", data: { symbol: "X" } },
        ],
        false,
      );
      const source = new EventSource(url, { events: lib.events, onInvalid: "skip" });
      const prices = await new Promise<number[]>((resolve) => {
        const out: number[] = [];
        source.addEventListener("price", (event) => {
          out.push(event.data.price);
          resolve(out);
        });
      });
      source.close();
      expect(prices).toEqual([2]);
    });
    it("fails an EventSource for good on invalid data by default: CLOSED, then an error event", async () => {
      const url = raw([{ event: "price", data: { symbol: "X" } }]);
      const source = new EventSource(url, { events: lib.events });
      const listened: unknown[] = [];
      source.addEventListener("price", (event) => listened.push(event.data));
      await new Promise<void>((resolve) => {
        source.onerror = () => {
          if (source.readyState === EventSource.CLOSED) resolve();
        };
      });
      expect(listened).toEqual([]);
    });
  });

  describe("OpenAPI", () => {
    it("describes each event as an OpenAPI 3.2 itemSchema that a 3.2 validator accepts", async () => {
      const media = lib.described.toOpenAPI();
      const document = {
        openapi: "3.2.0",
        info: { title: "prices and chat", version: "1.0.0" },
        paths: {
          "/events": {
            get: { responses: { "200": { description: "The event stream", content: { "text/event-stream": media } } } },
          },
        },
      };
      expect(await new Validator().validate(document)).toEqual({ valid: true });

      // The validator checks where itemSchema stands, not the schema itself: JSON Schema 2020-12
      // (the base of the OpenAPI 3.2 dialect) checks that, and then what it accepts.
      const ajv = new Ajv2020({ strict: false });
      expect(ajv.validateSchema(media.itemSchema), JSON.stringify(ajv.errors)).toBe(true);
      const accepts = ajv.compile(media.itemSchema);
      expect(accepts({ event: "price", data: '{"symbol":"A","price":1}', id: "1", retry: 1000 })).toBe(true);
      expect(accepts({ data: '"no event field: a message"' })).toBe(true);
      expect(accepts({ event: "weather", data: "{}" })).toBe(false);
      expect(accepts({ event: "price" })).toBe(false);
      expect(accepts({ event: "price", data: "{}", retry: -1 })).toBe(false);
      // Each event's data: a JSON string whose contentSchema is the event's schema.
      const branches = media.itemSchema.oneOf as { properties: { event: { const: string }; data: { contentSchema: object } } }[];
      expect(branches.map((b) => b.properties.event.const)).toEqual(["price", "chat", "message"]);
      const price = ajv.compile(branches[0]!.properties.data.contentSchema);
      expect(price({ symbol: "A", price: 1 })).toBe(true);
      expect(price({ symbol: "A", price: "1" })).toBe(false);
    });
  });
});

describe("typed events without JSON Schema", () => {
  it("fail clearly in toOpenAPI(), naming the event and how to get one", () => {
    const events = defineEvents({ chat: v.object({ text: v.string() }) });
    expect(() => events.toOpenAPI()).toThrow(
      new TypeError(
        'Cannot describe event "chat" in OpenAPI: its schema (vendor "valibot") has no JSON Schema ("~standard.jsonSchema"): wrap it with toStandardJsonSchema() from @valibot/to-json-schema',
      ),
    );
  });
});
