/**
 * Cloudflare adapter: the hub in a Durable Object, so that every subscriber and publisher of a
 * topic meets in one place however many isolates serve the Worker.
 *
 * Why a Durable Object: a Worker's requests may run in different isolates, and even in one isolate
 * a response stream can only be written from the request that created it. Inside a Durable Object
 * the requests share the object, so one request's publish writes to every other request's stream.
 *
 * - {@linkcode SSEHubObject}: the Durable Object class. It hosts an {@linkcode SSEHub}; `GET`
 *   subscribes, `POST` publishes. Export it (or a subclass) from the Worker.
 * - {@linkcode DurableObjectBackplane}: the hub's backplane inside the object. The replay log lives
 *   in the object's storage, so a client that reconnects with `Last-Event-ID` gets what it missed
 *   even after the object was evicted and recreated.
 * - {@linkcode hubRouter} and {@linkcode publishTo}: the Worker side, which forwards subscriptions
 *   and publishes to the object named after the topic (or any name you choose).
 *
 * The Cloudflare types are declared here structurally (`…Like`), so the library does not depend on
 * `@cloudflare/workers-types`; the real objects fit them.
 *
 * @example A Worker with one hub object per topic
 * ```ts
 * import { type DurableObjectNamespaceLike, hubRouter, publishTo, SSEHubObject } from "@hertz/sse/cloudflare";
 *
 * interface Env {
 *   HUB: DurableObjectNamespaceLike;
 * }
 *
 * // wrangler.jsonc: "durable_objects": { "bindings": [{ "name": "HUB", "class_name": "Hub" }] }
 * export class Hub extends SSEHubObject<Env> {}
 *
 * export default {
 *   async fetch(request: Request, env: Env): Promise<Response> {
 *     const url = new URL(request.url);
 *     // Subscriptions only: a POST forwarded to the object would publish.
 *     if (url.pathname === "/events" && request.method === "GET") return hubRouter(env.HUB)(request); // ?topic=news
 *     if (url.pathname === "/news" && request.method === "POST") {
 *       // Authorise the publisher here.
 *       const id = await publishTo(env.HUB, "news", { event: "headline", data: await request.text() });
 *       return Response.json({ id });
 *     }
 *     return new Response("Not found", { status: 404 });
 *   },
 * };
 * ```
 *
 * @module
 */

import { describe } from "../../_internal/describe.ts";
import { textResponse } from "../../_internal/http.ts";
import { logError } from "../../_internal/log.ts";
import { type SSEEvent, validateEvent } from "../../core/event.ts";
import { checkReplayOptions, historyAfter, ReplayLog } from "../../hub/_replay-log.ts";
import {
  type Backplane,
  type BackplaneEntry,
  type BackplaneEvent,
  type BackplaneHistory,
  type BackplaneListener,
  type BackplaneSubscription,
  deliverEntry,
} from "../../hub/backplane.ts";
import { SSEHub, type SSEHubOptions } from "../../hub/hub.ts";

// ---------------------------------------------------------------------------------------------
// The Cloudflare types this adapter uses, declared structurally.

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

// ---------------------------------------------------------------------------------------------
// The backplane.

/**
 * Options for {@linkcode DurableObjectBackplane}: the bounds of each topic's replay log and where
 * in the object's storage it lives.
 *
 * @example Usage
 * ```ts
 * import type { DurableObjectBackplaneOptions } from "@hertz/sse/cloudflare";
 *
 * const options: DurableObjectBackplaneOptions = { maxEvents: 200, maxAge: 60_000, prefix: "events:" };
 * ```
 */
