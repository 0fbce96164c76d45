/**
 * The response headers of an event stream.
 *
 * @module
 */

/**
 * The response headers of an event stream: `Content-Type: text/event-stream; charset=utf-8`,
 * `Cache-Control: no-cache, no-transform` unless `init` sets one, `X-Accel-Buffering: no`, and
 * `init` merged in. `Connection` and `Transfer-Encoding` are removed: the server sets those, and
 * HTTP/2 forbids them.
 *
 * @example Usage
 * ```ts
 * import { sseHeaders } from "@hertz/sse";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const headers = sseHeaders({ "Access-Control-Allow-Origin": "*" });
 * assertEquals(headers.get("content-type"), "text/event-stream; charset=utf-8");
 * ```
 */
export function sseHeaders(init?: HeadersInit): Headers {
  const headers = new Headers(init);
  headers.set("Content-Type", "text/event-stream; charset=utf-8");
  if (!headers.has("Cache-Control")) headers.set("Cache-Control", "no-cache, no-transform");
  if (!headers.has("X-Accel-Buffering")) headers.set("X-Accel-Buffering", "no");
  headers.delete("Connection");
  headers.delete("Transfer-Encoding");
  return headers;
}
