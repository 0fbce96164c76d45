// The Node adapter: hertz-sse responses served by node:http with chunks written straight to the
// response, other responses piped as usual, and every disconnect cleaned up once.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, createServer as createHttp2Server, type Http2Server } from "node:http2";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { toNodeListener, writeNodeResponse } from "../../src/adapters/node.ts";
import { sseResponse } from "../../src/core/response.ts";
import { attachChunkSink, SSEStream } from "../../src/core/stream.ts";
import { SSEHub } from "../../src/hub/index.ts";
import { parseEventStream, readMessages } from "../_helpers/spec-parser.ts";

const require = createRequire(import.meta.url);
type NodeMiddleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;
interface ExpressApp {
  (req: IncomingMessage, res: ServerResponse): void;
  use(middleware: NodeMiddleware): void;
  get(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): void;
}

const servers: Server[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Counts the `res.write()` calls of every response the listener gets. */
function countingWrites(listener: (req: IncomingMessage, res: ServerResponse) => void) {
  const counter = { writes: 0 };
  const wrapped = (req: IncomingMessage, res: ServerResponse) => {
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      counter.writes++;
      return write(...args);
    }) as typeof res.write;
    listener(req, res);
  };
  return { counter, wrapped };
}

function until(condition: () => boolean): Promise<void> {
  return vi.waitFor(() => {
    if (!condition()) throw new Error("not yet");
  });
}

