import { isEventStream } from "../_internal/http.ts";
/**
 * Bun adapter: makes event streams behave on `Bun.serve`.
 *
 * Two things differ on Bun, both measured here (Bun 1.4):
 * - `Bun.serve` closes a connection that has been idle for 10 seconds by default, which cuts an
 *   event stream whose events are further apart than that (keep-alive comments every 15 seconds
 *   do not help).
 * - Bun sends a streamed response's headers only with its first body chunk, so a client of a
 *   quiet stream (a hub subscriber waiting for the next event) sees no `open` until then.
 *
 * Wrap the fetch handler with {@linkcode withBunIdleTimeout}: for responses that are event
 * streams it turns the timeout off and starts the body with an empty comment (`:` and a blank
 * line, ignored by every client) so the headers go out at once. Other responses are untouched.
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
 * never closed by the idle timeout and have their headers sent at once. Other responses keep the
 * server's timeout and are returned as they are.
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
    if (!isEventStream(response.headers.get("content-type")) || response.body === null) return response;
    server.timeout(request, 0);
    // Cancelling the new body cancels the original one through the pipe, so disconnects still
    // reach the stream.
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        start(controller) {
          controller.enqueue(PRELUDE);
        },
      }),
    );
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}

const PRELUDE = new TextEncoder().encode(":\n\n");
