// The example app, written once as a fetch handler; examples/<runtime>/ only starts it.
// It serves the original Go library's three examples with their routes, parameters, event names,
// ids and JSON shapes, plus a live demo page:
//
//   GET  /                                  the demo page (price chart and chat, native EventSource)
//   GET  /sse                               quickstart: a `timestamp` event every second
//   GET  /price                             AAPL and AMZN prices every second, id = ms since epoch
//   GET  /chat/sse?username=U               a chat user's stream: `broadcast` and `direct` events
//   POST /chat/broadcast?from=F&message=M   to everyone
//   POST /chat/direct?from=F&to=U&message=M to one connected user (404 if U is not connected)
//
// Prices and chat go through an SSEHub, so a client that reconnects with Last-Event-ID gets what
// it missed from the hub's replay log.
import { SSEHub } from "../src/hub/index.ts";
import { getLastEventId, sseResponse } from "../src/index.ts";
import { PAGE } from "./page.ts";

/** The JSON payload of a chat event, field for field as in the original Go example. */
export interface ChatMessage {
  Type: "broadcast" | "direct";
  From: string;
  To: string;
  Message: string;
  Timestamp: string;
}

export interface AppOptions {
  /** The hub for prices and chat. @default {a new in-memory SSEHub} */
  hub?: SSEHub;
  /** Milliseconds between price updates and quickstart timestamps. @default {1000} */
  interval?: number;
  /** Where request logs go. @default {console.log} */
  log?: (line: string) => void;
}

export interface App {
  fetch(request: Request): Promise<Response>;
  /** Stops the price ticker and closes the hub. */
  close(): Promise<void>;
}

const SYMBOLS = [
  { symbol: "AAPL", base: 190, phase: 0 },
  { symbol: "AMZN", base: 180, phase: 2.1 },
] as const;

/** A price that moves smoothly with time, the same for every instance that computes it. */
export function priceAt(symbol: string, time: number): number {
  const spec = SYMBOLS.find((s) => s.symbol === symbol) ?? SYMBOLS[0];
  const t = time / 1000;
  const wave = 0.03 * Math.sin(t / 45 + spec.phase) + 0.01 * Math.sin(t / 7 + spec.phase * 3);
  const jitter = 0.002 * Math.sin(t * 12.9898 + spec.phase * 78.233);
  return Math.round(spec.base * (1 + wave + jitter) * 100) / 100;
}

const text = (status: number, body: string) =>
  new Response(`${body}\n`, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

export function createApp(options: AppOptions = {}): App {
  const hub = options.hub ?? new SSEHub({ replay: { maxEvents: 600, maxAge: 5 * 60_000 } });
  const interval = options.interval ?? 1000;
  const log = options.log ?? ((line: string) => console.log(line));
  let ticker: ReturnType<typeof setInterval> | undefined;
  let lastPriceId = 0;

  const publishPrices = () => {
    for (const { symbol } of SYMBOLS) {
      // id = milliseconds since the epoch, kept strictly increasing so that replay can find it.
      const id = Math.max(Date.now(), lastPriceId + 1);
      lastPriceId = id;
      hub.publish({ event: symbol, id, data: priceAt(symbol, id).toFixed(2) }, { topic: "price" }).catch((error) => {
        log(`price publish failed: ${String(error)}`);
      });
    }
  };
  // Started by the first request rather than at load time: Workers allow no timers in the global
  // scope, and an idle process should be free to exit.
  const startTicker = () => {
    if (ticker !== undefined) return;
    publishPrices();
    ticker = setInterval(publishPrices, interval);
  };

  const chat = async (url: URL, type: ChatMessage["Type"]): Promise<Response> => {
    const from = url.searchParams.get("from") ?? "";
    const message = url.searchParams.get("message") ?? "";
    const to = type === "direct" ? (url.searchParams.get("to") ?? "") : "";
    if (!from || !message || (type === "direct" && !to)) {
      return text(400, type === "direct" ? "from, to and message are required" : "from and message are required");
    }
    if (type === "direct" && hub.count(`user:${to}`) === 0) return text(404, `user ${JSON.stringify(to)} is not connected`);
    const payload: ChatMessage = { Type: type, From: from, To: to, Message: message, Timestamp: new Date().toISOString() };
    const id = await hub.publish({ event: type, data: payload }, { topic: type === "direct" ? `user:${to}` : "chat" });
    return Response.json({ id, ...payload });
  };

  return {
    async fetch(request) {
      const url = new URL(request.url);
      const route = `${request.method} ${url.pathname}`;
      // The chat with a model (resumable streams) and its mock model: examples/ai/chat.ts.
      if (/^\/(api\/chat|v1)\//.test(url.pathname) || url.pathname === "/api/chat") return (await (await import("./ai/chat.ts")).aiChat()).fetch(request);
      switch (route) {
        case "GET /":
          return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
        case "GET /sse":
          log(`last event ID: ${getLastEventId(request) ?? ""}`);
          return sseResponse(request, async (stream) => {
            while (!stream.signal.aborted) {
              await stream.send({ event: "timestamp", data: new Date().toISOString() });
              await new Promise((resolve) => setTimeout(resolve, interval));
            }
          });
        case "GET /price":
          startTicker();
          log(`price subscriber, last event ID: ${getLastEventId(request) ?? ""}`);
          return hub.subscribe(request, { topics: ["price"] });
        case "GET /chat/sse": {
          const username = url.searchParams.get("username") ?? "";
          if (!username) return text(400, "username is required");
          log(`${username} joined the chat`);
          return hub.subscribe(request, { topics: ["chat", `user:${username}`] });
        }
        case "POST /chat/broadcast":
          return chat(url, "broadcast");
        case "POST /chat/direct":
          return chat(url, "direct");
        default:
          return text(404, "Not Found");
      }
    },
    async close() {
      if (ticker !== undefined) clearInterval(ticker);
      await hub.close();
    },
  };
}
