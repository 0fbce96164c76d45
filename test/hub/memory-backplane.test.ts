// The in-memory backplane on its own (the hub's tests cover it through SSEHub): ids, synchronous
// delivery, history across topics, expiry, the memory of idle topics, and its errors.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackplaneHistory } from "../../src/hub/backplane.ts";
import { MemoryBackplane } from "../../src/hub/memory-backplane.ts";

function dataOf(history: BackplaneHistory): string[] {
  if (history.gone) throw new Error("expected entries, got gone");
  return history.entries.map((entry) => entry.event.data ?? "");
}

describe("MemoryBackplane", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("assigns ids in one sequence across topics, distinct between backplanes, and keeps publisher ids", () => {
    const backplane = new MemoryBackplane();
    const a1 = backplane.publish("a", { data: "a1" });
    const b1 = backplane.publish("b", { data: "b1" });
    const [epoch] = a1.split("-");
    expect([a1, b1]).toEqual([`${epoch}-1`, `${epoch}-2`]);
    expect(backplane.publish("a", { data: "a2", id: "mine" })).toBe("mine");
    expect(new MemoryBackplane().publish("a", { data: "x" })).not.toBe(a1);
  });

  it("delivers synchronously, in order, to every listener of the topic only, until unsubscribed", () => {
    const backplane = new MemoryBackplane();
    const seen: string[] = [];
    const first = backplane.subscribe("a", (entry) => seen.push(`1:${entry.event.data}`));
    backplane.subscribe("a", (entry) => seen.push(`2:${entry.event.data}`));
    backplane.subscribe("b", (entry) => seen.push(`b:${entry.event.data}`));
    expect(first.ready).toBeUndefined();
    backplane.publish("a", { data: "x" });
    expect(seen).toEqual(["1:x", "2:x"]);
    first.unsubscribe();
    first.unsubscribe();
    backplane.publish("a", { data: "y" });
    expect(seen).toEqual(["1:x", "2:x", "2:y"]);
  });

  it("keeps delivering to the other listeners when one throws, and reports the error as uncaught", async () => {
    const backplane = new MemoryBackplane();
    const seen: string[] = [];
    const uncaught = new Promise<unknown>((resolve) => {
      const listeners = process.listeners("uncaughtException");
      process.removeAllListeners("uncaughtException");
      process.once("uncaughtException", (error) => {
        for (const listener of listeners) process.on("uncaughtException", listener);
        resolve(error);
      });
    });
    backplane.subscribe("a", () => {
      throw new Error("listener failed");
    });
    backplane.subscribe("a", (entry) => seen.push(entry.event.data ?? ""));
    backplane.publish("a", { data: "x" });
    expect(seen).toEqual(["x"]);
    expect(await uncaught).toEqual(new Error("listener failed"));
  });

  it("answers history across topics in publication order, from any topic's id", () => {
    const backplane = new MemoryBackplane();
    const a1 = backplane.publish("a", { data: "a1" });
    const b1 = backplane.publish("b", { data: "b1" });
    backplane.publish("a", { data: "a2", id: "mine" });
    backplane.publish("b", { data: "b2" });
    expect(dataOf(backplane.history(["a", "b"], a1))).toEqual(["b1", "a2", "b2"]);
    expect(dataOf(backplane.history(["a"], b1))).toEqual(["a2"]);
    expect(dataOf(backplane.history(["b"], "mine"))).toEqual(["b2"]);
    expect(backplane.history(["a"], "never-issued")).toEqual({ gone: true, lastId: "mine" });
    expect(backplane.history(["nobody"], "never-issued")).toEqual({ gone: true });
  });

  it("hands out the entry objects it delivered, so the hub's encoded frame is reused on replay", () => {
    const backplane = new MemoryBackplane();
    const delivered: unknown[] = [];
    backplane.subscribe("a", (entry) => delivered.push(entry));
    const first = backplane.publish("a", { data: "1" });
    backplane.publish("a", { data: "2" });
    const history = backplane.history(["a"], first);
    expect(history.gone ? [] : history.entries[0]).toBe(delivered[1]);
  });

  it("answers gone for an id evicted by maxEvents, or older than an eviction in a topic asked for", () => {
    const backplane = new MemoryBackplane({ maxEvents: 2 });
    const a1 = backplane.publish("a", { data: "a1" });
    const b = ["b1", "b2", "b3"].map((data) => backplane.publish("b", { data }));
    expect(backplane.history(["a", "b"], a1)).toEqual({ gone: true, lastId: b[2] });
    expect(dataOf(backplane.history(["a"], a1))).toEqual([]);
    // b1 is the newest evicted entry: a client that saw it misses nothing retained.
    expect(dataOf(backplane.history(["b"], b[0]!))).toEqual(["b2", "b3"]);
    const b4 = backplane.publish("b", { data: "b4" });
    expect(backplane.history(["b"], b[0]!)).toEqual({ gone: true, lastId: b4 });
  });

  it("expires events after maxAge, and resumes a client whose last event has just expired", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const backplane = new MemoryBackplane({ maxAge: 1000 });
    const old = backplane.publish("a", { data: "old" });
    vi.setSystemTime(1_000_500);
    const newer = backplane.publish("a", { data: "newer" });
    vi.setSystemTime(1_001_200);
    expect(dataOf(backplane.history(["a"], old))).toEqual(["newer"]);
    vi.setSystemTime(1_001_600);
    expect(dataOf(backplane.history(["a"], newer))).toEqual([]);
    expect(backplane.history(["a"], old)).toEqual({ gone: true });
  });

  it("releases the memory of topics whose events expired and that nobody follows", () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const backplane = new MemoryBackplane({ maxAge: 1000 });
    const ids = Array.from({ length: 100 }, (_, i) => backplane.publish(`topic-${i}`, { data: "x" }));
    const followed = backplane.subscribe("topic-0", () => {});
    vi.setSystemTime(1_002_000);
    // Each publish checks a few topics: enough publishes visit every one.
    for (let i = 0; i < 60; i++) backplane.publish("busy", { data: "y" });
    const later = backplane.publish("topic-1", { data: "z" });
    // topic-1 was released and created again: its expired id is unknown now. topic-0 was kept, with
    // the memory of its newest expired event, because someone follows it.
    expect(backplane.history(["topic-1"], ids[1]!)).toEqual({ gone: true, lastId: later });
    expect(backplane.history(["topic-0"], ids[0]!)).toEqual({ gone: false, entries: [] });
    followed.unsubscribe();
  });

  it("refuses invalid arguments in the library's words, and everything once closed", () => {
    const backplane = new MemoryBackplane();
    expect(() => backplane.publish("", { data: "x" })).toThrow(
      new TypeError('Cannot publish: "topic" must be a non-empty string, got the string ""'),
    );
    expect(() => backplane.publish("a", null as never)).toThrow(
      new TypeError("Cannot publish: expected an event object, got null"),
    );
    expect(() => backplane.subscribe("a", "no" as never)).toThrow(
      new TypeError('Cannot subscribe: "listener" must be a function, got the string "no"'),
    );
    expect(() => new MemoryBackplane({ maxEvents: 1.5 })).toThrow(RangeError);
    const seen: string[] = [];
    backplane.subscribe("a", (entry) => seen.push(entry.id));
    backplane.close();
    backplane.close();
    expect(() => backplane.publish("a", { data: "x" })).toThrow(new TypeError("Cannot publish: the backplane is closed"));
    expect(() => backplane.subscribe("a", () => {})).toThrow(new TypeError("Cannot subscribe: the backplane is closed"));
    expect(() => backplane.history(["a"], "x")).toThrow(new TypeError("Cannot read history: the backplane is closed"));
    expect(seen).toEqual([]);
  });
});