export interface DurableObjectBackplaneOptions {
  /**
   * How many events each topic keeps for replay, in storage and in memory. `0` keeps none: every
   * reconnecting client gets the reset event.
   *
   * @default {1000}
   */
  maxEvents?: number;
  /**
   * How long, in milliseconds, an event stays replayable; `Infinity` for no limit.
   *
   * @default {300000}
   */
  maxAge?: number;
  /**
   * The prefix of every storage key the backplane writes, so that the object's storage can hold
   * other data too. Keys are `<prefix>meta`, `<prefix>e:<sequence number>` (one per retained
   * event) and `<prefix>t:<topic>` (a topic's newest evicted event).
   *
   * @default {"hertz-sse:"}
   */
  prefix?: string;
  /**
   * Receives errors nobody awaits: a failed storage write made by a read (expired events are
   * deleted when noticed), a stored entry that cannot be read back.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
}

/** An entry as stored: everything but the sequence number, which is in the key. */
interface StoredEntry {
  topic: string;
  id: string;
  time: number;
  event: BackplaneEvent;
}

interface StoredMeta {
  epoch: number;
  seq: number;
}

interface StoredMarker {
  seq: number;
  id: string;
}

class ObjectEntry implements BackplaneEntry {
  frame: Uint8Array | undefined = undefined;
  constructor(
    readonly topic: string,
    readonly id: string,
    readonly event: BackplaneEvent,
    readonly seq: number,
    readonly time: number,
  ) {}
}

class Channel {
  readonly listeners = new Set<BackplaneListener>();
  readonly log: ReplayLog<ObjectEntry>;
  /** The newest entry evicted from the topic by a bound: persisted, unlike the log's own record. */
  evictedSeq = Number.NEGATIVE_INFINITY;
  evictedId: string | undefined = undefined;
  constructor(options: { maxEvents: number; maxAge: number }, onEvict: (entry: ObjectEntry) => void) {
    this.log = new ReplayLog<ObjectEntry>(options, onEvict);
  }
}

// Sequence numbers are written in fixed-width decimal, so that the storage's key order is the
// publication order and one `list()` reads the log back in sequence. 16 digits hold every safe
// integer.
const SEQ_WIDTH = 16;
// The storage API accepts at most 128 keys per put() or delete().
const BATCH = 128;
// Entries read per list() while loading, so that a large log is not read into one Map.
const PAGE = 512;
// How many topics each publish checks for expiry (as the in-memory backplane does).
const SWEEP_PER_PUBLISH = 2;

function isStoredEntry(value: unknown): value is StoredEntry {
  const entry = value as StoredEntry | null;
  return (
    entry !== null &&
    typeof entry === "object" &&
    typeof entry.topic === "string" &&
    typeof entry.id === "string" &&
    typeof entry.time === "number" &&
    entry.event !== null &&
    typeof entry.event === "object"
  );
}

/** The event without `undefined` fields and without its id, which the entry carries. */
function compact(event: BackplaneEvent): BackplaneEvent {
  const out: { -readonly [K in keyof BackplaneEvent]: BackplaneEvent[K] } = {};
  if (event.event !== undefined) out.event = event.event;
  if (event.data !== undefined) out.data = event.data;
  if (event.comment !== undefined) out.comment = event.comment;
  if (event.retry !== undefined) out.retry = event.retry;
  return out;
}

/**
 * A {@linkcode Backplane} for a hub inside a Durable Object: every subscriber of the object is in
 * it, so delivery is local and synchronous, as with the in-memory backplane; each topic's replay
 * log is written to the object's storage, so replay from `Last-Event-ID` still works after the
 * object was evicted and recreated (or the runtime restarted).
 *
 * - **Ids** are `<epoch>-<n>`: `<epoch>` is the time the object's log was first created, `<n>`
 *   counts publishes across all its topics from 1. Both are persisted, so ids keep increasing
 *   across evictions and are never reused. A publisher's own id is kept as given (it should be
 *   unique: replay starts after the newest event with that id).
 * - **History** is answered synchronously from memory: the retained events are also kept in the
 *   object's memory (bounded by the same limits) and read back from storage once, when the
 *   object starts. An id is `gone` when it is unknown, or when an event published after it was
 *   evicted from one of the topics asked for; each topic's newest evicted event is persisted too,
 *   so this holds across restarts.
 * - **Storage** holds at most `maxEvents` events per topic: each publish writes its event (and
 *   the counter) and deletes what the bounds evicted, in one batch each. Events older than
 *   `maxAge` are deleted when their topic is next written or read (and a few topics per publish).
 *   An event must fit in one storage value (128 KiB on the key-value backend, 2 MB on SQLite).
 * - **Loading.** Given a state with `blockConcurrencyWhile` (a real Durable Object's), it loads
 *   the log before the object receives any event. Otherwise `ready` tells when it has loaded, and
 *   calls made before wait for it.
 * - **Durability.** `publish()` resolves once the storage has accepted the write. Inside a Durable
 *   Object, the runtime holds outgoing data (responses, stream chunks) until the write is
 *   confirmed, and resets the object if it fails, so no client sees an event that is not stored.
 *
 * {@linkcode SSEHubObject} creates one for its hub; use it directly to host a hub in your own
 * Durable Object class.
 *
 * @example A hub in your own Durable Object
 * ```ts
 * import { DurableObjectBackplane, type DurableObjectStateLike } from "@hertz/sse/cloudflare";
 * import { SSEHub } from "@hertz/sse/hub";
 *
 * export class Prices {
 *   readonly #hub: SSEHub;
 *   constructor(state: DurableObjectStateLike) {
 *     this.#hub = new SSEHub({ backplane: new DurableObjectBackplane(state, { maxEvents: 100 }) });
 *   }
 *   async fetch(request: Request): Promise<Response> {
 *     if (request.method === "POST") {
 *       const id = await this.#hub.publish({ event: "price", data: await request.text() }, { topic: "prices" });
 *       return Response.json({ id });
 *     }
 *     return this.#hub.subscribe(request, { topics: ["prices"] });
 *   }
 * }
 * ```
 */
export class DurableObjectBackplane implements Backplane {
  /** Resolves once the log has been read from storage; rejects if that failed. */
  readonly ready: Promise<void>;
  readonly #storage: DurableObjectStorageLike;
  readonly #options: { maxEvents: number; maxAge: number };
  readonly #prefix: string;
  readonly #onError: (error: unknown) => void;
  readonly #channels = new Map<string, Channel>();
  // Every retained entry by id, across topics: what lets an id from any topic mark a point in the
  // single sequence.
  readonly #index = new Map<string, ObjectEntry>();
  // Writes not yet handed to the storage. A key is in at most one of the two.
  readonly #puts = new Map<string, unknown>();
  readonly #deletes = new Set<string>();
  readonly #flushError = (error: unknown): void => this.#onError(error);
  #epoch = 0;
  #seq = 0;
  #loaded = false;
  #closed = false;
  #sweep: Iterator<[string, Channel]> | undefined;

