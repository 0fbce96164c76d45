/**
 * The Redis Streams backplane: hubs on several machines share one Redis server or one Redis
 * Cluster, so that every instance delivers every event, with the same ids, and replay works
 * across instances. The full description is in docs/redis.md.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { logError } from "../_internal/log.ts";
import type { Backplane, BackplaneEvent, BackplaneHistory, BackplaneListener, BackplaneSubscription } from "../hub/backplane.ts";
import { ClusterReader } from "./_cluster-reader.ts";
import { parseId, slotOfId, type TopicKeys, topicKeys, utf8Length } from "./_codec.ts";
import { type Reader, SingleReader } from "./_reader.ts";
import { RedisWriter } from "./_writer.ts";
import type { RedisClientLike, RedisClusterLike } from "./redis-client.ts";

export { RedisBackplaneError, type RedisBackplaneErrorKind, type RedisBackplaneErrorOptions } from "./redis-backplane-error.ts";
export type { RedisClientLike, RedisClusterLike, RedisClusterReaderOptions, RedisReaderOptions } from "./redis-client.ts";

/**
 * Options for {@linkcode RedisBackplane}.
 *
 * @example Usage
 * ```ts
 * import { Redis } from "ioredis";
 * import { RedisBackplane, type RedisBackplaneOptions } from "@hertz/sse/redis";
 *
 * const options: RedisBackplaneOptions = {
 *   redis: new Redis("redis://localhost:6379", { enableOfflineQueue: false }),
 *   prefix: "chat:",
 *   maxEvents: 500,
 *   maxAge: 60_000,
 * };
 * const backplane = new RedisBackplane(options);
 * ```
 */
export interface RedisBackplaneOptions {
  /**
   * The client for publishing, history and control commands: a single Redis (ioredis `Redis`)
   * or a Redis Cluster (ioredis `Cluster`). The backplane `duplicate()`s it once for its reader,
   * and closes only that duplicate. See docs/redis.md for the recommended client settings.
   */
  redis: RedisClientLike | RedisClusterLike;
  /**
   * The prefix of every key: a topic's stream is `<prefix>s:<topic>` (the topic with `%`, `:`,
   * `{`, `}` and control characters percent-encoded) and its clock `<prefix>c:` (on a cluster,
   * one per hash slot), so no topic name reaches another key, and backplanes with different
   * prefixes never share a key, even when one prefix extends the other. Every instance that
   * shares events must use the same prefix. On a cluster, a hash tag in the prefix (`"{sse}:"`)
   * puts every topic in one slot, in one order, on one primary.
   *
   * @default {"sse:"}
   */
  prefix?: string;
  /**
   * How many events each topic keeps for replay (between `maxEvents` and 1/16 more, trimmed in
   * batches). It also bounds how far an instance's reader may fall behind: events trimmed before
   * it read them are reported to `onError` as lost. At least 1.
   *
   * @default {1000}
   */
  maxEvents?: number;
  /**
   * How long, in milliseconds, an event stays replayable; `Infinity` for no limit. A topic's
   * stream key expires `2 × maxAge` after its last publish, so idle topics cost no memory.
   *
   * @default {300000}
   */
  maxAge?: number;
  /**
   * The `BLOCK` time of the reader's `XREAD`, in milliseconds. A new topic interrupts the read at
   * once with `CLIENT UNBLOCK`; only where that is not allowed (an ACL without `CLIENT`) does a
   * new topic wait for the block to end.
   *
   * @default {5000}
   */
  blockTimeout?: number;
  /**
   * The `COUNT` of the reader's `XREAD`: at most this many entries per topic per read, which
   * bounds the memory of one read.
   *
   * @default {512}
   */
  batchSize?: number;
  /**
   * The longest topic name, in UTF-8 bytes; a longer one is refused with a `RangeError` before
   * anything is sent (a topic is part of a key, and Redis keeps every key in memory). On a cluster
   * it also bounds a compound `Last-Event-ID`: at most `maxIdSlots` ids.
   *
   * @default {1024}
   */
  maxTopicBytes?: number;
  /**
   * On a cluster, the most slot positions a compound `Last-Event-ID` (`id,id,…`, one per hash
   * slot) may name; a longer one is refused as unknown (the hub's reset event).
   *
   * @default {64}
   */
  maxIdSlots?: number;
  /**
   * Receives the errors nobody awaits: the reader cannot reach Redis (once per outage), a topic's
   * key holds something other than a stream (`"refused"`, costing that topic only), or events were
   * lost to this instance (`"lost"`: trimmed before it could read them, Redis lost its data, or a
   * cluster failover lost acknowledged events).
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkPositiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new RangeError(`Cannot create RedisBackplane: "${name}" must be a positive integer, got ${describe(value)}`);
  }
  return value as number;
}

/**
 * A {@linkcode Backplane} on Redis Streams (Redis 7.0 or later, or Valkey), on one Redis or a
 * Redis Cluster: hubs on any number of instances share events, ids and replay. A publish is one
 * atomic script that takes the next id from the topic's clock and appends the event to the
 * topic's stream; each instance reads the streams of its subscribers' topics (one blocking
 * `XREAD` on one Redis; per-slot doorbells and pipelined reads on a cluster) and delivers every
 * entry once, in order; history is read from the streams, so a client resumes on any instance.
 * Ids are Redis stream ids (`<ms>-<seq>`), the same on every instance. On a single Redis one
 * clock orders all topics; on a cluster each hash slot has its own clock, so topics that must
 * share one order go in one group with a hash tag (`{room42}:chat`, `{room42}:presence`). What
 * is lost, when, and how it is reported (`onError`, kind `"lost"`) is in docs/redis.md.
 *
 * @example Several instances behind a load balancer
 * ```ts
 * import { Redis } from "ioredis";
 * import { SSEHub } from "@hertz/sse/hub";
 * import { RedisBackplane } from "@hertz/sse/redis";
 *
 * const redis = new Redis(Deno.env.get("REDIS_URL")!, {
 *   enableOfflineQueue: false,
 *   autoResendUnfulfilledCommands: false,
 *   commandTimeout: 5_000,
 * });
 * const hub = new SSEHub({ backplane: new RedisBackplane({ redis, maxEvents: 1_000 }) });
 *
 * Deno.serve(async (request) => {
 *   if (request.method === "POST") {
 *     const id = await hub.publish({ event: "message", data: await request.text() }, { topic: "chat" });
 *     return new Response(id); // the same id on every instance
 *   }
 *   return hub.subscribe(request); // GET /?topic=chat, with replay from Last-Event-ID on any instance
 * });
 * ```
 */
export class RedisBackplane implements Backplane {
  readonly #writer: RedisWriter;
  readonly #reader: Reader;
  readonly #maxTopicBytes: number;
  readonly #cluster: boolean;
  readonly #keysOf: (topic: string) => TopicKeys;
  /** The most groups (hash slots) a compound id may name: `maxIdSlots`. */
  readonly maxGroups: number;
  #closed = false;

