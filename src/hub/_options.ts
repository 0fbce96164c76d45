/**
 * The hub's option resolution: every option checked once, its default applied, and what the hub
 * derives from them (frames, timer period, header record) computed once.
 *
 * @module
 */

import { describe } from "../_internal/describe.ts";
import { logError, report } from "../_internal/log.ts";
import { encodeComment, encodeEvent } from "../core/encoder.ts";
import { checkEventsOption, type EventMap } from "../core/events.ts";
import { sseHeaders } from "../core/headers.ts";
import type { SSEMetrics } from "../core/metrics.ts";
import { checkPositive, checkRetry, checkTopic } from "./_checks.ts";
import type { Backplane } from "./backplane.ts";
import { MemoryBackplane } from "./memory-backplane.ts";
import type { SSEHubOptions } from "./options.ts";

const WHAT = "Cannot create SSEHub";
const ENCODER = new TextEncoder();
const KEEP_ALIVE = ENCODER.encode(encodeComment("keep-alive"));
const LINE_BREAK = /[\r\n]/;

/** The hub's options, checked and resolved. */
export interface HubConfig {
  readonly backplane: Backplane;
  readonly ownsBackplane: boolean;
  readonly autoCreate: boolean;
  readonly declared: Set<string>;
  readonly defaultTopic: string;
  readonly defaultTopics: readonly string[];
  readonly topicParam: string | false;
  readonly serialize: ((data: unknown) => string) | undefined;
  readonly headersInit: HeadersInit | undefined;
  /** The response headers of a subscription without its own. */
  readonly headers: HeadersInit;
  readonly resetEvent: string;
  readonly maxQueued: number;
  readonly maxQueuedBytes: number;
  readonly maxReplayEvents: number;
  readonly maxReplayBytes: number;
  readonly dropOldest: boolean;
  readonly maxPending: number;
  readonly maxWaiting: number;
  readonly maxTopics: number;
  readonly maxTopicLength: number;
  readonly publishTimeout: number | false;
  /** Ticks of the shared timer after which a subscription ends (`maxDuration`); 0 for never. */
  readonly durationTicks: number;
  readonly retryFrame: Uint8Array | undefined;
  readonly keepAlive: Uint8Array | undefined;
  /** The shared timer's period, or `undefined` when nothing needs a timer. */
  readonly period: number | undefined;
  readonly keepAliveTicks: number;
  readonly drainTicks: number;
  readonly onSubscribe: SSEHubOptions["onSubscribe"];
  readonly onUnsubscribe: SSEHubOptions["onUnsubscribe"];
  /** `onError`, guarded: what it throws is logged. */
  readonly onError: (error: unknown) => void;
  /** The typed event map, if any. */
  readonly events: EventMap | undefined;
  /** The `metrics` option, if any. */
  readonly metrics: SSEMetrics | undefined;
}

