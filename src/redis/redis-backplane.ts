/**
 * The Redis Streams backplane: hubs on several machines share one Redis server, so that every
 * instance delivers every event, with the same ids, and replay works across instances.
 *
 * @module
 */

import { brand, hasBrand } from "../_internal/brand.ts";
import { describe } from "../_internal/describe.ts";
import { logError } from "../_internal/log.ts";
import type {
  Backplane,
  BackplaneEntry,
  BackplaneEvent,
  BackplaneHistory,
  BackplaneListener,
  BackplaneSubscription,
} from "../hub/backplane.ts";

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
}

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
   * The client for publishing, history and control commands. The backplane `duplicate()`s it
   * once for its blocking read, and closes only that duplicate. See {@linkcode RedisBackplane}
   * for the recommended client settings.
   */
  redis: RedisClientLike;
  /**
   * The prefix of every key: a topic's stream is `<prefix><topic>`, and the key named by the
   * prefix alone holds the id clock (a hash with the fields `last` and `epoch`). Every instance
   * that shares events must use the same prefix. For Redis Cluster, put a hash tag in it
   * (`"{sse}:"`), so that all the keys live in one slot.
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
   * Receives the errors nobody awaits: the reader cannot reach Redis (once per outage), or events
   * were lost to this instance (trimmed before it could read them, or Redis lost its data).
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
}

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

// ---------------------------------------------------------------------------------------------
// Ids: Redis stream ids "<ms>-<seq>". Ours are issued by one clock per prefix, so they increase
// across all topics, and are compared as number pairs (both parts stay below 2^53).

type ParsedId = readonly [ms: number, seq: number];

const ID = /^(\d{1,15})-(\d{1,15})$/;

function parseId(id: string): ParsedId | undefined {
  const match = ID.exec(id);
  return match === null ? undefined : [Number(match[1]), Number(match[2])];
}

function compareIds(a: ParsedId, b: ParsedId): number {
  return a[0] - b[0] || a[1] - b[1];
}

// ---------------------------------------------------------------------------------------------
// Lua scripts. Each runs atomically on the server, so the clock, the stream and the trimming
// watermark always agree, whatever the number of instances.

// Shared helpers. `deleted(key)` is the stream's `max-deleted-entry-id` (Redis 7): the publish
// script sets it, with XSETID, to the newest entry it trimmed, because Redis leaves it alone when
// trimming; it is what tells a client whose last event was trimmed from one who missed some.
const PRELUDE = `
local function parse(id)
  if type(id) ~= 'string' then return nil end
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  if ms == nil or #ms > 15 or #seq > 15 then return nil end
  return {tonumber(ms), tonumber(seq)}
end
local function less(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end
local function fmt(n) return string.format('%.0f', n) end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function deleted(key)
  local info = redis.call('XINFO', 'STREAM', key)
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then return parse(info[i + 1]) end
  end
  return nil
end
`;

// KEYS: clock, stream. ARGV: maxEvents, maxAge (-1: none), key ttl (-1: none), trim slack,
// then the entry's fields. Returns the new id: the server's time in ms, or the clock's last ms
// if that is later (several publishes in one ms, or a clock step back), with the next sequence.
const PUBLISH_LUA = `${PRELUDE}
local time = now()
local last = parse(redis.call('HGET', KEYS[1], 'last'))
local ms, seq = time, 0
if last ~= nil and last[1] >= time then ms = last[1]; seq = last[2] + 1 end
local id = fmt(ms) .. '-' .. fmt(seq)
redis.call('XADD', KEYS[2], id, unpack(ARGV, 5))
redis.call('HSET', KEYS[1], 'last', id)
if last == nil then redis.call('HSETNX', KEYS[1], 'epoch', id) end
local trimmed = nil
local maxAge = tonumber(ARGV[2])
if maxAge >= 0 then
  -- Entries of up to time - maxAge have expired. The oldest is looked at first: the reverse
  -- search for the newest expired one scans the whole stream when there is none.
  local limit = time - maxAge
  local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
  if first and parse(first[1])[1] <= limit then
    local bound = fmt(limit + 1) .. '-0'
    trimmed = redis.call('XREVRANGE', KEYS[2], '(' .. bound, '-', 'COUNT', 1)[1][1]
    redis.call('XTRIM', KEYS[2], 'MINID', bound)
  end
end
local maxEvents = tonumber(ARGV[1])
local length = redis.call('XLEN', KEYS[2])
if length > maxEvents + tonumber(ARGV[4]) then
  local excess = length - maxEvents
  local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)
  redis.call('XTRIM', KEYS[2], 'MAXLEN', maxEvents)
  trimmed = old[excess][1]
end
if trimmed ~= nil then redis.call('XSETID', KEYS[2], id, 'MAXDELETEDID', trimmed) end
local ttl = tonumber(ARGV[3])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
return id
`;

// KEYS: clock, then the topics' streams. ARGV: the id, maxAge (-1: none), key ttl (-1: none).
// Returns {'ok', '', entries of each stream…} or {'gone', newest retained id or ''}.
const HISTORY_LUA = `${PRELUDE}
local time = now()
local maxAge = tonumber(ARGV[2])
local function expired(p) return maxAge >= 0 and p[1] <= time - maxAge end
local function gone()
  local newest, newestId = nil, ''
  for i = 2, #KEYS do
    local e = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)[1]
    if e then
      local p = parse(e[1])
      if p ~= nil and not expired(p) and (newest == nil or less(newest, p)) then newest = p; newestId = e[1] end
    end
  end
  return {'gone', newestId}
end
local after = parse(ARGV[1])
local clock = redis.call('HMGET', KEYS[1], 'epoch', 'last')
local epoch, last = parse(clock[1]), parse(clock[2])
if after == nil or epoch == nil or last == nil or less(after, epoch) or less(last, after) then return gone() end
local ttl = tonumber(ARGV[3])
local result = {'ok', ''}
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    if ttl > 0 and after[1] <= time - ttl then return gone() end
    result[#result + 1] = {}
  else
    local trimmed = deleted(KEYS[i])
    if trimmed ~= nil and less(after, trimmed) then return gone() end
    local entries = redis.call('XRANGE', KEYS[i], '(' .. ARGV[1], '+')
    if entries[1] and expired(parse(entries[1][1])) then return gone() end
    result[#result + 1] = entries
  end
end
return result
`;

// KEYS: clock, then streams to check. ARGV: the reader's position in each of those streams.
// Returns {epoch or '', last id or '', then 1 for each stream trimmed past its position, else 0}.
const CHECK_LUA = `${PRELUDE}
local clock = redis.call('HMGET', KEYS[1], 'epoch', 'last')
local result = {clock[1] or '', clock[2] or ''}
for i = 2, #KEYS do
  local lost = 0
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local trimmed, position = deleted(KEYS[i]), parse(ARGV[i - 1])
    if trimmed ~= nil and position ~= nil and less(position, trimmed) then lost = 1 end
  end
  result[#result + 1] = lost
end
return result
`;

class Script {
  sha: string | undefined;
  #pending: Promise<string> | undefined;
  constructor(readonly source: string) {}

  /** The SHA-1 of the source, for EVALSHA; computed once, with Web Crypto. */
  digest(): string | Promise<string> {
    if (this.sha !== undefined) return this.sha;
    this.#pending ??= crypto.subtle.digest("SHA-1", new TextEncoder().encode(this.source)).then((buffer) => {
      let hex = "";
      for (const byte of new Uint8Array(buffer)) hex += byte.toString(16).padStart(2, "0");
      this.sha = hex;
      return hex;
    });
    return this.#pending;
  }
}

