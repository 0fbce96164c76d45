// hertz-sse/cloudflare: the Durable Object backplane against a storage double (ids, bounds,
// persistence, loading), then the hub object, router and publishTo on the real workerd binary,
// with the object's storage on disk so that it survives evictions and restarts.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import {
  DurableObjectBackplane,
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
  type DurableObjectStorageLike,
  hubRouter,
  publishTo,
} from "../../src/adapters/cloudflare/index.ts";
import type { BackplaneEntry, BackplaneHistory } from "../../src/hub/backplane.ts";
import { available } from "../_helpers/runtimes.ts";
import { type DurableObjectWorker, startDurableObjectWorker } from "../_helpers/workerd.ts";
import { Subscription } from "./cloudflare/subscription.ts";

// ---------------------------------------------------------------------------------------------
// A storage double with the semantics the backplane relies on: structured-clone values, keys in
// order, inclusive `start`, and the 128-key limit of put() and delete().

class MemoryStorage implements DurableObjectStorageLike {
  readonly data = new Map<string, unknown>();
  readonly calls: { op: "put" | "delete"; keys: number }[] = [];
  async get(key: string): Promise<unknown> {
    return structuredClone(this.data.get(key));
  }
  async put(entries: Record<string, unknown>): Promise<void> {
    const keys = Object.keys(entries);
    if (keys.length > 128) throw new RangeError("put: at most 128 keys");
    this.calls.push({ op: "put", keys: keys.length });
    for (const key of keys) this.data.set(key, structuredClone(entries[key]));
  }
  async delete(keys: string[]): Promise<number> {
    if (keys.length > 128) throw new RangeError("delete: at most 128 keys");
    this.calls.push({ op: "delete", keys: keys.length });
    let n = 0;
    for (const key of keys) if (this.data.delete(key)) n++;
    return n;
  }
  async list(options: { prefix?: string; start?: string; limit?: number }): Promise<Map<string, unknown>> {
    const keys = [...this.data.keys()]
      .filter((key) => key.startsWith(options.prefix ?? "") && (options.start === undefined || key >= options.start))
      .sort();
    return new Map(keys.slice(0, options.limit ?? keys.length).map((key) => [key, structuredClone(this.data.get(key))]));
  }
  keys(prefix: string): string[] {
    return [...this.data.keys()].filter((key) => key.startsWith(prefix)).sort();
  }
}

/** A Durable Object state as the runtime gives it: loading blocks the object's events. */
function stateOf(storage: DurableObjectStorageLike): DurableObjectStateLike {
  return { storage, blockConcurrencyWhile: (callback) => callback() };
}

async function loaded(storage: MemoryStorage, options = {}): Promise<DurableObjectBackplane> {
  const backplane = new DurableObjectBackplane(stateOf(storage), {
    onError: (error) => {
      throw error;
    },
    ...options,
  });
  await backplane.ready;
  return backplane;
}

