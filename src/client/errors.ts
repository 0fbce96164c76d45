/**
 * The errors of the event-stream client: why a subscription could not go on.
 *
 * @module
 */
import { brand, hasBrand } from "../_internal/brand.ts";
import type { FetchLikeResponse } from "./fetch-like.ts";

/**
 * What went wrong, the same discriminant on every client error: `"response"`
 * ({@linkcode ResponseError}), `"fetch"`, `"read"` or `"end"` ({@linkcode ConnectionError}),
 * `"retry-limit"` ({@linkcode RetryLimitError}), and `"client"` for a `ClientError` made directly.
 */
export type ClientErrorKind = "client" | "response" | "retry-limit" | ConnectionErrorKind;

/**
 * The base class of the client's errors: {@linkcode ResponseError}, {@linkcode ConnectionError}
 * and {@linkcode RetryLimitError}, told apart by `kind`. The original error, if any, is the
 * `cause`.
 *
 * @example Telling the errors apart
 * (Not run by the doc tests: it needs a server; the client's tests cover it.)
 * ```ts ignore
 * import { ClientError, ConnectionError, ResponseError, RetryLimitError, subscribe } from "@hertz/sse/client";
 *
 * try {
 *   for await (const message of subscribe("https://example.com/sse")) console.log(message.data);
 * } catch (error) {
 *   if (ResponseError.is(error)) console.error("refused with status", error.status);
 *   else if (RetryLimitError.is(error)) console.error("gave up:", error.cause);
 *   else if (ClientError.is(error)) console.error(error.message);
 *   else throw error;
 * }
 * ```
 */
export class ClientError extends Error {
  /** What went wrong; stable, unlike the message. */
  readonly kind: ClientErrorKind = "client";

  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ClientError";
    brand(this, "ClientError");
  }

  /**
   * Whether `value` is one of the client's errors, even one made by another copy of this package
   * (where `instanceof` says no).
   *
   * @example Usage
   * ```ts
   * import { ClientError, ConnectionError } from "@hertz/sse/client";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(ClientError.is(new ConnectionError("end")), true);
   * assertEquals(ClientError.is(new Error("x")), false);
   * ```
   */
  static is(value: unknown): value is ClientError {
    return hasBrand(value, "ClientError");
  }
}

/**
 * The server's response was not an event stream: a status other than 200 (and 204, which ends a
 * subscription normally), or a content type other than `text/event-stream`. Not retried unless
 * `shouldRetry` says so.
 *
 * It carries the `response` with its body unread, since an API often explains the refusal there
 * (with the global `fetch` it is a `Response`: `await (error.response as Response).text()`). The
 * body is cancelled if the subscription retries.
 *
 * @example Usage
 * ```ts
 * import { ResponseError } from "@hertz/sse/client";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const error = new ResponseError(new Response(null, { status: 401 }));
 * assertEquals(error.status, 401);
 * assertEquals(error.kind, "response");
 * assertEquals(error.message, "Cannot open event stream: expected status 200, got 401");
 * ```
 */
export class ResponseError extends ClientError {
  /** Always `"response"`. */
  override readonly kind: "response" = "response";
  /** The response that was refused. */
  readonly response: FetchLikeResponse;
  /** The response's status. */
  readonly status: number;

  /** Creates the error for `response`; the message says what was wrong with it. */
  constructor(response: FetchLikeResponse, options?: ErrorOptions) {
    const type = response.headers.get("content-type");
    super(
      response.status !== 200
        ? `Cannot open event stream: expected status 200, got ${response.status}`
        : `Cannot open event stream: expected content type "text/event-stream", got ${type === null ? "none" : JSON.stringify(type)}`,
      options,
    );
    this.name = "ResponseError";
    this.response = response;
    this.status = response.status;
    brand(this, "ResponseError");
  }