const PUBLISH = new Script(PUBLISH_LUA);
const HISTORY = new Script(HISTORY_LUA);
const CHECK = new Script(CHECK_LUA);

// ---------------------------------------------------------------------------------------------
// Entries: the event's fields under one-letter names, only those set. An event with none is
// stored with the field "_", since XADD needs one.

function encodeFields(event: BackplaneEvent): string[] {
  const fields: string[] = [];
  if (event.event !== undefined) fields.push("e", event.event);
  if (event.data !== undefined) fields.push("d", event.data);
  if (event.comment !== undefined) fields.push("c", event.comment);
  if (event.retry !== undefined) fields.push("r", String(event.retry));
  if (fields.length === 0) fields.push("_", "");
  return fields;
}

function decodeFields(fields: unknown): BackplaneEvent {
  let event: string | undefined;
  let data: string | undefined;
  let comment: string | undefined;
  let retry: number | undefined;
  const set = (name: unknown, value: unknown): void => {
    const text = String(value);
    if (name === "e") event = text;
    else if (name === "d") data = text;
    else if (name === "c") comment = text;
    else if (name === "r") retry = Number(text);
  };
  if (Array.isArray(fields)) {
    for (let i = 0; i + 1 < fields.length; i += 2) set(fields[i], fields[i + 1]);
  } else if (fields !== null && typeof fields === "object") {
    for (const [name, value] of Object.entries(fields)) set(name, value);
  }
  // Always the same shape, as the hub makes them.
  return { event, data, comment, retry };
}

class RedisEntry implements BackplaneEntry {
  frame: Uint8Array | undefined = undefined;
  constructor(
    readonly topic: string,
    readonly id: string,
    readonly event: BackplaneEvent,
  ) {}
}

