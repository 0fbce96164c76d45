// A scripted scenario against the real OpenTelemetry SDK (issue 15): streams and hub subscriptions
// opened and closed for each close reason, drops and replays, read back with exact counts.
import { describe, expect, it } from "vitest";
import { SSEHub } from "../../src/hub/index.ts";
import { SSEGroup, SSEStream, sseResponse } from "../../src/index.ts";
import { otelMetrics } from "../../src/otel/index.ts";
import { newReader, readMetrics, sumWhere } from "../_helpers/otel.ts";

const request = (headers?: HeadersInit) => new Request("http://localhost/sse", { headers });
const never = (stream: SSEStream) => new Promise((resolve) => stream.signal.addEventListener("abort", resolve));

describe("metrics scenario with the OpenTelemetry SDK", () => {
  it("counts opens, closes for each reason, events, drops and replays exactly", async () => {
    const { reader, provider } = newReader();
    const metrics = otelMetrics(provider.getMeter("scenario"));
    const options = { metrics, keepAlive: false as const };

    // --- streams (sseResponse / SSEStream) ---
    // server: the handler sends two events and returns; the client reads them.
    const served = sseResponse(
      request(),
      async (stream) => {
        await stream.send({ data: "a" });
        await stream.send({ data: "b" });
      },
      options,
    );
    const servedText = await served.text();
    expect(servedText).toBe("data: a\n\ndata: b\n\n");
    // client: the client cancels the body.
    let clientStream: SSEStream | undefined;
    const left = sseResponse(
      request(),
      (stream) => {
        clientStream = stream;
        return never(stream);
      },
      options,
    );
    await left.body!.cancel();
    await clientStream!.closed;
    // error: the handler throws.
    const failed = sseResponse(
      request(),
      () => {
        throw new Error("boom");
      },
      { ...options, onError: () => {} },
    );
    await failed.text();
    // max-duration: a clean end before the limit.
    const limited = new SSEStream({ ...options, maxDuration: 100 });
    const limitedText = await new Response(limited).text();
    expect(limitedText).toBe("retry: 1000\n\n");
    // drain-timeout: the client reads nothing while something is queued.
    const frozen = new SSEStream({ ...options, drainTimeout: 40 });
    await frozen.send({ data: "x" });
    await frozen.closed;
    // drain: a group drained with no jitter.
    const group = new SSEGroup();
    const drained = sseResponse(request(), never, { ...options, group });
    await group.drain({ deadline: 5_000, jitter: 0 });
    expect(await drained.text()).toBe("retry: 100\n\n");
    // A draining group refuses new streams, before any is created (no open, no close).
    const refused = sseResponse(request(), never, { ...options, group });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");

    // --- the hub ---
    const hub = new SSEHub({ ...options, maxQueued: 2, slowConsumer: "drop-oldest" });
    // A subscription that reads nothing while five events come: three are dropped.
    const slow = await hub.subscribe(request(), { topics: "t" });
    for (let i = 1; i <= 5; i++) await hub.publish({ data: String(i) }, { topic: "t" });
    const first = await hub.publish({ data: "6" }, { topic: "u" });
    await hub.publish({ data: "7" }, { topic: "u" });
    // Replays on topic u: a hit (one event after `first`), none (up to date), a reset (unknown id).
    const hit = await hub.subscribe(request({ "last-event-id": first }), { topics: "u" });
    const none = await hub.subscribe(request({ "last-event-id": await hub.publish({ data: "8" }, { topic: "v" }) }), {
      topics: "v",
    });
    const reset = await hub.subscribe(request({ "last-event-id": "no-such-id" }), { topics: "w" });
    // slow-consumer: a hub that cuts instead of dropping.
    const cutting = new SSEHub({ ...options, maxQueued: 2 });
    const cut = await cutting.subscribe(request(), { topics: "t" });
    for (let i = 1; i <= 3; i++) await cutting.publish({ data: String(i) }, { topic: "t" });
    await expect(cut.text()).rejects.toThrow();
    // drain on the hub: every subscription ends with reason drain.
    await hub.drain({ deadline: 5_000, jitter: 0 });
    const slowText = await slow.text();
    // The three oldest were dropped; what was kept is delivered before the drain's retry.
    expect(slowText.match(/data: \d/g)).toEqual(["data: 4", "data: 5"]);
    expect(slowText.endsWith("retry: 100\n\n")).toBe(true);
    for (const response of [hit, none, reset]) await response.text();
    await cutting.close();

    const m = await readMetrics(reader);
    const closed = (kind: string, reason: string) => sumWhere(m.get("sse.connections.closed"), { "sse.kind": kind, reason });
    expect(closed("stream", "server")).toBe(1);
    expect(closed("stream", "client")).toBe(1);
    expect(closed("stream", "error")).toBe(1);
    expect(closed("stream", "max-duration")).toBe(1);
    expect(closed("stream", "drain-timeout")).toBe(1);
    expect(closed("stream", "drain")).toBe(1);
    expect(closed("hub", "drain")).toBe(4);
    expect(closed("hub", "slow-consumer")).toBe(1);
    expect(sumWhere(m.get("sse.connections.closed"))).toBe(11);
    expect(sumWhere(m.get("sse.connections.active"))).toBe(0);
    expect(sumWhere(m.get("sse.connection.duration"))).toBe(11);
    expect(sumWhere(m.get("sse.events.dropped"), { "sse.kind": "hub", reason: "slow-consumer" })).toBe(3);
    expect(sumWhere(m.get("sse.replay"), { result: "hit" })).toBe(1);
    expect(sumWhere(m.get("sse.replay"), { result: "none" })).toBe(1);
    expect(sumWhere(m.get("sse.replay"), { result: "reset" })).toBe(1);
    // Bytes sent equal what the clients read, for the streams the clients read whole.
    expect(sumWhere(m.get("sse.bytes.sent"), { "sse.kind": "stream" })).toBe(
      servedText.length + limitedText.length + "retry: 100\n\n".length,
    );
    expect(sumWhere(m.get("sse.events.sent"), { "sse.kind": "stream" })).toBe(4);
    // Topics t, u, v, w on the first hub and t on the second came and went; 11 publishes.
    expect(sumWhere(m.get("sse.hub.topics"))).toBe(0);
    expect(sumWhere(m.get("sse.hub.publish.duration"), { outcome: "ok" })).toBe(11);
  });
});

