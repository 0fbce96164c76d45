import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/core/encoder.ts";
import {
  type Backplane,
  type BackplaneEntry,
  type BackplaneEvent,
  type BackplaneHistory,
  type BackplaneListener,
  type BackplaneSubscription,
  SSEHub,
} from "../../src/hub/index.ts";

/**
 * A backplane with groups, as Redis Cluster's slots: a topic's group is the text before its `:`,
 * each group numbers its own entries (`<group>.<n>`), and history takes a compound id, one
 * position per group. Asynchronous like Redis: live entries arrive a macrotask after the publish,
 * `ready` and `history` resolve later, so the hub's hold-and-skip hand-over is exercised.
 */
class GroupedBackplane implements Backplane {
  readonly entries: BackplaneEntry[] = [];
  readonly #counters = new Map<string, number>();
  readonly #listeners = new Map<string, Set<BackplaneListener>>();
  /** Publishes to run while a history read is under way. */
  duringHistory: (() => void) | undefined;
  historyCalls: string[] = [];
  /** Every subscription's `ready`, for tests that publish once delivery is live. */
  readonly readies: Promise<void>[] = [];

  constructor(readonly maxGroups = 64) {}

  groupOf(topic: string): string {
    return topic.split(":")[0]!;
  }

  groupOfId(id: string): string | undefined {
    return /^(\w+)\.\d+$/.exec(id)?.[1];
  }

  publish(topic: string, event: BackplaneEvent): Promise<string> {
    const group = this.groupOf(topic);
    const n = (this.#counters.get(group) ?? 0) + 1;
    this.#counters.set(group, n);
    const entry: BackplaneEntry = { topic, id: `${group}.${n}`, event };
    this.entries.push(entry);
    setTimeout(() => {
      for (const listener of this.#listeners.get(topic) ?? []) listener({ ...entry });
    }, 0);
    return Promise.resolve(entry.id);
  }

  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    let set = this.#listeners.get(topic);
    if (set === undefined) this.#listeners.set(topic, (set = new Set()));
    set.add(listener);
    const ready = new Promise<void>((resolve) => setTimeout(resolve, 1));
    this.readies.push(ready);
    return { ready, unsubscribe: () => set.delete(listener) };
  }

  async history(topics: readonly string[], afterId: string): Promise<BackplaneHistory> {
    this.historyCalls.push(afterId);
    const positions = new Map<string, number>();
    for (const part of afterId.split(",")) {
      const group = this.groupOfId(part);
      if (group === undefined) return { gone: true, lastId: this.entries.at(-1)?.id };
      positions.set(group, Number(part.split(".")[1]));
    }
    const run = this.duringHistory;
    this.duringHistory = undefined;
    run?.();
    // Live delivery of what was published meanwhile (a macrotask after each publish) comes first:
    // the hub holds it back and skips what the history contains.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const entries = this.entries.filter((entry) => {
      if (!topics.includes(entry.topic)) return false;
      const after = positions.get(this.groupOf(entry.topic));
      return after === undefined || Number(entry.id.split(".")[1]) > after;
    });
    return { gone: false, entries: entries.map((entry) => ({ ...entry })) };
  }

  close(): void {}
}

interface Block {
  id?: string;
  data?: string;
  event?: string;
}

/** Collects the events of an event-stream body. */
class Reader {
  readonly events: Block[] = [];
  text = "";
  #waiters: (() => void)[] = [];
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(response: Response) {
    expect(response.status).toBe(200);
    this.#reader = response.body!.getReader();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await this.#reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      const text = decoder.decode(value, { stream: true });
      this.text += text;
      buffer += text;
      const end = buffer.lastIndexOf("\n\n");
      if (end === -1) continue;
      for (const chunk of buffer.slice(0, end).split("\n\n")) {
        const block: Block = {};
        for (const line of chunk.split("\n")) {
          const colon = line.indexOf(": ");
          const field = line.slice(0, colon);
          if (field === "id" || field === "data" || field === "event") block[field] = line.slice(colon + 2);
        }
        if (block.data !== undefined) this.events.push(block);
      }
      buffer = buffer.slice(end + 2);
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  async until(test: (events: readonly Block[]) => boolean): Promise<void> {
    while (!test(this.events)) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }
}

const request = (lastEventId?: string): Request =>
  new Request("http://localhost/sse", { headers: lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId } });

