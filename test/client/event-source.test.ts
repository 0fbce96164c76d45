// The EventSource class against a real server: @hono/node-server on port 0, with handlers built
// from this repository's sseResponse.
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EventSource } from "../../src/client/event-source.ts";
import type { FetchLike, FetchLikeInit } from "../../src/client/fetch-like.ts";
import type { SSEEvent } from "../../src/core/event.ts";
import { getLastEventId } from "../../src/core/last-event-id.ts";
import { sseResponse } from "../../src/core/response.ts";

type Handler = (request: Request) => Response | Promise<Response>;
const routes = new Map<string, Handler>();
let server: ReturnType<typeof serve>;
let origin = "";
let routeCount = 0;

function route(handler: Handler): string {
  const path = `/es${++routeCount}`;
  routes.set(path, handler);
  return `${origin}${path}`;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        fetch: (request) => routes.get(new URL(request.url).pathname)?.(request) ?? new Response("not found", { status: 404 }),
      },
      (info) => {
        origin = `http://127.0.0.1:${info.port}`;
        resolve();
      },
    );
  });
});

afterAll(async () => {
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
});

const sse = (request: Request, events: SSEEvent[], hold = false) =>
  sseResponse(
    request,
    async (stream) => {
      for (const event of events) await stream.send(event);
      if (hold) await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
    },
    { keepAlive: false, retry: 10 },
  );

/** Records the events of `source` as short strings, and resolves when `until` matches one. */
function record(
  source: EventSource,
  types: string[],
  until: (entry: string) => boolean,
): { log: string[]; done: Promise<string[]> } {
  const log: string[] = [];
  let resolve!: (log: string[]) => void;
  const done = new Promise<string[]>((r) => {
    resolve = r;
  });
  for (const type of types) {
    source.addEventListener(type, (event: Event) => {
      const entry =
        event instanceof MessageEvent
          ? `${event.type}:${event.data}:${event.lastEventId}`
          : `${event.type}@${["CONNECTING", "OPEN", "CLOSED"][source.readyState]}`;
      log.push(entry);
      if (until(entry)) resolve(log);
    });
  }
  return { log, done };
}

