/**
 * {@linkcode otelMetrics}: the {@linkcode SSEMetrics} callbacks recorded as OpenTelemetry
 * instruments.
 *
 * @module
 */
import type { Attributes, Meter } from "@opentelemetry/api";
import { metrics as otel } from "@opentelemetry/api";
import type { SSEMetrics } from "../core/metrics.ts";

/** Options for {@linkcode otelMetrics}. */
export interface OtelMetricsOptions {
  /**
   * Attributes added to every measurement, for example a route label
   * (`{ "http.route": "/prices" }`) when each route gets its own `otelMetrics`. Keep them
   * low-cardinality: never a topic name, a user or an event id.
   *
   * @default {{}}
   */
  attributes?: Attributes;
}

// Long-lived streams need buckets far past HTTP's: up to a day, in seconds.
const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400];
const PUBLISH_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Records hertz-sse's metrics with an OpenTelemetry meter (by default the global meter provider's
 * `hertz-sse` meter). Pass the result as the `metrics` option of `sseResponse`, `SSEStream`,
 * `SSEHub` or `ResumableStreams`; one instance can serve them all.
 *
 * | instrument | kind | unit | attributes |
 * |---|---|---|---|
 * | `sse.connections.active` | up-down counter | `{connection}` | `sse.kind` |
 * | `sse.connection.duration` | histogram | `s` | `sse.kind`, `reason` |
 * | `sse.connections.closed` | counter | `{connection}` | `sse.kind`, `reason` |
 * | `sse.events.sent` | counter (observable) | `{event}` | `sse.kind` |
 * | `sse.bytes.sent` | counter (observable) | `By` | `sse.kind` |
 * | `sse.events.dropped` | counter | `{event}` | `sse.kind`, `reason` |
 * | `sse.replay` | counter | `{subscription}` | `sse.kind`, `result` |
 * | `sse.hub.topics` | up-down counter | `{topic}` | |
 * | `sse.hub.publish.duration` | histogram | `s` | `outcome` |
 *
 * @example With the global meter provider
 * ```ts
 * import { sseResponse } from "@hertz/sse";
 * import { otelMetrics } from "@hertz/sse/otel";
 *
 * const metrics = otelMetrics(undefined, { attributes: { "http.route": "/time" } });
 * export default {
 *   fetch: (request: Request) =>
 *     sseResponse(request, async (stream) => {
 *       await stream.send({ data: new Date().toISOString() });
 *     }, { metrics }),
 * };
 * ```
 */
export function otelMetrics(meter?: Meter, options: OtelMetricsOptions = {}): SSEMetrics {
  const m = meter ?? otel.getMeter("hertz-sse");
  const base = options.attributes ?? {};
  const active = m.createUpDownCounter("sse.connections.active", {
    description: "Event streams open now",
    unit: "{connection}",
  });
  const duration = m.createHistogram("sse.connection.duration", {
    description: "How long event streams stayed open (apart from HTTP request duration)",
    unit: "s",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  });
  const closed = m.createCounter("sse.connections.closed", {
    description: "Event streams ended, by reason",
    unit: "{connection}",
  });
  // Events and bytes are counted on every chunk a client takes, the hottest call site: plain
  // numbers per kind, reported when the SDK collects (observable counters), instead of two
  // Counter.add() calls per chunk, which doubled the CPU per delivery of a hub fan-out (bench/metrics.ts).
  const sentTotals = new Map<string, { events: number; bytes: number; attributes: Attributes }>();
  const sent = m.createObservableCounter("sse.events.sent", { description: "Events written to clients", unit: "{event}" });
  const bytes = m.createObservableCounter("sse.bytes.sent", { description: "Bytes of events written to clients", unit: "By" });
  sent.addCallback((result) => {
    for (const total of sentTotals.values()) result.observe(total.events, total.attributes);
  });
  bytes.addCallback((result) => {
    for (const total of sentTotals.values()) result.observe(total.bytes, total.attributes);
  });
  const dropped = m.createCounter("sse.events.dropped", { description: "Events dropped instead of sent", unit: "{event}" });
  const replay = m.createCounter("sse.replay", {
    description: "Subscriptions that asked to resume, by result",
    unit: "{subscription}",
  });
  const topics = m.createUpDownCounter("sse.hub.topics", { description: "Live hub topics", unit: "{topic}" });
  const publish = m.createHistogram("sse.hub.publish.duration", {
    description: "Time for a hub publish to reach the backplane",
    unit: "s",
    advice: { explicitBucketBoundaries: PUBLISH_BUCKETS },
  });
  // The attribute objects are made once per kind and reason, not per call: recording happens per
  // event on busy streams.
  const cache = new Map<string, Attributes>();
  const attrs = (key: string, make: () => Attributes): Attributes => {
    let value = cache.get(key);
    if (value === undefined) cache.set(key, (value = { ...base, ...make() }));
    return value;
  };
  return {
    streamOpened: (kind) =>
      active.add(
        1,
        attrs(kind, () => ({ "sse.kind": kind })),
      ),
    streamClosed: ({ kind, reason, duration: ms }) => {
      active.add(
        -1,
        attrs(kind, () => ({ "sse.kind": kind })),
      );
      const withReason = attrs(`${kind}|${reason}`, () => ({ "sse.kind": kind, reason }));
      closed.add(1, withReason);
      duration.record(ms / 1000, withReason);
    },
    eventsSent: (kind, events, size) => {
      let total = sentTotals.get(kind);
      if (total === undefined)
        sentTotals.set(kind, (total = { events: 0, bytes: 0, attributes: attrs(kind, () => ({ "sse.kind": kind })) }));
      total.events += events;
      total.bytes += size;
    },
    eventsDropped: (kind, reason, events) =>
      dropped.add(
        events,
        attrs(`${kind}|${reason}`, () => ({ "sse.kind": kind, reason })),
      ),
    replay: (kind, result) =>
      replay.add(
        1,
        attrs(`${kind}|replay:${result}`, () => ({ "sse.kind": kind, result })),
      ),
    topicCreated: () => topics.add(1, base),
    topicDeleted: () => topics.add(-1, base),
    published: (ms, ok) =>
      publish.record(
        ms / 1000,
        attrs(`publish:${ok}`, () => ({ outcome: ok ? "ok" : "error" })),
      ),
  };
}