describe("metrics of ResumableStreams", () => {
  it("counts its responses as kind resumable, and what Last-Event-ID found", async () => {
    const { ResumableStreams } = await import("../../src/resumable/index.ts");
    const { reader, provider } = newReader();
    const streams = new ResumableStreams({ metrics: otelMetrics(provider.getMeter("resumable")) });
    await streams.start("s", ["a", "b"]);
    const whole = await (await streams.subscribe(request(), "s", { lastEventId: "" })).text();
    const firstId = /id: (.+)\n/.exec(whole)![1]!;
    const rest = await streams.subscribe(request({ "last-event-id": firstId }), "s");
    expect(rest.status).toBe(200);
    await rest.text();
    const done = await streams.subscribe(request({ "last-event-id": "no-such-id" }), "s");
    expect(done.status).toBe(204);
    await streams.close();
    const m = await readMetrics(reader);
    expect(sumWhere(m.get("sse.connections.closed"), { "sse.kind": "resumable" })).toBe(2);
    expect(sumWhere(m.get("sse.connections.active"), { "sse.kind": "resumable" })).toBe(0);
    expect(sumWhere(m.get("sse.replay"), { "sse.kind": "resumable", result: "hit" })).toBe(1);
    expect(sumWhere(m.get("sse.replay"), { "sse.kind": "resumable", result: "none" })).toBe(1);
    expect(sumWhere(m.get("sse.bytes.sent"), { "sse.kind": "resumable" })).toBeGreaterThan(whole.length);
  });
});
