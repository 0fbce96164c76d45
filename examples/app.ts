// The example app, written once as a fetch handler; examples/<runtime>/ only starts it.
// It serves the original Go library's three examples with their routes, parameters, event names,
// ids and JSON shapes, plus a live demo page:
//
//   GET  /                                  the demo page (price chart and chat, native EventSource)
//   GET  /sse                               quickstart: a `timestamp` event every second
//   GET  /price                             AAPL and AMZN prices every second, id = ms since epoch
//   GET  /chat/sse?username=U               a chat user's stream: `broadcast` and `direct` events
//   POST /chat/broadcast?from=F&message=M   to everyone
//   POST /chat/direct?from=F&to=U&message=M to one user (202, kept for U's replay)
//
// Prices and chat go through an SSEHub, so a client that reconnects with Last-Event-ID gets what
// it missed from the hub's replay log.
//
// Topics are capabilities: `user:U` carries U's direct messages, so subscribing to it is
// authorised here, before the hub sees the request. A name becomes a claim: the first
// subscription for U gets a signed session for U (an HttpOnly cookie for the demo page, and an
// X-Chat-Session response header for curl), and while U is claimed (connected, or within the
// replay window after leaving) subscribing as U or sending `from=U` needs that session (403
// otherwise). Names nobody holds stay usable as `from`, as in the original.
//
// Prices and chat follow the typed event map of examples/events.ts, shared with the typed Node
// client (examples/client/typed-client.ts): the hub checks every publish against it.
import type { Backplane, DrainOptions } from "../src/hub/index.ts";
import { SSEHub } from "../src/hub/index.ts";
import { getLastEventId, SSEGroup, sseResponse } from "../src/index.ts";
import { appEvents, type ChatMessage } from "./events.ts";
import { PAGE } from "./page.ts";
import { SESSION_HEADER, Sessions } from "./session.ts";

export type { ChatMessage } from "./events.ts";

export interface AppOptions {
  /** The hub for prices and chat, typed by the demo's events (an untyped hub fits too). @default {a new in-memory SSEHub with `events: appEvents`} */
  hub?: SSEHub<typeof appEvents>;
  /** Milliseconds between price updates and quickstart timestamps. @default {1000} */
  interval?: number;
  /** Where request logs go. @default {console.log} */
  log?: (line: string) => void;
  /**
   * The key that signs chat sessions, shared by the instances behind a load balancer (the runtime
   * folders read it from the CHAT_SECRET environment variable). @default {a random key per process}
   */
  secret?: string;
  /** How long a name stays claimed after its last connection left: the replay window. @default {300000} */
  claimWindow?: number;
  /**
   * The backplane of the app's own hub (ignored when `hub` is given): with a shared one (Redis,
   * from REDIS_URL in the runtime folders) several instances share prices and chat. Prices then
   * take the backplane's ids (Redis assigns them) instead of their own. @default {in memory}
   */
  backplane?: Backplane;
  /**
   * Whether this instance publishes prices. Behind a shared backplane, let one instance do it
   * (PRICE_TICKER=off on the others), or every price comes once per instance. @default {true}
   */
  ticker?: boolean;
}

export interface App {
  fetch(request: Request): Promise<Response>;
  /** Stops the price ticker and closes the hub. */
  close(): Promise<void>;
  /**
   * Drains the instance for a shutdown: stops the ticker, refuses new streams (503), closes the
   * open ones in waves over `jitter` and resolves when they have ended (at the latest at `deadline`).
   */
  drain(options?: DrainOptions): Promise<void>;
}

/** How the runtime folders drain on SIGTERM/SIGINT: streams closed over 3 s, everything gone within 9 s. */
export const SHUTDOWN: Required<DrainOptions> = { deadline: 9_000, jitter: 3_000 };

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