describe("SSEHub with a backplane of several groups", () => {
  it("sends a subscription spanning two groups one position per group as its id, the rest of the frame unchanged", async () => {
    const backplane = new GroupedBackplane();
    const hub = new SSEHub({ backplane, keepAlive: false });
    const reader = new Reader(await hub.subscribe(request(), { topics: ["a:x", "b:y"] }));
    await Promise.all(backplane.readies);
    await hub.publish({ data: "one" }, { topic: "a:x" });
    await reader.until((events) => events.length === 1);
    await hub.publish({ event: "e", data: "two\nlines", comment: "c", retry: 250 }, { topic: "b:y" });
    await reader.until((events) => events.length === 2);
    await hub.publish({ data: "three" }, { topic: "a:x" });
    await reader.until((events) => events.length === 3);
    expect(reader.text).toBe(
      encodeEvent({ data: "one", id: "a.1" }) +
        encodeEvent({ comment: "c", event: "e", data: "two\nlines", id: "a.1,b.1", retry: 250 }) +
        encodeEvent({ data: "three", id: "a.2,b.1" }),
    );
    await reader.cancel();
    await hub.close();
  });

  it("starts a group it has received nothing of from the last entry delivered on the instance before it joined", async () => {
    const backplane = new GroupedBackplane();
    const hub = new SSEHub({ backplane, keepAlive: false });
    const early = new Reader(await hub.subscribe(request(), { topics: "a:x" }));
    await Promise.all(backplane.readies);
    await hub.publish({ data: "before" }, { topic: "a:x" });
    await early.until((events) => events.length === 1);
    const reader = new Reader(await hub.subscribe(request(), { topics: ["a:x", "b:y"] }));
    await Promise.all(backplane.readies);
    await hub.publish({ data: "after" }, { topic: "b:y" });
    await reader.until((events) => events.length === 1);
    expect(reader.events[0]).toEqual({ data: "after", id: "a.1,b.1" });
    await early.cancel();
    await reader.cancel();
    await hub.close();
  });

  it("keeps single ids, and the shared frame, for a subscription within one group", async () => {
    const backplane = new GroupedBackplane();
    const hub = new SSEHub({ backplane, keepAlive: false });
    const reader = new Reader(await hub.subscribe(request(), { topics: ["a:x", "a:y"] }));
    await Promise.all(backplane.readies);
    await hub.publish({ data: "one" }, { topic: "a:x" });
    await hub.publish({ data: "two" }, { topic: "a:y" });
    await reader.until((events) => events.length === 2);
    expect(reader.events.map((block) => block.id)).toEqual(["a.1", "a.2"]);
    await reader.cancel();
    await hub.close();
  });

  it("resumes every group from one compound Last-Event-ID, with no gap and no duplicate, while publishes go on", async () => {
    const backplane = new GroupedBackplane();
    const hub = new SSEHub({ backplane, keepAlive: false });
    const topics = ["a:x", "b:y", "c:z"];
    const first = new Reader(await hub.subscribe(request(), { topics }));
    await Promise.all(backplane.readies);
    const published: string[] = [];
    const publish = async (n: number): Promise<void> => {
      const data = `m${n}`;
      await hub.publish({ data }, { topic: topics[n % 3] });
      published.push(data);
    };
    for (let n = 0; n < 9; n++) await publish(n);
    await first.until((events) => events.length === 9);
    const leaveAt = first.events[4]!;
    expect(leaveAt.id).toBe("a.2,b.2,c.1");
    await first.cancel();
    // While the replay is read, more is published on every group: delivered live during the read
    // and contained in the history too.
    let n = 9;
    backplane.duringHistory = () => {
      for (let k = 0; k < 3; k++) void publish(n++);
    };
    const second = new Reader(await hub.subscribe(request(leaveAt.id), { topics }));
    await second.until((events) => events.length >= 7);
    for (; n < 15; ) await publish(n++);
    await second.until((events) => events.some((block) => block.data === "m14"));
    expect(backplane.historyCalls).toEqual(["a.2,b.2,c.1"]);
    expect(second.events.map((block) => block.data)).toEqual(published.slice(5));
    // Each id names the newest event of every group up to it.
    expect(second.events.at(-1)!.id).toBe("a.5,b.5,c.5");
    expect(second.events[0]!.id).toBe("a.2,b.2,c.2");
    await second.cancel();
    await hub.close();
  });

  it("sends the reset event with the newest id of each group when the id cannot be resumed", async () => {
    const backplane = new GroupedBackplane();
    const hub = new SSEHub({ backplane, keepAlive: false, maxReplayEvents: 2 });
    const topics = ["a:x", "b:y"];
    for (let n = 0; n < 6; n++) await hub.publish({ data: `m${n}` }, { topic: topics[n % 2] });
    const reader = new Reader(await hub.subscribe(request("a.1,b.1"), { topics }));
    await reader.until((events) => events.length === 1);
    expect(reader.events[0]!.event).toBe("reset");
    expect(reader.events[0]!.id).toBe("a.3,b.3");
    await reader.cancel();
    await hub.close();
  });

  it("refuses a subscription spanning more groups than one compound id may name with a 400", async () => {
    const hub = new SSEHub({ backplane: new GroupedBackplane(2), keepAlive: false });
    const response = await hub.subscribe(new Request("http://localhost/sse?topic=a:1&topic=b:1&topic=c:1"));
    expect(response.status).toBe(400);
    expect(await response.text()).toBe("Too many topic groups: a subscription may span at most 2 groups of the backplane");
    expect((await hub.subscribe(new Request("http://localhost/sse?topic=a:1&topic=b:1"))).status).toBe(200);
    await hub.close();
  });
});