describe("toNodeListener", () => {
  it("serves sseResponse with the event-stream headers, and ends when the handler returns", async () => {
    const url = await listen(
      toNodeListener((request) =>
        sseResponse(request, async (stream) => {
          await stream.send({ event: "greeting", data: `hello ${new URL(request.url).searchParams.get("name")}` });
          await stream.send({ id: "2", data: "line one\nline two" });
        }),
      ),
    );
    const response = await fetch(`${url}/?name=ada`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    const messages = [];
    for await (const message of readMessages(response.body!)) messages.push(message);
    expect(messages).toEqual([
      { type: "greeting", data: "hello ada", lastEventId: "" },
      { type: "message", data: "line one\nline two", lastEventId: "2" },
    ]);
  });

  it("delivers a fast producer's events in order, joined into far fewer writes", async () => {
    const count = 20_000;
    const { counter, wrapped } = countingWrites(
      toNodeListener((request) =>
        sseResponse(
          request,
          async (stream) => {
            for (let i = 1; i <= count; i++) await stream.send({ id: i, data: `event ${i}` });
          },
          { keepAlive: false },
        ),
      ),
    );
    const url = await listen(wrapped);
    const { messages } = parseEventStream(await (await fetch(url)).text());
    expect(messages).toHaveLength(count);
    expect(messages.every((message, i) => message.data === `event ${i + 1}` && message.lastEventId === String(i + 1))).toBe(true);
    expect(counter.writes).toBeLessThan(count / 10);
  });

  it("shows the headers of a quiet stream at once", async () => {
    const url = await listen(toNodeListener((request) => sseResponse(request, (stream) => stream.closed)));
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    expect(response.status).toBe(200);
    controller.abort();
  });

  it("ends the stream, aborts request.signal and the stream's signal once when the client goes away", async () => {
    const seen: { request?: AbortSignal; stream?: SSEStream } = {};
    const onRequestAbort = vi.fn();
    const onStreamAbort = vi.fn();
    const url = await listen(
      toNodeListener((request) => {
        seen.request = request.signal;
        request.signal.addEventListener("abort", onRequestAbort);
        return sseResponse(request, async (stream) => {
          seen.stream = stream;
          stream.signal.addEventListener("abort", onStreamAbort);
          await stream.send({ data: "first" });
          await stream.closed;
        });
      }),
    );
    const controller = new AbortController();
    const response = await fetch(url, { signal: controller.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: first\n\n");
    controller.abort();
    await seen.stream!.closed;
    await until(() => onRequestAbort.mock.calls.length === 1);
    expect(onStreamAbort).toHaveBeenCalledTimes(1);
    expect(seen.request!.aborted).toBe(true);
    expect(await seen.stream!.send({ data: "late" })).toBe(false);
  });

  it("serves hub subscriptions, and releases them when clients leave", async () => {
    const onUnsubscribe = vi.fn();
    const hub = new SSEHub({ onUnsubscribe });
    const url = await listen(toNodeListener((request) => hub.subscribe(request)));
    const clients = await Promise.all(
      [1, 2, 3].map(() => new Promise<IncomingMessage>((resolve) => httpRequest(`${url}/?topic=news`, resolve).end())),
    );
    await until(() => hub.count("news") === 3);
    const texts = clients.map((res) => {
      const box = { text: "" };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        box.text += chunk;
      });
      return box;
    });
    const id = await hub.publish({ event: "headline", data: "one" }, { topic: "news" });
    await hub.publish({ data: "two" }, { topic: "news" });
    await until(() => texts.every((box) => box.text.includes("data: two")));
    for (const box of texts) {
      expect(parseEventStream(box.text).messages).toEqual([
        { type: "headline", data: "one", lastEventId: id },
        { type: "message", data: "two", lastEventId: expect.any(String) },
      ]);
    }
    for (const res of clients) res.destroy();
    await until(() => hub.size === 0);
    expect(onUnsubscribe).toHaveBeenCalledTimes(3);
    await hub.close();
  });

  it("pipes other bodies with their status and headers, keeping several Set-Cookie apart", async () => {
    const url = await listen(
      toNodeListener(() => {
        const headers = new Headers({ "content-type": "text/plain" });
        headers.append("set-cookie", "a=1");
        headers.append("set-cookie", "b=2");
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("hello "));
              controller.enqueue(new TextEncoder().encode("world"));
              controller.close();
            },
          }),
          { status: 201, headers },
        );
      }),
    );
    const response = await fetch(url);
    expect(response.status).toBe(201);
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(await response.text()).toBe("hello world");
    const empty = await listen(toNodeListener(() => new Response(null, { status: 204 })));
    expect((await fetch(empty)).status).toBe(204);
  });

  it("gives the handler the method, URL, headers and body", async () => {
    const url = await listen(
      toNodeListener(async (request) =>
        Response.json({
          method: request.method,
          path: new URL(request.url).pathname,
          type: request.headers.get("content-type"),
          body: await request.text(),
        }),
      ),
    );
    const response = await fetch(`${url}/echo`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x".repeat(200_000),
    });
    expect(await response.json()).toEqual({ method: "POST", path: "/echo", type: "text/plain", body: "x".repeat(200_000) });
  });

  it("works with node:http2's compatibility API, and notices a reset stream", async () => {
    const hub = new SSEHub();
    const server: Http2Server = createHttp2Server(toNodeListener((request) => hub.subscribe(request)) as never);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const session = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const stream = session.request({ ":path": "/?topic=h2" });
      const headers = await new Promise<Record<string, unknown>>((resolve) => stream.on("response", resolve));
      expect(headers[":status"]).toBe(200);
      expect(headers["content-type"]).toBe("text/event-stream; charset=utf-8");
      let text = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        text += chunk;
      });
      await until(() => hub.count("h2") === 1);
      await hub.publish({ data: "over h2" }, { topic: "h2" });
      await until(() => text.includes("data: over h2"));
      stream.close();
      await until(() => hub.size === 0);
      await hub.publish({ data: "after reset" }, { topic: "h2" });
    } finally {
      session.close();
      await hub.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("answers 500 when the handler throws or rejects, and reports the error", async () => {
    const onError = vi.fn();
    const url = await listen(
      toNodeListener(
        (request) => {
          if (request.url.endsWith("/throw")) throw new Error("thrown");
          return Promise.reject(new Error("rejected"));
        },
        { onError },
      ),
    );
    expect((await fetch(`${url}/throw`)).status).toBe(500);
    expect((await fetch(`${url}/reject`)).status).toBe(500);
    expect(onError.mock.calls.map(([error]) => (error as Error).message)).toEqual(["thrown", "rejected"]);
  });
});

