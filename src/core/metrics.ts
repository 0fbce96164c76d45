/**
 * The metrics interface: a few callbacks that {@linkcode SSEStream}, `sseResponse`, `SSEHub` and
 * `ResumableStreams` call when something worth counting happens, so that any metrics system can be
 * plugged in (`hertz-sse/otel` implements it on OpenTelemetry). Every callback is optional, and
 * nothing is measured when the `metrics` option is absent: the call sites test one field.
 *
 * @module
 */

/**
 * Why an event stream ended, as a low-cardinality label:
 *
 * - `client`: the client went away (the request was aborted or the body cancelled).
 * - `server`: the server ended it (the handler returned, `close()`, `hub.close()`).
 * - `slow-consumer`: it was cut because its queue passed its bound.
 * - `drain-timeout`: it was cut because the client read nothing for `drainTimeout`.
 * - `max-duration`: it ended cleanly at `maxDuration`, asking the client to reconnect.
 * - `drain`: it was closed by a graceful drain (`group.drain()`, `hub.drain()`).
 * - `error`: the handler or the body failed.
 */
export type SSECloseReason = "client" | "server" | "slow-consumer" | "drain-timeout" | "max-duration" | "drain" | "error";

/** Why events were dropped instead of sent: the slow-consumer policy `drop-oldest`. */
export type SSEDropReason = "slow-consumer";

/** What a subscription's `Last-Event-ID` found: events to replay, a reset (too old), or nothing. */
export type SSEReplayResult = "hit" | "reset" | "none";

/** Where a stream comes from, for metrics that tell them apart. */
export type SSEStreamKind = "stream" | "hub" | "resumable";

/** What {@linkcode SSEMetrics.streamClosed} is told. */
export interface SSEStreamClosedInfo {
  /** Which kind of stream ended. */
  readonly kind: SSEStreamKind;
  /** Why it ended. */
  readonly reason: SSECloseReason;
  /** How long it was open, in milliseconds. */
  readonly duration: number;
}

/**
 * Callbacks for metrics. Each is called synchronously where the thing happens; keep them cheap
 * (increment a counter) and do not throw: an exception is caught and ignored.
 *
 * @example Counting open streams by hand
 * ```ts
 * import { type SSEMetrics, sseResponse } from "@hertz/sse";
 *
 * let open = 0;
 * const metrics: SSEMetrics = {
 *   streamOpened: () => void open++,
 *   streamClosed: () => void open--,
 * };
 * const handler = (request: Request) =>
 *   sseResponse(request, async (stream) => {
 *     await stream.send({ data: "hello" });
 *   }, { metrics });
 * ```
 */
export interface SSEMetrics {
  /** A stream started (its response was created). */
  streamOpened?(kind: SSEStreamKind): void;
  /** A stream ended, once per stream. */
  streamClosed?(info: SSEStreamClosedInfo): void;
  /** Events went out to one client: how many, and how many bytes they took on the wire. */
  eventsSent?(kind: SSEStreamKind, events: number, bytes: number): void;
  /** Events meant for one client were dropped. */
  eventsDropped?(kind: SSEStreamKind, reason: SSEDropReason, events: number): void;
  /** A subscription asked to resume (it had a `Last-Event-ID`) and this is what it got. */
  replay?(kind: SSEStreamKind, result: SSEReplayResult): void;
  /** A hub's topic came to life (one more live topic). */
  topicCreated?(): void;
  /** A hub's topic was removed (one live topic fewer). */
  topicDeleted?(): void;
  /** A publish reached the backplane (or failed to), after `duration` milliseconds. */
  published?(duration: number, ok: boolean): void;
}

/** Calls one metrics callback; an exception from it is swallowed, as the interface promises. */
export function _record<K extends keyof SSEMetrics>(
  metrics: SSEMetrics | undefined,
  name: K,
  ...args: Parameters<NonNullable<SSEMetrics[K]>>
): void {
  const callback = metrics?.[name] as ((...a: unknown[]) => void) | undefined;
  if (callback === undefined) return;
  try {
    callback.apply(metrics, args);
  } catch {
    // Metrics must never take a stream down.
  }
}
