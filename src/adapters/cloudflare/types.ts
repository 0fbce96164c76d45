/**
 * The Cloudflare types the adapter uses, declared structurally (`…Like`), so that the library
 * does not depend on `@cloudflare/workers-types`; the runtime's objects fit them.
 *
 * @module
 */

/**
 * The part of a Durable Object's storage (`state.storage`) the backplane uses. Both storage
 * backends (SQLite and key-value) provide it.
 *
 * @example Usage
 * ```ts
 * import type { DurableObjectStorageLike } from "@hertz/sse/cloudflare";
 *
 * async function count(storage: DurableObjectStorageLike): Promise<number> {
 *   return (await storage.list({ prefix: "hertz-sse:e:" })).size;
 * }
 * ```
 */
export interface DurableObjectStorageLike {
  /** Reads one value. */
  get(key: string): Promise<unknown>;
  /** Writes several values at once (at most 128 per call). */
  put(entries: Record<string, unknown>): Promise<void>;
  /** Deletes several keys at once (at most 128 per call); resolves with how many existed. */
  delete(keys: string[]): Promise<number>;
  /**
   * The entries whose keys start with `prefix`, from `start` (inclusive) on, in key order, at
   * most `limit` of them.
   */
  list(options: { prefix?: string; start?: string; limit?: number }): Promise<Map<string, unknown>>;
  /**
   * Schedules the object's `alarm()` handler at `scheduledTime` (milliseconds since the epoch),
   * replacing any alarm set before. Without it, the backplane cannot delete an idle object's
   * storage by itself.
   */
  setAlarm?(scheduledTime: number): Promise<void>;
}

/**
 * The part of a Durable Object's state (the constructor's first argument) this adapter uses.
 *
 * @example Usage
 * ```ts
 * import { DurableObjectBackplane, type DurableObjectStateLike } from "@hertz/sse/cloudflare";
 *
 * export class Counter {
 *   readonly backplane: DurableObjectBackplane;
 *   constructor(state: DurableObjectStateLike) {
 *     this.backplane = new DurableObjectBackplane(state);
 *   }
 * }
 * ```
 */
export interface DurableObjectStateLike {
  /** The object's transactional storage. */
  readonly storage: DurableObjectStorageLike;
  /**
   * Runs `callback` while no other event is delivered to the object. Used to load the replay log
   * before the first request; without it, the backplane's methods wait for the load themselves.
   */
  blockConcurrencyWhile?<T>(callback: () => Promise<T>): Promise<T>;
  /** Tells the runtime about work that outlives the current request (a resumable stream's producer). */
  waitUntil?(promise: Promise<unknown>): void;
}

/**
 * A Durable Object stub: what `namespace.get(id)` returns.
 *
 * @example Usage
 * ```ts
 * import type { DurableObjectStubLike } from "@hertz/sse/cloudflare";
 *
 * const ping = (stub: DurableObjectStubLike): Promise<Response> => stub.fetch(new Request("https://hub/"));
 * ```
 */
export interface DurableObjectStubLike {
  /** Sends a request to the object. */
  fetch(request: Request): Promise<Response>;
}

/**
 * A Durable Object namespace binding (`env.HUB`), as declared under `durable_objects.bindings` in
 * `wrangler.jsonc`.
 *
 * @example Usage
 * ```ts
 * import type { DurableObjectNamespaceLike } from "@hertz/sse/cloudflare";
 *
 * interface Env {
 *   HUB: DurableObjectNamespaceLike;
 * }
 * ```
 */
export interface DurableObjectNamespaceLike {
  /** The id of the object with this name; the same name always gives the same object. */
  idFromName(name: string): unknown;
  /** The stub of the object with this id. */
  get(id: unknown): DurableObjectStubLike;
}
