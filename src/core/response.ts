/**
 * `sseResponse()`: a handler's whole event stream in one call.
 *
 * @module
 */

import { logError } from "../_internal/log.ts";
import { SSEStream, type SSEStreamOptions } from "./stream.ts";

/** Options for {@linkcode sseResponse}: the stream's options, plus the response's. */
export interface SSEResponseOptions extends Omit<SSEStreamOptions, "signal"> {
  /** Extra response headers, merged under the event-stream ones. */
  headers?: HeadersInit;
  /**
   * The response status.
   *
   * @default {200}
   */
  status?: number;
  /**
   * Called when the handler throws or rejects, with the stream still open so that a final event
   * can be sent; the stream is closed afterwards. The error's message is never sent to the
   * client unless this callback sends it. Not called for the abort that a disconnect causes.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown, stream: SSEStream) => void | Promise<void>;
}

/** What an event-stream handler receives and may return. */
export type SSEHandler = (stream: SSEStream) => unknown;

/**
 * Returns an event-stream `Response` at once and runs `handler` with its {@linkcode SSEStream}.
 * The stream closes when the handler returns (or its promise settles), when the client goes away
 * (the body is cancelled or `request.signal` aborts), or when the handler calls `close()`.
 *
 * @example Usage
 * ```ts
 * import { sseResponse } from "@hertz/sse";
 *
 * Deno.serve((request) =>
 *   sseResponse(request, async (stream) => {
 *     while (!stream.signal.aborted) {
 *       await stream.send({ event: "timestamp", data: new Date().toISOString() });
 *       await new Promise((resolve) => setTimeout(resolve, 1000));
 *     }
 *   })
 * );
 * ```
 */
export function sseResponse(
  request: Request | undefined,
  handler: SSEHandler,
  options: SSEResponseOptions = {},
): Response {
  const { headers, status, onError = ((error: unknown) => logError("the event-stream handler failed", error)), ...streamOptions } = options;
  const stream = new SSEStream({ ...streamOptions, signal: request?.signal });
  const response = stream.toResponse({ status: status ?? 200, headers });
  const fail = async (error: unknown) => {
    // A disconnect aborts whatever the handler awaited; that is not the handler's failure.
    if (!(stream.signal.aborted && (error === stream.signal.reason || isAbortError(error)))) {
      try {
        await onError(error, stream);
      } catch (secondary) {
        logError("the event-stream handler failed", secondary);
      }
    }
    stream.close();
  };
  let result: unknown;
  try {
    result = handler(stream);
  } catch (error) {
    void fail(error);
    return response;
  }
  Promise.resolve(result).then(() => stream.close(), fail);
  return response;
}

function isAbortError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError";
}