describe("EventSource", () => {
  it("dispatches open, messages and named events as MessageEvents", async () => {
    const url = route((request) =>
      sse(request, [{ data: "hello" }, { event: "price", data: "189.5", id: "7" }, { data: "line 1\nline 2" }], true),
    );
    const source = new EventSource(url);
    expect(source.readyState).toBe(EventSource.CONNECTING);
    expect(source.url).toBe(url);
    expect(source.withCredentials).toBe(false);
    const events: MessageEvent[] = [];
    source.addEventListener("price", (event) => events.push(event));
    const { log, done } = record(source, ["open", "message"], (entry) => entry.startsWith("message:line 1"));
    source.onmessage = (event) => events.push(event);
    await done;
    source.close();
    expect(log).toEqual(["open@OPEN", "message:hello:", "message:line 1\nline 2:7"]);
    expect(events.map((e) => [e.type, e.data, e.lastEventId])).toEqual([
      ["message", "hello", ""],
      ["price", "189.5", "7"],
      ["message", "line 1\nline 2", "7"],
    ]);
    expect(events.every((e) => e instanceof MessageEvent && e.origin === origin)).toBe(true);
    expect(source.readyState).toBe(EventSource.CLOSED);
  });

  it("reconnects with Last-Event-ID: error while CONNECTING, then open again", async () => {
    const lastIds: (string | undefined)[] = [];
    const url = route((request) => {
      lastIds.push(getLastEventId(request));
      return sse(request, lastIds.length === 1 ? [{ id: "ü-1", data: "first" }] : [{ data: "second" }], lastIds.length > 1);
    });
    const source = new EventSource(url);
    const { done } = record(source, ["open", "message", "error"], (entry) => entry.startsWith("message:second"));
    const log = await done;
    source.close();
    expect(log).toEqual(["open@OPEN", "message:first:ü-1", "error@CONNECTING", "open@OPEN", "message:second:ü-1"]);
    expect(lastIds).toEqual([undefined, "ü-1"]);
  });

  it("fails the connection on 500: CLOSED and an error event, no reconnection", async () => {
    let requests = 0;
    const url = route(() => {
      requests++;
      return new Response("no", { status: 500 });
    });
    const source = new EventSource(url);
    const { done } = record(source, ["open", "error"], (entry) => entry.startsWith("error"));
    expect(await done).toEqual(["error@CLOSED"]);
    expect(requests).toBe(1);
  });

  it("fails the connection on 204 and on a wrong content type", async () => {
    for (const response of [
      () => new Response(null, { status: 204 }),
      () => new Response("data: x\n\n", { headers: { "content-type": "text/html" } }),
    ]) {
      const source = new EventSource(route(response));
      const { done } = record(source, ["open", "message", "error"], (entry) => entry.startsWith("error"));
      expect(await done).toEqual(["error@CLOSED"]);
    }
  });

  it("close() stops everything: no event afterwards, and the server sees the disconnect", async () => {
    let serverClosed!: () => void;
    const disconnected = new Promise<void>((resolve) => {
      serverClosed = resolve;
    });
    const url = route((request) => {
      request.signal.addEventListener("abort", () => serverClosed());
      return sse(request, [{ data: "1" }, { data: "2" }, { data: "3" }], true);
    });
    const source = new EventSource(url);
    const received: string[] = [];
    const errors: number[] = [];
    source.onerror = () => errors.push(source.readyState);
    await new Promise<void>((resolve) => {
      source.onmessage = (event) => {
        received.push(event.data as string);
        source.close();
        resolve();
      };
    });
    await disconnected;
    expect(received).toEqual(["1"]);
    expect(errors).toEqual([]);
    expect(source.readyState).toBe(EventSource.CLOSED);
  });

  it("sends the extension headers, and credentials when withCredentials is set", async () => {
    const url = route((request) => sse(request, [{ data: request.headers.get("authorization") ?? "none" }], true));
    const inits: FetchLikeInit[] = [];
    const fetchSpy: FetchLike = (input, init) => {
      inits.push(init);
      return fetch(input, init);
    };
    const source = new EventSource(url, { withCredentials: true, headers: { Authorization: "Bearer t" }, fetch: fetchSpy });
    expect(source.withCredentials).toBe(true);
    const data = await new Promise((resolve) => {
      source.onmessage = (event) => resolve(event.data);
    });
    source.close();
    expect(data).toBe("Bearer t");
    expect(inits[0]).toMatchObject({ method: "GET", credentials: "include" });
    expect(inits[0]!.headers).toMatchObject({ accept: "text/event-stream", authorization: "Bearer t" });
  });

  it("keeps an on… handler's place among the listeners, as the platform does", async () => {
    const url = route((request) => sse(request, [{ data: "x" }], true));
    const source = new EventSource(url);
    const order: string[] = [];
    source.addEventListener("message", () => order.push("first"));
    source.onmessage = () => order.push("handler 1");
    source.addEventListener("message", () => order.push("last"));
    source.onmessage = () => order.push("handler 2"); // Replaces, keeps the place.
    const removed = () => order.push("removed");
    source.addEventListener("message", removed);
    source.removeEventListener("message", removed);
    await new Promise<void>((resolve) => source.addEventListener("message", () => resolve()));
    source.close();
    expect(order).toEqual(["first", "handler 2", "last"]);
    expect(typeof source.onmessage).toBe("function");
    source.onmessage = null;
    expect(source.onmessage).toBeNull();
  });

  it("fits where the DOM's EventSource type is expected (checked by tsc)", () => {
    const fetch: FetchLike = () => new Promise(() => {});
    const source: globalThis.EventSource = new EventSource(`${origin}/typed`, { fetch });
    const handlers = new EventSource(`${origin}/typed`, { fetch });
    handlers.onmessage = function (event) {
      this.close(); // `this` has the standard members.
      return event.data as unknown;
    };
    handlers.addEventListener("price", (event) => event.data as unknown); // A MessageEvent.
    handlers.addEventListener("open", (event: Event) => event.type);
    const state: 0 | 1 | 2 = EventSource.CLOSED;
    expect(state).toBe(2);
    source.close();
    handlers.close();
    expect(handlers.readyState).toBe(EventSource.CLOSED);
  });

  it("has the standard constants on the class and on instances", () => {
    expect([EventSource.CONNECTING, EventSource.OPEN, EventSource.CLOSED]).toEqual([0, 1, 2]);
    const source = new EventSource(`${origin}/nowhere`, { fetch: () => new Promise(() => {}) });
    expect([source.CONNECTING, source.OPEN, source.CLOSED]).toEqual([0, 1, 2]);
    source.close();
  });

  it("throws a SyntaxError DOMException for an invalid URL", () => {
    expect(() => new EventSource("http://[bad")).toThrow(
      expect.objectContaining({ name: "SyntaxError", message: 'Cannot create EventSource: invalid URL, got "http://[bad"' }),
    );
  });
});