  /**
   * Whether `value` is a `ResponseError`, even one made by another copy of this package.
   *
   * @example Usage
   * ```ts
   * import { ResponseError } from "@hertz/sse/client";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(ResponseError.is(new ResponseError(new Response(null, { status: 500 }))), true);
   * ```
   */
  static override is(value: unknown): value is ResponseError {
    return hasBrand(value, "ResponseError");
  }
}

/**
 * How a connection was lost: `"fetch"` (the request failed: network error, DNS, refused
 * connection), `"read"` (the response body failed midway), or `"end"` (the server ended the
 * response; the standard reconnects then too).
 */
export type ConnectionErrorKind = "fetch" | "read" | "end";

/**
 * The connection was lost, or could not be made. Retried after the reconnection delay unless
 * `shouldRetry` returns `false`; the original error, if any, is the `cause`.
 *
 * @example Usage
 * ```ts
 * import { ConnectionError } from "@hertz/sse/client";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const error = new ConnectionError("fetch", { cause: new TypeError("fetch failed") });
 * assertEquals(error.kind, "fetch");
 * assertEquals(error.message, "Cannot connect to event stream: fetch failed");
 * ```
 */
export class ConnectionError extends ClientError {
  /** How the connection was lost. */
  override readonly kind: ConnectionErrorKind;

  /** Creates the error; `options.cause` is the error that the request or the body failed with. */
  constructor(kind: ConnectionErrorKind, options?: ErrorOptions) {
    const reason =
      options?.cause instanceof Error ? options.cause.message : options?.cause === undefined ? "" : String(options.cause);
    super(
      kind === "end"
        ? "Cannot read event stream: the server ended the response"
        : kind === "fetch"
          ? `Cannot connect to event stream: ${reason || "the request failed"}`
          : `Cannot read event stream: ${reason || "the connection failed"}`,
      options,
    );
    this.name = "ConnectionError";
    this.kind = kind;
    brand(this, "ConnectionError");
  }

  /**
   * Whether `value` is a `ConnectionError`, even one made by another copy of this package.
   *
   * @example Usage
   * ```ts
   * import { ConnectionError } from "@hertz/sse/client";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(ConnectionError.is(new ConnectionError("read")), true);
   * ```
   */
  static override is(value: unknown): value is ConnectionError {
    return hasBrand(value, "ConnectionError");
  }
}

/**
 * The subscription gave up reconnecting: `attempts` reconnections in a row failed to open a
 * stream (see `backoff.maxAttempts`). The last failure is the `cause`.
 *
 * @example Usage
 * ```ts
 * import { ConnectionError, RetryLimitError } from "@hertz/sse/client";
 * import { assertEquals } from "jsr:@std/assert";
 *
 * const error = new RetryLimitError(3, { cause: new ConnectionError("fetch") });
 * assertEquals(error.message, "Cannot reconnect to event stream: gave up after 3 attempts");
 * assertEquals(error.kind, "retry-limit");
 * ```
 */
export class RetryLimitError extends ClientError {
  /** Always `"retry-limit"`. */
  override readonly kind: "retry-limit" = "retry-limit";
  /** How many reconnections were tried. */
  readonly attempts: number;

  /** Creates the error; `options.cause` should be the last failure. */
  constructor(attempts: number, options?: ErrorOptions) {
    super(`Cannot reconnect to event stream: gave up after ${attempts} attempt${attempts === 1 ? "" : "s"}`, options);
    this.name = "RetryLimitError";
    this.attempts = attempts;
    brand(this, "RetryLimitError");
  }

  /**
   * Whether `value` is a `RetryLimitError`, even one made by another copy of this package.
   *
   * @example Usage
   * ```ts
   * import { RetryLimitError } from "@hertz/sse/client";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(RetryLimitError.is(new RetryLimitError(1)), true);
   * ```
   */
  static override is(value: unknown): value is RetryLimitError {
    return hasBrand(value, "RetryLimitError");
  }
}
