/**
 * Node adapter: serves fetch-style handlers from `node:http` (or `node:https`, or Express, or any
 * server with the same request and response objects), writing the chunks of hertz-sse's event
 * streams straight to the response.
 *
 * Optional. Every hertz-sse response also works through `@hono/node-server`, which is the
 * portable path; this adapter is for Node servers that want less CPU per event. Measured on
 * Node 20 (`bench/`, BENCHMARKS.md): a chunk read from a web `ReadableStream` and written by a
 * server's read loop costs about as much again as writing it to the socket. For bodies made by
 * hertz-sse (`SSEStream`, `sseResponse()`, hub subscriptions) this adapter skips that
 * loop: the stream hands each chunk to `res.write()`, keeps at most one write in flight, and joins
 * the events sent meanwhile into the next write. Any other body is read and written as usual.
 *
 * No `node:` module is imported and no Node type is needed: the few members used are declared
 * below, so the library builds and type-checks without `@types/node`.
 *
 * @module
 */

import { logError } from "../_internal/log.ts";
import { attachChunkSink } from "../core/stream.ts";
import { Exchange, gone, type NodeResponseLike, warnCompressed } from "./_node-exchange.ts";

export type { NodeResponseLike } from "./_node-exchange.ts";

/** The part of Node's `IncomingMessage` this adapter reads. */
export interface NodeRequestLike {
  /** The request method. */
  readonly method?: string;
  /** The request target (path and query). */
  readonly url?: string;
  /** Header names and values, alternating, as received. */
  readonly rawHeaders: readonly string[];
  /** The connection (a TLS socket has `encrypted: true`). */
  readonly socket?: object | null;
  /** Stream events of the request body: `data`, `end`, `error`. */
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Stops reading the body (backpressure). */
  pause(): unknown;
  /** Resumes reading the body. */
  resume(): unknown;
  /** Discards the body. */
  destroy(error?: Error): unknown;
}

/** A fetch-style handler, as `Deno.serve`, Bun and Workers call it. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** A Node request listener, for `http.createServer()`. */
export type NodeListener = (req: NodeRequestLike, res: NodeResponseLike) => void;

/** Options for {@linkcode toNodeListener}. */
export interface NodeListenerOptions {
  /**
   * Called when the handler throws or rejects; the client gets a 500 (or, if the response had
   * started, its connection is closed).
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
}

/**
 * Turns a fetch-style handler into a Node request listener. Each request becomes a `Request`
 * (method, URL, headers, body, and a `signal` that aborts when the client goes away), and the
 * handler's `Response` is written as {@linkcode writeNodeResponse} does.
 *
 * @example Usage
 * ```ts ignore
 * import { createServer } from "node:http";
 * import { sseResponse } from "hertz-sse";
 * import { toNodeListener } from "hertz-sse/node";
 *
 * createServer(toNodeListener((request) =>
 *   sseResponse(request, async (stream) => {
 *     await stream.send({ event: "greeting", data: "hello" });
 *   })
 * )).listen(8080);
 * ```
 */
export function toNodeListener(handler: FetchHandler, options: NodeListenerOptions = {}): NodeListener {
  const onError = options.onError ?? ((error: unknown) => logError("the request handler failed", error));
  return (req, res) => {
    const exchange = new Exchange(res, new AbortController());
    res.once("close", exchange.onClose);
    const fail = (error: unknown) => {
      try {
        onError(error);
      } catch (secondary) {
        logError("the request handler failed", secondary);
      }
      if (gone(res)) return;
      if (res.headersSent) res.destroy();
      else {
        res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
        res.end();
      }
    };
    const request = toRequest(req, exchange.abort!.signal);
    if (request === undefined) {
      // The client's mistake, not the server's: a 400, and nothing reported.
      if (!gone(res)) {
        res.writeHead(400, { "content-type": "text/plain; charset=utf-8", connection: "close" });
        res.end();
      }
      return;
    }
    let result: Response | Promise<Response>;
    try {
      result = handler(request);
      // A response at once (the usual case for event streams) is written without a promise turn.
      if (result instanceof Response) {
        send(result, exchange, req.method === "HEAD");
        return;
      }
    } catch (error) {
      fail(error);
      return;
    }
    Promise.resolve(result)
      .then((response) => send(response, exchange, req.method === "HEAD"))
      .catch(fail);
  };
}

/**
 * Writes a `Response` to a Node response: status, headers (several `Set-Cookie` kept apart), then
 * the body. A body made by hertz-sse writes its chunks straight to `res` (see the module
 * documentation); any other body is read and written with backpressure. When the client goes
 * away, the body is cancelled, which ends a hertz-sse stream or hub subscription exactly as a
 * cancelled `ReadableStream` would. Resolves once the response is done or the client has gone.
 *
 * With `@hono/node-server`, a route can hand its response over this way and return
 * `RESPONSE_ALREADY_SENT` (from `@hono/node-server/utils/response`).
 *
 * @example Usage
 * ```ts ignore
 * import { createServer } from "node:http";
 * import { SSEHub } from "hertz-sse/hub";
 * import { writeNodeResponse } from "hertz-sse/node";
 *
 * const hub = new SSEHub();
 * createServer(async (req, res) => {
 *   const request = new Request(`http://${req.headers.host}${req.url}`);
 *   await writeNodeResponse(await hub.subscribe(request), res);
 * }).listen(8080);
 * ```
 */
export function writeNodeResponse(response: Response, res: NodeResponseLike): Promise<void> {
  const done = new Promise<void>((resolve) => res.once("close", resolve));
  const exchange = new Exchange(res, undefined);
  res.once("close", exchange.onClose);
  send(response, exchange);
  return done;
}

// A Host header: a registered name (RFC 3986 reg-name characters) or an IP literal in brackets,
// then an optional port. Anything else ("example.com/admin?x=", "[", "a@b") is refused with 400
// before the handler sees the request, so it can never change the URL's path or throw.
const HOST = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=%]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?$/;

