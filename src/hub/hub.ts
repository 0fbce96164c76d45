/**
 * The hub: one event fanned out to many subscribers by topic, encoded once, with replay from
 * `Last-Event-ID`, a slow-consumer policy, and one shared keep-alive timer.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { guard, isPromiseLike } from "../_internal/log.ts";
import { sinkableResponse } from "../core/_chunk-sink.ts";
import type { CloseReason } from "../core/_close-reason.ts";
import { type DrainOptions, type DrainPlan, resolveDrain, scheduleWaves } from "../core/_drain.ts";
import { EventGate } from "../core/_event-gate.ts";
import { encodeEvent } from "../core/encoder.ts";
import type { SSEEvent } from "../core/event.ts";
import type { EventMap, EventOf } from "../core/events.ts";
import { getLastEventId } from "../core/last-event-id.ts";
import { _record, type SSEMetrics } from "../core/metrics.ts";
import { checkRetry, checkTopic, checkTopicLength } from "./_checks.ts";
import { type CompoundIds, compoundOf, DEFAULT_MAX_GROUPS } from "./_compound.ts";
import { type HubConfig, resolveHubOptions, subscriptionHeaders } from "./_options.ts";
import { prepareEvent } from "./_prepare.ts";
import { PublishGate, withTimeout } from "./_publish-gate.ts";
import { topicsOf } from "./_query.ts";
import { type ReplayContext, replay } from "./_replay.ts";
import {
  closedResponse,
  drainingResponse,
  methodNotAllowedResponse,
  tooManyGroupsResponse,
  tooManyLiveTopicsResponse,
  unknownTopicResponse,
} from "./_responses.ts";
import { sendToBackplane } from "./_send.ts";
import { HubSubscriber, type SubscriberHost } from "./_subscriber.ts";
import { TopicTable } from "./_topics.ts";
import type { BackplaneEvent } from "./backplane.ts";
import type { CloseOptions, HubSubscribeOptions, PublishOptions, SSEHubOptions } from "./options.ts";

export type {
  CloseOptions,
  HubSubscribeOptions,
  PublishOptions,
  SlowConsumerPolicy,
  SSEHubOptions,
  SubscribeOptions,
} from "./options.ts";

const ENCODER = new TextEncoder();

class Host implements SubscriberHost {
  ticks = 0;
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly dropOldest: boolean;
  readonly metrics: SSEMetrics | undefined;
  constructor(
    config: HubConfig,
    readonly release: (subscriber: HubSubscriber, reason: CloseReason) => void,
  ) {
    this.maxQueued = config.maxQueued;
    this.maxQueuedBytes = config.maxQueuedBytes;
    this.dropOldest = config.dropOldest;
    this.metrics = config.metrics;
  }
}

function closedError(): TypeError {
  return new TypeError("Cannot publish: the hub is closed");
}

/**
 * A broadcast hub: clients subscribe to topics with a request and get an event-stream
 * `Response`; the server publishes events to a topic, and every subscriber of the topic receives
 * them, encoded once. A client that reconnects with `Last-Event-ID` first gets what it missed from
 * a bounded replay (or a `reset` event when that cannot be told), and a client that stops reading
 * is cut off without delaying the others. The README's "Hub" and "Security" sections describe
 * topics, ids, replay, the reset event, the slow-consumer policy and every bound.
 *
 * Topics are capabilities: a subscription that takes its topics from the query must be
 * authorised in `onSubscribe` before it sees a byte.
 *
 * @example Usage
 * ```ts
 * import { SSEHub } from "@hertz/sse/hub";
 *
 * const hub = new SSEHub({
 *   retry: 3_000,
 *   // Topics come from the query (GET /sse?topic=chat): allow only the public ones.
 *   onSubscribe: (_request, topics) =>
 *     topics.every((topic) => topic === "chat") ? undefined : new Response("Forbidden", { status: 403 }),
 * });
 *
 * Deno.serve(async (request) => {
 *   const url = new URL(request.url);
 *   if (url.pathname === "/sse") return hub.subscribe(request);
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
export class SSEHub<M extends EventMap | undefined = EventMap | undefined> {
  readonly #config: HubConfig;
  readonly #topics: TopicTable;
  readonly #subscribers = new Set<HubSubscriber>();
  readonly #host: Host;
  readonly #gate: PublishGate;
  /** The `events` option's validation; not `#gate`, which is the publish-slot gate. */
  readonly #typed: EventGate | undefined;
  readonly #replay: ReplayContext;
  /** What a subscription ended by `maxDuration` is sent last: the hub's `retry`, else 1000 ms. */
  readonly #endFrame: Uint8Array;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  #draining: Promise<void> | undefined;
  /** Ends the drain (cancels its waves and deadline, closes the hub); set while it runs. */
  #drained: (() => void) | undefined;

  /** Creates a hub; nothing runs until the first subscription. */
  constructor(options: SSEHubOptions<M> = {}) {
    const config = resolveHubOptions(options);
    this.#config = config;
    this.#topics = new TopicTable(config.backplane, config.onError, config.metrics);
    this.#host = new Host(config, (subscriber, reason) => this.#release(subscriber, reason));
    this.#gate = new PublishGate(config.maxPending, config.maxWaiting);
    this.#typed =
      config.events === undefined ? undefined : new EventGate(config.events, "Cannot publish event", config.serialize);
    this.#endFrame = config.retryFrame ?? ENCODER.encode(encodeEvent({ retry: 1000 }));
    const topics = this.#topics;
    this.#replay = {
      backplane: config.backplane,
      resetEvent: config.resetEvent,
      maxEvents: config.maxReplayEvents,
      maxBytes: config.maxReplayBytes,
      onError: config.onError,
      readyOf: (name) => topics.readyOf(name),
      metrics: config.metrics,
    };
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
   * await hub.subscribe(new Request("http://localhost/sse"), { topics: "news" });
   * console.log(hub.count("news")); // 1
   * ```
   */
  count(topic: string): number {
    return this.#topics.subscribers(topic)?.size ?? 0;
  }

  /** The topics that exist: declared ones (with `topics`, `createTopic()`, the default topic) and those with subscribers. */
  topics(): string[] {
    const names = new Set(this.#config.declared);
    for (const name of this.#topics.names()) names.add(name);
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
    this.#config.declared.add(topic);
  }

  /**
   * Removes a declared topic and gracefully ends every subscription that follows it (their
   * clients reconnect, and get a 404 when `autoCreate` is `false`). Returns whether the topic
   * existed. The default topic cannot be deleted.
   */
  deleteTopic(topic: string): boolean {
    checkTopic(topic, "Cannot delete topic");
    if (topic === this.#config.defaultTopic) {
      throw new TypeError(`Cannot delete topic: ${JSON.stringify(topic)} is the default topic`);
    }
    const declared = this.#config.declared.delete(topic);
    const subscribers = this.#topics.subscribers(topic);
    if (subscribers !== undefined) {
      for (const subscriber of [...subscribers]) subscriber.end("server");
    }
    return declared || subscribers !== undefined;
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
   * const response = await hub.subscribe(new Request("http://localhost/sse"), { topics: ["a", "b"] });
   * console.log(response.headers.get("content-type")); // text/event-stream; charset=utf-8
   * ```
   */
  subscribe(request: Request, options: HubSubscribeOptions = {}): Response | Promise<Response> {
    const config = this.#config;
    if (request.method !== "GET") return methodNotAllowedResponse(request.method);
    const refusal = this.#refusal(undefined);
    if (refusal !== undefined) return refusal;
    const topics = topicsOf(request, options.topics, config.topicParam, config.defaultTopics, config.maxTopicLength);
    if (topics instanceof Response) return topics;
    const unknown = this.#refusal(topics);
    if (unknown !== undefined) return unknown;
    // Topics in several groups of the backplane (Redis Cluster slots): a compound id per client.
    const compound = compoundOf(config.backplane, topics);
    if (compound !== undefined && compound.size > (config.backplane.maxGroups ?? DEFAULT_MAX_GROUPS)) {
      return tooManyGroupsResponse(config.backplane.maxGroups ?? DEFAULT_MAX_GROUPS);
    }
    let lastEventId = options.lastEventId;
    if (lastEventId !== undefined && typeof lastEventId !== "string") {
      throw new TypeError(`Cannot subscribe: "lastEventId" must be a string, got ${describe(lastEventId)}`);
    }
    lastEventId ??= getLastEventId(request);
    const headers = subscriptionHeaders(config, options.headers);
    if (config.onSubscribe === undefined) return this.#open(request, topics, lastEventId, headers, compound);
    const verdict = config.onSubscribe(request, topics);
    if (!isPromiseLike(verdict)) return verdict ?? this.#open(request, topics, lastEventId, headers, compound);
    return Promise.resolve(verdict).then((refused) => {
      if (refused != null) return refused;
      // The hub may have closed, or a topic been deleted, while the hook ran.
      return this.#refusal(topics) ?? this.#open(request, topics, lastEventId, headers, compound);
    });
  }

  /** The response that refuses a subscription to `topics` now (closed hub, unknown topic, too many topics), if any. */
  #refusal(topics: readonly string[] | undefined): Response | undefined {
    if (this.#closing !== undefined) return closedResponse();
    if (this.#draining !== undefined) return drainingResponse();
    if (topics === undefined) return undefined;
    const config = this.#config;
    if (!config.autoCreate) {
      const unknown = topics.find((topic) => !config.declared.has(topic));
      if (unknown !== undefined) return unknownTopicResponse(unknown);
    }
    const table = this.#topics;
    if (table.size + topics.length > config.maxTopics) {
      let fresh = 0;
      for (const topic of topics) if (!table.has(topic)) fresh++;
      if (table.size + fresh > config.maxTopics) return tooManyLiveTopicsResponse(config.maxTopics);
    }
    return undefined;
  }

  #open(
    request: Request,
    topics: readonly string[],
    lastEventId: string | undefined,
    headers: HeadersInit,
    compound: CompoundIds | undefined,
  ): Response {
    const subscriber = new HubSubscriber(this.#host, request, topics);
    if (compound !== undefined) {
      const backplane = this.#config.backplane;
      if (lastEventId !== undefined && lastEventId !== "") compound.seed(lastEventId, backplane.groupOfId?.bind(backplane));
      subscriber.compound = compound;
    }
    const metrics = this.#config.metrics;
    if (metrics !== undefined) {
      subscriber.openedAt = performance.now();
      _record(metrics, "streamOpened", "hub");
    }
    this.#subscribers.add(subscriber);
    if (this.#subscribers.size === 1) this.#startTimer();
    try {
      for (const name of topics) this.#topics.join(name, subscriber);
    } catch (error) {
      subscriber.stop("error");
      throw error;
    }
    compound?.start(topics, (name) => this.#topics.lastIdOf(name));
    const retryFrame = this.#config.retryFrame;
    if (retryFrame !== undefined) subscriber.push(retryFrame);
    // An empty id is what a client that never received one would send, if it sent anything.
    if (lastEventId !== undefined && lastEventId !== "") replay(this.#replay, subscriber, topics, lastEventId);
    subscriber.watch(request.signal);
    return sinkableResponse(subscriber.body(), { status: 200, headers });
  }

  /**
   * Publishes an event to a topic and resolves with its id: `event.id` if given (as a string),
   * otherwise one the backplane assigns. The event is validated and serialised here (`TypeError`,
   * `RangeError` or `SyntaxError` reject before anything is sent), then encoded once into bytes
   * shared by every subscriber. An empty `id` is refused: replay needs one. A typed hub (the
   * `events` option) first checks the event against its map, once, before any backplane sees it
   * (an `EventValidationError` rejects), and sends the data as JSON.
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
  publish(event: EventOf<M>, options?: PublishOptions): Promise<string> {
    const typed = this.#typed;
    if (typed === undefined) return this.#publish(event, options);
    try {
      // In call order, asynchronous schemas included; the gate does not wait for the backplane.
      return Promise.resolve(typed.pass(event, (checked) => this.#publish(checked, options)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #publish(event: SSEEvent, options: PublishOptions | undefined): Promise<string> {
    let topic: string;
    let message: BackplaneEvent;
    try {
      topic = this.#topicFor(options);
      message = this.#prepare(event);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closing !== undefined) return Promise.reject(closedError());
    const gate = this.#gate;
    const timeout = this.#config.publishTimeout;
    if (gate.tryAcquire()) return withTimeout(this.#send(topic, message), timeout, gate);
    const slot = gate.acquire();
    if (slot === undefined) {
      return Promise.reject(
        new RangeError(`Cannot publish: ${this.#config.maxWaiting} publishes are already waiting for the backplane (maxWaiting)`),
      );
    }
    return withTimeout(
      slot.then(() => this.#send(topic, message)),
      timeout,
      gate,
      slot,
    );
  }

  /**
   * Publishes like {@linkcode SSEHub.publish}, but never waits and returns whether the event was
   * accepted: `false` when the hub is closed, when `maxPendingPublishes` publishes are waiting for
   * an asynchronous backplane (the hub's only "full" state), or when the backplane refuses it at
   * once. An invalid event throws. A later failure of an asynchronous backplane goes to `onError`.
   * A typed hub throws a `TypeError` for a schema that validates asynchronously (use `publish()`),
   * and returns `false` while an earlier `publish()` still waits for one.
   *
   * @example Usage
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   *
   * const hub = new SSEHub();
   * if (!hub.tryPublish({ data: "tick" }, { topic: "clock" })) console.warn("tick skipped");
   * ```
   */
  tryPublish(event: EventOf<M>, options?: PublishOptions): boolean {
    const typed = this.#typed;
    if (typed === undefined) return this.#tryPublish(event, options);
    // undefined: an earlier asynchronous validation is pending, and publishing now would reorder.
    return typed.passNow(event, (checked) => this.#tryPublish(checked, options), "publish()") ?? false;
  }

  #tryPublish(event: SSEEvent, options: PublishOptions | undefined): boolean {
    const topic = this.#topicFor(options);
    const message = this.#prepare(event);
    const gate = this.#gate;
    if (this.#closing !== undefined || !gate.tryAcquire()) return false;
    let result: string | Promise<string>;
    try {
      result = this.#config.backplane.publish(topic, message);
    } catch {
      gate.release();
      return false;
    }
    if (typeof result === "string") {
      gate.release();
    } else {
      Promise.resolve(result).then(gate.releaseFn, (error: unknown) => {
        gate.release();
        this.#config.onError(error);
      });
    }
    return true;
  }

  /**
   * Drains the hub for a shutdown without a reconnect storm: new subscriptions get a 503 with
   * `Retry-After` at once; the open ones are closed gracefully (close reason `drain`) in waves
   * spread evenly over `jitter`, each after a `retry:` drawn at random, so that their clients come
   * back spread out, to another instance on the same backplane, and resume from `Last-Event-ID`
   * without losing an event. Those still open at `deadline` are cut (reason `drain-timeout`). Then
   * the hub closes as {@linkcode SSEHub.close} does; the promise resolves once it has. Publishing
   * goes on while it drains. Calling it again returns the same promise; rejects with a
   * `RangeError` for invalid options.
   *
   * @example Drain on SIGTERM
   * ```ts
   * import { SSEHub } from "@hertz/sse/hub";
   * import { assertEquals } from "jsr:@std/assert";
   *
   * const hub = new SSEHub();
   * const response = await hub.subscribe(new Request("http://localhost/sse"));
   * // Deno.addSignalListener("SIGTERM", async () => { await hub.drain({ deadline: 20_000, jitter: 10_000 }); Deno.exit(0); });
   * await hub.drain({ deadline: 1_000, jitter: 0 });
   * assertEquals(await response.text(), "retry: 100\n\n");
   * assertEquals((await hub.subscribe(new Request("http://localhost/sse"))).status, 503);
   * ```
   */
  drain(options: DrainOptions = {}): Promise<void> {
    if (this.#draining !== undefined) return this.#draining;
    if (this.#closing !== undefined) return this.#closing;
    let plan: DrainPlan;
    try {
      plan = resolveDrain(options, "drain the hub");
    } catch (error) {
      return Promise.reject(error);
    }
    const subscribers = this.#subscribers;
    let cancel: (() => void) | undefined;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    this.#draining = new Promise<void>((resolve, reject) => {
      this.#drained = () => {
        this.#drained = undefined;
        cancel?.();
        if (deadline !== undefined) clearTimeout(deadline);
        this.close().then(resolve, reject);
      };
    });
    if (subscribers.size === 0) {
      this.#drained!();
      return this.#draining;
    }
    deadline = setTimeout(() => {
      for (const subscriber of [...subscribers]) subscriber.cut("drain-timeout");
      this.#drained?.();
    }, plan.deadline);
    cancel = scheduleWaves([...subscribers], plan, (subscriber, retry) => {
      // What is queued goes first, then retry:, then the body ends.
      if (!subscriber.closed) subscriber.end("drain", ENCODER.encode(retry));
    });
    return this.#draining;
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
    for (const subscriber of [...this.#subscribers]) subscriber.end("server", last);
    this.#stopTimer();
    this.#gate.rejectAll(closedError);
    const config = this.#config;
    if (config.ownsBackplane) this.#closing = this.#closing.then(() => config.backplane.close());
    return this.#closing;
  }

  /** The one place where a subscriber leaves the hub, with why it ended. */
  #release(subscriber: HubSubscriber, reason: CloseReason): void {
    this.#subscribers.delete(subscriber);
    this.#topics.leave(subscriber);
    const metrics = this.#config.metrics;
    if (metrics !== undefined) {
      _record(metrics, "streamClosed", { kind: "hub", reason, duration: performance.now() - subscriber.openedAt });
    }
    if (this.#subscribers.size === 0) {
      this.#stopTimer();
      this.#drained?.();
    }
    const onUnsubscribe = this.#config.onUnsubscribe;
    // Never inside the fan-out or publish() that ended the subscription: a hook that publishes
    // would otherwise reorder events for the other subscribers.
    if (onUnsubscribe !== undefined) {
      queueMicrotask(() => guard(this.#config.onError, () => onUnsubscribe(subscriber.request, subscriber.topics)));
    }
  }

  /** The one validation point of a publish: the event checked and serialised, in the backplane's shape. */
  #prepare(event: SSEEvent): BackplaneEvent {
    return prepareEvent(event, this.#config.serialize);
  }

  #topicFor(options: PublishOptions | undefined): string {
    const topic = options?.topic ?? this.#config.defaultTopic;
    checkTopic(topic, "Cannot publish");
    checkTopicLength(topic, this.#config.maxTopicLength, "Cannot publish");
    return topic;
  }

  /** Publishes with a slot already taken; gives the slot back when the backplane has answered. */
  #send(topic: string, message: BackplaneEvent): Promise<string> {
    if (this.#closing !== undefined) {
      this.#gate.release();
      return Promise.reject(closedError());
    }
    return sendToBackplane(this.#config.backplane, this.#gate, topic, message, this.#config.metrics);
  }

  #startTimer(): void {
    const period = this.#config.period;
    if (period === undefined || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), period);
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
    const { keepAlive, keepAliveTicks, drainTicks, durationTicks } = this.#config;
    for (const subscriber of this.#subscribers) {
      if (durationTicks > 0 && ticks - subscriber.started >= durationTicks) {
        // maxDuration: a clean end after `retry:`, so the client resumes from its last id.
        subscriber.end("max-duration", this.#endFrame);
      } else {
        subscriber.tick(ticks, keepAlive, keepAliveTicks, drainTicks);
      }
    }
  }
}
