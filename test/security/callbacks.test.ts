// Issue 11, Medium 5: user callbacks cannot take down a fan-out or the process. onError is report
// only, onUnsubscribe runs outside publish(), and a slow-consumer cut inside a fan-out does not
// keep the event from later subscribers.
import { describe, expect, it, vi } from "vitest";
import { SSEHub } from "../../src/hub/index.ts";

const decoder = new TextDecoder();

describe("user callbacks", () => {
  it("keeps a throwing onUnsubscribe, with an onError that rethrows, out of the abort listener", async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => void uncaught.push(error);
    process.on("uncaughtException", onUncaught);
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const hub = new SSEHub({
        keepAlive: false,
        onUnsubscribe: () => {
          throw new Error("hook failed");
        },
        onError: (error) => {
          throw error;
        },
      });
      const controller = new AbortController();
      await hub.subscribe(new Request("http://localhost/sse", { signal: controller.signal }));
      expect(() => controller.abort()).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(uncaught).toEqual([]);
      expect(logged).toHaveBeenCalled();
      await hub.close();
    } finally {
      process.off("uncaughtException", onUncaught);
      logged.mockRestore();
    }
  });

  it("delivers an event to every subscriber after one is cut inside the fan-out", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const hub = new SSEHub({
      keepAlive: false,
      maxQueued: 1,
      drainTimeout: false,
      onUnsubscribe: () => {
        throw new Error("hook failed");
      },
      onError: (error) => {
        throw error;
      },
    });
    const readers = [];
    for (let i = 0; i < 5; i++) {
      const response = await hub.subscribe(new Request("http://localhost/sse"));
      readers.push(response.body!.getReader());
    }
    // The first subscriber never reads: its second event is cut inside the fan-out.
    const first = readers.shift()!;
    const pending = readers.map((reader) => reader.read());
    await hub.publish({ data: "1" });
    await Promise.all(pending);
    const next = readers.map((reader) => reader.read());
    await hub.publish({ data: "2" });
    await hub.publish({ data: "3" });
    expect(hub.size).toBe(4);
    for (const result of await Promise.all(next)) expect(decoder.decode(result.value)).toContain("data: 2");
    await first.cancel().catch(() => {});
    await hub.close();
    await new Promise((resolve) => setTimeout(resolve, 0));
    logged.mockRestore();
  });

  it("runs onUnsubscribe outside publish(), so a hook that publishes keeps the order", async () => {
    const order: string[] = [];
    let hub!: SSEHub;
    hub = new SSEHub({
      keepAlive: false,
      maxQueued: 1,
      drainTimeout: false,
      onUnsubscribe: () => {
        order.push("unsubscribe");
        hub.publish({ data: "-2" }).catch(() => {});
      },
    });
    const healthy = (await hub.subscribe(new Request("http://localhost/sse"))).body!.getReader();
    await hub.subscribe(new Request("http://localhost/sse")); // never reads
    const read = healthy.read();
    await hub.publish({ data: "-1" }); // fills the frozen subscriber's queue
    await read;
    const texts: string[] = [];
    const collect = (async () => {
      for (;;) {
        const { value, done } = await healthy.read();
        if (done) return;
        texts.push(decoder.decode(value));
        if (texts.join("").includes("data: -2")) return;
      }
    })();
    order.push("publish -3");
    const published = hub.publish({ data: "-3" }); // cuts the frozen subscriber
    order.push("published -3");
    await published;
    await collect;
    expect(order).toEqual(["publish -3", "published -3", "unsubscribe"]);
    const data = texts.join("").match(/data: (-\d)/g);
    expect(data).toEqual(["data: -3", "data: -2"]);
    await hub.close();
  });
});