  /**
   * Creates the backplane of the Durable Object whose `state` is given, and starts reading its
   * log from storage.
   */
  constructor(state: DurableObjectStateLike, options: DurableObjectBackplaneOptions = {}) {
    if (state === null || typeof state !== "object" || state.storage === null || typeof state.storage !== "object") {
      throw new TypeError(
        `Cannot create DurableObjectBackplane: "state" must be a Durable Object state with storage, got ${describe(state)}`,
      );
    }
    this.#options = checkReplayOptions(options, "DurableObjectBackplane");
    const prefix = options.prefix ?? "hertz-sse:";
    if (typeof prefix !== "string") {
      throw new TypeError(`Cannot create DurableObjectBackplane: "prefix" must be a string, got ${describe(prefix)}`);
    }
    if (options.onError !== undefined && typeof options.onError !== "function") {
      throw new TypeError(`Cannot create DurableObjectBackplane: "onError" must be a function, got ${describe(options.onError)}`);
    }
    this.#prefix = prefix;
    this.#onError = options.onError ?? ((error: unknown) => logError("Durable Object backplane error", error));
    this.#storage = state.storage;
    const load = (): Promise<void> => this.#load();
    this.ready = typeof state.blockConcurrencyWhile === "function" ? state.blockConcurrencyWhile(load) : load();
    // Callers that never await `ready` must not see an unhandled rejection: the methods report it.
    this.ready.catch(() => {});
  }

