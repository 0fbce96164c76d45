/**
 * The hub: one event fanned out to many subscribers by topic, encoded once, with replay from
 * `Last-Event-ID`, a slow-consumer policy, and one shared keep-alive timer.
 *
 * @module
 */

import { concatChunks } from "../_internal/bytes.ts";
import { describe } from "../_internal/describe.ts";
import { textResponse } from "../_internal/http.ts";
import { isPromiseLike, logError } from "../_internal/log.ts";
import { encodeComment, encodeEvent, serializeData } from "../core/encoder.ts";
import { type EncodeOptions, type SSEEvent, validateEvent } from "../core/event.ts";
import { sseHeaders } from "../core/headers.ts";
import { getLastEventId } from "../core/last-event-id.ts";
import { HubSubscriber, type SubscriberHost } from "./_subscriber.ts";
import type { Backplane, BackplaneEntry, BackplaneEvent, BackplaneHistory, BackplaneSubscription } from "./backplane.ts";
import { MemoryBackplane, type MemoryBackplaneOptions } from "./memory-backplane.ts";

/**
 * What happens to a subscriber whose queue is full: `"disconnect"` ends its response (the client
 * reconnects with `Last-Event-ID` and replays what it missed, or gets the reset event);
 * `"drop-oldest"` drops the oldest queued event to make room (the client silently misses it).
 *
 * @example Usage
 * ```ts
 * import { SSEHub, type SlowConsumerPolicy } from "@hertz/sse/hub";
 *
 * const slowConsumer: SlowConsumerPolicy = "drop-oldest";
 * const hub = new SSEHub({ slowConsumer, maxQueued: 64 });
 * ```
 */
export type SlowConsumerPolicy = "disconnect" | "drop-oldest";

/**
 * Options for {@linkcode SSEHub}.
 *
 * @example Usage
 * ```ts
 * import { SSEHub, type SSEHubOptions } from "@hertz/sse/hub";
 *
 * const options: SSEHubOptions = {
 *   autoCreate: false,
 *   topics: ["prices", "news"],
 *   replay: { maxEvents: 500, maxAge: 60_000 },
 *   keepAlive: 20_000,
 * };
 * const hub = new SSEHub(options);
 * ```
 */