describe("writeNodeResponse", () => {
  it("writes a hertz-sse response from a plain node:http handler, and resolves when it is done", async () => {
    const done = vi.fn();
    const url = await listen((_req, res) => {
      const stream = new SSEStream({ keepAlive: false });
      void stream
        .send({ data: "a" })
        .then(() => stream.send({ data: "b" }))
        .then(() => stream.close());
      void writeNodeResponse(stream.toResponse(), res).then(done);
    });
    expect(await (await fetch(url)).text()).toBe("data: a\n\ndata: b\n\n");
    await until(() => done.mock.calls.length === 1);
  });
});

describe("behind Express's compression middleware", () => {
  it("flushes a response without no-transform event by event, and warns once", async () => {
    // Both are CommonJS without types of their own: loaded with require and typed here.
    const express = require("express") as () => ExpressApp;
    const compression = require("compression") as () => NodeMiddleware;
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    // The client lets the producer send the next event only once it has read the previous one:
    // a compressor that held events back would stall this.
    let received: () => void = () => {};
    const app = express();
    app.use(compression());
    app.get("/sse", (_req, res) => {
      const response = sseResponse(
        undefined,
        async (stream) => {
          for (let i = 0; i < 3; i++) {
            const read = new Promise<void>((resolve) => {
              received = resolve;
            });
            await stream.send({ id: String(i), data: `event ${i}` });
            await read;
          }
        },
        { headers: { "cache-control": "no-cache" }, keepAlive: false },
      );
      void writeNodeResponse(response, res);
    });
    const server = createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sse`;
    try {
      for (let round = 0; round < 2; round++) {
        const response = await fetch(url, { headers: { "accept-encoding": "gzip" } });
        expect(response.headers.get("content-encoding")).toBe("gzip");
        // fetch decompresses; each event arrives before the next is sent.
        const ids: string[] = [];
        for await (const message of readMessages(response.body!)) {
          ids.push(message.lastEventId);
          received();
        }
        expect(ids).toEqual(["0", "1", "2"]);
      }
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toContain("Content-Encoding: gzip");
    } finally {
      warn.mockRestore();
    }
  });
});

describe("attachChunkSink", () => {
  const sink = { write: () => true, end: () => {} };

  it("takes a hertz-sse body once, and no other stream", () => {
    const stream = new SSEStream({ keepAlive: false });
    expect(attachChunkSink(new ReadableStream(), sink)).toBeUndefined();
    expect(attachChunkSink(null, sink)).toBeUndefined();
    expect(attachChunkSink(stream, sink)).toBeDefined();
    expect(stream.locked).toBe(true);
    expect(attachChunkSink(stream, sink)).toBeUndefined();
    stream.close();
  });

  it("leaves a body that is being read alone", () => {
    const stream = new SSEStream({ keepAlive: false });
    const reader = stream.getReader();
    expect(attachChunkSink(stream, sink)).toBeUndefined();
    void reader.cancel();
  });

  it("gives the sink what was queued, and what follows, then the end", async () => {
    const written: string[] = [];
    const end = vi.fn();
    const stream = new SSEStream({ keepAlive: false });
    await stream.send({ data: "queued 1" });
    await stream.send({ data: "queued 2" });
    let ready = false;
    const control = attachChunkSink(stream, {
      write(chunk) {
        written.push(new TextDecoder().decode(chunk));
        return ready;
      },
      end,
    })!;
    expect(written).toEqual(["data: queued 1\n\ndata: queued 2\n\n"]);
    await stream.send({ data: "held 1" });
    await stream.send({ data: "held 2" });
    expect(written).toHaveLength(1);
    ready = true;
    control.ready();
    expect(written[1]).toBe("data: held 1\n\ndata: held 2\n\n");
    await stream.send({ data: "direct" });
    expect(written[2]).toBe("data: direct\n\n");
    stream.close();
    expect(end).toHaveBeenCalledTimes(1);
  });

  it("ends the stream when the sink reports a disconnect", async () => {
    const stream = new SSEStream({ keepAlive: false });
    const control = attachChunkSink(stream, sink)!;
    control.cancel();
    await stream.closed;
    expect((stream.signal.reason as DOMException).name).toBe("AbortError");
    expect(await stream.send({ data: "late" })).toBe(false);
  });
});
