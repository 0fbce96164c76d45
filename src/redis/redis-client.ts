/**
 * The shape of the Redis clients the backplane takes: the few methods of an ioredis `Redis` or
 * `Cluster` that it uses. Nothing here imports a Redis client.
 *
 * @module
 */

/**
 * The options the backplane gives to `duplicate()` for its reading connection. They override
 * the client's own, so that the blocking read waits through an outage instead of failing.
 *
 * @example Usage
 * ```ts
 * import type { RedisReaderOptions } from "@hertz/sse/redis";
 *
 * const options: RedisReaderOptions = { enableOfflineQueue: true, maxRetriesPerRequest: null };
 * ```
 */
export interface RedisReaderOptions {
  /** Queue commands while disconnected, and send them once reconnected. */
  enableOfflineQueue?: boolean;
  /** Never fail a queued command because reconnecting takes long. */
  maxRetriesPerRequest?: number | null;
  /** Do not resend, after a reconnect, the read that was waiting when the connection broke. */
  autoResendUnfulfilledCommands?: boolean;
  /** No client-side time limit: the read blocks on purpose. */
  commandTimeout?: number;
  /** Connect at once. */
  lazyConnect?: boolean;
}

/**
 * The few methods of a Redis client that the backplane uses, as an
 * [ioredis](https://github.com/redis/ioredis) client (v5 or v6) has them. The backplane never
 * imports a Redis client: the application passes its own.
 *
 * @example An ioredis client
 * ```ts
 * import { Redis } from "ioredis";
 * import type { RedisClientLike } from "@hertz/sse/redis";
 *
 * const redis: RedisClientLike = new Redis("redis://localhost:6379", { enableOfflineQueue: false });
 * ```
 */
export interface RedisClientLike {
  /** Sends a command and resolves with its reply (ioredis: `call`). */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A new connection with the same settings, overridden by `options` (ioredis: `duplicate`). */
  duplicate(options?: RedisReaderOptions): RedisClientLike;
  /** Listens to the connection's errors (ioredis emits them as `error` events). */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** Listens to the connection's closing (ioredis: the `close` event). */
  on(event: "close", listener: () => void): unknown;
  /** Closes the connection at once, failing what is pending. */
  disconnect(): void;
  /** The client's settings; `keyPrefix` must not be set (use the backplane's `prefix`). */
  readonly options?: { readonly keyPrefix?: string | undefined };
  /** Absent or false: a single Redis. */
  readonly isCluster?: boolean;
}

/**
 * The options the backplane gives to a Redis Cluster client's `duplicate()` for its reader: shard
 * subscribers for the slots' doorbells, and node connections that wait through a failover.
 *
 * @example Usage
 * ```ts
 * import type { RedisClusterReaderOptions } from "@hertz/sse/redis";
 *
 * const options: RedisClusterReaderOptions = { shardedSubscribers: true, redisOptions: { maxRetriesPerRequest: null } };
 * ```
 */
export interface RedisClusterReaderOptions {
  /** One subscriber connection per primary, for `SSUBSCRIBE`. */
  shardedSubscribers?: boolean;
  /** Queue commands while the cluster is unreachable. */
  enableOfflineQueue?: boolean;
  /** Connect at once. */
  lazyConnect?: boolean;
  /** The node connections' settings (the client's own, overridden by the reader's needs). */
  redisOptions?: RedisReaderOptions & Record<string, unknown>;
}

/**
 * The few methods of a Redis Cluster client that the backplane uses, as an ioredis `Cluster`
 * with sharded subscribers (tested with v6) has them.
 *
 * @example An ioredis cluster client
 * ```ts
 * import { Cluster } from "ioredis";
 * import type { RedisClusterLike } from "@hertz/sse/redis";
 *
 * const redis: RedisClusterLike = new Cluster([{ host: "127.0.0.1", port: 7000 }], { enableOfflineQueue: false });
 * ```
 */
export interface RedisClusterLike {
  /** True for a cluster client (ioredis: `Cluster#isCluster`). */
  readonly isCluster: boolean;
  /** Sends a command to the node that serves its keys, and resolves with its reply. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** A new client for the same cluster, with `options` over the client's own. */
  duplicate(startupNodes: never[], options: RedisClusterReaderOptions): RedisClusterLike;
  /** Subscribes to a shard channel. */
  ssubscribe(channel: string): Promise<unknown>;
  /** Unsubscribes from a shard channel. */
  sunsubscribe(channel: string): Promise<unknown>;
  /** Listens to the client's errors, shard messages, and shard subscribers coming and going. */
  on(event: "error", listener: (error: Error) => void): unknown;
  /** A message on a shard channel. */
  on(event: "smessage", listener: (channel: string, message: string) => void): unknown;
  /** A shard subscriber or node came or went. */
  on(event: "+subscriber" | "-subscriber" | "+node" | "-node" | "node error", listener: () => void): unknown;
  /** Closes the client's connections. */
  disconnect(): void;
  /** The client's settings; `keyPrefix` must not be set (use the backplane's `prefix`). */
  readonly options?: { readonly keyPrefix?: string | undefined; readonly redisOptions?: Record<string, unknown> | undefined };
}