/** A stream's entries as `[id, fields]` pairs; anything malformed is skipped. */
function entriesOf(list: unknown): [string, unknown][] {
  const out: [string, unknown][] = [];
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    if (Array.isArray(item) && typeof item[0] === "string") out.push([item[0], item[1]]);
  }
  return out;
}

/**
 * The streams of an XREAD reply as `[key, entries]` pairs, whichever shape the client gives:
 * `[[key, entries], …]` (RESP2), `[key, entries, key, entries, …]` (RESP3 with ioredis' default
 * "legacy" mapping) or `{ key: entries }` (RESP3 maps).
 */
function streamsOf(reply: unknown): [string, unknown][] {
  if (reply === null || reply === undefined) return [];
  if (Array.isArray(reply)) {
    if (reply.length === 0) return [];
    if (Array.isArray(reply[0])) return reply.map((pair) => [String((pair as unknown[])[0]), (pair as unknown[])[1]]);
    const pairs: [string, unknown][] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([String(reply[i]), reply[i + 1]]);
    return pairs;
  }
  if (typeof reply === "object") return Object.entries(reply);
  return [];
}

// ---------------------------------------------------------------------------------------------
// Errors

const TRANSIENT = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|READONLY)\b/;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Wraps a client's error: `what` says what failed ("Cannot publish"). */
function redisError(what: string, cause: unknown): RedisBackplaneError {
  if (RedisBackplaneError.is(cause)) return cause;
  const message = messageOf(cause);
  const reply = (cause as { name?: unknown } | null)?.name === "ReplyError";
  if (reply && !TRANSIENT.test(message)) {
    return new RedisBackplaneError(`${what}: Redis refused the command: ${message}`, { kind: "refused", cause });
  }
  const state = reply ? "unavailable" : "unreachable";
  return new RedisBackplaneError(`${what}: Redis is ${state}: ${message}`, { kind: "unavailable", cause });
}

function isNoScript(error: unknown): boolean {
  return messageOf(error).startsWith("NOSCRIPT");
}

function noop(): void {}