/** Waits until `test()` holds: the backplane writes evictions after hashing their marker keys. */
async function eventually(test: () => boolean, what: string): Promise<void> {
  // performance.now(): some tests fake Date.
  const deadline = performance.now() + 2000;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function dataOf(history: BackplaneHistory): string[] {
  if (history.gone) throw new Error("expected entries, got gone");
  return history.entries.map((entry) => entry.event.data ?? "");
}

describe("DurableObjectBackplane", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("assigns ids in one sequence across topics, keeps publisher ids, and replays across topics in order", async () => {
    const backplane = await loaded(new MemoryStorage());
    const a1 = await backplane.publish("a", { data: "a1" });
    const b1 = await backplane.publish("b", { data: "b1" });
    const own = await backplane.publish("a", { data: "a2", id: "mine" });
    await backplane.publish("b", { data: "b2" });
    expect(a1).toMatch(/^\d+-1$/);
    expect(b1).toBe(`${a1.split("-")[0]}-2`);
    expect(own).toBe("mine");
    expect(dataOf(await backplane.history(["a", "b"], a1))).toEqual(["b1", "a2", "b2"]);
    expect(dataOf(await backplane.history(["a"], b1))).toEqual(["a2"]);
    expect(dataOf(await backplane.history(["b"], "mine"))).toEqual(["b2"]);
    expect(await backplane.history(["a"], "never-issued")).toEqual({ gone: true, lastId: "mine" });
    expect(await backplane.history(["nobody"], "never-issued")).toEqual({ gone: true });
  });

  it("delivers to listeners synchronously, in order, and stops after unsubscribe", async () => {
    const backplane = await loaded(new MemoryStorage());
    const seen: string[] = [];
    const subscription = backplane.subscribe("a", (entry) => seen.push(`${entry.id}:${entry.event.data}`));
    expect(subscription.ready).toBeUndefined();
    const publishing = backplane.publish("a", { data: "x", id: "1" });
    expect(seen).toEqual(["1:x"]); // before the storage write resolves
    await publishing;
    subscription.unsubscribe();
    subscription.unsubscribe();
    await backplane.publish("a", { data: "y" });
    expect(seen).toEqual(["1:x"]);
  });

  it("keeps its log, counter and ids when the object is recreated on the same storage", async () => {
    const storage = new MemoryStorage();
    const first = await loaded(storage);
    const ids = [await first.publish("a", { event: "e", data: "1" }), await first.publish("b", { data: "2", retry: 500 })];
    await first.publish("a", { data: "3", comment: "c" });
    const second = await loaded(storage);
    const history = await second.history(["a", "b"], ids[0]!);
    if (history.gone) throw new Error("expected entries, got gone");
    expect(history.entries.map(({ topic, id, event }: BackplaneEntry) => ({ topic, id, event }))).toEqual([
      { topic: "b", id: ids[1], event: { data: "2", retry: 500 } },
      { topic: "a", id: `${ids[0]!.split("-")[0]}-3`, event: { data: "3", comment: "c" } },
    ]);
    // The sequence goes on where it stopped: no id is issued twice.
    expect(await second.publish("a", { data: "4" })).toBe(`${ids[0]!.split("-")[0]}-4`);
  });

  it("bounds each topic by maxEvents in storage too, and answers gone for an evicted id", async () => {
    const storage = new MemoryStorage();
    const backplane = await loaded(storage, { maxEvents: 3 });
    const ids: string[] = [];
    for (let i = 1; i <= 10; i++) ids.push(await backplane.publish("a", { data: String(i) }));
    await backplane.publish("b", { data: "b" });
    await eventually(() => storage.keys("hertz-sse:e:").length === 4, "the evicted events to be deleted");
    expect(dataOf(await backplane.history(["a"], ids[6]!))).toEqual(["8", "9", "10"]);
    expect(await backplane.history(["a"], ids[5]!)).toEqual({ gone: true, lastId: ids[9] });
    // Every batch stays within the storage's limit of 128 keys.
    expect(Math.max(...storage.calls.map((call) => call.keys))).toBeLessThanOrEqual(128);
  });

  it("answers gone when a topic asked for lost events after the id, even after a restart", async () => {
    const storage = new MemoryStorage();
    const backplane = await loaded(storage, { maxEvents: 2 });
    const a1 = await backplane.publish("a", { data: "a1" });
    for (const data of ["b1", "b2", "b3"]) await backplane.publish("b", { data });
    // b1 came after a1 and is gone: replaying b2 and b3 alone would hide the gap.
    expect((await backplane.history(["a", "b"], a1)).gone).toBe(true);
    expect(dataOf(await backplane.history(["a"], a1))).toEqual([]);
    const again = await loaded(storage, { maxEvents: 2 });
    expect((await again.history(["a", "b"], a1)).gone).toBe(true);
    expect(dataOf(await again.history(["a"], a1))).toEqual([]);
  });

  it("expires events after maxAge, deletes them from storage, and resumes a client whose last event just expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const storage = new MemoryStorage();
    const backplane = await loaded(storage, { maxAge: 1000 });
    const old = await backplane.publish("a", { data: "old" });
    vi.setSystemTime(1_000_500);
    const newer = await backplane.publish("a", { data: "newer" });
    vi.setSystemTime(1_001_200);
    expect(dataOf(await backplane.history(["a"], old))).toEqual(["newer"]);
    vi.setSystemTime(1_001_600);
    // Both expired; the newest was the client's last event, and nothing came after it.
    expect(dataOf(await backplane.history(["a"], newer))).toEqual([]);
    expect(await backplane.history(["a"], old)).toEqual({ gone: true });
    await eventually(() => storage.keys("hertz-sse:e:").length === 0, "the expired events to be deleted");
    // A restart later: the expired events are not resurrected, and the counter goes on.
    const again = await loaded(storage, { maxAge: 1000 });
    expect(await again.publish("a", { data: "next" })).toBe(`${old.split("-")[0]}-3`);
  });

  it("applies lowered bounds when it loads, deleting in batches the storage accepts", async () => {
    const storage = new MemoryStorage();
    const big = await loaded(storage, { maxEvents: 400 });
    const ids: string[] = [];
    for (let i = 1; i <= 300; i++) ids.push(await big.publish("a", { data: String(i) }));
    storage.calls.length = 0;
    const small = await loaded(storage, { maxEvents: 10 });
    await eventually(() => storage.keys("hertz-sse:e:").length === 10, "the events over the new bound to be deleted");
    expect(storage.calls.filter((call) => call.op === "delete").map((call) => call.keys)).toEqual([128, 128, 34]);
    expect(await small.history(["a"], ids[280]!)).toEqual({ gone: true, lastId: ids[299] });
    expect(dataOf(await small.history(["a"], ids[297]!))).toEqual(["299", "300"]);
  });

  it("stores nothing for a topic with maxEvents 0, yet keeps counting", async () => {
    const storage = new MemoryStorage();
    const backplane = await loaded(storage, { maxEvents: 0 });
    const first = await backplane.publish("a", { data: "x" });
    const second = await backplane.publish("a", { data: "y" });
    expect(storage.keys("hertz-sse:e:")).toEqual([]);
    expect(second).toBe(`${first.split("-")[0]}-2`);
    expect(await backplane.history(["a"], first)).toEqual({ gone: true });
  });

  it("waits for its log to load when the state has no blockConcurrencyWhile", async () => {
    const storage = new MemoryStorage();
    const first = await loaded(storage);
    const id = await first.publish("a", { data: "before" });
    const backplane = new DurableObjectBackplane({ storage });
    const subscription = backplane.subscribe("a", () => {});
    expect(subscription.ready).toBe(backplane.ready);
    const history = backplane.history(["a"], id);
    const published = backplane.publish("a", { data: "after" });
    expect(history).toBeInstanceOf(Promise);
    expect(dataOf(await history)).toEqual([]);
    expect(await published).toBe(`${id.split("-")[0]}-2`);
  });

  it("writes eviction markers under a hashed key, apart from publishes: a failed marker write reaches onError only", async () => {
    const storage = new MemoryStorage();
    const put = storage.put.bind(storage);
    storage.put = async (entries) => {
      if (Object.keys(entries).some((key) => key.startsWith("hertz-sse:t:"))) throw new Error("marker write failed");
      return put(entries);
    };
    const errors: unknown[] = [];
    const backplane = new DurableObjectBackplane(stateOf(storage), { maxEvents: 1, onError: (error) => errors.push(error) });
    await backplane.ready;
    for (const data of ["1", "2", "3"]) await backplane.publish("a".repeat(256), { data });
    await eventually(() => errors.length > 0, "the failed marker write");
    expect(errors[0]).toEqual(new Error("marker write failed"));
    storage.put = put;
    await backplane.publish("b", { data: "4" });
    await backplane.publish("b", { data: "5" });
    await eventually(() => storage.keys("hertz-sse:t:").length === 1, "the marker of b");
    const [key] = storage.keys("hertz-sse:t:");
    expect(key).toMatch(/^hertz-sse:t:[0-9a-f]{32}$/);
    expect(storage.data.get(key!)).toEqual({ topic: "b", seq: 4, id: expect.stringMatching(/-4$/) });
  });

  it("rewrites a marker of the older layout (keyed by the topic) under its hash when it loads", async () => {
    const storage = new MemoryStorage();
    storage.data.set("hertz-sse:meta", { epoch: 7, seq: 6 });
    storage.data.set("hertz-sse:t:news", { seq: 5, id: "7-5" });
    storage.data.set("hertz-sse:e:0000000000000006", { topic: "news", id: "7-6", time: Date.now(), event: { data: "x" } });
    const backplane = await loaded(storage);
    await eventually(() => !storage.data.has("hertz-sse:t:news"), "the old marker to be deleted");
    await eventually(() => storage.keys("hertz-sse:t:").length === 1, "the new marker");
    expect(storage.data.get(storage.keys("hertz-sse:t:")[0]!)).toEqual({ topic: "news", seq: 5, id: "7-5" });
    // The marker still tells that a client holding 7-5 missed only what is retained.
    expect(dataOf(await backplane.history(["news"], "7-5"))).toEqual(["x"]);
    expect(await backplane.publish("news", { data: "y" })).toBe("7-7");
  });

  it("sets an alarm when it stores an event, and deletes its whole log in the alarm once every event has expired", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const storage = new MemoryStorage();
    const alarms: number[] = [];
    const state: DurableObjectStateLike = {
      storage: Object.assign(storage, { setAlarm: async (time: number) => void alarms.push(time) }),
      blockConcurrencyWhile: (callback) => callback(),
    };
    const backplane = new DurableObjectBackplane(state, { maxAge: 1000, maxEvents: 1 });
    await backplane.ready;
    await backplane.publish("a", { data: "1" });
    vi.setSystemTime(1_000_600);
    await backplane.publish("a", { data: "2" });
    expect(alarms).toEqual([1_001_001]); // one alarm per maxAge, not one per publish
    await eventually(() => storage.keys("hertz-sse:").length === 3, "the meta, the event and the marker");
    vi.setSystemTime(1_001_001);
    await backplane.alarm(); // the newest event is still retained: the alarm is set again
    expect(alarms).toEqual([1_001_001, 1_001_601]);
    expect(storage.keys("hertz-sse:e:")).toHaveLength(1);
    vi.setSystemTime(1_001_601);
    await backplane.alarm();
    expect(storage.keys("")).toEqual([]);
    // The log goes on in memory: the next id follows, and the alarm is set again.
    expect(await backplane.publish("a", { data: "3" })).toMatch(/-3$/);
    expect(alarms).toEqual([1_001_001, 1_001_601, 1_002_602]);
  });

  it("keeps its keys under its prefix and refuses invalid arguments in the library's words", async () => {
    const storage = new MemoryStorage();
    storage.data.set("mine", 1);
    const backplane = await loaded(storage, { prefix: "sse/" });
    await backplane.publish("a", { data: "x" });
    expect([...storage.data.keys()].sort()).toEqual(["mine", "sse/e:0000000000000001", "sse/meta"]);
    await expect(backplane.publish("", { data: "x" })).rejects.toThrow(
      new TypeError('Cannot publish: "topic" must be a non-empty string, got the string ""'),
    );
    expect(() => new DurableObjectBackplane({ storage }, { maxEvents: -1 })).toThrow(RangeError);
    expect(() => new DurableObjectBackplane(undefined as never)).toThrow(
      'Cannot create DurableObjectBackplane: "state" must be a Durable Object state with storage, got undefined undefined',
    );
    await backplane.close();
    await expect(backplane.publish("a", { data: "x" })).rejects.toThrow("Cannot publish: the backplane is closed");
  });
});