/** A user-provided value as it may go into a log line: control characters escaped, so no one forges lines. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters to escape
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;
export const forLog = (value: string): string =>
  value.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

const MAX_NAME = 64;
const MAX_MESSAGE = 4096;
const MAX_CLAIMS = 10_000;

/** Who holds which chat name: connected users, and those who left less than `window` ago. */
class Claims {
  readonly #until = new Map<string, number>();
  constructor(
    readonly hub: SSEHub,
    readonly window: number,
  ) {}

  /** Whether `name` is held by someone. */
  held(name: string, now = Date.now()): boolean {
    if (this.hub.count(`user:${name}`) > 0) {
      // Connected: the window starts again from now (a runtime that never reports the
      // disconnect, through request.signal, still gets a window from the last time it was seen).
      this.#until.set(name, now + this.window);
      return true;
    }
    const until = this.#until.get(name);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(name);
    return false;
  }

  /** Claims `name` for a subscription; the claim runs for `window` after `signal` aborts. */
  claim(name: string, signal: AbortSignal): void {
    if (this.#until.size >= MAX_CLAIMS) this.#sweep();
    this.#until.set(name, Date.now() + this.window);
    signal.addEventListener("abort", () => this.#until.set(name, Date.now() + this.window), { once: true });
  }

  #sweep(): void {
    const now = Date.now();
    for (const [name, until] of this.#until) if (until <= now && this.hub.count(`user:${name}`) === 0) this.#until.delete(name);
  }
}

/**
 * The hub's `serialize`: JSON, as typed events need, with prices (numbers) written with two
 * decimals, `189.50`, as the original example printed them (still a JSON number).
 */
function writeJSON(data: unknown): string {
  return typeof data === "number" ? data.toFixed(2) : JSON.stringify(data);
}

/** The options every hub of the app takes: the typed events, and prices written `189.50`. */
export const APP_HUB_OPTIONS = { events: appEvents, serialize: writeJSON } as const;

export function createApp(options: AppOptions = {}): App {
  const hub =
    options.hub ??
    new SSEHub(
      options.backplane === undefined
        ? { replay: { maxEvents: 600, maxAge: 5 * 60_000 }, ...APP_HUB_OPTIONS }
        : { backplane: options.backplane, ...APP_HUB_OPTIONS },
    );
  // The Redis backplane assigns the ids (it refuses a publisher's own); a given hub keeps them.
  const ownIds = options.hub !== undefined || options.backplane === undefined;
  // The quickstart streams (GET /sse), drained with the hub.
  const group = new SSEGroup();
  const interval = options.interval ?? 1000;
  const log = options.log ?? ((line: string) => console.log(line));
  const sessions = new Sessions(options.secret);
  const claims = new Claims(hub, options.claimWindow ?? 5 * 60_000);
  /** Whether `request` may act as `name`: nobody holds it, or the request carries its session. */
  const mayActAs = async (request: Request, name: string): Promise<boolean> =>
    !claims.held(name) || (await sessions.verify(Sessions.tokenOf(request, name))) === name;
  const forbidden = (name: string) =>
    text(403, `the name ${JSON.stringify(name)} is taken: send its session (the cookie, or the ${SESSION_HEADER} header)`);
  let ticker: ReturnType<typeof setInterval> | undefined;
  let lastPriceId = 0;

  const publishPrices = () => {
    for (const { symbol } of SYMBOLS) {
      // id = milliseconds since the epoch, kept strictly increasing so that replay can find it.
      const id = Math.max(Date.now(), lastPriceId + 1);
      lastPriceId = id;
      // A number (the event map's price), rounded to cents; writeJSON keeps `data: 189.50`.
      const data = Number(priceAt(symbol, id).toFixed(2));
      hub.publish(ownIds ? { event: symbol, id, data } : { event: symbol, data }, { topic: "price" }).catch((error) => {
        log(`price publish failed: ${String(error)}`);
      });
    }
  };
  // Started by the first request rather than at load time: Workers allow no timers in the global
  // scope, and an idle process should be free to exit.
  let tickerOn = options.ticker ?? true;
  const startTicker = () => {
    if (ticker !== undefined || !tickerOn) return;
    publishPrices();
    ticker = setInterval(publishPrices, interval);
  };

  const chat = async (request: Request, url: URL, type: ChatMessage["Type"]): Promise<Response> => {
    const from = url.searchParams.get("from") ?? "";
    const message = url.searchParams.get("message") ?? "";
    const to = type === "direct" ? (url.searchParams.get("to") ?? "") : "";
    if (!from || !message || (type === "direct" && !to)) {
      return text(400, type === "direct" ? "from, to and message are required" : "from and message are required");
    }
    if (from.length > MAX_NAME || to.length > MAX_NAME || message.length > MAX_MESSAGE) {
      return text(400, `names have at most ${MAX_NAME} characters, messages ${MAX_MESSAGE}`);
    }
    if (!(await mayActAs(request, from))) return forbidden(from);
    const payload: ChatMessage = { Type: type, From: from, To: to, Message: message, Timestamp: new Date().toISOString() };
    const id = await hub.publish({ event: type, data: payload }, { topic: type === "direct" ? `user:${to}` : "chat" });
    // A direct message is accepted whether or not its addressee is connected (it is kept for
    // their replay), so the answer does not tell who is online.
    return Response.json({ id, ...payload }, { status: type === "direct" ? 202 : 200 });
  };

  const join = async (request: Request, url: URL): Promise<Response> => {
    const username = url.searchParams.get("username") ?? "";
    if (!username) return text(400, "username is required");
    if (username.length > MAX_NAME) return text(400, `a username has at most ${MAX_NAME} characters`);
    const session = await sessions.verify(Sessions.tokenOf(request, username));
    // The topic user:U is a capability: only U's session may subscribe to it while U is claimed.
    if (session !== username && claims.held(username)) return forbidden(username);
    const token = await sessions.sign(username);
    claims.claim(username, request.signal);
    log(`${forLog(username)} joined the chat`);
    return hub.subscribe(request, {
      topics: ["chat", `user:${username}`],
      headers: { "Set-Cookie": Sessions.cookie(username, token, url.protocol === "https:"), [SESSION_HEADER]: token },
    });
  };

  return {
    async fetch(request) {
      const url = new URL(request.url);
      const route = `${request.method} ${url.pathname}`;
      // The chat with a model (resumable streams) and its mock model: examples/ai/chat.ts.
      if (/^\/(api\/chat|v1)\//.test(url.pathname) || url.pathname === "/api/chat")
        return (await (await import("./ai/chat.ts")).aiChat()).fetch(request);
      switch (route) {
        case "GET /":
          return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
        case "GET /sse":
          log(`last event ID: ${forLog(getLastEventId(request) ?? "")}`);
          return sseResponse(
            request,
            async (stream) => {
              while (!stream.signal.aborted) {
                await stream.send({ event: "timestamp", data: new Date().toISOString() });
                await new Promise((resolve) => setTimeout(resolve, interval));
              }
            },
            { group },
          );
        case "GET /price":
          startTicker();
          log(`price subscriber, last event ID: ${forLog(getLastEventId(request) ?? "")}`);
          return hub.subscribe(request, { topics: ["price"] });
        case "GET /chat/sse":
          return join(request, url);
        case "POST /chat/broadcast":
          return chat(request, url, "broadcast");
        case "POST /chat/direct":
          return chat(request, url, "direct");
        default:
          return text(404, "Not Found");
      }
    },
    async close() {
      tickerOn = false;
      if (ticker !== undefined) clearInterval(ticker);
      await hub.close();
    },
    async drain(drainOptions) {
      tickerOn = false;
      if (ticker !== undefined) clearInterval(ticker);
      await Promise.all([hub.drain(drainOptions), group.drain(drainOptions)]);
    },
  };
}