type Call = (command: string, ...args: (string | number)[]) => Promise<unknown>;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`No reply within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

// The reader's own backoff, for failed commands (the client reconnects on its own schedule):
// 50 ms doubling to 5 s, each delay drawn between half and all of it.
function backoff(failures: number): number {
  const delay = Math.min(50 * 2 ** Math.min(failures - 1, 10), 5_000);
  return delay / 2 + (Math.random() * delay) / 2;
}

// ---------------------------------------------------------------------------------------------

interface Registration {
  readonly listener: BackplaneListener;
}

/** One topic this instance reads: its listeners, and the id of the last entry delivered. */
class TopicState {
  readonly registrations = new Set<Registration>();
  /** The last id delivered (or the clock when the topic was added); undefined until then. */
  position: string | undefined = undefined;
  parsed: ParsedId | undefined = undefined;
  readonly ready: Promise<void>;
  resolveReady!: () => void;
  /** History reads waiting for live delivery to reach an id. */
  waiters: { readonly id: ParsedId; readonly resolve: () => void }[] = [];

  constructor(
    readonly topic: string,
    readonly key: string,
  ) {
    this.ready = new Promise<void>((resolve) => {
      this.resolveReady = resolve;
    });
  }

  /** Resolves the waiters whose id has been delivered, or all of them. */
  release(all: boolean): void {
    if (this.waiters.length === 0) return;
    const position = this.parsed;
    this.waiters = this.waiters.filter((waiter) => {
      if (!all && (position === undefined || compareIds(waiter.id, position) > 0)) return true;
      waiter.resolve();
      return false;
    });
  }
}

interface Pending {
  readonly state: TopicState;
  readonly id: string;
  readonly parsed: ParsedId;
  readonly fields: unknown;
}

function checkPositiveInteger(value: unknown, name: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new RangeError(`Cannot create RedisBackplane: "${name}" must be a positive integer, got ${describe(value)}`);
  }
  return value as number;
}

/**
 * A {@linkcode Backplane} on Redis Streams (Redis 7.0 or later, or Valkey): hubs on any number of
 * instances share events, ids and replay through one Redis server.
 *
 * - **Publishing** runs one script: it takes the next id from the prefix's clock, `XADD`s the
 *   event to the topic's stream `<prefix><topic>` under that id, and trims the stream to
 *   `maxEvents` and `maxAge`. It resolves with the id once Redis has stored the event, and
 *   rejects with a {@linkcode RedisBackplaneError} if it cannot (`"Cannot publish: Redis is
 *   unreachable: …"`), never dropping an event silently. Publisher ids are refused (a
 *   `TypeError`): the backplane assigns every id.
 * - **Ids** are Redis stream ids, `<ms>-<seq>`, and one clock issues them for all topics of the
 *   prefix: the server's time in milliseconds, with a sequence for events in the same
 *   millisecond. They are unique and increase across topics in the order Redis stored the
 *   events, so an id from any topic marks one point for a replay of several, and the same event
 *   has the same id on every instance. (Per-stream `*` ids would repeat across topics — two
 *   topics' first events in a millisecond are both `<ms>-0` — and would not order events of
 *   different topics by when they were stored.)
 * - **Delivery.** Each instance reads all its topics with one blocking `XREAD` on one connection
 *   (a `duplicate()` of the client), from the id of the last entry it delivered per topic, and
 *   hands the entries of each read to the listeners in id order across topics, each once. A
 *   topic added while the read blocks is picked up at once: the read is interrupted with
 *   `CLIENT UNBLOCK`. The `ready` of a new topic resolves once the reader has taken the clock's
 *   current id as the topic's start, after its previous read: every entry published after that
 *   is delivered, after every entry already delivered.
 * - **History** runs one script: for each topic, the stream's entries after the id
 *   (`XRANGE (id +`), merged in id order. It is `gone` when the id was not issued by the clock
 *   (malformed, later than the last id, or older than the clock's first id: Redis lost its data
 *   since), when an entry after it was trimmed or has expired, or when a topic's stream expired
 *   while the id is older than the stream's time to live; `lastId` is then the newest retained
 *   id of the topics. A client whose own last event was trimmed, with nothing after it, resumes
 *   without a reset. History is read on the main connection, which may be ahead of the reader:
 *   for the topics this instance reads, the answer waits (at most `blockTimeout`) until the
 *   reader has delivered its newest entry, so that a hub, which holds live entries back during a
 *   replay and skips those the replay contains, never sends one twice.
 * - **Faults.** While Redis is unreachable, publishes and history reads reject, subscribers
 *   stay connected (the hub keeps sending keep-alives), and the reader waits: the client
 *   reconnects with its `retryStrategy` (ioredis: exponential backoff to 5 s), the reader retries
 *   its own commands with backoff (50 ms doubling to 5 s, with jitter), and it then reads on
 *   from the last id it delivered per topic, so the events stored meanwhile arrive, none twice.
 *   Events trimmed before this instance could read them (an outage longer than `maxAge`, or more
 *   than `maxEvents` events behind) are reported to `onError` as lost, as is Redis losing its
 *   data.
 *
 * Recommended ioredis settings for the client: `enableOfflineQueue: false` (a publish fails at
 * once while Redis is unreachable, instead of waiting in memory; wait for the client's `ready`
 * event before publishing at start-up), `autoResendUnfulfilledCommands: false` with a
 * `commandTimeout` (a publish under way when the connection breaks rejects rather than being
 * sent twice after the reconnect), and no `keyPrefix` (use `prefix`). The reader's duplicate
 * overrides these with what a blocking read needs. Commands sent (for ACLs): `EVALSHA` and `EVAL`
 * (scripts calling `TIME`, `XADD`, `XTRIM`, `XSETID`, `XLEN`, `XRANGE`, `XREVRANGE`,
 * `XINFO STREAM`, `EXISTS`, `HGET`, `HMGET`, `HSET`, `HSETNX`, `PEXPIRE`), `XREAD`, `CLIENT ID`
 * and `CLIENT UNBLOCK`.
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
  readonly #redis: RedisClientLike;
  readonly #prefix: string;
  readonly #maxEvents: number;
  readonly #maxAge: number;
  readonly #ttl: number;
  readonly #slack: number;
  readonly #blockTimeout: number;
  readonly #batchSize: number;
  readonly #onError: (error: unknown) => void;
  readonly #call: Call;
  readonly #topics = new Map<string, TopicState>();
  /** Topics waiting for the reader to give them a start id. */
  readonly #pending = new Set<TopicState>();
  #reader: RedisClientLike | undefined;
  #loop: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** The clock's first id when the reader first saw it: a change means Redis lost its data. */
  #epoch: string | undefined;
  /** Whether the next turn of the loop checks that nothing was trimmed past the reader. */
  #checkLosses = false;
  /** The reader's connection id, for CLIENT UNBLOCK; undefined while unknown. */
  #readerId: number | undefined;
  #readerIdRequest: Promise<void> | undefined;
  /** Counts reads; the one in flight, if any, is `#reading`. */
  #generation = 0;
  #reading = 0;
  /** Fails the reader's commands in flight when its connection closes (ioredis drops them). */
  readonly #inflight = new Set<(error: unknown) => void>();
  #interrupting = false;
  #unblockDenied = false;
  /** Wakes the loop when it waits: for topics, or out of a backoff. */
  #wake: (() => void) | undefined;
  /** An outage is under way and was reported. */
  #failing = false;

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
      throw new TypeError(`${what}: "redis" must be a Redis client with call(), duplicate() and on(), such as ioredis, got ${describe(redis)}`);
    }
    if (redis.options?.keyPrefix) {
      throw new TypeError(`${what}: the Redis client has the keyPrefix ${JSON.stringify(redis.options.keyPrefix)}; give it to the backplane's "prefix" option instead`);
    }
    const prefix = options.prefix ?? "sse:";
    if (typeof prefix !== "string" || prefix === "") {
      throw new TypeError(`${what}: "prefix" must be a non-empty string, got ${describe(prefix)}`);
    }
    const maxAge = options.maxAge ?? 300_000;
    if (typeof maxAge !== "number" || !(maxAge >= 1) || (maxAge !== Infinity && !Number.isSafeInteger(maxAge))) {
      throw new RangeError(`${what}: "maxAge" must be a positive integer number of milliseconds or Infinity, got ${describe(maxAge)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`${what}: "onError" must be a function, got ${describe(options.onError)}`);
    }
    this.#redis = redis;
    this.#call = (command, ...args) => redis.call(command, ...args);
    this.#prefix = prefix;
    this.#maxEvents = checkPositiveInteger(options.maxEvents ?? 1000, "maxEvents");
    this.#maxAge = maxAge;
    this.#ttl = maxAge === Infinity ? -1 : 2 * maxAge;
    // Trimming removes entries in batches of up to 1/16 of the bound (at most 64), which spares
    // most publishes the extra work and costs at most that much memory.
    this.#slack = Math.min(Math.floor(this.#maxEvents / 16), 64);
    this.#blockTimeout = checkPositiveInteger(options.blockTimeout ?? 5_000, "blockTimeout");
    this.#batchSize = checkPositiveInteger(options.batchSize ?? 512, "batchSize");
    this.#onError = options.onError ?? ((error: unknown) => logError("Redis backplane error", error));
  }

  /**
   * Stores the event in the topic's stream, trimmed to the bounds, and resolves with its id once
   * Redis has stored it; every instance's subscribers then receive it. Rejects with a
   * {@linkcode RedisBackplaneError} when Redis cannot store it; throws a `TypeError` for a
   * publisher id, an invalid topic or event, or a closed backplane.
   */
  publish(topic: string, event: BackplaneEvent): Promise<string> {
    if (this.#closed) throw new TypeError("Cannot publish: the backplane is closed");
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`Cannot publish: "topic" must be a non-empty string, got ${describe(topic)}`);
    }
    if (event === null || typeof event !== "object") {
      throw new TypeError(`Cannot publish: expected an event object, got ${describe(event)}`);
    }
    if (event.id !== undefined) {
      throw new TypeError(
        `Cannot publish: the Redis backplane assigns the ids, so the event must have none, got "id" ${describe(event.id)}`,
      );
    }
    const fields = encodeFields(event);
    const args = [this.#maxEvents, this.#maxAge === Infinity ? -1 : this.#maxAge, this.#ttl, this.#slack, ...fields];
    return this.#eval(this.#call, PUBLISH, [this.#prefix, this.#key(topic)], args).then(String, (error: unknown) => {
      throw redisError("Cannot publish", error);
    });
  }

  /**
   * Starts delivering the topic's new entries to `listener`. For a topic this instance does not
   * read yet, `ready` resolves once the reader has taken it up (see the class); for one it reads,
   * delivery is live at once and there is no `ready`.
   */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    if (this.#closed) throw new TypeError("Cannot subscribe: the backplane is closed");
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`Cannot subscribe: "topic" must be a non-empty string, got ${describe(topic)}`);
    }
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot subscribe: "listener" must be a function, got ${describe(listener)}`);
    }
    let state = this.#topics.get(topic);
    if (state === undefined) {
      state = new TopicState(topic, this.#key(topic));
      this.#topics.set(topic, state);
      this.#pending.add(state);
      this.#start();
      this.#interrupt();
    }
    const registration: Registration = { listener };
    state.registrations.add(registration);
    const current = state;
    let active = true;
    return {
      ready: current.position === undefined ? current.ready : undefined,
      unsubscribe: () => {
        if (!active) return;
        active = false;
        current.registrations.delete(registration);
        if (current.registrations.size > 0) return;
        if (this.#topics.get(topic) === current) this.#topics.delete(topic);
        this.#pending.delete(current);
        current.resolveReady();
        current.release(true);
      },
    };
  }

  /**
   * The retained entries of `topics` after `afterId`, in id order, or `gone` with the newest
   * retained id (see the class). Rejects with a {@linkcode RedisBackplaneError} when Redis cannot
   * answer.
   */
  history(topics: readonly string[], afterId: string): Promise<BackplaneHistory> {
    if (this.#closed) throw new TypeError("Cannot read history: the backplane is closed");
    if (!Array.isArray(topics)) throw new TypeError(`Cannot read history: "topics" must be an array, got ${describe(topics)}`);
    if (typeof afterId !== "string") throw new TypeError(`Cannot read history: "afterId" must be a string, got ${describe(afterId)}`);
    const keys = [this.#prefix, ...topics.map((topic) => this.#key(topic))];
    const args = [afterId, this.#maxAge === Infinity ? -1 : this.#maxAge, this.#ttl];
    return this.#eval(this.#call, HISTORY, keys, args).then(
      (reply) => {
        const result = reply as unknown[];
        if (result[0] !== "ok") {
          const lastId = typeof result[1] === "string" && result[1] !== "" ? result[1] : undefined;
          return lastId === undefined ? { gone: true } : { gone: true, lastId };
        }
        const lists: RedisEntry[][] = [];
        const delivered: Promise<void>[] = [];
        for (let i = 0; i < topics.length; i++) {
          const topic = topics[i]!;
          const list = entriesOf(result[i + 2]).map(([id, fields]) => new RedisEntry(topic, id, decodeFields(fields)));
          if (list.length === 0) continue;
          lists.push(list);
          const waiting = this.#delivered(topic, list[list.length - 1]!.id);
          if (waiting !== undefined) delivered.push(waiting);
        }
        let entries: RedisEntry[];
        if (lists.length <= 1) {
          entries = lists[0] ?? [];
        } else {
          const keyed = lists.flat().map((entry) => ({ entry, parsed: parseId(entry.id) ?? ([0, 0] as const) }));
          keyed.sort((a, b) => compareIds(a.parsed, b.parsed));
          entries = keyed.map((item) => item.entry);
        }
        const history: BackplaneHistory = { gone: false, entries };
        return delivered.length === 0 ? history : Promise.all(delivered).then(() => history);
      },
      (error: unknown) => {
        throw redisError("Cannot read history", error);
      },
    );
  }

  /**
   * Resolves once this instance's reader has delivered `id` of `topic` (or gone past it) to the
   * listeners, when it reads the topic and has not yet. History is read on the main connection
   * and may be ahead of the reader: answering only then means every entry of the history that is
   * also delivered live reaches a hub before the history, while the hub still holds live entries
   * back and skips those it replays, so none arrives twice. It waits at most `blockTimeout`
   * (the reader may be cut off from Redis meanwhile, or the entry lost), then answers anyway.
   */
  #delivered(topic: string, id: string): Promise<void> | undefined {
    const state = this.#topics.get(topic);
    const parsed = parseId(id);
    if (state === undefined || state.parsed === undefined || parsed === undefined) return undefined;
    if (compareIds(parsed, state.parsed) <= 0) return undefined;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.#blockTimeout);
      state.waiters.push({
        id: parsed,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /**
   * Stops the reader and closes its connection (not the client given as `redis`); later calls
   * throw. Resolves once the reader has stopped. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    for (const state of this.#topics.values()) {
      state.resolveReady();
      state.release(true);
    }
    this.#topics.clear();
    this.#pending.clear();
    this.#wake?.();
    this.#reader?.disconnect();
    this.#closing = (this.#loop ?? Promise.resolve()).then(noop);
    return this.#closing;
  }

  #key(topic: string): string {
    return this.#prefix + topic;
  }

  async #eval(call: Call, script: Script, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const sha = script.sha ?? (await script.digest());
    try {
      return await call("EVALSHA", sha, keys.length, ...keys, ...args);
    } catch (error) {
      // Redis forgets scripts when it restarts; EVAL sends the source and caches it again.
      if (!isNoScript(error)) throw error;
      return await call("EVAL", script.source, keys.length, ...keys, ...args);
    }
  }

  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // onError must not stop the reader.
    }
  }

  // -------------------------------------------------------------------------------------------
  // The reader

  /** Creates the reading connection and starts the loop, on the first subscription. */
  #start(): void {
    if (this.#loop !== undefined) return;
    const reader = this.#redis.duplicate({
      enableOfflineQueue: true,
      maxRetriesPerRequest: null,
      // ioredis would resend the read that was blocked when the connection broke before any
      // other command, leaving the new connection's id (for CLIENT UNBLOCK) unknown until that
      // read returns. Instead, what is in flight fails on "close", and the loop sends it again.
      autoResendUnfulfilledCommands: false,
      commandTimeout: undefined,
      lazyConnect: false,
    });
    this.#reader = reader;
    reader.on("error", (error: unknown) => {
      if (!this.#closed) this.#fail(redisError("Cannot read events", error));
    });
    reader.on("close", () => {
      this.#readerId = undefined;
      this.#readerIdRequest = undefined;
      if (!this.#closed) this.#checkLosses = true;
      const lost = [...this.#inflight];
      this.#inflight.clear();
      for (const reject of lost) reject(new Error("Connection is closed"));
    });
    this.#loop = this.#run(reader);
  }

  /** Reports the first error of an outage; the next successful read ends the outage. */
  #fail(error: unknown): void {
    if (this.#failing) return;
    this.#failing = true;
    this.#report(error);
  }

  async #run(reader: RedisClientLike): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      try {
        // A topic added while a check is under way gets its start id from the next one.
        while (!this.#closed && (this.#pending.size > 0 || this.#checkLosses)) await this.#check(reader);
        if (this.#closed) break;
        const active = [...this.#topics.values()].filter((state) => state.position !== undefined);
        if (active.length === 0) {
          await this.#sleep(undefined);
          continue;
        }
        const reply = await this.#read(reader, active);
        failures = 0;
        this.#failing = false;
        this.#dispatch(active, reply);
      } catch (error) {
        if (this.#closed) break;
        this.#fail(redisError("Cannot read events", error));
        // While the connection is down, the next command waits in its offline queue for the
        // client's reconnection; this backoff paces the errors Redis itself answers with.
        await this.#sleep(backoff(++failures));
      }
    }
  }

  /** A command on the reader's connection, failed if the connection closes before its reply. */
  #readerCall(reader: RedisClientLike, command: string, ...args: (string | number)[]): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.#inflight.add(reject);
      reader.call(command, ...args).then(
        (reply) => {
          this.#inflight.delete(reject);
          resolve(reply);
        },
        (error: unknown) => {
          this.#inflight.delete(reject);
          reject(error);
        },
      );
    });
  }

  /** Waits `ms` milliseconds, or (without `ms`) until woken; close() wakes it too. */
  #sleep(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        if (this.#wake === wake) this.#wake = undefined;
        resolve();
      };
      this.#wake = wake;
      if (ms !== undefined) timer = setTimeout(wake, ms);
    });
  }

  /**
   * Gives the pending topics their start id: the clock's last id, read on the reader's connection
   * after its previous read returned, so it is not older than anything delivered. When asked,
   * also checks that no stream was trimmed past this instance's position, and that Redis still
   * has its data (the clock's first id is unchanged).
   */
  async #check(reader: RedisClientLike): Promise<void> {
    const pending = [...this.#pending];
    const checkLosses = this.#checkLosses;
    this.#checkLosses = false;
    const checked = checkLosses ? [...this.#topics.values()].filter((state) => state.position !== undefined) : [];
    const keys = [this.#prefix, ...checked.map((state) => state.key)];
    const call = (command: string, ...args: (string | number)[]) => this.#readerCall(reader, command, ...args);
    let reply: unknown[];
    try {
      reply = (await this.#eval(call, CHECK, keys, checked.map((state) => state.position!))) as unknown[];
    } catch (error) {
      this.#checkLosses ||= checkLosses;
      throw error;
    }
    const epoch = typeof reply[0] === "string" && reply[0] !== "" ? reply[0] : undefined;
    const last = typeof reply[1] === "string" && reply[1] !== "" ? reply[1] : "0-0";
    if (epoch !== undefined) {
      if (this.#epoch !== undefined && epoch !== this.#epoch) {
        this.#report(
          new RedisBackplaneError(
            `Events were lost: Redis lost its data (its id clock restarted at "${epoch}", it was "${this.#epoch}"), so events published before may never reach this instance`,
            { kind: "lost" },
          ),
        );
      }
      this.#epoch = epoch;
    }
    for (const [i, state] of checked.entries()) {
      if (Number(reply[i + 2]) !== 1 || this.#topics.get(state.topic) !== state) continue;
      this.#report(
        new RedisBackplaneError(
          `Events were lost: topic ${JSON.stringify(state.topic)} was trimmed past "${state.position}" before this instance could read it; raise "maxEvents" or "maxAge"`,
          { kind: "lost" },
        ),
      );
    }
    const parsed = parseId(last) ?? [0, 0];
    for (const state of pending) {
      if (!this.#pending.delete(state)) continue;
      state.position = last;
      state.parsed = parsed;
      state.resolveReady();
    }
  }

  /** One blocking XREAD of the active topics, from the last id delivered in each. */
  async #read(reader: RedisClientLike, active: readonly TopicState[]): Promise<unknown> {
    if (this.#readerId === undefined && this.#readerIdRequest === undefined) {
      // Sent before the XREAD on the same connection, so it is answered before the read blocks.
      const request: Promise<void> = this.#readerCall(reader, "CLIENT", "ID").then(
        (id) => {
          if (this.#readerIdRequest === request) this.#readerId = Number(id);
        },
        noop,
      );
      this.#readerIdRequest = request;
    }
    const args: (string | number)[] = ["COUNT", this.#batchSize, "BLOCK", this.#blockTimeout, "STREAMS"];
    for (const state of active) args.push(state.key);
    for (const state of active) args.push(state.position!);
    const generation = ++this.#generation;
    this.#reading = generation;
    try {
      return await this.#readerCall(reader, "XREAD", ...args);
    } finally {
      if (this.#reading === generation) this.#reading = 0;
    }
  }

  /**
   * Delivers the entries of one read, in id order across topics, each once. When a topic's list
   * was cut by COUNT, nothing after its last entry is delivered from this read (it is read again),
   * so that no entry is ever delivered after a later one.
   */
  #dispatch(active: readonly TopicState[], reply: unknown): void {
    const byKey = new Map<string, TopicState>();
    for (const state of active) byKey.set(state.key, state);
    const items: Pending[] = [];
    let cut: ParsedId | undefined;
    let streams = 0;
    for (const [key, list] of streamsOf(reply)) {
      const state = byKey.get(key);
      if (state === undefined) continue;
      const entries = entriesOf(list);
      if (entries.length === 0) continue;
      streams++;
      let lastParsed: ParsedId | undefined;
      for (const [id, fields] of entries) {
        const parsed = parseId(id);
        if (parsed === undefined) continue;
        lastParsed = parsed;
        items.push({ state, id, parsed, fields });
      }
      if (entries.length >= this.#batchSize && lastParsed !== undefined) {
        if (cut === undefined || compareIds(lastParsed, cut) < 0) cut = lastParsed;
        // A full batch: this instance is behind; make sure nothing was trimmed before it read it.
        this.#checkLosses = true;
      }
    }
    if (streams > 1) items.sort((a, b) => compareIds(a.parsed, b.parsed));
    const advanced = new Set<TopicState>();
    for (const item of items) {
      if (cut !== undefined && compareIds(item.parsed, cut) > 0) break;
      const { state } = item;
      // Skip topics dropped meanwhile, and what was already delivered.
      if (this.#topics.get(state.topic) !== state || state.parsed === undefined) continue;
      if (compareIds(item.parsed, state.parsed) <= 0) continue;
      state.position = item.id;
      state.parsed = item.parsed;
      advanced.add(state);
      const entry = new RedisEntry(state.topic, item.id, decodeFields(item.fields));
      for (const registration of state.registrations) {
        try {
          registration.listener(entry);
        } catch (error) {
          // One failing listener must not keep the entry from the others; surface it as an
          // uncaught error, as an EventTarget does.
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    }
    for (const state of advanced) state.release(false);
  }

  /**
   * Gets a new topic taken up at once: wakes the idle loop, or interrupts the read in flight with
   * CLIENT UNBLOCK from the main connection. The unblock misses when the read has not reached
   * Redis yet, or the connection's id is not known yet; it is tried again, with backoff (1 ms
   * doubling to 1 s), while that read is in flight.
   */
  #interrupt(): void {
    if (this.#reading === 0) {
      this.#wake?.();
      return;
    }
    if (this.#interrupting || this.#unblockDenied) return;
    this.#interrupting = true;
    const generation = this.#reading;
    void (async () => {
      try {
        for (let attempt = 0; this.#reading === generation && !this.#closed; attempt++) {
          const id = this.#readerId;
          if (id !== undefined) {
            let unblocked: unknown;
            try {
              // Bounded: a client that drops commands on a broken connection never answers.
              unblocked = await withTimeout(this.#redis.call("CLIENT", "UNBLOCK", id), 1_000);
            } catch (error) {
              if (/NOPERM|unknown (command|subcommand)/i.test(messageOf(error))) {
                this.#unblockDenied = true;
                this.#report(
                  redisError(`Cannot interrupt the reader, so new topics wait up to "blockTimeout" (${this.#blockTimeout} ms)`, error),
                );
                return;
              }
            }
            if (Number(unblocked) === 1) return;
          }
          await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 1_000)));
        }
      } finally {
        this.#interrupting = false;
      }
    })();
  }
}