export interface SSEHubOptions extends EncodeOptions {
  /**
   * Where events come from and where their history lives. The hub does not close a backplane it
   * was given.
   *
   * @default {a new MemoryBackplane(replay)}
   */
  backplane?: Backplane;
  /**
   * The replay log bounds of the default in-memory backplane: `maxEvents` per topic (default
   * 1000) and `maxAge` in milliseconds (default 300000). With `backplane`, configure the
   * backplane instead.
   */
  replay?: MemoryBackplaneOptions;
  /**
   * Whether a subscription to an unknown topic creates it (the original's AutoStream); when
   * `false`, it gets a 404 unless the topic was declared with `topics` or `createTopic()`.
   *
   * @default {true}
   */
  autoCreate?: boolean;
  /** Topics that exist from the start, for `autoCreate: false`. */
  topics?: Iterable<string>;
  /**
   * The topic of a subscription that names none and of a publish without `topic`. Always exists.
   *
   * @default {"default"}
   */
  defaultTopic?: string;
  /**
   * The query parameter that names the topics of a subscription, repeated for several
   * (`?topic=a&topic=b`); `false` to ignore the query. At most 32 topics of at most 256
   * characters each are accepted from the query; anything else gets a 400.
   *
   * @default {"topic"}
   */
  topicParam?: string | false;
  /**
   * Milliseconds of silence after which a subscriber is sent a `: keep-alive` comment, which
   * keeps proxies and load balancers from closing the connection; `false` for none. A subscriber
   * that receives events gets none. One timer serves the whole hub, ticking four times per the
   * shorter of `keepAlive` and `drainTimeout`, so a comment goes out after `keepAlive` to
   * 1.25 × `keepAlive` of silence.
   *
   * @default {15000}
   */
  keepAlive?: number | false;
  /**
   * How many events may wait in one subscriber's queue for the client to read them. Events are
   * shared between subscribers, so a queue holds references, not copies. When the queue is full,
   * `slowConsumer` decides.
   *
   * @default {1024}
   */
  maxQueued?: number;
  /**
   * What happens to a subscriber whose queue is full.
   *
   * @default {"disconnect"}
   */
  slowConsumer?: SlowConsumerPolicy;
  /**
   * Milliseconds a subscriber's queue may stay non-empty without the client reading, after which
   * it is disconnected (catches frozen and half-open clients under either policy); `false` for
   * no deadline. It is enforced by the shared timer, between `drainTimeout` and 1.5 ×
   * `drainTimeout` after the client stopped reading.
   *
   * @default {30000}
   */
  drainTimeout?: number | false;
  /** A `retry:` value (milliseconds) sent first on every subscription. */
  retry?: number;
  /** Extra response headers for every subscription, merged under the event-stream ones. */
  headers?: HeadersInit;
  /**
   * The event type of the reset event: sent instead of a replay when a client's `Last-Event-ID`
   * is no longer (or was never) in the history. See {@linkcode SSEHub}.
   *
   * @default {"reset"}
   */
  resetEvent?: string;
  /**
   * How many publishes may wait for an asynchronous backplane (Redis) to acknowledge them. When
   * reached, `publish()` waits for a slot and `tryPublish()` returns `false`. The in-memory
   * backplane acknowledges at once, so it is never reached.
   *
   * @default {1024}
   */
  maxPendingPublishes?: number;
  /**
   * Runs before a subscription starts, with the request and its topics: to authorise, count or
   * log. Return (or resolve with) a `Response` to refuse the subscription with it, for example a
   * 401; throw to make `subscribe()` reject.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: `async () => {}` must fit, and it resolves to void
  onSubscribe?: (request: Request, topics: readonly string[]) => Response | void | Promise<Response | void>;
  /** Runs exactly once when a subscription ends, for whatever reason. */
  onUnsubscribe?: (request: Request, topics: readonly string[]) => void | Promise<void>;
  /**
   * Receives errors nobody awaits: a failing `onUnsubscribe`, a failed asynchronous publish from
   * `tryPublish()`, a backplane entry that cannot be encoded, a history read that failed.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
}

/**
 * Options for {@linkcode SSEHub.subscribe}.
 *
 * @example Usage
 * ```ts
 * import { SSEHub, type SubscribeOptions } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub();
 * const options: SubscribeOptions = { topics: ["prices", "news"] };
 * const response = await hub.subscribe(new Request("http://localhost/sse"), options);
 * ```
 */
export interface SubscribeOptions {
  /** The topics, instead of those named by the request's query. */
  topics?: string | readonly string[];
  /**
   * The last event id the client saw, instead of the request's `Last-Event-ID` header (for
   * example from a query parameter, with `getLastEventId(request, { query })`).
   */
  lastEventId?: string;
  /** Extra response headers for this subscription, merged over the hub's. */
  headers?: HeadersInit;
}

/**
 * Options for {@linkcode SSEHub.publish} and {@linkcode SSEHub.tryPublish}.
 *
 * @example Usage
 * ```ts
 * import { type PublishOptions, SSEHub } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub();
 * const options: PublishOptions = { topic: "prices" };
 * await hub.publish({ data: { symbol: "AAPL", price: 189.5 } }, options);
 * ```
 */
export interface PublishOptions {
  /**
   * The topic to publish to. It need not have subscribers: the backplane keeps the event for
   * replay either way.
   *
   * @default {the hub's defaultTopic}
   */
  topic?: string;
}

/**
 * Options for {@linkcode SSEHub.close}.
 *
 * @example Usage
 * ```ts
 * import { type CloseOptions, SSEHub } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub();
 * const options: CloseOptions = { retry: 5_000 };
 * await hub.close(options);
 * ```
 */
export interface CloseOptions {
  /** A `retry:` value (milliseconds) sent to every subscriber before its response ends. */
  retry?: number;
}

const MAX_QUERY_TOPICS = 32;
const MAX_QUERY_TOPIC_LENGTH = 256;
const ENCODER = new TextEncoder();
const KEEP_ALIVE = ENCODER.encode(encodeComment("keep-alive"));
const LINE_BREAK = /[\r\n]/;

class Topic {
  readonly subscribers = new Set<HubSubscriber>();
  subscription: BackplaneSubscription | undefined = undefined;
}

class Host implements SubscriberHost {
  ticks = 0;
  constructor(
    readonly maxQueued: number,
    readonly dropOldest: boolean,
    readonly release: (subscriber: HubSubscriber) => void,
  ) {}
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

function closedError(): TypeError {
  return new TypeError("Cannot publish: the hub is closed");
}

function checkPositive(value: unknown, name: string, integer: boolean): void {
  const ok = integer
    ? Number.isSafeInteger(value) && (value as number) > 0
    : typeof value === "number" && Number.isFinite(value) && value > 0;
  if (!ok) {
    throw new RangeError(
      `Cannot create SSEHub: "${name}" must be a positive ${integer ? "integer" : "number"}, got ${describe(value)}`,
    );
  }
}

function checkRetry(retry: unknown, what: string): void {
  if (!Number.isSafeInteger(retry) || (retry as number) < 0) {
    throw new RangeError(`${what}: "retry" must be a non-negative integer, got ${describe(retry)}`);
  }
}

function checkTopic(topic: unknown, what: string, name = "topic"): asserts topic is string {
  if (typeof topic !== "string" || topic === "") {
    throw new TypeError(`${what}: "${name}" must be a non-empty string, got ${describe(topic)}`);
  }
}

/**
 * A broadcast hub: clients subscribe to topics with a request and get an event-stream
 * `Response`; the server publishes events to a topic, and every subscriber of the topic receives
 * them. Built on web standards only, so it runs unchanged on Node, Deno, Bun and Workers.
 *
 * - **Topics.** A subscription names its topics with the `topic` query parameter, repeated for
 *   several (`/sse?topic=prices&topic=news`), or with {@linkcode SubscribeOptions.topics}; with
 *   neither, it gets the default topic. Unknown topics are created on demand, or refused with 404
 *   when `autoCreate` is `false`.
 * - **Encode once.** An event is validated and serialised once by `publish()`, encoded once into
 *   UTF-8 bytes when the backplane delivers it, and the same bytes go to every subscriber.
 * - **Ids.** The publisher's own `id`, or one the backplane assigns: with the default in-memory
 *   backplane, `<start>-<n>` with `<n>` increasing across all topics of the hub. Ids are what
 *   replay works by, so every published event has one.
 * - **Replay.** A client that reconnects with `Last-Event-ID` (or `lastEventId`) first receives
 *   every retained event of its topics published after that id, in publication order, then the
 *   live events, with no gap and no duplicate. For several topics the id marks a point in the
 *   hub's single sequence, so it may come from any of them.
 * - **Reset.** When the history cannot tell what followed the id (it was evicted by
 *   `maxEvents`, expired after `maxAge`, or never issued, for example before a restart), the
 *   client gets, instead of a replay, one event `event: reset` with
 *   `data: {"lastEventId":"<the id it sent>","topics":["<topic>",…]}` and, when the topics have
 *   any retained event, `id:` the newest one. Its meaning: refetch your state, then follow live.
 * - **Slow consumers.** Each subscriber has a queue of at most `maxQueued` events. A client that
 *   reads keeps it near empty; when it is full, `slowConsumer` decides; and a queue that has not
 *   drained for `drainTimeout` disconnects the subscriber. A stalled client never delays the
 *   others: `publish()` never waits for subscribers.
 * - **Publishing waits only for the backplane.** With the in-memory backplane, an event has been
 *   handed to every local subscriber when `publish()` returns, and the returned promise is already
 *   resolved. With an asynchronous backplane it resolves once the backplane has acknowledged the
 *   event; `maxPendingPublishes` bounds how many may be pending (see `tryPublish()`).
 * - **Cleanup.** A subscription ends, exactly once, when the body is cancelled, the request's
 *   signal aborts, the policy disconnects it, or the hub closes; it then leaves its topics and
 *   `onUnsubscribe` runs. One timer serves keep-alives and drain deadlines for the whole hub,
 *   and runs only while there are subscribers.
 *
 * @example Usage
 * ```ts
 * import { SSEHub } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub({ retry: 3_000 });
 *
 * Deno.serve(async (request) => {
 *   const url = new URL(request.url);
 *   if (url.pathname === "/sse") return hub.subscribe(request); // GET /sse?topic=chat
 *   if (url.pathname === "/say" && request.method === "POST") {
 *     const id = await hub.publish({ event: "message", data: await request.text() }, { topic: "chat" });
 *     return new Response(id);
 *   }
 *   return new Response("Not found", { status: 404 });
 * });
 * ```
 *
 * @example Authorising subscriptions
 * ```ts
 * import { SSEHub } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub({
 *   onSubscribe: (request) =>
 *     request.headers.get("authorization") === "Bearer secret"
 *       ? undefined
 *       : new Response("Unauthorized", { status: 401 }),
 * });
 * ```
 */
export class SSEHub {
  readonly #backplane: Backplane;
  readonly #ownsBackplane: boolean;
  readonly #topics = new Map<string, Topic>();
  readonly #subscribers = new Set<HubSubscriber>();
  readonly #declared = new Set<string>();
  readonly #host: Host;
  readonly #autoCreate: boolean;
  readonly #defaultTopic: string;
  readonly #topicParam: string | false;
  readonly #serialize: ((data: unknown) => string) | undefined;
  readonly #headersInit: HeadersInit | undefined;
  readonly #headers: HeadersInit;
  readonly #defaultTopics: readonly string[];
  readonly #resetEvent: string;
  readonly #maxPending: number;
  readonly #retryFrame: Uint8Array | undefined;
  readonly #keepAlive: Uint8Array | undefined;
  readonly #keepAliveTicks: number;
  readonly #drainTicks: number;
  readonly #period: number | undefined;
  readonly #onSubscribe: SSEHubOptions["onSubscribe"];
  readonly #onUnsubscribe: SSEHubOptions["onUnsubscribe"];
  readonly #onError: (error: unknown) => void;
  readonly #deliverEntry = (entry: BackplaneEntry): void => this.#deliver(entry);
  readonly #releaseSlotFn = (): void => this.#releaseSlot();
  #timer: ReturnType<typeof setInterval> | undefined;
  #inflight = 0;
  #waiters: Waiter[] = [];
  #closing: Promise<void> | undefined;

