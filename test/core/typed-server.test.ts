// The typed server at run time, the same suite for Zod 4, Valibot 1 and ArkType 2, through a real
// HTTP server: sseResponse(…, { events }) writes valid events and rejects invalid ones before a
// byte is written, asynchronous validators included and in order; a typed hub validates once at
// publish, also across the Redis backplane (two hubs, one Redis).
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribe } from "../../src/client/subscribe.ts";
import { defineEvents, EventValidationError, type StandardSchemaV1 } from "../../src/core/events.ts";
import { sseResponse } from "../../src/core/response.ts";
import { SSEHub } from "../../src/hub/hub.ts";
import { RedisBackplane } from "../../src/redis/redis-backplane.ts";
import { RedisServer, redisRequirement } from "../_helpers/redis.ts";
import { routeServer } from "../client/_route-server.ts";
import { type Library, libraries, type zodEvents } from "../client/_schemas.ts";

const { route } = routeServer();

describe.each(libraries)("typed server with $name", (library: Library) => {
  const events = library.events as typeof zodEvents;

  it("sseResponse writes valid events, and rejects an invalid one before a byte is written", async () => {
    const outcomes: unknown[] = [];
    const url = route((request) =>
      sseResponse(
        request,
        async (stream) => {
          outcomes.push(await stream.send({ event: "price", id: "1", data: { symbol: "AAPL", price: 1 } }));
          await stream.send({ event: "price", data: { symbol: "AAPL", price: "x" as never } }).catch((e) => outcomes.push(e));
          await stream.send({ event: "nope" as never, data: 1 as never }).catch((e) => outcomes.push(e));
          outcomes.push(await stream.send({ data: "plain" }));
        },
        { events, keepAlive: false },
      ),
    );
    expect(await (await fetch(url)).text()).toBe('event: price\ndata: {"symbol":"AAPL","price":1}\nid: 1\n\ndata: "plain"\n\n');
    expect(outcomes[0]).toBe(true);
    expect((outcomes[1] as EventValidationError).message).toMatch(/^Cannot send event "price": invalid data at price: /);
    expect((outcomes[2] as EventValidationError).kind).toBe("unknown-event");
    expect(outcomes[3]).toBe(true);
  });

  it("keeps the order of sends not awaited while an asynchronous schema validates", async () => {
    const url = route((request) =>
      sseResponse(
        request,
        async (stream) => {
          const sends = [1, 2, -1, 3].map((n) => stream.send({ event: "tick", data: { n } }).catch(() => false));
          await Promise.all(sends);
        },
        { events: library.slow as never, keepAlive: false },
      ),
    );
    expect(await (await fetch(url)).text()).toBe(
      'event: tick\ndata: {"n":1}\n\nevent: tick\ndata: {"n":2}\n\nevent: tick\ndata: {"n":3}\n\n',
    );
  });

  it("a typed hub rejects an invalid publish, and its subscribers get typed messages", async () => {
    const hub = new SSEHub({ events });
    const url = route((request) => hub.subscribe(request));
    const messages = subscribe(url, { events, retry: 10 });
    const iterator = messages[Symbol.asyncIterator]();
    const first = iterator.next();
    await expect(hub.publish({ event: "chat", data: { from: 1 } as never })).rejects.toThrow(
      /^Cannot publish event "chat": invalid data/,
    );
    // The subscription may not be live yet: publish until it is.
    const publishing = setInterval(() => hub.publish({ event: "chat", data: { from: "ann", text: "hi" } }).catch(() => {}), 10);
    expect((await first).value).toMatchObject({ type: "chat", data: { from: "ann", text: "hi" } });
    clearInterval(publishing);
    messages.close();
    await hub.close();
  });

  it("a typed hub's tryPublish throws for invalid data and for an asynchronous schema, and sends valid data as JSON", async () => {
    const hub = new SSEHub({ events, keepAlive: false });
    const response = await hub.subscribe(new Request("http://localhost/sse"), { topics: "t" });
    expect(() => hub.tryPublish({ event: "chat", data: { from: "ann" } as never }, { topic: "t" })).toThrow(EventValidationError);
    expect(hub.tryPublish({ event: "chat", id: "1", data: { from: "ann", text: "hi" } }, { topic: "t" })).toBe(true);
    const slow = new SSEHub({ events: library.slow as never });
    expect(() => slow.tryPublish({ event: "tick", data: { n: 2 } } as never)).toThrow(/asynchronously, use publish\(\)/);
    await hub.close();
    await slow.close();
    expect(await response.text()).toBe('event: chat\ndata: {"from":"ann","text":"hi"}\nid: 1\n\n');
  });
});

describe("typed data and serialize", () => {
  it("writes typed data with the hub's serialize when one is given (it must write JSON), else JSON.stringify", async () => {
    const price: StandardSchemaV1<number> = {
      "~standard": {
        version: 1,
        vendor: "test",
        validate: (value) => (typeof value === "number" ? { value } : { issues: [{ message: "Expected a number" }] }),
      },
    };
    const prices = defineEvents({ AAPL: price });
    const cents = (data: unknown): string => (typeof data === "number" ? data.toFixed(2) : JSON.stringify(data));
    const plain = new SSEHub({ events: prices, keepAlive: false });
    const custom = new SSEHub({ events: prices, serialize: cents, keepAlive: false });
    const responses = await Promise.all([plain, custom].map((hub) => hub.subscribe(new Request("http://localhost/sse"))));
    for (const hub of [plain, custom]) {
      await hub.publish({ event: "AAPL", id: "1", data: 189.5 });
      await hub.close();
    }
    const [a, b] = await Promise.all(responses.map((response) => response.text()));
    expect(a).toBe("event: AAPL\ndata: 189.5\nid: 1\n\n");
    expect(b).toBe("event: AAPL\ndata: 189.50\nid: 1\n\n");
  });
});

const requirement = redisRequirement();
if (requirement === "fail") {
  describe("typed hub over Redis", () => {
    it("runs against a real redis-server, which CI must provide", () => {
      throw new Error("redis-server is not installed (CI=true)");
    });
  });
}

describe.skipIf(requirement !== "run")("typed hub over Redis", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each(libraries)("validates once, at publish, and delivers across instances ($name)", async (library: Library) => {
    const events = library.events as typeof zodEvents;
    const clients = [new Redis(server.url), new Redis(server.url)];
    const prefix = `typed-${library.name.replace(/\W/g, "")}:`;
    const backplanes = clients.map((redis) => new RedisBackplane({ redis, prefix }));
    const publisher = new SSEHub({ events, backplane: backplanes[0] });
    const receiver = new SSEHub({ events, backplane: backplanes[1] });
    const url = route((request) => receiver.subscribe(request));
    const subscription = subscribe(url, { events, retry: 10 });
    const iterator = subscription[Symbol.asyncIterator]();
    const first = iterator.next();
    await expect(publisher.publish({ event: "price", data: { symbol: "AAPL" } as never })).rejects.toThrow(EventValidationError);
    const publishing = setInterval(
      () => publisher.publish({ event: "price", data: { symbol: "AAPL", price: 2 } }).catch(() => {}),
      20,
    );
    expect((await first).value).toMatchObject({ type: "price", data: { symbol: "AAPL", price: 2 } });
    clearInterval(publishing);
    subscription.close();
    await Promise.all([publisher.close(), receiver.close()]);
    // The hubs were given their backplanes, so they do not close them.
    await Promise.all(backplanes.map((backplane) => backplane.close()));
    for (const client of clients) client.disconnect();
  });
});
