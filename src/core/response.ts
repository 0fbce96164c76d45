/**
 * `sseResponse()`: a handler's whole event stream in one call.
 *
 * @module
 */

import { logError } from "../_internal/log.ts";
import { drainingResponse } from "./_drain.ts";
import type { EventMap, EventOf } from "./events.ts";
import type { SSEGroup } from "./group.ts";
import { sseHeaders } from "./headers.ts";
import { closeStream, SSEStream, type SSEStreamOptions } from "./stream.ts";

// Statuses whose response has no body (fetch's "null body status"), which an event stream cannot use.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** Options for {@linkcode sseResponse}: the stream's options, plus the response's. */
export interface SSEResponseOptions<M extends EventMap | undefined = EventMap | undefined>
  extends Omit<SSEStreamOptions<M>, "signal"> {
  /**
   * Extra response headers, merged under the event-stream ones. Checked before anything starts:
   * an invalid one throws a `TypeError` and no stream is created.
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * The response status.
   *
   * @default {200}
   */
  status?: number;
  /**
   * The last event sent to the client when the handler throws or rejects (the error's message is
   * never sent unless this puts it there): an event, or a function of the error that returns one
   * (or `undefined` for none). The stream is closed after it.
   *
   * @default {undefined: nothing is sent}
   */
  errorEvent?: EventOf<M> | ((error: unknown) => EventOf<M> | undefined);
  /**
   * Reports an error of the handler (it threw or rejected); report only: what it throws is
   * logged. Not called for the abort that a disconnect causes. Its second argument, the still
   * open stream, is deprecated: send a last event with `errorEvent`.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown, stream: SSEStream<M>) => void | Promise<void>;
  /**
   * The {@linkcode SSEGroup} the stream joins, so that `group.drain()` can close it gracefully on
   * shutdown. While the group drains, the response is a 503 with `Retry-After` and the handler
   * does not run.
   *
   * @default {undefined}
   */
  group?: SSEGroup;
}

/** What an event-stream handler receives and may return; `M` is the `events` option's map, if any. */
export type SSEHandler<M extends EventMap | undefined = EventMap | undefined> = (stream: SSEStream<M>) => unknown;

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
export function sseResponse<M extends EventMap | undefined = EventMap | undefined>(
  request: Request | undefined,
  handler: SSEHandler<M>,
  options: SSEResponseOptions<M> = {},
): Response {
  const {
    headers,
    status = 200,
    errorEvent,
    group,
    onError = (error: unknown) => logError("the event-stream handler failed", error),
    ...streamOptions
  } = options;
  // Everything that can make the Response fail is checked before the stream (its timers, its
  // signal listener) exists, so that a refused response leaks nothing.
  const responseHeaders = headers === undefined ? undefined : sseHeaders(headers);
  if (!Number.isInteger(status) || status < 200 || status > 599 || NULL_BODY.has(status)) {
    throw new RangeError(
      `Cannot create the event-stream response: "status" must be 200 to 599 and allow a body, got ${String(status)}`,
    );
  }
  if (group?.draining) return drainingResponse();
  const stream = new SSEStream<M>({ ...streamOptions, signal: request?.signal });
  let response: Response;
  try {
    response = stream.toResponse({ status, headers: responseHeaders });
  } catch (error) {
    void stream.cancel(error);
    throw error;
  }
  group?.add(stream as SSEStream);
  const fail = async (error: unknown) => {
    // A disconnect aborts whatever the handler awaited; that is not the handler's failure.
    if (!(stream.signal.aborted && (error === stream.signal.reason || isAbortError(error)))) {
      try {
        await onError(error, stream);
      } catch (secondary) {
        logError("the event-stream handler failed", secondary);
      }
      if (errorEvent !== undefined) {
        try {
          const last = typeof errorEvent === "function" ? errorEvent(error) : errorEvent;
          if (last !== undefined) await stream.send(last);
        } catch (secondary) {
          logError("the event-stream errorEvent failed", secondary);
        }
      }
    }
    closeStream(stream, "error");
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