  /** Creates a hub; nothing runs until the first subscription. */
  constructor(options: SSEHubOptions = {}) {
    const what = "Cannot create SSEHub";
    const keepAlive = options.keepAlive ?? 15_000;
    if (keepAlive !== false) checkPositive(keepAlive, "keepAlive", false);
    const drainTimeout = options.drainTimeout ?? 30_000;
    if (drainTimeout !== false) checkPositive(drainTimeout, "drainTimeout", false);
    const maxQueued = options.maxQueued ?? 1024;
    checkPositive(maxQueued, "maxQueued", true);
    const maxPending = options.maxPendingPublishes ?? 1024;
    checkPositive(maxPending, "maxPendingPublishes", true);
    const slowConsumer = options.slowConsumer ?? "disconnect";
    if (slowConsumer !== "disconnect" && slowConsumer !== "drop-oldest") {
      throw new TypeError(`${what}: "slowConsumer" must be "disconnect" or "drop-oldest", got ${describe(slowConsumer)}`);
    }
    const defaultTopic = options.defaultTopic ?? "default";
    checkTopic(defaultTopic, what, "defaultTopic");
    const topicParam = options.topicParam ?? "topic";
    if (topicParam !== false && (typeof topicParam !== "string" || topicParam === "")) {
      throw new TypeError(`${what}: "topicParam" must be a non-empty string or false, got ${describe(topicParam)}`);
    }
    const resetEvent = options.resetEvent ?? "reset";
    if (typeof resetEvent !== "string" || resetEvent === "" || LINE_BREAK.test(resetEvent)) {
      throw new TypeError(`${what}: "resetEvent" must be a non-empty string without CR or LF, got ${describe(resetEvent)}`);
    }
    if (options.retry !== undefined) checkRetry(options.retry, what);
    if (options.serialize !== undefined && typeof options.serialize !== "function") {
      throw new TypeError(`${what}: "serialize" must be a function, got ${describe(options.serialize)}`);
    }
    for (const hook of ["onSubscribe", "onUnsubscribe", "onError"] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== "function") {
        throw new TypeError(`${what}: "${hook}" must be a function, got ${describe(options[hook])}`);
      }
    }
    if (options.backplane !== undefined && options.replay !== undefined) {
      throw new TypeError(`${what}: "replay" configures the default backplane; with "backplane", configure that one`);
    }
    this.#headersInit = options.headers;
    this.#headers = headerRecord(sseHeaders(options.headers));
    for (const topic of options.topics ?? []) {
      checkTopic(topic, what, "topics");
      this.#declared.add(topic);
    }
    this.#declared.add(defaultTopic);

