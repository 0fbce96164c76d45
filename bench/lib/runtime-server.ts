// The server of bench/connection-runtimes.ts, run by Deno (`Deno.serve`) or Bun (`Bun.serve`):
// one route per contender, each streaming `?n=` small events to one client as fast as the
// runtime's stream takes them, and GET /cpu with the process's CPU time so far (user + system, µs).
// Prints `listening <port>` once it accepts connections.
//
// - /raw: pre-encoded events, one `enqueue()` per `pull()` of a `ReadableStream` (the floor: this
//   runtime's own streaming, no encoding);
// - /hertz-sse: `sseResponse()` with `await stream.send(event)` in a loop;
// - /hono: hono's `streamSSE()` with `await stream.writeSSE(...)` in a loop;
// - /deno-std: Deno std's `ServerSentEventStream` (vendored unchanged), fed one message per `pull()`.
import process from "node:process";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { sseResponse } from "../../src/core/response.ts";
import { ServerSentEventStream } from "./deno-std/server_sent_event_stream.ts";
import { EVENT_TYPE, smallData } from "./events.ts";

const HEADERS = { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache" };
const MAX = Number(process.env.MAX_EVENTS ?? 200_000);
const encoder = new TextEncoder();
const RAW = Array.from({ length: MAX }, (_, i) =>
  encoder.encode(`event: ${EVENT_TYPE}\ndata: ${JSON.stringify(smallData(i + 1))}\nid: ${i + 1}\n\n`),
);

const hono = new Hono().get("/hono", (c) => {
  const n = Number(c.req.query("n"));
  return streamSSE(c, async (stream) => {
    for (let seq = 1; seq <= n; seq++) {
      await stream.writeSSE({ event: EVENT_TYPE, id: String(seq), data: JSON.stringify(smallData(seq)) });
    }
  });
});

function handle(request: Request): Response | Promise<Response> {
  const url = new URL(request.url);
  const n = Math.min(MAX, Number(url.searchParams.get("n")));
  switch (url.pathname) {
    case "/cpu": {
      const usage = process.cpuUsage();
      return new Response(String(usage.user + usage.system));
    }
    case "/raw": {
      let i = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (i < n) controller.enqueue(RAW[i++]!);
          else controller.close();
        },
      });
      return new Response(body, { headers: HEADERS });
    }
    case "/hertz-sse":
      return sseResponse(
        request,
        async (stream) => {
          for (let seq = 1; seq <= n; seq++) await stream.send({ event: EVENT_TYPE, id: seq, data: smallData(seq) });
        },
        { keepAlive: false },
      );
    case "/hono":
      return hono.fetch(request);
    case "/deno-std": {
      let seq = 0;
      const messages = new ReadableStream({
        pull(controller) {
          if (seq++ < n) controller.enqueue({ event: EVENT_TYPE, id: seq, data: JSON.stringify(smallData(seq)) });
          else controller.close();
        },
      });
      return new Response(messages.pipeThrough(new ServerSentEventStream()), { headers: HEADERS });
    }
    default:
      return new Response("Not found", { status: 404 });
  }
}

interface DenoLike {
  serve(options: { port: number; hostname: string; onListen(address: { port: number }): void }, handler: typeof handle): unknown;
}
interface BunLike {
  serve(options: { port: number; hostname: string; idleTimeout: number; fetch: typeof handle }): { port: number };
}
const g = globalThis as { Deno?: DenoLike; Bun?: BunLike };
if (g.Deno) {
  g.Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: ({ port }) => console.log(`listening ${port}`) }, handle);
} else if (g.Bun) {
  const server = g.Bun.serve({ port: 0, hostname: "127.0.0.1", idleTimeout: 255, fetch: handle });
  console.log(`listening ${server.port}`);
} else {
  throw new Error("runtime-server.ts runs on Deno or Bun");
}
