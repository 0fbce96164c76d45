// otelMetrics against the real OpenTelemetry SDK: every SSEMetrics callback lands on the documented
// instrument with the documented attributes, read back synchronously with a MetricReader.
import type { Histogram } from "@opentelemetry/sdk-metrics";
import { describe, expect, it } from "vitest";
import { otelMetrics } from "../../src/otel/index.ts";
import { newReader, readMetrics, sumWhere } from "../_helpers/otel.ts";

describe("otelMetrics", () => {
  it("records every callback on its instrument with low-cardinality attributes", async () => {
    const { reader, provider } = newReader();
    const metrics = otelMetrics(provider.getMeter("test"), { attributes: { "http.route": "/sse" } });
    metrics.streamOpened?.("stream");
    metrics.streamOpened?.("hub");
    metrics.streamOpened?.("hub");
    metrics.streamClosed?.({ kind: "hub", reason: "slow-consumer", duration: 2500 });
    metrics.streamClosed?.({ kind: "stream", reason: "client", duration: 7_200_000 });
    metrics.eventsSent?.("hub", 3, 120);
    metrics.eventsSent?.("hub", 1, 40);
    metrics.eventsDropped?.("hub", "slow-consumer", 5);
    metrics.replay?.("hub", "hit");
    metrics.replay?.("hub", "reset");
    metrics.replay?.("hub", "reset");
    metrics.topicCreated?.();
    metrics.topicCreated?.();
    metrics.topicDeleted?.();
    metrics.published?.(2, true);
    metrics.published?.(30, false);

    const m = await readMetrics(reader);
    expect(sumWhere(m.get("sse.connections.active"), { "sse.kind": "hub" })).toBe(1);
    expect(sumWhere(m.get("sse.connections.active"), { "sse.kind": "stream" })).toBe(0);
    expect(sumWhere(m.get("sse.connections.closed"), { reason: "slow-consumer" })).toBe(1);
    expect(sumWhere(m.get("sse.connections.closed"), { reason: "client", "sse.kind": "stream" })).toBe(1);
    const durations = m.get("sse.connection.duration") ?? [];
    const twoHours = durations.find((p) => p.attributes.reason === "client")?.value as Histogram;
    expect(twoHours.sum).toBe(7200);
    expect(twoHours.buckets.boundaries).toContain(86400);
    expect(sumWhere(m.get("sse.events.sent"))).toBe(4);
    expect(sumWhere(m.get("sse.bytes.sent"))).toBe(160);
    expect(sumWhere(m.get("sse.events.dropped"), { reason: "slow-consumer" })).toBe(5);
    expect(sumWhere(m.get("sse.replay"), { result: "reset" })).toBe(2);
    expect(sumWhere(m.get("sse.replay"), { result: "hit" })).toBe(1);
    expect(sumWhere(m.get("sse.hub.topics"))).toBe(1);
    expect(sumWhere(m.get("sse.hub.publish.duration"), { outcome: "ok" })).toBe(1);
    expect(sumWhere(m.get("sse.hub.publish.duration"), { outcome: "error" })).toBe(1);
    for (const points of m.values()) {
      for (const point of points) {
        expect(point.attributes["http.route"]).toBe("/sse");
        expect(
          Object.keys(point.attributes).every((k) => ["http.route", "sse.kind", "reason", "result", "outcome"].includes(k)),
        ).toBe(true);
      }
    }
  });
});
