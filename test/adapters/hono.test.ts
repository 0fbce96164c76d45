// The Hono helper in a Hono app served by @hono/node-server, over HTTP/1.1 and HTTP/2.
import type { ServerResponse } from "node:http";
import { connect, createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { nodeFastPath, sse, sseHandler } from "../../src/adapters/hono.ts";
import { sseResponse } from "../../src/core/response.ts";
import { SSEHub } from "../../src/hub/hub.ts";
import { readMessages } from "../_helpers/spec-parser.ts";

const app = new Hono();
app.get("/greet", (c) => {
  c.header("X-From-Hono", "yes");
  return sse(c, async (stream, ctx) => {
    await stream.send({ event: "greeting", data: `hello ${ctx.req.query("name")}` });
    await stream.send({ id: "2", data: "bye" });
  });
});
app.get(
  "/handler",
  sseHandler(
    async (stream) => {
      await stream.send({ data: "from sseHandler" });
    },
    { headers: { "X-Option": "1" } },
  ),
);

type Server = ReturnType<typeof serve>;
const listen = (options: Parameters<typeof serve>[0]) =>
  new Promise<{ server: Server; port: number }>((resolve) => {
    const server = serve(options, (info) => resolve({ server, port: info.port }));
  });

describe("the Hono helper", () => {
  let http1: { server: Server; port: number };
  let http2: { server: Server; port: number };
  beforeAll(async () => {
    http1 = await listen({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    http2 = await listen({ fetch: app.fetch, port: 0, hostname: "127.0.0.1", createServer: createHttp2Server });
  });
  afterAll(async () => {
    for (const { server } of [http1, http2]) await new Promise((r) => server.close(r));
  });

  it("streams from a Hono route, keeping headers set on the context", async () => {
    const response = await fetch(`http://127.0.0.1:${http1.port}/greet?name=ada`);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("x-from-hono")).toBe("yes");
    const messages = [];
    for await (const m of readMessages(response.body!)) messages.push(m);
    expect(messages).toEqual([
      { type: "greeting", data: "hello ada", lastEventId: "" },
      { type: "message", data: "bye", lastEventId: "2" },
    ]);
  });

  it("builds a route handler with sseHandler", async () => {
    const response = await fetch(`http://127.0.0.1:${http1.port}/handler`);
    expect(response.headers.get("x-option")).toBe("1");
    expect(await response.text()).toBe("data: from sseHandler\n\n");
  });

  it("works over @hono/node-server's HTTP/2 adapter (no hop-by-hop headers)", async () => {
    const port = (http2.server.address() as AddressInfo).port;
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const { headers, body } = await new Promise<{ headers: Record<string, unknown>; body: string }>((resolve, reject) => {
        const request = session.request({ ":path": "/greet?name=h2" });
        let body = "";
        let headers: Record<string, unknown> = {};
        request.on("response", (h) => {
          headers = h;
        });
        request.setEncoding("utf8");
        request.on("data", (chunk: string) => {
          body += chunk;
        });
        request.on("end", () => resolve({ headers, body }));
        request.on("error", reject);
      });
      expect(headers[":status"]).toBe(200);
      expect(headers["content-type"]).toBe("text/event-stream; charset=utf-8");
      expect(body).toBe("event: greeting\ndata: hello h2\n\ndata: bye\nid: 2\n\n");
    } finally {
      session.close();
    }
  });
});

describe("the Hono helper on @hono/node-server: the direct path to the Node response", () => {
  const fast = new Hono();
  const counts = { writes: 0 };
  const ended = { closed: 0, aborts: 0 };
  // Counts the Node response's writes, and sets a header after the handler (as cors or
  // secureHeaders do), which the direct path must keep.
  fast.use(async (c, next) => {
    const outgoing = (c.env as { outgoing: ServerResponse }).outgoing;
    const write = outgoing.write.bind(outgoing) as (...args: unknown[]) => boolean;
    outgoing.write = ((...args: unknown[]) => {
      counts.writes++;
      return write(...args);
    }) as typeof outgoing.write;
    await next();
    if (c.req.query("late") !== undefined) c.header("X-Late", "yes");
  });
  fast.get("/many", (c) =>
    sse(
      c,
      async (stream) => {
        const n = Number(c.req.query("n"));
        for (let i = 1; i <= n; i++) await stream.send({ id: String(i), data: { i } });
      },
      { keepAlive: false },
    ),
  );
  fast.get("/forever", (c) => sseKeepOpen(c));
  // A middleware that transforms the body: the stream must be read through it, not around it.
  fast.use("/upper", async (c, next) => {
    await next();
    const upper = new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        controller.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()));
      },
    });
    c.res = new Response(c.res.body!.pipeThrough(upper), c.res);
  });
  fast.get("/upper", (c) => sse(c, (stream) => stream.send({ data: "shout" }), { keepAlive: false }));

  function sseKeepOpen(c: Context): Response {
    return sse(
      c,
      async (stream) => {
        stream.signal.addEventListener("abort", () => ended.aborts++);
        void stream.closed.then(() => ended.closed++);
        await stream.send({ data: "first" });
        await stream.closed;
      },
      { keepAlive: false },
    );
  }

  let server: { server: Server; port: number };
  beforeAll(async () => {
    server = await listen({ fetch: fast.fetch, port: 0, hostname: "127.0.0.1" });
  });
  afterAll(async () => {
    await new Promise((r) => server.server.close(r));
  });

  for (const late of [false, true]) {
    it(`writes a fast producer's events in order in far fewer writes${late ? ", keeping a header set after the handler" : ""}`, async () => {
      counts.writes = 0;
      const n = 5000;
      const response = await fetch(`http://127.0.0.1:${server.port}/many?n=${n}${late ? "&late" : ""}`);
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      expect(response.headers.get("x-late")).toBe(late ? "yes" : null);
      const ids: string[] = [];
      for await (const message of readMessages(response.body!)) ids.push(message.lastEventId);
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
      // One write per event through the web stream; the direct path joins what is sent meanwhile.
      expect(counts.writes).toBeLessThan(n / 4);
    });
  }

  it("ends the stream and aborts its signal once when the client goes away", async () => {
    ended.closed = 0;
    ended.aborts = 0;
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${server.port}/forever`, { signal: controller.signal });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await vi.waitFor(() => {
      if (ended.closed !== 1) throw new Error("not yet");
    });
    expect(ended.aborts).toBe(1);
  });

  it("reads the stream through a middleware that transforms its body", async () => {
    const response = await fetch(`http://127.0.0.1:${server.port}/upper`);
    expect(await response.text()).toBe("DATA: SHOUT\n\n");
  });
});