  /**
   * Appends the event to the topic's log, delivers it synchronously to the topic's listeners, and
   * resolves with its id once the storage has accepted the write.
   */
  publish(topic: string, event: BackplaneEvent): Promise<string> {
    try {
      if (this.#closed) throw new TypeError("Cannot publish: the backplane is closed");
      if (typeof topic !== "string" || topic === "") {
        throw new TypeError(`Cannot publish: "topic" must be a non-empty string, got ${describe(topic)}`);
      }
      if (event === null || typeof event !== "object") {
        throw new TypeError(`Cannot publish: expected an event object, got ${describe(event)}`);
      }
      if (event.id !== undefined && (typeof event.id !== "string" || event.id === "")) {
        throw new TypeError(`Cannot publish: "id" must be a non-empty string, got ${describe(event.id)}`);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    if (!this.#loaded) return this.ready.then(() => this.publish(topic, event));
    const seq = ++this.#seq;
    const id = event.id ?? `${this.#epoch}-${seq}`;
    const stored = compact(event);
    const entry = new ObjectEntry(topic, id, stored, seq, Date.now());
    const channel = this.#channel(topic);
    const value: StoredEntry = { topic, id, time: entry.time, event: stored };
    this.#put(this.#entryKey(seq), value);
    this.#put(`${this.#prefix}meta`, { epoch: this.#epoch, seq } satisfies StoredMeta);
    this.#index.set(id, entry);
    channel.log.append(entry);
    deliverEntry(channel.listeners, entry);
    this.#sweepSome(entry.time);
    const written = this.#flush();
    return written === undefined ? Promise.resolve(id) : written.then(() => id);
  }

  /**
   * Starts delivering the topic's new entries to `listener`, synchronously. Until the log has
   * loaded, the subscription's `ready` is the backplane's.
   */
  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    if (this.#closed) throw new TypeError("Cannot subscribe: the backplane is closed");
    if (typeof topic !== "string" || topic === "") {
      throw new TypeError(`Cannot subscribe: "topic" must be a non-empty string, got ${describe(topic)}`);
    }
    if (typeof listener !== "function") {
      throw new TypeError(`Cannot subscribe: "listener" must be a function, got ${describe(listener)}`);
    }
    const channel = this.#channel(topic);
    channel.listeners.add(listener);
    let active = true;
    const unsubscribe = (): void => {
      if (!active) return;
      active = false;
      channel.listeners.delete(listener);
      if (channel.listeners.size === 0 && channel.log.size === 0 && this.#channels.get(topic) === channel) {
        this.#release(topic, channel);
        this.#flushQuietly();
      }
    };
    return this.#loaded ? { unsubscribe } : { ready: this.ready, unsubscribe };
  }

  /**
   * The retained entries of `topics` after `afterId`, in publication order, or `gone`:
   * synchronous once the log has loaded.
   */
  history(topics: readonly string[], afterId: string): BackplaneHistory | Promise<BackplaneHistory> {
    if (this.#closed) throw new TypeError("Cannot read history: the backplane is closed");
    if (!this.#loaded) return this.ready.then(() => this.history(topics, afterId));
    const now = Date.now();
    const channels: Channel[] = [];
    for (const topic of topics) {
      const channel = this.#channels.get(topic);
      if (channel === undefined) continue;
      channel.log.expire(now);
      channels.push(channel);
    }
    let after = this.#index.get(afterId);
    if (after !== undefined) {
      // The entry may belong to a topic not asked for, whose log has not been expired yet.
      this.#channels.get(after.topic)?.log.expire(now);
      after = this.#index.get(afterId);
    }
    this.#flushQuietly();
    let seq = after?.seq;
    if (seq === undefined) {
      // The client's last event may be the one just evicted, with nothing after it.
      for (const channel of channels) {
        if (channel.evictedId === afterId) seq = channel.evictedSeq;
      }
    }
    return historyAfter(channels, seq);
  }

  /**
   * Drops the in-memory log and every listener, and resolves once pending storage writes are
   * handed over; the stored log stays for the next instance. Later calls throw. Calling it again
   * does nothing.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#sweep = undefined;
    for (const channel of this.#channels.values()) {
      channel.listeners.clear();
      channel.log.clear();
    }
    this.#channels.clear();
    this.#index.clear();
    return this.#flush() ?? Promise.resolve();
  }

  #entryKey(seq: number): string {
    return `${this.#prefix}e:${String(seq).padStart(SEQ_WIDTH, "0")}`;
  }

  #markerKey(topic: string): string {
    return `${this.#prefix}t:${topic}`;
  }

  #channel(topic: string): Channel {
    let channel = this.#channels.get(topic);
    if (channel === undefined) {
      const created: Channel = new Channel(this.#options, (entry) => this.#evicted(created, entry));
      channel = created;
      this.#channels.set(topic, channel);
    }
    return channel;
  }

  /** A bound dropped `entry` from `channel`: forget it, delete it from storage, remember it as the newest evicted. */
  #evicted(channel: Channel, entry: ObjectEntry): void {
    if (this.#index.get(entry.id) === entry) this.#index.delete(entry.id);
    const key = this.#entryKey(entry.seq);
    // An entry evicted by the publish that wrote it (maxEvents 0) never reaches the storage.
    if (!this.#puts.delete(key)) this.#deletes.add(key);
    channel.evictedSeq = entry.seq;
    channel.evictedId = entry.id;
    this.#put(this.#markerKey(entry.topic), { seq: entry.seq, id: entry.id } satisfies StoredMarker);
  }

  /** Forgets a topic nobody follows and whose log is empty, with its stored marker. */
  #release(topic: string, channel: Channel): void {
    this.#channels.delete(topic);
    if (channel.evictedId === undefined) return;
    const key = this.#markerKey(topic);
    this.#puts.delete(key);
    this.#deletes.add(key);
  }

  #put(key: string, value: unknown): void {
    this.#deletes.delete(key);
    this.#puts.set(key, value);
  }

  /** Hands the pending writes to the storage, in batches it accepts; `undefined` if there were none. */
  #flush(): Promise<void> | undefined {
    if (this.#puts.size === 0 && this.#deletes.size === 0) return undefined;
    const writes: Promise<unknown>[] = [];
    const puts = [...this.#puts];
    const deletes = [...this.#deletes];
    this.#puts.clear();
    this.#deletes.clear();
    try {
      for (let i = 0; i < puts.length; i += BATCH) {
        writes.push(this.#storage.put(Object.fromEntries(puts.slice(i, i + BATCH))));
      }
      for (let i = 0; i < deletes.length; i += BATCH) {
        writes.push(this.#storage.delete(deletes.slice(i, i + BATCH)));
      }
    } catch (error) {
      writes.push(Promise.reject(error));
    }
    return Promise.all(writes).then(() => undefined);
  }

  /** Flushes writes that no caller waits for (deletions noticed by a read), reporting failures. */
  #flushQuietly(): void {
    this.#flush()?.catch(this.#flushError);
  }

  #sweepSome(now: number): void {
    for (let i = 0; i < SWEEP_PER_PUBLISH; i++) {
      this.#sweep ??= this.#channels.entries();
      const next = this.#sweep.next();
      if (next.done) {
        this.#sweep = undefined;
        return;
      }
      const [topic, channel] = next.value;
      channel.log.expire(now);
      if (channel.log.size === 0 && channel.listeners.size === 0) this.#release(topic, channel);
    }
  }

  /** Reads the counter, the topics' eviction markers and the retained entries back from storage. */
  async #load(): Promise<void> {
    const meta = (await this.#storage.get(`${this.#prefix}meta`)) as StoredMeta | undefined;
    let epoch = typeof meta?.epoch === "number" ? meta.epoch : 0;
    let seq = typeof meta?.seq === "number" ? meta.seq : 0;
    const markers = `${this.#prefix}t:`;
    for await (const [key, value] of this.#list(markers)) {
      const marker = value as StoredMarker | null;
      if (marker === null || typeof marker !== "object" || typeof marker.seq !== "number" || typeof marker.id !== "string") {
        this.#onError(new TypeError(`Cannot load the replay log: the value of ${JSON.stringify(key)} is not an eviction marker`));
        continue;
      }
      const channel = this.#channel(key.slice(markers.length));
      channel.evictedSeq = marker.seq;
      channel.evictedId = marker.id;
    }
    const entries = `${this.#prefix}e:`;
    for await (const [key, value] of this.#list(entries)) {
      const entrySeq = Number(key.slice(entries.length));
      if (!isStoredEntry(value) || !Number.isSafeInteger(entrySeq)) {
        this.#onError(new TypeError(`Cannot load the replay log: the value of ${JSON.stringify(key)} is not an event`));
        continue;
      }
      const entry = new ObjectEntry(value.topic, value.id, value.event, entrySeq, value.time);
      this.#index.set(entry.id, entry);
      // Appending enforces the bounds again, in case they were lowered since the entry was written.
      this.#channel(entry.topic).log.append(entry);
      if (entrySeq > seq) seq = entrySeq;
    }
    const now = Date.now();
    for (const [topic, channel] of this.#channels) {
      channel.log.expire(now);
      // A subscription made while loading keeps its topic.
      if (channel.log.size === 0 && channel.listeners.size === 0) this.#release(topic, channel);
    }
    if (epoch === 0) epoch = now;
    this.#epoch = epoch;
    this.#seq = seq;
    this.#loaded = true;
    await this.#flush();
  }

  /** Every stored entry under `prefix`, in key order, a page at a time. */
  async *#list(prefix: string): AsyncGenerator<[string, unknown]> {
    let start: string | undefined;
    while (true) {
      const page = await this.#storage.list(start === undefined ? { prefix, limit: PAGE } : { prefix, start, limit: PAGE });
      let last: string | undefined;
      for (const item of page) {
        last = item[0];
        yield item;
      }
      if (page.size < PAGE || last === undefined) return;
      // `start` is inclusive: the smallest key after `last` is `last` followed by U+0000.
      start = `${last}\u0000`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The Durable Object.

/**
 * Options for {@linkcode SSEHubObject}: the hub's and the replay log's.
 *
 * @example Usage
 * ```ts
 * import { type DurableObjectStateLike, SSEHubObject, type SSEHubObjectOptions } from "@hertz/sse/cloudflare";
 *
 * const options: SSEHubObjectOptions = {
 *   hub: { keepAlive: 20_000, retry: 3_000 },
 *   replay: { maxEvents: 200, maxAge: 60_000 },
 * };
 *
 * export class Hub extends SSEHubObject {
 *   constructor(state: DurableObjectStateLike, env: unknown) {
 *     super(state, env, options);
 *   }
 * }
 * ```
 */
export interface SSEHubObjectOptions {
  /**
   * The hub's options. Its backplane is the object's {@linkcode DurableObjectBackplane}
   * (configured with `replay`), and topics are named by the `topic` query parameter, as
   * {@linkcode hubRouter} and {@linkcode publishTo} expect.
   */
  hub?: Omit<SSEHubOptions, "backplane" | "replay" | "topicParam">;
  /**
   * The replay log: its bounds (`maxEvents`, `maxAge`), storage prefix and `onError` (by default
   * the hub's).
   */
  replay?: DurableObjectBackplaneOptions;
  /**
   * The largest publish body accepted, in bytes; a larger one gets a 413. The default is the
   * largest value the key-value storage backend accepts, which bounds an event anyway.
   *
   * @default {131072}
   */
  maxPublishBytes?: number;
}

const DEFAULT_MAX_PUBLISH_BYTES = 128 * 1024;

/** The body as text, or the 413 that refuses it; reads at most `max` bytes. */
async function readBody(request: Request, max: number): Promise<string | Response> {
  const tooLarge = (): Response => textResponse(413, `Cannot publish: the body is larger than ${max} bytes`);
  const length = request.headers.get("content-length");
  if (length !== null && Number(length) > max) return tooLarge();
  if (request.body === null) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      reader.cancel().catch(() => {});
      return tooLarge();
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

/**
 * A Durable Object that is an event hub: it hosts an {@linkcode SSEHub} whose replay log lives in
 * the object's storage ({@linkcode DurableObjectBackplane}). Every request it receives shares the
 * object, so an event published by one request reaches the streams of all the others.
 *
 * Its `fetch` speaks a small protocol, which {@linkcode hubRouter} and {@linkcode publishTo} use:
 *
 * - `GET ?topic=<topic>` (repeated for several) subscribes: the response is the event stream, with
 *   replay from `Last-Event-ID`, keep-alives while idle, and cleanup when the client goes away
 *   (the runtime cancels the body). See {@linkcode SSEHub.subscribe}.
 * - `POST ?topic=<topic>` with a JSON {@linkcode SSEEvent} body publishes and answers
 *   `{"id":"<id>"}`; an invalid event gets a 400 with the reason, a body over `maxPublishBytes`
 *   a 413. Without `topic`, the hub's default topic.
 * - Anything else gets a 405.
 *
 * Customise it by passing options from a subclass's constructor, or by overriding `fetch` (use
 * `this.hub`, and `super.fetch(request)` for the protocol above). Export the class from the
 * Worker, bind it in `wrangler.jsonc`, and declare it in a migration:
 *
 * ```jsonc
 * "durable_objects": { "bindings": [{ "name": "HUB", "class_name": "Hub" }] },
 * "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Hub"] }]
 * ```
 *
 * @example A hub object with its own topics and an admin route
 * ```ts
 * import { type DurableObjectStateLike, SSEHubObject } from "@hertz/sse/cloudflare";
 *
 * interface Env {
 *   ADMIN_TOKEN: string;
 * }
 *
 * export class Hub extends SSEHubObject<Env> {
 *   constructor(state: DurableObjectStateLike, env: Env) {
 *     super(state, env, { hub: { autoCreate: false, topics: ["news", "sport"] }, replay: { maxEvents: 500 } });
 *   }
 *
 *   override fetch(request: Request): Promise<Response> {
 *     if (new URL(request.url).pathname === "/stats") {
 *       return Promise.resolve(Response.json({ subscribers: this.hub.size }));
 *     }
 *     if (request.method === "POST" && request.headers.get("authorization") !== `Bearer ${this.env.ADMIN_TOKEN}`) {
 *       return Promise.resolve(new Response("Unauthorized", { status: 401 }));
 *     }
 *     return super.fetch(request);
 *   }
 * }
 * ```
 */
export class SSEHubObject<Env = unknown> {
  /** The object's state, as the runtime passed it. */
  readonly state: DurableObjectStateLike;
  /** The Worker's bindings, as the runtime passed them. */
  readonly env: Env;
  /** The hub's backplane: the replay log in the object's storage. */
  readonly backplane: DurableObjectBackplane;
  /** The hub every request of the object shares. */
  readonly hub: SSEHub;
  readonly #maxPublishBytes: number;

  /** Called by the runtime with the object's state and the Worker's bindings. */
  constructor(state: DurableObjectStateLike, env: Env, options: SSEHubObjectOptions = {}) {
    const maxPublishBytes = options.maxPublishBytes ?? DEFAULT_MAX_PUBLISH_BYTES;
    if (!Number.isSafeInteger(maxPublishBytes) || maxPublishBytes <= 0) {
      throw new RangeError(`Cannot create SSEHubObject: "maxPublishBytes" must be a positive integer, got ${describe(maxPublishBytes)}`);
    }
    this.state = state;
    this.env = env;
    this.#maxPublishBytes = maxPublishBytes;
    // The hub's error handler serves the backplane too, unless the replay options name their own.
    this.backplane = new DurableObjectBackplane(state, { onError: options.hub?.onError, ...options.replay });
    this.hub = new SSEHub({ ...options.hub, backplane: this.backplane, topicParam: "topic" });
  }

  /** Serves the object's protocol: `GET` subscribes, `POST` publishes, anything else gets a 405. */
  fetch(request: Request): Promise<Response> {
    if (request.method === "GET") {
      try {
        return Promise.resolve(this.hub.subscribe(request));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (request.method === "POST") return this.#publish(request);
    const refusal = textResponse(405, `Method ${request.method} is not allowed: GET subscribes, POST publishes`, {
      Allow: "GET, POST",
    });
    return Promise.resolve(refusal);
  }

  async #publish(request: Request): Promise<Response> {
    const topics = new URL(request.url).searchParams.getAll("topic");
    if (topics.length > 1) return textResponse(400, "Cannot publish: name one topic, got several");
    const body = await readBody(request, this.#maxPublishBytes);
    if (body instanceof Response) return body;
    let event: unknown;
    try {
      event = JSON.parse(body);
    } catch (error) {
      return textResponse(400, `Cannot publish: the body must be a JSON event object: ${(error as Error).message}`);
    }
    if (event === null || typeof event !== "object" || Array.isArray(event)) {
      return textResponse(400, `Cannot publish: the body must be a JSON event object, got ${describe(event)}`);
    }
    let id: string;
    try {
      id = await this.hub.publish(event as SSEEvent, { topic: topics[0] });
    } catch (error) {
      // An invalid event; anything else (a failed storage write) is the runtime's to report.
      if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
        return textResponse(400, error.message);
      }
      throw error;
    }
    return Response.json({ id });
  }
}

// ---------------------------------------------------------------------------------------------
// The Worker side.

/**
 * Options for {@linkcode hubRouter}.
 *
 * @example All topics in one object
 * ```ts
 * import { hubRouter, type HubRouterOptions } from "@hertz/sse/cloudflare";
 *
 * const options: HubRouterOptions = { objectName: () => "chat" };
 * ```
 */
export interface HubRouterOptions {
  /**
   * The name of the object that serves the request, or a `Response` to answer instead. Every
   * request for a topic must reach the same object: the one its events are published to.
   *
   * @default {the request's `topic` query parameter, or "default" without one; a subscription to several topics gets a 400}
   */
  objectName?: (request: Request) => string | Response;
}

function checkNamespace(namespace: unknown, what: string): asserts namespace is DurableObjectNamespaceLike {
  const candidate = namespace as DurableObjectNamespaceLike | null;
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    typeof candidate.idFromName !== "function" ||
    typeof candidate.get !== "function"
  ) {
    throw new TypeError(`${what}: "namespace" must be a Durable Object namespace binding, got ${describe(namespace)}`);
  }
}

/** One object per topic: the one named by the query, "default" without one. */
function objectPerTopic(request: Request): string | Response {
  const topics = request.url.includes("?") ? new URL(request.url).searchParams.getAll("topic") : [];
  if (topics.length === 0) return "default";
  if (topics.length > 1) {
    return textResponse(400, "Too many topics: each topic has its own hub, so a subscription names one");
  }
  if (topics[0] === "") return textResponse(400, "Invalid topic \"\": it must not be empty");
  return topics[0]!;
}

/**
 * Returns a fetch handler that forwards each request, unchanged, to the Durable Object that
 * serves it: by default the one named after the request's `topic` query parameter (one object per
 * topic), or the one `options.objectName` picks. The object ({@linkcode SSEHubObject}, or your
 * subclass) answers: `GET` subscribes, `POST` publishes. Disconnects reach the object: the
 * runtime cancels the forwarded response's body when the client goes away.
 *
 * Anyone who can reach the handler can publish with a `POST`: authorise first, or forward only
 * `GET` requests to it and publish from the Worker with {@linkcode publishTo}.
 *
 * @example One object per topic
 * ```ts
 * import { type DurableObjectNamespaceLike, hubRouter, SSEHubObject } from "@hertz/sse/cloudflare";
 *
 * export class Hub extends SSEHubObject {}
 *
 * export default {
 *   fetch(request: Request, env: { HUB: DurableObjectNamespaceLike }): Promise<Response> {
 *     if (request.method !== "GET") return Promise.resolve(new Response("Method not allowed", { status: 405 }));
 *     return hubRouter(env.HUB)(request); // GET /?topic=news
 *   },
 * };
 * ```
 *
 * @example Several topics per subscription, in one object
 * ```ts
 * import { type DurableObjectNamespaceLike, hubRouter } from "@hertz/sse/cloudflare";
 *
 * export default {
 *   fetch(request: Request, env: { HUB: DurableObjectNamespaceLike }): Promise<Response> {
 *     // GET /chat?topic=room&topic=user:ann: one object hosts the room and its users' topics.
 *     return hubRouter(env.HUB, { objectName: () => "chat" })(request);
 *   },
 * };
 * ```
 */
export function hubRouter(
  namespace: DurableObjectNamespaceLike,
  options: HubRouterOptions = {},
): (request: Request) => Promise<Response> {
  checkNamespace(namespace, "Cannot create the hub router");
  const objectName = options.objectName ?? objectPerTopic;
  if (typeof objectName !== "function") {
    throw new TypeError(`Cannot create the hub router: "objectName" must be a function, got ${describe(objectName)}`);
  }
  return (request) => {
    let name: string | Response;
    try {
      name = objectName(request);
      if (name instanceof Response) return Promise.resolve(name);
      if (typeof name !== "string" || name === "") {
        throw new TypeError(`Cannot route the request: "objectName" must return a non-empty string or a Response, got ${describe(name)}`);
      }
      return namespace.get(namespace.idFromName(name)).fetch(request);
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

/**
 * Options for {@linkcode publishTo}.
 *
 * @example Usage
 * ```ts
 * import type { PublishToOptions } from "@hertz/sse/cloudflare";
 *
 * const options: PublishToOptions = { objectName: "chat" };
 * ```
 */
export interface PublishToOptions {
  /**
   * The name of the object that hosts the topic: the name {@linkcode hubRouter} routes its
   * subscribers to.
   *
   * @default {the topic}
   */
  objectName?: string;
}

/**
 * Publishes an event to a topic of a hub object ({@linkcode SSEHubObject}) from anywhere in the
 * Worker, and resolves with its id once the object has stored and delivered it. The event is
 * validated here first (`TypeError`, `RangeError`); data that is not a string is serialised here
 * with `JSON.stringify` (a `SyntaxError` if it cannot be), exactly as {@linkcode SSEHub.publish}
 * does by default. Rejects with a `TypeError` when the object refuses the event (a 4xx, with its
 * reason) and an `Error` when it fails.
 *
 * @example Usage
 * ```ts
 * import { type DurableObjectNamespaceLike, publishTo } from "@hertz/sse/cloudflare";
 *
 * async function announce(env: { HUB: DurableObjectNamespaceLike }): Promise<string> {
 *   // Reaches the subscribers routed by hubRouter(env.HUB) with ?topic=news.
 *   return await publishTo(env.HUB, "news", { event: "headline", data: { title: "SSE on Workers" } });
 * }
 * ```
 *
 * @example A user's topic in a shared object
 * ```ts
 * import { type DurableObjectNamespaceLike, publishTo } from "@hertz/sse/cloudflare";
 *
 * async function notify(env: { HUB: DurableObjectNamespaceLike }, user: string, text: string): Promise<void> {
 *   await publishTo(env.HUB, `user:${user}`, { event: "direct", data: text }, { objectName: "chat" });
 * }
 * ```
 */
export async function publishTo(
  namespace: DurableObjectNamespaceLike,
  topic: string,
  event: SSEEvent,
  options: PublishToOptions = {},
): Promise<string> {
  checkNamespace(namespace, "Cannot publish");
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`Cannot publish: "topic" must be a non-empty string, got ${describe(topic)}`);
  }
  const name = options.objectName ?? topic;
  if (typeof name !== "string" || name === "") {
    throw new TypeError(`Cannot publish: "objectName" must be a non-empty string, got ${describe(name)}`);
  }
  validateEvent(event);
  let data: string | undefined;
  if (event.data !== undefined) {
    if (typeof event.data === "string") {
      data = event.data;
    } else {
      try {
        data = JSON.stringify(event.data);
      } catch (cause) {
        throw new SyntaxError(`Cannot serialise data: ${(cause as Error).message}`, { cause });
      }
      if (typeof data !== "string") {
        throw new SyntaxError(`Cannot serialise data: JSON.stringify returned nothing for ${typeof event.data}`);
      }
    }
  }
  const body = JSON.stringify({ event: event.event, data, id: event.id, retry: event.retry, comment: event.comment });
  // The host is never resolved: a stub delivers the request to its object.
  const request = new Request(`https://hub.invalid/?topic=${encodeURIComponent(topic)}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  const response = await namespace.get(namespace.idFromName(name)).fetch(request);
  if (response.ok) {
    const answer = (await response.json()) as { id?: unknown };
    if (typeof answer?.id !== "string") {
      throw new Error(`Cannot publish: the hub object answered without an id, got ${describe(answer?.id)}`);
    }
    return answer.id;
  }
  const reason = (await response.text()).trim();
  const message = `Cannot publish: the hub object answered ${response.status}: ${reason}`;
  throw response.status >= 400 && response.status < 500 ? new TypeError(message) : new Error(message);
}
