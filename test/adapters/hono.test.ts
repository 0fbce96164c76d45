// The Hono helper in a Hono app served by @hono/node-server, over HTTP/1.1 and HTTP/2.
import { connect, createServer as createHttp2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sse, sseHandler } from "../../src/adapters/hono.ts";
import { readMessages } from "../_helpers/spec-parser.ts";

const app = new Hono();
app.get("/greet", (c) => {
  c.header("X-From-Hono", "yes");
  return sse(c, async (stream, ctx) => {
    await stream.send({ event: "greeting", data: `hello ${ctx.req.query("name")}` });
    await stream.send({ id: "2", data: "bye" });
  });
});
app.get("/handler", sseHandler(async (stream) => {
  await stream.send({ data: "from sseHandler" });
}, { headers: { "X-Option": "1" } }));

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