describe("nodeFastPath(): hub subscriptions and sseResponse() from Hono routes on the direct path", () => {
  const hub = new SSEHub({ keepAlive: false, maxQueued: 100_000 });
  const writes = { fast: 0, plain: 0 };
  // Writes made by the direct path, which passes a callback (the server's own read loop does not).
  const direct = { fast: 0, plain: 0 };
  // Two apps, the same routes; only the first uses the middleware. Each counts its responses' writes.
  function build(fastPath: boolean): Hono {
    const app = new Hono();
    app.use(async (c, next) => {
      const outgoing = (c.env as { outgoing: ServerResponse }).outgoing;
      const write = outgoing.write.bind(outgoing) as (...args: unknown[]) => boolean;
      outgoing.write = ((...args: unknown[]) => {
        writes[fastPath ? "fast" : "plain"]++;
        if (typeof args.at(-1) === "function") direct[fastPath ? "fast" : "plain"]++;
        return write(...args);
      }) as typeof outgoing.write;
      await next();
    });
    if (fastPath) app.use(nodeFastPath());
    app.get("/hub", (c) => hub.subscribe(c.req.raw));
    app.get("/response", (c) =>
      sseResponse(
        c.req.raw,
        async (stream) => {
          const n = Number(c.req.query("n"));
          for (let i = 1; i <= n; i++) await stream.send({ id: String(i), data: { i } });
        },
        { keepAlive: false },
      ),
    );
    return app;
  }
  let fast: { server: Server; port: number };
  let plain: { server: Server; port: number };
  beforeAll(async () => {
    fast = await listen({ fetch: build(true).fetch, port: 0, hostname: "127.0.0.1" });
    plain = await listen({ fetch: build(false).fetch, port: 0, hostname: "127.0.0.1" });
  });
  afterAll(async () => {
    for (const { server } of [fast, plain]) await new Promise((r) => server.close(r));
  });

  async function hubRun(port: number, n: number): Promise<string[]> {
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/hub`, { signal: controller.signal });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    await vi.waitFor(() => {
      if (hub.size !== 1) throw new Error("not subscribed yet");
    });
    const published = Array.from({ length: n }, (_, i) => hub.publish({ id: String(i + 1), data: { i } }));
    await Promise.all(published);
    const ids: string[] = [];
    for await (const message of readMessages(response.body!)) {
      ids.push(message.lastEventId);
      if (ids.length === n) break;
    }
    controller.abort();
    // The client left: the hub lets go of its subscriber.
    await vi.waitFor(() => {
      if (hub.size !== 0) throw new Error("still subscribed");
    });
    return ids;
  }

  it("writes a hub subscription's events directly, in order, and releases it when the client leaves", async () => {
    const n = 3000;
    const expected = Array.from({ length: n }, (_, i) => String(i + 1));
    direct.fast = direct.plain = 0;
    expect(await hubRun(fast.port, n)).toEqual(expected);
    expect(await hubRun(plain.port, n)).toEqual(expected);
    expect(direct.fast).toBeGreaterThan(0);
    expect(direct.plain).toBe(0);
  });

  it("writes an sseResponse() body directly too", async () => {
    const n = 5000;
    direct.fast = direct.plain = 0;
    for (const { port } of [fast, plain]) {
      const response = await fetch(`http://127.0.0.1:${port}/response?n=${n}`);
      const ids: string[] = [];
      for await (const message of readMessages(response.body!)) ids.push(message.lastEventId);
      expect(ids).toEqual(Array.from({ length: n }, (_, i) => String(i + 1)));
    }
    expect(direct.fast).toBeGreaterThan(0);
    expect(direct.plain).toBe(0);
  });
});
