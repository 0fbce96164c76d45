/**
 * Bun adapter: lifts `Bun.serve`'s idle timeout for event streams.
 *
 * `Bun.serve` closes a connection that has been idle for 10 seconds by default, which cuts an
 * event stream whose events are further apart than that (keep-alive comments every 15 seconds do
 * not help). Wrap the fetch handler with {@linkcode withBunIdleTimeout}: it turns the timeout off
 * for responses that are event streams and leaves it in place for everything else.
 *
 * @module
 */

/** The part of Bun's `Server` this adapter uses, declared here so the library needs no Bun types. */
export interface BunServerLike {
  /** Sets the idle timeout of one request's connection, in seconds; `0` turns it off. */
  timeout(request: Request, seconds: number): void;
}

/** A `Bun.serve` fetch handler. */
export type BunFetchHandler<Server extends BunServerLike = BunServerLike> = (
  request: Request,
  server: Server,
) => Response | Promise<Response>;

/**
 * Wraps a `Bun.serve` fetch handler so that responses with `Content-Type: text/event-stream` are
 * never closed by the idle timeout. Other responses keep the server's timeout.
 *
 * @example Usage
 * ```ts ignore
 * import { sseResponse } from "@hertz/sse";
 * import { withBunIdleTimeout } from "@hertz/sse/bun";
 *
 * Bun.serve({
 *   port: 8888,
 *   fetch: withBunIdleTimeout((request) =>
 *     sseResponse(request, async (stream) => {
 *       await stream.send({ data: "hello" });
 *     })
 *   ),
 * });
 * ```
 */
export function withBunIdleTimeout<Server extends BunServerLike>(
  handler: BunFetchHandler<Server>,
): (request: Request, server: Server) => Promise<Response> {
  return async (request, server) => {
    const response = await handler(request, server);
    if (isEventStream(response)) server.timeout(request, 0);
    return response;
  };
}

function isEventStream(response: Response): boolean {
  const type = response.headers.get("content-type");
  return type !== null && type.split(";", 1)[0]!.trim().toLowerCase() === "text/event-stream";
}