/** Checks `options` and resolves them into a {@linkcode HubConfig}; throws for an invalid one. */
export function resolveHubOptions(options: SSEHubOptions): HubConfig {
  const events = checkEventsOption(options.events, WHAT);
  const keepAlive = options.keepAlive ?? 15_000;
  if (keepAlive !== false) checkPositive(keepAlive, "keepAlive", false);
  const drainTimeout = options.drainTimeout ?? 30_000;
  if (drainTimeout !== false) checkPositive(drainTimeout, "drainTimeout", false);
  const maxQueued = options.maxQueued ?? 1024;
  checkPositive(maxQueued, "maxQueued", true);
  const maxQueuedBytes = options.maxQueuedBytes ?? 1_048_576;
  checkPositive(maxQueuedBytes, "maxQueuedBytes", true);
  const maxReplayEvents = options.maxReplayEvents ?? 1000;
  if (!Number.isSafeInteger(maxReplayEvents) || maxReplayEvents < 0) {
    throw new RangeError(`${WHAT}: "maxReplayEvents" must be a non-negative integer, got ${describe(maxReplayEvents)}`);
  }
  const maxReplayBytes = options.maxReplayBytes ?? 1_048_576;
  checkPositive(maxReplayBytes, "maxReplayBytes", true);
  const maxPending = options.maxPendingPublishes ?? 1024;
  checkPositive(maxPending, "maxPendingPublishes", true);
  const maxWaiting = options.maxWaiting ?? 1024;
  checkPositive(maxWaiting, "maxWaiting", true);
  const maxTopics = options.maxTopics ?? 10_000;
  checkPositive(maxTopics, "maxTopics", true);
  const maxTopicLength = options.maxTopicLength ?? 256;
  checkPositive(maxTopicLength, "maxTopicLength", true);
  const publishTimeout = options.publishTimeout ?? 30_000;
  if (publishTimeout !== false) checkPositive(publishTimeout, "publishTimeout", false);
  const maxDuration = options.maxDuration ?? false;
  if (maxDuration !== false) checkPositive(maxDuration, "maxDuration", false);
  const slowConsumer = options.slowConsumer ?? "disconnect";
  if (slowConsumer !== "disconnect" && slowConsumer !== "drop-oldest") {
    throw new TypeError(`${WHAT}: "slowConsumer" must be "disconnect" or "drop-oldest", got ${describe(slowConsumer)}`);
  }
  const defaultTopic = options.defaultTopic ?? "default";
  checkTopic(defaultTopic, WHAT, "defaultTopic");
  const topicParam = options.topicParam ?? "topic";
  if (topicParam !== false && (typeof topicParam !== "string" || topicParam === "")) {
    throw new TypeError(`${WHAT}: "topicParam" must be a non-empty string or false, got ${describe(topicParam)}`);
  }
  const resetEvent = options.resetEvent ?? "reset";
  if (typeof resetEvent !== "string" || resetEvent === "" || LINE_BREAK.test(resetEvent)) {
    throw new TypeError(`${WHAT}: "resetEvent" must be a non-empty string without CR or LF, got ${describe(resetEvent)}`);
  }
  if (options.retry !== undefined) checkRetry(options.retry, WHAT);
  if (options.serialize !== undefined && typeof options.serialize !== "function") {
    throw new TypeError(`${WHAT}: "serialize" must be a function, got ${describe(options.serialize)}`);
  }
  for (const hook of ["onSubscribe", "onUnsubscribe", "onError"] as const) {
    if (options[hook] !== undefined && typeof options[hook] !== "function") {
      throw new TypeError(`${WHAT}: "${hook}" must be a function, got ${describe(options[hook])}`);
    }
  }
  if (options.backplane !== undefined && options.replay !== undefined) {
    throw new TypeError(`${WHAT}: "replay" configures the default backplane; with "backplane", configure that one`);
  }
  const declared = new Set<string>();
  for (const topic of options.topics ?? []) {
    checkTopic(topic, WHAT, "topics");
    declared.add(topic);
  }
  declared.add(defaultTopic);
  const onError = options.onError;

  // One timer for keep-alives and drain deadlines. It ticks four times per the shorter of the
  // two, which bounds how late either is enforced, at the cost of one pass over the
  // subscribers per tick (a few microseconds per thousand).
  // With maxDuration, it also ticks at least 16 times per maxDuration, which ends a subscription
  // between 15/16 of the way and the limit, minus the margin.
  const shortest = Math.min(
    keepAlive === false ? Infinity : keepAlive,
    drainTimeout === false ? Infinity : drainTimeout,
    maxDuration === false ? Infinity : maxDuration / 4,
  );
  const period = shortest === Infinity ? undefined : shortest / 4;
  const ends = maxDuration === false ? 0 : maxDuration - Math.min(1000, maxDuration / 10);
  return {
    backplane: options.backplane ?? new MemoryBackplane(options.replay),
    ownsBackplane: options.backplane === undefined,
    autoCreate: options.autoCreate ?? true,
    declared,
    defaultTopic,
    defaultTopics: Object.freeze([defaultTopic]),
    topicParam,
    serialize: options.serialize,
    headersInit: options.headers,
    headers: headerRecord(sseHeaders(options.headers)),
    resetEvent,
    maxQueued,
    maxQueuedBytes,
    maxReplayEvents,
    maxReplayBytes,
    dropOldest: slowConsumer === "drop-oldest",
    maxPending,
    maxWaiting,
    maxTopics,
    maxTopicLength,
    publishTimeout,
    durationTicks: maxDuration === false || period === undefined ? 0 : Math.max(1, Math.floor(ends / period)),
    retryFrame: options.retry === undefined ? undefined : ENCODER.encode(encodeEvent({ retry: options.retry })),
    keepAlive: keepAlive === false ? undefined : KEEP_ALIVE,
    period,
    keepAliveTicks: keepAlive === false || period === undefined ? 0 : Math.max(1, Math.round(keepAlive / period)),
    drainTicks: drainTimeout === false || period === undefined ? 0 : Math.ceil(drainTimeout / period),
    onSubscribe: options.onSubscribe,
    onUnsubscribe: options.onUnsubscribe,
    onError: onError === undefined ? (error) => logError("hub error", error) : (error) => report(onError, error),
    events,
    metrics: options.metrics,
  };
}

/** The hub's headers with a subscription's merged over them, as a shareable record. */
export function subscriptionHeaders(config: HubConfig, extra: HeadersInit | undefined): HeadersInit {
  if (extra === undefined) return config.headers;
  const headers = new Headers(config.headersInit);
  for (const [name, value] of new Headers(extra)) headers.set(name, value);
  return headerRecord(sseHeaders(headers));
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