/** The request's host (the first Host header, or HTTP/2's `:authority`), or `undefined` if it is invalid. */
function hostOf(raw: readonly string[]): string | undefined {
  let host: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // The first one wins, as in Node's own `req.headers.host`.
    if ((name === ":authority" || (name.length === 4 && name.toLowerCase() === "host")) && host === undefined) host = raw[i + 1]!;
  }
  if (host === undefined) return "localhost";
  const match = HOST.exec(host);
  if (match === null || (match[1] !== undefined && Number(match[1]) > 65535)) return undefined;
  return host;
}

/** The handler's `Request`, or `undefined` when the request's Host or target is invalid (a 400). */
function toRequest(req: NodeRequestLike, signal: AbortSignal): Request | undefined {
  const raw = req.rawHeaders;
  const host = hostOf(raw);
  const target = req.url ?? "/";
  if (host === undefined || target.charCodeAt(0) !== 47 /* "/" */ || target.startsWith("//")) return undefined;
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    // HTTP/2 pseudo-headers (":path", …) are not headers.
    if (name.charCodeAt(0) === 58) continue;
    headers.append(name, raw[i + 1]!);
  }
  const method = req.method ?? "GET";
  const tls = (req.socket as { encrypted?: boolean } | null | undefined)?.encrypted === true;
  const init: RequestInit & { duplex?: "half" } = { method, headers, signal };
  if (method !== "GET" && method !== "HEAD") {
    init.body = bodyOf(req);
    // Required by the fetch standard for a streamed request body.
    init.duplex = "half";
  }
  try {
    return new Request(`${tls ? "https" : "http"}://${host}${target}`, init);
  } catch {
    return undefined;
  }
}

/** The request body as a `ReadableStream`, read from the request with backpressure. */
function bodyOf(req: NodeRequestLike): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        req.on("data", (chunk: Uint8Array) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        });
        req.on("end", () => controller.close());
        req.on("error", (error: Error) => controller.error(error));
      },
      pull() {
        req.resume();
      },
      cancel() {
        req.destroy();
      },
    },
    // Bounded: at most 64 KiB of body is read ahead of the handler.
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

function send(response: Response, exchange: Exchange, head = false): void {
  const res = exchange.res;
  const body = response.body;
  if (gone(res)) {
    // The client left while the handler was running.
    body?.cancel(new DOMException("The client went away", "AbortError")).catch(() => {});
    return;
  }
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 1) headers["set-cookie"] = cookies;
  try {
    res.writeHead(response.status, headers);
  } catch (error) {
    // A value `Headers` accepts but Node refuses (0x01–0x1F, 0x7F): the body would never be read,
    // and its producer would wait forever. Cancel it; the caller answers 500.
    body?.cancel(error).catch(() => {});
    throw error;
  }
  const encoding = res.getHeader?.("content-encoding");
  if (encoding !== undefined && !response.headers.has("content-encoding")) {
    exchange.compressed = true;
    warnCompressed(encoding);
  }
  if (body === null || head) {
    // A HEAD response has no body: end it, and end the stream behind it too.
    body?.cancel(new DOMException("A HEAD response has no body", "AbortError")).catch(() => {});
    res.end();
    return;
  }
  const control = attachChunkSink(body, exchange);
  if (control !== undefined) {
    exchange.control = control;
    // A stream shows its headers at once (a quiet event stream may send nothing for minutes),
    // unless what it had queued already went out with them.
    if (!exchange.wrote) res.flushHeaders();
    return;
  }
  res.flushHeaders();
  void pipe(body, res);
}

/** Reads `body` and writes it to `res`, waiting for `drain`; cancels it when the client leaves. */
async function pipe(body: ReadableStream<Uint8Array>, res: NodeResponseLike): Promise<void> {
  const reader = body.getReader();
  const onClose = () => {
    reader.cancel(new DOMException("The client went away", "AbortError")).catch(() => {});
  };
  res.once("close", onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (gone(res)) return;
      if (!res.write(value)) await drained(res);
    }
    res.off("close", onClose);
    if (!gone(res)) res.end();
  } catch (error) {
    res.off("close", onClose);
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

function drained(res: NodeResponseLike): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}
