// The example app, written once as a fetch handler; examples/<runtime>/ only starts it.
// GET /sse: a timestamp every second, as in the original Go quickstart, logging the client's
// Last-Event-ID when it reconnects.
import { getLastEventId, sseResponse } from "../src/index.ts";

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });

export function createApp(): { fetch: (request: Request) => Response | Promise<Response> } {
  return {
    fetch(request) {
      const url = new URL(request.url);
      if (request.method === "GET" && url.pathname === "/sse") {
        console.log(`last event ID: ${getLastEventId(request) ?? ""}`);
        return sseResponse(request, async (stream) => {
          while (!stream.signal.aborted) {
            await stream.send({ event: "timestamp", data: new Date().toISOString() });
            await sleep(1000, stream.signal);
          }
        });
      }
      if (request.method === "GET" && url.pathname === "/") {
        return new Response("hertz-sse example: try curl -N http://localhost:8888/sse\n", {
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      return new Response("Not Found\n", { status: 404 });
    },
  };
}
