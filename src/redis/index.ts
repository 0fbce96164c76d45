/**
 * `hertz-sse/redis`: a {@linkcode RedisBackplane} on Redis Streams, so that hubs on several
 * instances share events, ids and replay. The Redis client is the application's own (ioredis is
 * an optional peer dependency); nothing here imports it.
 *
 * @example Usage
 * ```ts
 * import { Redis } from "ioredis";
 * import { SSEHub } from "@hertz/sse/hub";
 * import { RedisBackplane } from "@hertz/sse/redis";
 *
 * const redis = new Redis("redis://localhost:6379", { enableOfflineQueue: false });
 * const hub = new SSEHub({ backplane: new RedisBackplane({ redis }) });
 * ```
 *
 * @module
 */
// The interface it implements, so that its documentation is complete on its own.
export type {
  Backplane,
  BackplaneEntry,
  BackplaneEvent,
  BackplaneHistory,
  BackplaneListener,
  BackplaneSubscription,
} from "../hub/backplane.ts";
export {
  RedisBackplane,
  RedisBackplaneError,
  type RedisBackplaneErrorKind,
  type RedisBackplaneErrorOptions,
  type RedisBackplaneOptions,
  type RedisClientLike,
  type RedisClusterLike,
  type RedisClusterReaderOptions,
  type RedisReaderOptions,
} from "./redis-backplane.ts";