    this.#ownsBackplane = options.backplane === undefined;
    this.#backplane = options.backplane ?? new MemoryBackplane(options.replay);
    this.#host = new Host(maxQueued, slowConsumer === "drop-oldest", (subscriber) => this.#release(subscriber));
    this.#autoCreate = options.autoCreate ?? true;
    this.#defaultTopic = defaultTopic;
    this.#defaultTopics = Object.freeze([defaultTopic]);
    this.#topicParam = topicParam;
    this.#serialize = options.serialize;
    this.#resetEvent = resetEvent;
    this.#maxPending = maxPending;
    this.#retryFrame = options.retry === undefined ? undefined : ENCODER.encode(encodeEvent({ retry: options.retry }));
    this.#onSubscribe = options.onSubscribe;
    this.#onUnsubscribe = options.onUnsubscribe;
    this.#onError = options.onError ?? ((error: unknown) => logError("hub error", error));

    // One timer for keep-alives and drain deadlines. It ticks four times per the shorter of the
    // two, which bounds how late either is enforced, at the cost of one pass over the
    // subscribers per tick (a few microseconds per thousand).
    const shortest = Math.min(keepAlive === false ? Infinity : keepAlive, drainTimeout === false ? Infinity : drainTimeout);
    this.#period = shortest === Infinity ? undefined : shortest / 4;
    this.#keepAlive = keepAlive === false ? undefined : KEEP_ALIVE;
    this.#keepAliveTicks = keepAlive === false || this.#period === undefined ? 0 : Math.max(1, Math.round(keepAlive / this.#period));
    this.#drainTicks = drainTimeout === false || this.#period === undefined ? 0 : Math.ceil(drainTimeout / this.#period);
  }