  /** Creates the backplane; nothing is sent to Redis until the first publish, subscribe or history read. */
  constructor(options: RedisBackplaneOptions) {
    const what = "Cannot create RedisBackplane";
    if (options === null || typeof options !== "object") {
      throw new TypeError(`${what}: expected an options object, got ${describe(options)}`);
    }
    const redis = options.redis;
    if (
      redis === null ||
      typeof redis !== "object" ||
      typeof redis.call !== "function" ||
      typeof redis.duplicate !== "function" ||
      typeof redis.on !== "function"
    ) {
      throw new TypeError(
        `${what}: "redis" must be a Redis client with call(), duplicate() and on(), such as ioredis, got ${describe(redis)}`,
      );
    }
    if (redis.options?.keyPrefix) {
      throw new TypeError(
        `${what}: the Redis client has the keyPrefix ${JSON.stringify(redis.options.keyPrefix)}; give it to the backplane's "prefix" option instead`,
      );
    }
    const cluster = redis.isCluster === true;
    if (cluster && typeof (redis as RedisClusterLike).ssubscribe !== "function") {
      throw new TypeError(
        `${what}: the Redis Cluster client has no ssubscribe(); use an ioredis version with sharded subscribers`,
      );
    }
    const prefix = options.prefix ?? "sse:";
    if (typeof prefix !== "string" || prefix === "") {
      throw new TypeError(`${what}: "prefix" must be a non-empty string, got ${describe(prefix)}`);
    }
    const maxAge = options.maxAge ?? 300_000;
    if (typeof maxAge !== "number" || !(maxAge >= 1) || (maxAge !== Infinity && !Number.isSafeInteger(maxAge))) {
      throw new RangeError(
        `${what}: "maxAge" must be a positive integer number of milliseconds or Infinity, got ${describe(maxAge)}`,
      );
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`${what}: "onError" must be a function, got ${describe(options.onError)}`);
    }
    const maxEvents = checkPositiveInteger(options.maxEvents ?? 1000, "maxEvents");
    const blockTimeout = checkPositiveInteger(options.blockTimeout ?? 5_000, "blockTimeout");
    const batchSize = checkPositiveInteger(options.batchSize ?? 512, "batchSize");
    this.#maxTopicBytes = checkPositiveInteger(options.maxTopicBytes ?? 1024, "maxTopicBytes");
    const maxIdSlots = checkPositiveInteger(options.maxIdSlots ?? 64, "maxIdSlots");
    const onError = options.onError ?? ((error: unknown) => logError("Redis backplane error", error));
    const report = (error: unknown): void => {
      try {
        onError(error);
      } catch {
        // onError must not stop the reader.
      }
    };
    const keysOf = (topic: string) => topicKeys(prefix, topic, cluster);
    this.#cluster = cluster;
    this.#keysOf = keysOf;
    this.maxGroups = maxIdSlots;
    const readerSettings = {
      keysOf,
      blockTimeout,
      batchSize,
      report,
      observe: (id: string, parsed: readonly [number, number]) => this.#writer.observe(id, parsed),
    };
    this.#reader = cluster
      ? new ClusterReader(redis as RedisClusterLike, readerSettings)
      : new SingleReader(redis as RedisClientLike, readerSettings);
    this.#writer = new RedisWriter({
      call: (command, ...args) => redis.call(command, ...args),
      cluster,
      keysOf,
      maxEvents,
      maxAge: maxAge === Infinity ? -1 : maxAge,
      ttl: maxAge === Infinity ? -1 : 2 * maxAge,
      // Trimming removes entries in batches of up to 1/16 of the bound (at most 64), which spares
      // most publishes the extra work and costs at most that much memory.
      slack: Math.min(Math.floor(maxEvents / 16), 64),
      maxIdParts: maxIdSlots,
      delivered: (topic, id) => this.#reader.delivered(topic, id),
    });
  }

  /**
   * Stores the event in the topic's stream, trimmed to the bounds, and resolves with its id once
   * Redis has stored it; every instance's subscribers then receive it. Rejects with a
   * {@linkcode RedisBackplaneError} when Redis cannot store it; throws a `TypeError` for a
   * publisher id, an invalid topic or event, or a closed backplane, and a `RangeError` for a topic
   * longer than `maxTopicBytes`.
   */
  publish(topic: string, event: BackplaneEvent): Promise<string> {
    if (this.#closed) throw new TypeError("Cannot publish: the backplane is closed");
    this.#checkTopic(topic, "Cannot publish");
    if (event === null || typeof event !== "object") {
      throw new TypeError(`Cannot publish: expected an event object, got ${describe(event)}`);
    }
    if (event.id !== undefined) {
      throw new TypeError(
        `Cannot publish: the Redis backplane assigns the ids, so the event must have none, got "id" ${describe(event.id)}`,
      );
    }
    return this.#writer.publish(topic, event);
  }

  /**
   * Starts delivering the topic's new entries to `listener`. For a topic this instance does not
   * read yet, `ready` resolves once the reader has taken it up: every entry published after that
   * is delivered. For one it reads, delivery is live at once and there is no `ready`.
   */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    if (this.#closed) throw new TypeError("Cannot subscribe: the backplane is closed");
    this.#checkTopic(topic, "Cannot subscribe");
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot subscribe: "listener" must be a function, got ${describe(listener)}`);
    }
    return this.#reader.subscribe(topic, listener);
  }

  /**
   * The retained entries of `topics` after `afterId`, in id order, or `gone` with the newest
   * retained id (see docs/redis.md). Rejects with a {@linkcode RedisBackplaneError} when Redis
   * cannot answer.
   */
  history(topics: readonly string[], afterId: string): Promise<BackplaneHistory> {
    if (this.#closed) throw new TypeError("Cannot read history: the backplane is closed");
    if (!Array.isArray(topics)) throw new TypeError(`Cannot read history: "topics" must be an array, got ${describe(topics)}`);
    for (const topic of topics) this.#checkTopic(topic, "Cannot read history");
    if (typeof afterId !== "string")
      throw new TypeError(`Cannot read history: "afterId" must be a string, got ${describe(afterId)}`);
    return this.#writer.history(topics, afterId);
  }

  /**
   * The group of `topic`: on a cluster, its hash slot (topics with one hash tag share one), whose
   * clock orders it; on one Redis, one group for every topic. A hub gives a subscription spanning
   * several slots a compound id, which {@linkcode RedisBackplane.history} resumes exactly.
   */
  groupOf(topic: string): string {
    return this.#cluster ? String(this.#keysOf(topic).slot) : "";
  }

  /** The group whose clock issued `id` (on a cluster, the slot written into its sequence), or `undefined` for an id it did not issue. */
  groupOfId(id: string): string | undefined {
    const parsed = parseId(id);
    if (parsed === undefined) return undefined;
    return this.#cluster ? String(slotOfId(parsed)) : "";
  }

  /**
   * Stops the reader and closes its connection (not the client given as `redis`); later calls
   * throw. Resolves once the reader has stopped. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closed = true;
    return this.#reader.close();
  }

  #checkTopic(topic: unknown, what: string): asserts topic is string {
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`${what}: "topic" must be a non-empty string, got ${describe(topic)}`);
    }
    if (topic.length * 3 > this.#maxTopicBytes && utf8Length(topic) > this.#maxTopicBytes) {
      throw new RangeError(`${what}: "topic" must be at most ${this.#maxTopicBytes} bytes, got ${utf8Length(topic)} bytes`);
    }
    // Lone surrogates would become U+FFFD in the key, so two topics would share one stream.
    if (LONE_SURROGATE.test(topic))
      throw new TypeError(`${what}: "topic" must be well-formed Unicode, got ${JSON.stringify(topic)}`);
  }
}
