/**
 * The options of {@linkcode SSEHub} and of its methods.
 *
 * @module
 */

import type { EncodeOptions } from "../core/event.ts";
import type { EventMap } from "../core/events.ts";
import type { SSEMetrics } from "../core/metrics.ts";
import type { Backplane } from "./backplane.ts";
import type { MemoryBackplaneOptions } from "./memory-backplane.ts";

/**
 * What happens to a subscriber whose queue is full: `"disconnect"` cuts its connection (the client
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
 * Options for `SSEHub`. Every bound has a default that is safe on the open internet; the README's
 * "Security" section lists them with what happens when each is hit.
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
export interface SSEHubOptions<M extends EventMap | undefined = EventMap | undefined> extends EncodeOptions {
  /**
   * Where events come from and where their history lives. The hub does not close a backplane it
   * was given.
   *
   * @default {a new MemoryBackplane(replay)}
   */
  backplane?: Backplane;
  /**
   * The replay log bounds of the default in-memory backplane: `maxEvents` per topic and `maxAge`
   * in milliseconds. With `backplane`, configure the backplane instead.
   *
   * @default {{ maxEvents: 1000, maxAge: 300000 }}
   */
  replay?: MemoryBackplaneOptions;
  /**
   * How many events one subscription may replay from `Last-Event-ID`. A client that missed more
   * gets the reset event instead of a partial replay.
   *
   * @default {1000}
   */
  maxReplayEvents?: number;
  /**
   * How many bytes (encoded) one subscription may replay from `Last-Event-ID`, all its topics
   * together. A client that missed more gets the reset event instead of a partial replay.
   *
   * @default {1048576}
   */
  maxReplayBytes?: number;
  /**
   * Whether a subscription to an unknown topic creates it (the original's AutoStream); when
   * `false`, it gets a 404 unless the topic was declared with `topics` or `createTopic()`. Topics
   * are capabilities: with `autoCreate`, authorise them in `onSubscribe`.
   *
   * @default {true}
   */
  autoCreate?: boolean;
  /**
   * Topics that exist from the start, for `autoCreate: false`.
   *
   * @default {[]}
   */
  topics?: Iterable<string>;
  /**
   * How many topics may have subscribers at once. A subscription that would create one more gets
   * a 503 (with `Retry-After`), so that clients cannot create topics without bound.
   *
   * @default {10000}
   */
  maxTopics?: number;
  /**
   * The longest topic name, in UTF-8 bytes, for subscriptions and publishes. A longer one in the
   * query gets a 400; `publish()` rejects it with a `RangeError`.
   *
   * @default {256}
   */
  maxTopicLength?: number;
  /**
   * The topic of a subscription that names none and of a publish without `topic`. Always exists.
   *
   * @default {"default"}
   */
  defaultTopic?: string;
  /**
   * The query parameter that names the topics of a subscription, repeated for several
   * (`?topic=a&topic=b`); `false` to ignore the query. At most 32 topics are accepted from the
   * query; more get a 400.
   *
   * @default {"topic"}
   */
  topicParam?: string | false;
  /**
   * Milliseconds of silence after which a subscriber is sent a `: keep-alive` comment; `false` for
   * none. One timer serves the whole hub, ticking four times per the shorter of `keepAlive` and
   * `drainTimeout`, so a comment goes out after `keepAlive` to 1.25 × `keepAlive` of silence.
   *
   * @default {15000}
   */
  keepAlive?: number | false;
  /**
   * How many events may wait in one subscriber's queue for the client to read them (the same
   * name as `SSEStream`'s). When the queue is full, `slowConsumer` decides.
   *
   * @default {1024}
   */
  maxQueued?: number;
  /**
   * How many bytes may wait in one subscriber's queue; past it, `slowConsumer` decides, as for
   * `maxQueued`. Events are shared between subscribers, so this bounds what one frozen client
   * keeps alive, not a copy.
   *
   * @default {1048576}
   */
  maxQueuedBytes?: number;
  /**
   * What happens to a subscriber whose queue is full.
   *
   * @default {"disconnect"}
   */
  slowConsumer?: SlowConsumerPolicy;
  /**
   * Milliseconds a subscriber may have something queued without the client reading, after which
   * its connection is cut (catches frozen and half-open clients under either policy); `false` for
   * no deadline. Enforced by the shared timer, within 1.25 × `drainTimeout`.
   *
   * @default {30000}
   */
  drainTimeout?: number | false;
  /**
   * Milliseconds after which a subscription ends cleanly, a little before this limit (by 1 s, or a
   * tenth of it when shorter), after a `retry:` field, so that a client behind a platform with a
   * hard response time limit (Vercel, Lambda) reconnects with its last id instead of failing;
   * `false` for no limit.
   *
   * @default {false}
   */
  maxDuration?: number | false;
  /**
   * A `retry:` value (milliseconds) sent first on every subscription.
   *
   * @default {undefined: none is sent}
   */
  retry?: number;
  /**
   * Extra response headers for every subscription, merged under the event-stream ones.
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
  /**
   * The event type of the reset event: sent instead of a replay when a client's `Last-Event-ID`
   * is no longer (or was never) in the history, or the replay would pass its bounds.
   *
   * @default {"reset"}
   */
  resetEvent?: string;
  /**
   * How many publishes may wait for an asynchronous backplane (Redis) to acknowledge them. When
   * reached, `publish()` waits for a slot and `tryPublish()` returns `false`.
   *
   * @default {1024}
   */
  maxPendingPublishes?: number;
  /**
   * How many `publish()` calls may wait for a slot once `maxPendingPublishes` are pending; past
   * it, `publish()` rejects at once with a `RangeError`.
   *
   * @default {1024}
   */
  maxWaiting?: number;
  /**
   * Milliseconds a `publish()` may take, waiting for a slot and for the backplane's answer
   * together, before it rejects with a `TimeoutError` `DOMException` (the backplane may still
   * deliver the event); `false` for no limit.
   *
   * @default {30000}
   */
  publishTimeout?: number | false;
  /**
   * Runs before a subscription starts, with the request and its topics: to authorise, count or
   * log. Return (or resolve with) a `Response` to refuse the subscription with it, for example a
   * 403; throw to make `subscribe()` reject.
   *
   * @default {undefined: every subscription is accepted}
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: `async () => {}` must fit, and it resolves to void
  onSubscribe?: (request: Request, topics: readonly string[]) => Response | void | Promise<Response | void>;
  /**
   * Runs exactly once when a subscription ends, for whatever reason, after the fan-out that ended
   * it (never inside `publish()`). What it throws goes to `onError`.
   *
   * @default {undefined}
   */
  onUnsubscribe?: (request: Request, topics: readonly string[]) => void | Promise<void>;
  /**
   * Reports errors nobody awaits: a failing `onUnsubscribe`, a failed asynchronous publish from
   * `tryPublish()`, a backplane entry that cannot be encoded, a history read that failed. Report
   * only: what it throws is logged.
   *
   * @default {logs the error with console.error}
   */
  onError?: (error: unknown) => void;
  /**
   * The typed event map (see {@linkcode defineEvents}): `publish()` and `tryPublish()` take only its
   * events and validate each once, at publish, before it reaches the backplane (an
   * `EventValidationError` rejects the publish, or is thrown by `tryPublish()`); subscribers on every
   * instance get the validated event, its data as JSON (by `serialize` if given, which must then write JSON). `tryPublish()`
   * throws a `TypeError` for a schema that validates asynchronously.
   *
   * @default {undefined: untyped, any `SSEEvent`}
   */
  events?: M;
  /**
   * Callbacks told when subscriptions open and end (with their close reason and duration), what
   * they are sent and dropped, replay results, live topics and publish latency (see `SSEMetrics`;
   * `otelMetrics()` from `hertz-sse/otel` records them). Nothing is measured without it.
   *
   * @default {undefined: no metrics}
   */
  metrics?: SSEMetrics;
}