  /** How many subscriptions are open. */
  get size(): number {
    return this.#subscribers.size;
  }

  /**
   * How many subscriptions follow `topic`.
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub();
   * await hub.subscribe(new Request("http://localhost/sse?topic=news"));
   * console.log(hub.count("news")); // 1
   * ```
   */
  count(topic: string): number {
    return this.#topics.get(topic)?.subscribers.size ?? 0;
  }

  /** The topics that exist: declared ones (with `topics`, `createTopic()`, the default topic) and those with subscribers. */
  topics(): string[] {
    const names = new Set(this.#declared);
    for (const name of this.#topics.keys()) names.add(name);
    return [...names];
  }

  /**
   * Declares a topic, so that it can be subscribed to when `autoCreate` is `false`. Declaring an
   * existing topic does nothing.
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub({ autoCreate: false });
   * hub.createTopic("prices");
   * ```
   */
  createTopic(topic: string): void {
    checkTopic(topic, "Cannot create topic");
    this.#declared.add(topic);
  }

  /**
   * Removes a declared topic and gracefully ends every subscription that follows it (their
   * clients reconnect, and get a 404 when `autoCreate` is `false`). Returns whether the topic
   * existed. The default topic cannot be deleted.
   */
  deleteTopic(topic: string): boolean {
    checkTopic(topic, "Cannot delete topic");
    if (topic === this.#defaultTopic) {
      throw new TypeError(`Cannot delete topic: ${JSON.stringify(topic)} is the default topic`);
    }
    const declared = this.#declared.delete(topic);
    const active = this.#topics.get(topic);
    if (active !== undefined) {
      for (const subscriber of active.subscribers) subscriber.end();
    }
    return declared || active !== undefined;
  }

  /**
   * Subscribes the client that sent `request` and returns its event-stream `Response` (status
   * 200, the headers of `sseHeaders()` with the hub's and `options.headers` merged in). The topics
   * are `options.topics`, else the `topic` query parameters, else the default topic.
   *
   * The response is returned at once, or as a promise when `onSubscribe` returns one; a fetch
   * handler can return either. It is another response, and nothing is subscribed, when: a query
   * topic is invalid (400), a topic is unknown and `autoCreate` is `false` (404), `onSubscribe`
   * refuses (its response), or the hub is closed (503). Throws a `TypeError` for invalid
   * `options`, and what `onSubscribe` throws (or rejects with).
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub();
   * const response = await hub.subscribe(new Request("http://localhost/sse?topic=a&topic=b"));
   * console.log(response.headers.get("content-type")); // text/event-stream; charset=utf-8
   * ```
   */
  subscribe(request: Request, options: SubscribeOptions = {}): Response | Promise<Response> {
    if (this.#closing !== undefined) return textResponse(503, "The event hub is closed");
    const topics = this.#topicsOf(request, options);
    if (topics instanceof Response) return topics;
    let lastEventId = options.lastEventId;
    if (lastEventId !== undefined && typeof lastEventId !== "string") {
      throw new TypeError(`Cannot subscribe: "lastEventId" must be a string, got ${describe(lastEventId)}`);
    }
    lastEventId ??= getLastEventId(request);
    const headers = options.headers === undefined ? this.#headers : headerRecord(mergeHeaders(this.#headersInit, options.headers));
    if (this.#onSubscribe === undefined) return this.#open(request, topics, lastEventId, headers);
    const verdict = this.#onSubscribe(request, topics);
    if (!isPromiseLike(verdict)) return verdict ?? this.#open(request, topics, lastEventId, headers);
    return Promise.resolve(verdict).then((refusal) => {
      if (refusal != null) return refusal;
      // The hub may have closed, or a topic been deleted, while the hook ran.
      if (this.#closing !== undefined) return textResponse(503, "The event hub is closed");
      const unknown = this.#autoCreate ? undefined : topics.find((topic) => !this.#declared.has(topic));
      if (unknown !== undefined) return textResponse(404, `Unknown topic ${JSON.stringify(unknown)}`);
      return this.#open(request, topics, lastEventId, headers);
    });
  }

  #open(request: Request, topics: readonly string[], lastEventId: string | undefined, headers: HeadersInit): Response {
    const subscriber = new HubSubscriber(this.#host, request, topics);
    this.#subscribers.add(subscriber);
    if (this.#subscribers.size === 1) this.#startTimer();
    try {
      for (const name of topics) this.#join(name, subscriber);
    } catch (error) {
      subscriber.disconnect();
      throw error;
    }
    if (this.#retryFrame !== undefined) subscriber.push(this.#retryFrame);
    // An empty id is what a client that never received one would send, if it sent anything.
    if (lastEventId !== undefined && lastEventId !== "") this.#replay(subscriber, topics, lastEventId);
    subscriber.watch(request.signal);
    return new Response(subscriber.body(), { status: 200, headers });
  }

  /**
   * Publishes an event to a topic and resolves with its id: `event.id` if given (as a string),
   * otherwise one the backplane assigns. The event is validated and serialised here (`TypeError`,
   * `RangeError` or `SyntaxError` reject before anything is sent), then encoded once into bytes
   * shared by every subscriber. An empty `id` is refused: replay needs one.
   *
   * It never waits for subscribers. With the in-memory backplane every local subscriber has the
   * event when this returns; with an asynchronous one, the promise resolves once the backplane has
   * acknowledged it, and when `maxPendingPublishes` are pending, it first waits for a slot. Rejects
   * with a `TypeError` once the hub is closed.
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub();
   * const id = await hub.publish({ event: "price", data: { symbol: "AAPL", price: 189.5 } }, { topic: "prices" });
   * ```
   */
  publish(event: SSEEvent, options?: PublishOptions): Promise<string> {
    let topic: string;
    let message: BackplaneEvent;
    try {
      topic = this.#topicFor(options);
      message = this.#prepare(event);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing !== undefined) return Promise.reject(closedError());
    if (this.#inflight < this.#maxPending) {
      this.#inflight++;
      return this.#send(topic, message);
    }
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    }).then(() => this.#send(topic, message));
  }

  /**
   * Publishes like {@linkcode SSEHub.publish}, but never waits and returns whether the event was
   * accepted: `false` when the hub is closed, when `maxPendingPublishes` publishes are waiting for
   * an asynchronous backplane (the hub's only "full" state), or when the backplane refuses it at
   * once. An invalid event throws. A later failure of an asynchronous backplane goes to `onError`.
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub();
   * if (!hub.tryPublish({ data: "tick" }, { topic: "clock" })) console.warn("tick skipped");
   * ```
   */
  tryPublish(event: SSEEvent, options?: PublishOptions): boolean {
    const topic = this.#topicFor(options);
    const message = this.#prepare(event);
    if (this.#closing !== undefined || this.#inflight >= this.#maxPending) return false;
    this.#inflight++;
    let result: string | Promise<string>;
    try {
      result = this.#backplane.publish(topic, message);
    } catch {
      this.#releaseSlot();
      return false;
    }
    if (typeof result === "string") {
      this.#releaseSlot();
    } else {
      Promise.resolve(result).then(this.#releaseSlotFn, (error: unknown) => {
        this.#releaseSlot();
        this.#onError(error);
      });
    }
    return true;
  }

  /**
   * Ends every subscription gracefully (what is queued is still delivered), after sending
   * `retry:` when `options.retry` is given, so that clients know when to come back; stops the
   * timer, rejects publishes waiting for a slot, and closes the backplane if the hub created it.
   * Later subscriptions get a 503 and later publishes reject. Calling it again returns the same
   * promise.
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub();
   * await hub.close({ retry: 10_000 });
   * ```
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    let last: Uint8Array | undefined;
    if (options.retry !== undefined) {
      try {
        checkRetry(options.retry, "Cannot close the hub");
      } catch (error) {
        return Promise.reject(error);
      }
      last = ENCODER.encode(encodeEvent({ retry: options.retry }));
    }
    this.#closing = Promise.resolve();
    for (const subscriber of this.#subscribers) subscriber.end(last);
    this.#stopTimer();
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.reject(closedError());
    if (this.#ownsBackplane) this.#closing = this.#closing.then(() => this.#backplane.close());
    return this.#closing;
  }

  /** The subscription's topics, or the 400 or 404 response that refuses it. */
  #topicsOf(request: Request, options: SubscribeOptions): readonly string[] | Response {
    let topics: readonly string[];
    const given = options.topics;
    if (given !== undefined) {
      const list = typeof given === "string" ? [given] : given;
      if (!Array.isArray(list) || list.length === 0) {
        throw new TypeError(`Cannot subscribe: "topics" must be a topic or a non-empty array of topics, got ${describe(given)}`);
      }
      for (const topic of list) checkTopic(topic, "Cannot subscribe", "topics");
      topics = list.length === 1 ? [list[0]] : [...new Set(list)];
    } else if (this.#topicParam !== false && request.url.includes("?")) {
      const values = new URL(request.url).searchParams.getAll(this.#topicParam);
      if (values.length > MAX_QUERY_TOPICS) {
        return textResponse(400, `Too many topics: at most ${MAX_QUERY_TOPICS} are accepted`);
      }
      for (const value of values) {
        if (value === "" || value.length > MAX_QUERY_TOPIC_LENGTH) {
          const shown = JSON.stringify(value.slice(0, 64));
          return textResponse(400, `Invalid topic ${shown}: it must have 1 to ${MAX_QUERY_TOPIC_LENGTH} characters`);
        }
      }
      topics = values.length === 0 ? this.#defaultTopics : values.length === 1 ? values : [...new Set(values)];
    } else {
      topics = this.#defaultTopics;
    }
    if (!this.#autoCreate) {
      const unknown = topics.find((topic) => !this.#declared.has(topic));
      if (unknown !== undefined) return textResponse(404, `Unknown topic ${JSON.stringify(unknown)}`);
    }
    return topics;
  }

  #join(name: string, subscriber: HubSubscriber): void {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = new Topic();
      this.#topics.set(name, topic);
      topic.subscribers.add(subscriber);
      topic.subscription = this.#backplane.subscribe(name, this.#deliverEntry);
      return;
    }
    topic.subscribers.add(subscriber);
  }

  #release(subscriber: HubSubscriber): void {
    this.#subscribers.delete(subscriber);
    for (const name of subscriber.topics) {
      const topic = this.#topics.get(name);
      if (topic === undefined || !topic.subscribers.delete(subscriber)) continue;
      if (topic.subscribers.size === 0) {
        this.#topics.delete(name);
        topic.subscription?.unsubscribe();
      }
    }
    if (this.#subscribers.size === 0) this.#stopTimer();
    if (this.#onUnsubscribe !== undefined) {
      try {
        const result = this.#onUnsubscribe(subscriber.request, subscriber.topics);
        if (isPromiseLike(result)) result.then(undefined, this.#onError);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** The fan-out: one entry from the backplane, encoded once, to every subscriber of its topic. */
  #deliver(entry: BackplaneEntry): void {
    const topic = this.#topics.get(entry.topic);
    if (topic === undefined) return;
    let frame = entry.frame;
    if (frame === undefined) {
      try {
        frame = this.#encode(entry);
      } catch (error) {
        this.#onError(error);
        return;
      }
    }
    const id = entry.id;
    for (const subscriber of topic.subscribers) subscriber.push(frame, id);
  }

  #encode(entry: BackplaneEntry): Uint8Array {
    const { event } = entry;
    const frame = ENCODER.encode(
      encodeEvent({ comment: event.comment, event: event.event, data: event.data, id: entry.id, retry: event.retry }),
    );
    try {
      entry.frame = frame;
    } catch {
      // A frozen entry: it is encoded again next time.
    }
    return frame;
  }

  #replay(subscriber: HubSubscriber, topics: readonly string[], lastEventId: string): void {
    let ready: Promise<void>[] | undefined;
    for (const name of topics) {
      const promise = this.#topics.get(name)?.subscription?.ready;
      if (promise !== undefined) (ready ??= []).push(promise);
    }
    if (ready === undefined) {
      let history: BackplaneHistory | Promise<BackplaneHistory>;
      try {
        history = this.#backplane.history(topics, lastEventId);
      } catch (error) {
        this.#historyFailed(subscriber, error);
        return;
      }
      if (!isPromiseLike(history)) {
        // Synchronous: nothing can be published between the read and the first live event.
        this.#applyHistory(subscriber, topics, lastEventId, history, false);
        return;
      }
      subscriber.hold();
      Promise.resolve(history).then(
        (result) => this.#applyHistory(subscriber, topics, lastEventId, result, true),
        (error: unknown) => this.#historyFailed(subscriber, error),
      );
      return;
    }
    // Asynchronous: live events are held from now on; the history is read once live delivery
    // has started, so the two overlap rather than leave a gap, and the overlap is skipped by id.
    subscriber.hold();
    Promise.all(ready)
      .then(() => this.#backplane.history(topics, lastEventId))
      .then(
        (result) => this.#applyHistory(subscriber, topics, lastEventId, result, true),
        (error: unknown) => this.#historyFailed(subscriber, error),
      );
  }

  #applyHistory(
    subscriber: HubSubscriber,
    topics: readonly string[],
    lastEventId: string,
    history: BackplaneHistory,
    held: boolean,
  ): void {
    if (subscriber.closed) return;
    let first: Uint8Array | undefined;
    let skip: Set<string> | undefined;
    if (history.gone) {
      first = ENCODER.encode(
        encodeEvent({
          event: this.#resetEvent,
          data: JSON.stringify({ lastEventId, topics }),
          id: history.lastId,
        }),
      );
    } else if (history.entries.length > 0) {
      const frames: Uint8Array[] = [];
      for (const entry of history.entries) {
        try {
          frames.push(entry.frame ?? this.#encode(entry));
        } catch (error) {
          this.#onError(error);
        }
      }
      first = frames.length === 1 ? frames[0] : concatChunks(frames);
      if (held) skip = new Set(history.entries.map((entry) => entry.id));
    }
    if (held) subscriber.resume(first, skip);
    else if (first !== undefined) subscriber.push(first);
  }

  #historyFailed(subscriber: HubSubscriber, error: unknown): void {
    // The client reconnects with the same id and tries again.
    this.#onError(error);
    subscriber.disconnect();
  }

  #prepare(event: SSEEvent): BackplaneEvent {
    validateEvent(event);
    let id: string | undefined;
    if (event.id !== undefined) {
      id = String(event.id);
      if (id === "") throw new TypeError('Cannot publish: "id" must not be empty, as the hub replays by id');
    }
    // Always the same shape, whichever fields are set.
    return {
      event: event.event,
      data: event.data === undefined ? undefined : this.#serializeData(event.data),
      comment: event.comment,
      retry: event.retry,
      id,
    };
  }

  #serializeData(data: unknown): string {
    return serializeData(data, this.#serialize);
  }

  #topicFor(options: PublishOptions | undefined): string {
    const topic = options?.topic ?? this.#defaultTopic;
    checkTopic(topic, "Cannot publish");
    return topic;
  }

  /** Publishes with a slot already taken; gives the slot back when the backplane has answered. */
  #send(topic: string, message: BackplaneEvent): Promise<string> {
    if (this.#closing !== undefined) {
      this.#releaseSlot();
      return Promise.reject(closedError());
    }
    let result: string | Promise<string>;
    try {
      result = this.#backplane.publish(topic, message);
    } catch (error) {
      this.#releaseSlot();
      return Promise.reject(error);
    }
    if (typeof result === "string") {
      this.#releaseSlot();
      return Promise.resolve(result);
    }
    return Promise.resolve(result).finally(this.#releaseSlotFn);
  }

  /** Hands a publish slot to the first waiting publisher, or frees it. */
  #releaseSlot(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) next.resolve();
    else this.#inflight--;
  }

  #startTimer(): void {
    if (this.#period === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#period);
    // Node and Bun: idle subscribers alone should not keep the process alive.
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const ticks = ++this.#host.ticks;
    for (const subscriber of this.#subscribers) {
      subscriber.tick(ticks, this.#keepAlive, this.#keepAliveTicks, this.#drainTicks);
    }
  }
}

function mergeHeaders(base: HeadersInit | undefined, extra: HeadersInit): Headers {
  const headers = new Headers(base);
  for (const [name, value] of new Headers(extra)) headers.set(name, value);
  return sseHeaders(headers);
}

/**
 * The headers as a frozen plain record (or list of pairs, to keep several `Set-Cookie`), safe to
 * share between responses: runtimes copy it, while a shared `Headers` object could be handed back
 * by a lazy `Response` (@hono/node-server does) and changed for every subscriber by middleware.
 */
function headerRecord(headers: Headers): HeadersInit {
  if (headers.getSetCookie().length > 0) {
    return Object.freeze([...headers].map((pair) => Object.freeze(pair))) as unknown as HeadersInit;
  }
  return Object.freeze(Object.fromEntries(headers));
}
