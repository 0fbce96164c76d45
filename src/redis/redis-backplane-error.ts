/**
 * The error of the Redis backplane, and how a Redis client's error becomes one.
 *
 * @module
 */

import { brand, hasBrand } from "../_internal/brand.ts";

/**
 * Why a {@linkcode RedisBackplaneError} happened: `"unavailable"` when Redis cannot be reached or
 * cannot serve now (retrying later may work), `"refused"` when Redis answered the command with an
 * error, `"lost"` when events could not be delivered to this instance.
 *
 * @example Usage
 * ```ts
 * import type { RedisBackplaneErrorKind } from "@hertz/sse/redis";
 *
 * const retryable = (kind: RedisBackplaneErrorKind): boolean => kind === "unavailable";
 * ```
 */
export type RedisBackplaneErrorKind = "unavailable" | "refused" | "lost";

/**
 * Options for {@linkcode RedisBackplaneError}.
 *
 * @example Usage
 * ```ts
 * import { RedisBackplaneError, type RedisBackplaneErrorOptions } from "@hertz/sse/redis";
 *
 * const options: RedisBackplaneErrorOptions = { kind: "unavailable", cause: new Error("ECONNREFUSED") };
 * const error = new RedisBackplaneError("Cannot publish: Redis is unreachable: ECONNREFUSED", options);
 * ```
 */
export interface RedisBackplaneErrorOptions extends ErrorOptions {
  /** Why it happened. */
  kind: RedisBackplaneErrorKind;
}

/**
 * A failure of the Redis backplane: a publish or a history read that Redis could not serve
 * (the promise rejects with it), or a problem of the reader (given to `onError`). The client's
 * error is the `cause`.
 *
 * @example Telling a failed publish apart
 * ```ts
 * import { SSEHub } from "@hertz/sse/hub";
 * import { RedisBackplaneError } from "@hertz/sse/redis";
 *
 * async function say(hub: SSEHub, text: string): Promise<Response> {
 *   try {
 *     return new Response(await hub.publish({ data: text }, { topic: "chat" }));
 *   } catch (error) {
 *     if (RedisBackplaneError.is(error) && error.kind === "unavailable") {
 *       return new Response(error.message, { status: 503 }); // "Cannot publish: Redis is unreachable: …"
 *     }
 *     throw error;
 *   }
 * }
 * ```
 */
export class RedisBackplaneError extends Error {
  /** Why it happened. */
  readonly kind: RedisBackplaneErrorKind;

  /** Creates the error. */
  constructor(message: string, options: RedisBackplaneErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RedisBackplaneError";
    this.kind = options.kind;
    brand(this, "RedisBackplaneError");
  }

  /**
   * Whether `value` is a `RedisBackplaneError`, even one made by another copy of this package
   * (where `instanceof` says no).
   *
   * @example Usage
   * ```ts
   * import { RedisBackplaneError } from "@hertz/sse/redis";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * assertEquals(RedisBackplaneError.is(new RedisBackplaneError("Events were lost", { kind: "lost" })), true);
   * assertEquals(RedisBackplaneError.is(new Error("x")), false);
   * ```
   */
  static is(value: unknown): value is RedisBackplaneError {
    return hasBrand(value, "RedisBackplaneError");
  }
}

const TRANSIENT = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

/** The message of an error, or the value as text. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wraps a client's error: `what` says what failed ("Cannot publish"). Redis' own error replies
 * are `"refused"`, except those that say it cannot serve now (a cluster failover under way,
 * loading, a read-only replica), which are `"unavailable"` as a broken connection is.
 */
export function redisError(what: string, cause: unknown): RedisBackplaneError {
  if (RedisBackplaneError.is(cause)) return cause;
  const message = messageOf(cause);
  const reply = (cause as { name?: unknown } | null)?.name === "ReplyError";
  if (reply && !TRANSIENT.test(message)) {
    return new RedisBackplaneError(`${what}: Redis refused the command: ${message}`, { kind: "refused", cause });
  }
  const state = reply ? "unavailable" : "unreachable";
  return new RedisBackplaneError(`${what}: Redis is ${state}: ${message}`, { kind: "unavailable", cause });
}