describe("hubRouter and publishTo", () => {
  const namespace = (seen: { name: string; request: Request }[]): DurableObjectNamespaceLike => ({
    idFromName: (name) => ({ name }),
    get: (id) => ({
      fetch: async (request) => {
        seen.push({ name: (id as { name: string }).name, request });
        return Response.json({ id: "42" });
      },
    }),
  });

  it("routes a request to the object named after its topic, and refuses several topics", async () => {
    const seen: { name: string; request: Request }[] = [];
    const route = hubRouter(namespace(seen), { topics: () => true });
    await route(new Request("http://x/events?topic=news"));
    await route(new Request("http://x/events"));
    const several = await route(new Request("http://x/events?topic=a&topic=b"));
    expect(seen.map((s) => s.name)).toEqual(["news", "default"]);
    expect(several.status).toBe(400);
  });

  it("publishes a validated, serialised event to the topic's object", async () => {
    const seen: { name: string; request: Request }[] = [];
    expect(await publishTo(namespace(seen), "user:ann", { event: "direct", data: { text: "hi" } }, { objectName: "chat" })).toBe(
      "42",
    );
    expect(seen[0]!.name).toBe("chat");
    expect(new URL(seen[0]!.request.url).searchParams.get("topic")).toBe("user:ann");
    expect(await seen[0]!.request.json()).toEqual({ event: "direct", data: '{"text":"hi"}' });
    await expect(publishTo(namespace(seen), "a", { event: "x\ny" })).rejects.toThrow(TypeError);
    await expect(publishTo(namespace(seen), "", { data: "x" })).rejects.toThrow(
      'Cannot publish: "topic" must be a non-empty string, got the string ""',
    );
    await expect(publishTo({} as never, "a", { data: "x" })).rejects.toThrow(
      'Cannot publish: "namespace" must be a Durable Object namespace binding, got an object',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// On workerd.

describe.skipIf(!available("workerd"))("SSEHubObject on workerd", () => {
  let worker: DurableObjectWorker;
  let base: string;
  const open: Subscription[] = [];
  const subscribe = async (path: string, lastEventId?: string): Promise<Subscription> => {
    const subscription = await Subscription.open(
      `${base}${path}`,
      lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId },
    );
    open.push(subscription);
    return subscription;
  };
  const publish = async (topic: string, event: object): Promise<string> => {
    const response = await fetch(`${base}/events?topic=${encodeURIComponent(topic)}`, {
      method: "POST",
      body: JSON.stringify(event),
    });
    expect(response.status).toBe(200);
    return ((await response.json()) as { id: string }).id;
  };
  const count = async (topic: string): Promise<{ size: number; count: number }> =>
    (await fetch(`${base}/count?topic=${encodeURIComponent(topic)}`)).json() as Promise<{ size: number; count: number }>;

  beforeAll(async () => {
    worker = await startDurableObjectWorker("test/adapters/cloudflare/worker.ts", {
      name: "cloudflare-hub",
      className: "TestHub",
      binding: "HUB",
    });
    base = worker.server.url;
  });
  afterEach(() => {
    for (const subscription of open.splice(0)) subscription.close();
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it("fans an event published by one request out to subscribers of separate requests, with the same ids", async () => {
    const subscribers = await Promise.all([1, 2, 3].map(() => subscribe("/events?topic=fan")));
    const first = await publish("fan", { event: "news", data: "one" });
    const response = await fetch(`${base}/worker-publish?topic=fan&event=news&json=${encodeURIComponent('{"n":2}')}`);
    const second = ((await response.json()) as { id: string }).id;
    for (const subscriber of subscribers) {
      expect(await subscriber.count(2)).toEqual([
        { type: "news", data: "one", lastEventId: first },
        { type: "news", data: '{"n":2}', lastEventId: second },
      ]);
    }
    expect(second).not.toBe(first);
  });

  it("keeps topics in separate objects apart, and one object hosts several topics for one stream", async () => {
    const fan = await subscribe("/events?topic=apart-a");
    const chat = await subscribe("/chat?topic=room&topic=user:ann");
    await publish("apart-b", { data: "elsewhere" });
    await fetch(`${base}/worker-publish?topic=user:ann&object=chat&event=direct&json=%22psst%22`);
    const room = await fetch(`${base}/chat?topic=room`, {
      method: "POST",
      body: JSON.stringify({ event: "broadcast", data: "hi all" }),
    });
    expect(room.status).toBe(200);
    await publish("apart-a", { data: "here" });
    expect((await chat.count(2)).map((m) => `${m.type}:${m.data}`)).toEqual(["direct:psst", "broadcast:hi all"]);
    expect((await fan.count(1)).map((m) => m.data)).toEqual(["here"]);
  });

  it("replays exactly the missed events to a client that reconnects with Last-Event-ID", async () => {
    const first = await subscribe("/events?topic=replay");
    const ids = [await publish("replay", { data: "1" }), await publish("replay", { data: "2" })];
    await first.count(2);
    first.close();
    const missed = [await publish("replay", { data: "3" }), await publish("replay", { data: "4" })];
    const again = await subscribe("/events?topic=replay", ids[1]);
    const live = await publish("replay", { data: "5" });
    expect(await again.count(3)).toEqual([
      { type: "message", data: "3", lastEventId: missed[0] },
      { type: "message", data: "4", lastEventId: missed[1] },
      { type: "message", data: "5", lastEventId: live },
    ]);
  });

  it("replays from storage after the object is evicted and after workerd restarts, and never reuses an id", async () => {
    const ids = [
      await publish("durable", { data: "a" }),
      await publish("durable", { data: "b" }),
      await publish("durable", { data: "c" }),
    ];
    expect((await fetch(`${base}/evict?topic=durable`)).status).toBe(500); // abort() throws in the request that calls it
    const afterEviction = await subscribe("/events?topic=durable", ids[0]);
    expect((await afterEviction.count(2)).map((m) => [m.data, m.lastEventId])).toEqual([
      ["b", ids[1]],
      ["c", ids[2]],
    ]);
    const next = await publish("durable", { data: "d" });
    expect(next.split("-")[0]).toBe(ids[0]!.split("-")[0]);
    expect(Number(next.split("-")[1])).toBeGreaterThan(Number(ids[2]!.split("-")[1]));
    afterEviction.close();

    await worker.restart();
    base = worker.server.url;
    const afterRestart = await subscribe("/events?topic=durable", ids[1]);
    expect((await afterRestart.count(2)).map((m) => [m.data, m.lastEventId])).toEqual([
      ["c", ids[2]],
      ["d", next],
    ]);
  });

  it("sends the reset event for an unknown or evicted id, then live events", async () => {
    const unknown = await subscribe("/events?topic=reset", "no-such-id");
    const first = await unknown.count(1);
    expect(first[0]).toMatchObject({ type: "reset" });
    expect(JSON.parse(first[0]!.data)).toEqual({ lastEventId: "no-such-id", topics: ["reset"] });
    // The object keeps 5 events per topic: the first of 7 is evicted.
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) ids.push(await publish("reset", { data: String(i) }));
    const evicted = await subscribe("/events?topic=reset", ids[0]);
    const live = await publish("reset", { data: "live" });
    const [reset, next] = await evicted.count(2);
    expect(reset).toMatchObject({ type: "reset", lastEventId: ids[6] });
    expect(JSON.parse(reset!.data)).toEqual({ lastEventId: ids[0], topics: ["reset"] });
    expect(next).toEqual({ type: "message", data: "live", lastEventId: live });
  });

  it("forgets a subscriber within a second of its client going away", async () => {
    const subscription = await subscribe("/events?topic=cleanup");
    expect(await count("cleanup")).toEqual({ size: 1, count: 1 });
    subscription.close();
    const deadline = Date.now() + 1000;
    let now = await count("cleanup");
    while (now.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      now = await count("cleanup");
    }
    expect(now).toEqual({ size: 0, count: 0 });
  });

  it("sends keep-alives while idle, also after the subscriber that started the timer has left", async () => {
    const first = await subscribe("/events?topic=idle");
    await first.until(() => first.comments.includes("keep-alive"), "a keep-alive");
    const second = await subscribe("/events?topic=idle");
    first.close();
    await second.until(() => second.comments.filter((c) => c === "keep-alive").length >= 2, "two keep-alives");
    expect(second.messages).toEqual([]);
  });

  it("answers invalid publishes with 400, 405 or 413 and the reason", async () => {
    const post = (body: string, query = "?topic=bad") => fetch(`${base}/events${query}`, { method: "POST", body });
    const invalid = await post(JSON.stringify({ event: "a\nb", data: "x" }));
    expect([invalid.status, await invalid.text()]).toEqual([
      400,
      'Cannot encode event: "event" must not contain CR or LF, got "a\\nb"',
    ]);
    expect((await post("not json")).status).toBe(400);
    expect(await (await post("[1]")).text()).toBe("Cannot publish: the body must be a JSON event object, got an array");
    expect((await post(JSON.stringify({ data: "x".repeat(200_000) }))).status).toBe(413);
    expect((await post("{}", "?topic=a&topic=b")).status).toBe(400);
    const put = await fetch(`${base}/events?topic=bad`, { method: "PUT", body: "{}" });
    expect([put.status, put.headers.get("allow")]).toEqual([405, "GET, POST"]);
    const fromWorker = await fetch(`${base}/worker-publish?topic=&json=1`);
    expect(await fromWorker.json()).toEqual({
      name: "TypeError",
      message: 'Cannot publish: "topic" must be a non-empty string, got the string ""',
    });
  });
});
