/**
 * Hono adapter: {@linkcode sseResponse} from a Hono route.
 *
 * Only types are imported from `hono`, so this entry point adds nothing to a bundle beyond the
 * core. It works with every Hono runtime adapter, including `@hono/node-server` over HTTP/2,
 * because the response carries no hop-by-hop headers.
 *
 * On `@hono/node-server` the Node response is at hand (`c.env.outgoing`), and the stream's chunks
 * are written straight to it once the server starts writing the body, as `hertz-sse/node` does:
 * one `res.write()` per batch of events instead of a web-stream read per event (measured in
 * BENCHMARKS.md, "Round two: the fast path by default"). The server still sends the status and
 * headers, after every middleware has had its say; when they do not announce a plain event stream
 * (a middleware compressed or replaced the body), the body is read as usual. Responses made
 * elsewhere (`hub.subscribe(c.req.raw)`, `sseResponse()`, a resumable stream) take the same path
 * under the {@linkcode nodeFastPath} middleware.
 *
 * @module
 */
import type { Context, Env, Handler, MiddlewareHandler } from "hono";
import { sinkableBody } from "../core/_chunk-sink.ts";
import type { EventMap } from "../core/events.ts";
import { type SSEResponseOptions, sseResponse } from "../core/response.ts";
import type { SSEStream } from "../core/stream.ts";
import { isNodeResponse, offerNodeResponse } from "./_node-exchange.ts";

/** A Hono event-stream handler: the stream (typed by the `events` option, if any) and the route's context. */
export type HonoSSEHandler<E extends Env = Env, M extends EventMap | undefined = EventMap | undefined> = (
  stream: SSEStream<M>,
  c: Context<E>,
) => unknown;

/**
 * Returns an event-stream response for the request in `c` and runs `handler` with its stream; the
 * same contract as {@linkcode sseResponse}. Headers set earlier with `c.header()` are kept.
 *
 * @example Usage
 * ```ts ignore
 * import { Hono } from "hono";
 * import { sse } from "@hertz/sse/hono";
 *
 * const app = new Hono();
 * app.get("/sse", (c) =>
 *   sse(c, async (stream) => {
 *     await stream.send({ event: "greeting", data: `hello ${c.req.query("name") ?? "world"}` });
 *   }));
 * ```
 */
export function sse<E extends Env = Env, M extends EventMap | undefined = EventMap | undefined>(
  c: Context<E>,
  handler: HonoSSEHandler<E, M>,
  options: SSEResponseOptions<M> = {},
): Response {
  const headers = new Headers(c.res.headers);
  // The default response Hono prepared for this route carries no body type of ours.
  headers.delete("content-type");
  for (const [name, value] of new Headers(options.headers)) headers.set(name, value);
  let body: SSEStream<M> | undefined;
  const response = sseResponse<M>(
    c.req.raw,
    (stream) => {
      body = stream;
      return handler(stream, c);
    },
    { ...options, headers },
  );
  // Not `response.body`: on @hono/node-server that getter builds a second, native Response.
  if (body !== undefined) offerToNode(c, body);
  return response;
}

/** Offers `body` the Node response of `c`, when the server is @hono/node-server (`c.env.outgoing`). */
function offerToNode(c: Context, body: ReadableStream<Uint8Array>): void {
  const outgoing = (c.env as { outgoing?: unknown } | undefined)?.outgoing;
  if (isNodeResponse(outgoing)) offerNodeResponse(body, outgoing);
}

/**
 * Builds a Hono route handler that answers with an event stream.
 *
 * @example Usage
 * ```ts ignore
 * import { Hono } from "hono";
 * import { sseHandler } from "@hertz/sse/hono";
 *
 * const app = new Hono();
 * app.get("/time", sseHandler(async (stream) => {
 *   await stream.send({ event: "time", data: new Date().toISOString() });
 * }, { keepAlive: 10_000 }));
 * ```
 */
export function sseHandler<E extends Env = Env, M extends EventMap | undefined = EventMap | undefined>(
  handler: HonoSSEHandler<E, M>,
  options?: SSEResponseOptions<M>,
): Handler<E> {
  return (c) => sse(c, handler, options);
}

/**
 * A middleware that lets every hertz-sse response of the routes after it take the direct path on
 * `@hono/node-server`, as {@linkcode sse} does on its own: a hub subscription
 * (`hub.subscribe(c.req.raw)`), an {@linkcode sseResponse}, a resumable stream. Their chunks are
 * then written straight to the Node response, a batch of events per `res.write()`, instead of
 * being read one by one through the web stream.
 *
 * It changes nothing anywhere else: on another runtime (no `c.env.outgoing`), for any other
 * response, or for a hertz-sse response that a later middleware rebuilt (its body then belongs to
 * another response object). The server still sends the status and headers, and a middleware that
 * compresses or pipes the body is read as before (see the module's notes).
 *
 * @example Usage
 * ```ts ignore
 * import { Hono } from "hono";
 * import { SSEHub } from "@hertz/sse/hub";
 * import { nodeFastPath } from "@hertz/sse/hono";
 *
 * const hub = new SSEHub();
 * const app = new Hono();
 * app.use(nodeFastPath());
 * app.get("/events", (c) => hub.subscribe(c.req.raw));
 * ```
 */
export function nodeFastPath<E extends Env = Env>(): MiddlewareHandler<E> {
  return async (c, next) => {
    await next();
    const body = sinkableBody(c.res);
    if (body !== undefined) offerToNode(c, body);
  };
}