/**
 * Options for `SSEHub.subscribe`.
 *
 * @example Usage
 * ```ts
 * import { type HubSubscribeOptions, SSEHub } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub();
 * const options: HubSubscribeOptions = { topics: ["prices", "news"] };
 * const response = await hub.subscribe(new Request("http://localhost/sse"), options);
 * ```
 */
export interface HubSubscribeOptions {
  /**
   * The topics, instead of those named by the request's query.
   *
   * @default {the query's topics, else the default topic}
   */
  topics?: string | readonly string[];
  /**
   * The last event id the client saw, instead of the request's `Last-Event-ID` header (for
   * example from a query parameter, with `getLastEventId(request, { query })`).
   *
   * @default {the request's Last-Event-ID}
   */
  lastEventId?: string;
  /**
   * Extra response headers for this subscription, merged over the hub's.
   *
   * @default {undefined}
   */
  headers?: HeadersInit;
}

/**
 * The old name of {@linkcode HubSubscribeOptions}.
 *
 * @deprecated Use {@linkcode HubSubscribeOptions}: the client's options are `SubscribeOptions` too.
 */
export type SubscribeOptions = HubSubscribeOptions;

/**
 * Options for `SSEHub.publish` and `SSEHub.tryPublish`.
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
 * Options for `SSEHub.close`.
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
  /**
   * A `retry:` value (milliseconds) sent to every subscriber before its response ends.
   *
   * @default {undefined: none is sent}
   */
  retry?: number;
}
