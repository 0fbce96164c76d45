/**
 * Small HTTP helpers shared by the hub, the adapters and the client.
 *
 * @module
 */

/** A plain-text response, for the hub's and adapters' error answers (400, 404, 405, 503, …). */
export function textResponse(status: number, text: string, headers?: Record<string, string>): Response {
  return new Response(text, { status, headers: { "Content-Type": "text/plain; charset=utf-8", ...headers } });
}

/** Whether a `Content-Type` value's MIME type essence is `text/event-stream` (parameters ignored). */
export function isEventStream(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semicolon = contentType.indexOf(";");
  const essence = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim();
  return essence.toLowerCase() === "text/event-stream";
}
