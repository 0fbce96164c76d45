// Issue 11, High 1: replay amplification. A small request (32 topics and an old Last-Event-ID)
// must not make the hub copy the whole retained history into one connection's buffers: a replay is
// bounded in events and bytes (past the bound, the reset event instead of a partial replay), goes
// out in bounded pieces, and a subscriber's queue is bounded in bytes as well as events.
import { describe, expect, it } from "vitest";
import type { Backplane, BackplaneHistory } from "../../src/hub/index.ts";
import { MemoryBackplane, SSEHub } from "../../src/hub/index.ts";

const decoder = new TextDecoder();

/** Reads `body` until `done(text)` holds; returns the text and the size of every chunk read. */
async function readUntil(
  body: ReadableStream<Uint8Array>,
  done: (text: string) => boolean,
): Promise<{ text: string; chunks: number[] }> {
  const reader = body.getReader();
  let text = "";
  const chunks: number[] = [];
  while (!done(text)) {
    const { value, done: end } = await reader.read();
    if (end) break;
    chunks.push(value.byteLength);
    text += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return { text, chunks };
}

const blocks = (text: string) => text.split("\n\n").filter((block) => block !== "");
const dataEvents = (text: string) => blocks(text).filter((block) => block.includes("\ndata: ") || block.startsWith("data: "));

/** A hub whose history holds `perTopic` events of `size` bytes on each of `topics` topics. */
async function filledHub(topics: number, perTopic: number, size: number, options: ConstructorParameters<typeof SSEHub>[0] = {}) {
  const hub = new SSEHub({ keepAlive: false, drainTimeout: false, ...options });
  const data = "x".repeat(size);
  const first = await hub.publish({ data: "first" }, { topic: "t0" });
  for (let n = 0; n < perTopic; n++) {
    for (let t = 0; t < topics; t++) await hub.publish({ data }, { topic: `t${t}` });
  }
  const query = Array.from({ length: topics }, (_, t) => `topic=t${t}`).join("&");
  const subscribe = () => hub.subscribe(new Request(`http://localhost/sse?${query}`, { headers: { "Last-Event-ID": first } }));
  return { hub, subscribe };
}

describe("replay bounds", () => {
  it("sends the reset event, not megabytes of history, to an old Last-Event-ID across 32 topics", async () => {
    // 32 topics × 100 events × 2 KB: 6.4 MB retained, far past the 1 MiB default bound.
    const { hub, subscribe } = await filledHub(32, 100, 2_000, { replay: { maxEvents: 1000 } });
    const response = await subscribe();
    const { text, chunks } = await readUntil(response.body!, (t) => t.includes("event: reset"));
    expect(text).toMatch(/^event: reset\ndata: \{"lastEventId":"[^"]+","topics":\["t0",/);
    expect(dataEvents(text).filter((block) => !block.startsWith("event: reset"))).toEqual([]);
    expect(Math.max(...chunks)).toBeLessThan(4096);
    await hub.close();
  });

  it("sends the reset event when the missed events pass maxReplayEvents", async () => {
    const { hub, subscribe } = await filledHub(1, 11, 10, { maxReplayEvents: 10 });
    const { text } = await readUntil((await subscribe()).body!, (t) => t.includes("event: reset"));
    expect(dataEvents(text)).toHaveLength(1);
    expect(text).toContain("event: reset");
    await hub.close();
  });

  it("replays within the bounds in pieces of at most 64 KiB, every event once and in order", async () => {
    // 8 topics × 60 events × 1 KB: about 500 KB, under the 1 MiB bound.
    const { hub, subscribe } = await filledHub(8, 60, 1_000);
    const { text, chunks } = await readUntil((await subscribe()).body!, (t) => dataEvents(t).length === 480);
    expect(dataEvents(text)).toHaveLength(480);
    expect(text).not.toContain("event: reset");
    expect(Math.max(...chunks)).toBeLessThanOrEqual(64 * 1024);
    await hub.close();
  });

  it("bounds an asynchronous backplane's replay the same way", async () => {
    const inner = new MemoryBackplane();
    const backplane: Backplane = {
      publish: (topic, event) => inner.publish(topic, event),
      subscribe: (topic, listener) => inner.subscribe(topic, listener),
      history: (topics, afterId): Promise<BackplaneHistory> => Promise.resolve(inner.history(topics, afterId)),
      close: () => inner.close(),
    };
    const { hub, subscribe } = await filledHub(4, 100, 4_000, { backplane });
    const { text, chunks } = await readUntil((await subscribe()).body!, (t) => t.includes("event: reset"));
    expect(dataEvents(text)).toHaveLength(1);
    expect(Math.max(...chunks)).toBeLessThan(4096);
    await hub.close();
  });
});

describe("queue bounds in bytes", () => {
  it("cuts a subscriber that never reads once maxQueuedBytes wait, long before maxQueued events", async () => {
    const released: string[] = [];
    const hub = new SSEHub({
      keepAlive: false,
      drainTimeout: false,
      maxQueuedBytes: 64 * 1024,
      onUnsubscribe: () => void released.push("gone"),
    });
    const frozen = await hub.subscribe(new Request("http://localhost/sse"));
    const data = "x".repeat(4_000);
    let published = 0;
    while (hub.size > 0 && published < 1000) {
      await hub.publish({ data });
      published++;
    }
    // 64 KiB of 4 KB events: the 17th does not fit; the default maxQueued (1024) was never reached.
    expect(published).toBeLessThanOrEqual(17);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(released).toEqual(["gone"]);
    // Abortive: the body errors, so a server destroys the connection and its buffers.
    await expect(frozen.text()).rejects.toThrow(/cut/);
  });

  it("keeps at most maxQueuedBytes for a lagging subscriber under drop-oldest", async () => {
    const hub = new SSEHub({ keepAlive: false, drainTimeout: false, maxQueuedBytes: 10_000, slowConsumer: "drop-oldest" });
    const lagging = await hub.subscribe(new Request("http://localhost/sse"));
    for (let n = 1; n <= 50; n++) await hub.publish({ data: `${n}:${"x".repeat(1_000)}` });
    const reader = lagging.body!.getReader();
    const { value } = await reader.read();
    expect(value!.byteLength).toBeLessThanOrEqual(10_000);
    const numbers = decoder
      .decode(value)
      .match(/data: (\d+):/g)!
      .map((m) => Number(m.slice(6, -1)));
    expect(numbers.at(-1)).toBe(50);
    expect(numbers.length).toBeLessThan(10);
    await reader.cancel();
    await hub.close();
  });
});
