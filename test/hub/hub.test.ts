import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type Backplane,
  type BackplaneEvent,
  type BackplaneHistory,
  type BackplaneListener,
  type BackplaneSubscription,
  MemoryBackplane,
  SSEHub,
  type SSEHubOptions,
} from "../../src/hub/index.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

interface Block {
  event?: string;
  data?: string;
  id?: string;
  retry?: string;
  comment?: string;
}

const decoder = new TextDecoder();

/** Reads an event-stream body and splits it into blocks (the hub writes LF line ends only). */
class BodyReader {
  readonly blocks: Block[] = [];
  readonly chunks: Uint8Array[] = [];
  done = false;
  error: unknown;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = "";
  #waiters: { test: () => boolean; resolve: () => void }[] = [];
  #loop: Promise<void> | undefined;

  constructor(response: Response) {
    expect(response.status).toBe(200);
    this.#reader = response.body!.getReader();
  }

  /** The blocks that carry data (events, not comments or bare retry). */
  get events(): Block[] {
    return this.blocks.filter((block) => block.data !== undefined);
  }

  get data(): string[] {
    return this.events.map((block) => block.data!);
  }

  /** Reads one chunk; false at the end. */
  async next(): Promise<boolean> {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.#reader.read();
    } catch (error) {
      // A fetch aborted by the test.
      this.error = error;
      result = { done: true, value: undefined };
    }
    const { value, done } = result;
    if (done) {
      this.done = true;
      this.#check();
      return false;
    }
    this.chunks.push(value);
    this.#buffer += decoder.decode(value, { stream: true });
    let end = this.#buffer.indexOf("\n\n");
    while (end !== -1) {
      this.blocks.push(parseBlock(this.#buffer.slice(0, end)));
      this.#buffer = this.#buffer.slice(end + 2);
      end = this.#buffer.indexOf("\n\n");
    }
    this.#check();
    return true;
  }

  /** Reads in the background until the end; `until()` resolves as blocks arrive. */
  run(): Promise<void> {
    this.#loop ??= (async () => {
      while (await this.next()) {
        // keep reading
      }
    })();
    return this.#loop;
  }

  /** Resolves once `test` holds (checked after each chunk), reading in the background. */
  until(test: (reader: BodyReader) => boolean): Promise<void> {
    if (test(this)) return Promise.resolve();
    void this.run();
    return new Promise((resolve, reject) => {
      this.#waiters.push({
        test: () => {
          if (test(this)) return true;
          if (this.done) reject(new Error(`stream ended first; got ${JSON.stringify(this.blocks)}`));
          return this.done;
        },
        resolve,
      });
    });
  }

  cancel(): Promise<void> {
    return this.#reader.cancel();
  }

  #check(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test()) return true;
      waiter.resolve();
      return false;
    });
  }
}

function parseBlock(text: string): Block {
  const block: Block = {};
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) {
      block.comment = line.slice(2);
      continue;
    }
    const colon = line.indexOf(": ");
    const field = line.slice(0, colon) as keyof Block;
    const value = line.slice(colon + 2);
    block[field] = field === "data" && block.data !== undefined ? `${block.data}\n${value}` : value;
  }
  return block;
}

/** Counts calls and lets a test await a count without polling. */
class Counter {
  count = 0;
  #waiters: { n: number; resolve: () => void }[] = [];
  readonly calls: unknown[][] = [];

  readonly hit = (...args: unknown[]): void => {
    this.count++;
    this.calls.push(args);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.count < waiter.n) return true;
      waiter.resolve();
      return false;
    });
  };

  wait(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function request(query = "", headers: Record<string, string> = {}, signal?: AbortSignal): Request {
  return new Request(`http://hub.test/sse${query}`, { headers, signal });
}

function query(...topics: string[]): string {
  return `?${topics.map((topic) => `topic=${encodeURIComponent(topic)}`).join("&")}`;
}

const hubs: SSEHub[] = [];
function newHub(options: SSEHubOptions = {}): SSEHub {
  const hub = new SSEHub({ keepAlive: false, drainTimeout: false, ...options });
  hubs.push(hub);
  return hub;
}

afterEach(async () => {
  vi.restoreAllMocks();
  vi.useRealTimers();
  await Promise.all(hubs.splice(0).map((hub) => hub.close()));
});

// ---------------------------------------------------------------------------------------------

describe("SSEHub fan-out", () => {
  it("delivers every event of their topics, in order, to 1000 subscribers across topics", async () => {
    const hub = newHub();
    const topics = ["t0", "t1", "t2", "t3"];
    const subscribed: string[][] = [];
    const readers: BodyReader[] = [];
    for (let i = 0; i < 1000; i++) {
      const mine = i % 5 === 4 ? [topics[i % 4]!, topics[(i + 1) % 4]!] : [topics[i % 4]!];
      subscribed.push(mine);
      readers.push(new BodyReader(await hub.subscribe(request(query(...mine)))));
    }
    expect(hub.size).toBe(1000);
    expect(hub.count("t0")).toBe(250 + 50); // i % 4 === 0, and the two-topic i % 20 === 19
    const finished = Promise.all(readers.map((reader) => reader.run()));

    const published: { topic: string; id: string; data: string }[] = [];
    for (let round = 0; round < 40; round++) {
      for (const topic of topics) {
        const data = `${topic}:${round}`;
        published.push({ topic, id: await hub.publish({ event: topic, data }, { topic }), data });
      }
      if (round % 4 === 0) await tick();
    }
    await hub.close();
    await finished;
    expect(hub.size).toBe(0);

    readers.forEach((reader, i) => {
      const expected = published.filter((event) => subscribed[i]!.includes(event.topic));
      expect(reader.events.map((block) => [block.event, block.id, block.data])).toEqual(
        expected.map((event) => [event.topic, event.id, event.data]),
      );
    });
  });

  it("shares one encoded chunk between all subscribers", async () => {
    const hub = newHub();
    const a = (await hub.subscribe(request())).body!.getReader();
    const b = (await hub.subscribe(request())).body!.getReader();
    const reads = [a.read(), b.read()];
    await hub.publish({ data: "shared" });
    const [first, second] = await Promise.all(reads);
    expect(decoder.decode(first!.value)).toMatch(/^data: shared\nid: \d+-1\n\n$/);
    expect(second!.value).toBe(first!.value);
  });

  it("assigns increasing ids unless the publisher gives one, and returns the id", async () => {
    const hub = newHub();
    const reader = new BodyReader(await hub.subscribe(request()));
    const first = await hub.publish({ data: "a" });
    const second = await hub.publish({ data: "b" }, { topic: "other" });
    const third = await hub.publish({ data: "c" });
    const own = await hub.publish({ data: "d", id: 42 });
    expect(first).toMatch(/^\d+-1$/);
    expect(second).toMatch(/^\d+-2$/);
    expect(third).toMatch(/^\d+-3$/);
    expect(own).toBe("42");
    await reader.until((r) => r.events.length === 3);
    expect(reader.events.map((block) => block.id)).toEqual([first, third, "42"]);
  });

  it("serialises non-string data once, with the hub's serializer", async () => {
    const hub = newHub({ serialize: (data) => `<${JSON.stringify(data)}>` });
    const reader = new BodyReader(await hub.subscribe(request()));
    await hub.publish({ event: "obj", data: { n: 1 } });
    await reader.until((r) => r.events.length === 1);
    expect(reader.events[0]).toMatchObject({ event: "obj", data: '<{"n":1}>' });
  });

  it("refuses invalid events and topics before anything is sent", async () => {
    const hub = newHub();
    await expect(hub.publish({ data: "x" }, { topic: "" })).rejects.toThrow(
      new TypeError('Cannot publish: "topic" must be a non-empty string, got the string ""'),
    );
    await expect(hub.publish({ event: "a\nb", data: "x" })).rejects.toThrow(TypeError);
    await expect(hub.publish({ data: "x", id: "" })).rejects.toThrow(TypeError);
    await expect(hub.publish({ data: 1n })).rejects.toThrow(SyntaxError);
    expect(() => hub.tryPublish({ retry: -1 })).toThrow(RangeError);
    expect(() => new SSEHub({ maxQueued: 0 })).toThrow(
      new RangeError('Cannot create SSEHub: "maxQueued" must be a positive integer, got number 0'),
    );
    expect(() => new SSEHub({ slowConsumer: "block" as never })).toThrow(TypeError);
  });
});

describe("SSEHub topics", () => {
  it("takes topics from repeated query parameters, or from the options", async () => {
    const hub = newHub();
    const both = new BodyReader(await hub.subscribe(request(query("a", "b", "a"))));
    const given = new BodyReader(await hub.subscribe(request(query("a")), { topics: "b" }));
    const fallback = new BodyReader(await hub.subscribe(request()));
    expect([hub.count("a"), hub.count("b"), hub.count("default")]).toEqual([1, 2, 1]);
    await hub.publish({ data: "to a" }, { topic: "a" });
    await hub.publish({ data: "to b" }, { topic: "b" });
    await hub.publish({ data: "to default" });
    await both.until((r) => r.events.length === 2);
    await given.until((r) => r.events.length === 1);
    await fallback.until((r) => r.events.length === 1);
    expect(both.data).toEqual(["to a", "to b"]);
    expect(given.data).toEqual(["to b"]);
    expect(fallback.data).toEqual(["to default"]);
  });

  it("answers 404 for unknown topics when autoCreate is off, until the topic is created", async () => {
    const hub = newHub({ autoCreate: false, topics: ["declared"] });
    expect((await hub.subscribe(request(query("declared")))).status).toBe(200);
    const refused = await hub.subscribe(request(query("later")));
    expect(refused.status).toBe(404);
    expect(await refused.text()).toBe('Unknown topic "later"');
    hub.createTopic("later");
    expect((await hub.subscribe(request(query("later")))).status).toBe(200);
    expect(hub.topics().sort()).toEqual(["declared", "default", "later"]);
    expect(hub.size).toBe(2);
  });

  it("answers 400 for invalid query topics and throws for invalid options", async () => {
    const hub = newHub();
    expect((await hub.subscribe(request("?topic="))).status).toBe(400);
    expect((await hub.subscribe(request(query("x".repeat(257))))).status).toBe(400);
    expect((await hub.subscribe(request(query(...Array.from({ length: 33 }, (_, i) => `t${i}`))))).status).toBe(400);
    expect(() => hub.subscribe(request(), { topics: [] })).toThrow(TypeError);
    expect(() => hub.subscribe(request(), { topics: [""] })).toThrow(
      new TypeError('Cannot subscribe: "topics" must be a non-empty string, got the string ""'),
    );
    expect(hub.size).toBe(0);
  });

  it("ends the subscriptions of a deleted topic", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ onUnsubscribe: onUnsubscribe.hit });
    const reader = new BodyReader(await hub.subscribe(request(query("gone"))));
    const other = new BodyReader(await hub.subscribe(request(query("stays"))));
    expect(hub.deleteTopic("gone")).toBe(true);
    await reader.run();
    expect(hub.size).toBe(1);
    expect(onUnsubscribe.count).toBe(1);
    expect(other.done).toBe(false);
    expect(() => hub.deleteTopic("default")).toThrow(TypeError);
  });

  it("returns the event-stream headers, with the hub's and the subscription's merged in", async () => {
    const hub = newHub({ headers: { "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" } });
    const response = await hub.subscribe(request(), { headers: { "X-Extra": "1", Connection: "keep-alive" } });
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("x-extra")).toBe("1");
    expect(response.headers.has("connection")).toBe(false);
    const plain = await hub.subscribe(request());
    expect(plain.headers.get("cache-control")).toBe("no-store");
  });
});

describe("SSEHub hooks", () => {
  it("lets onSubscribe refuse with a response, or throw", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({
      onSubscribe: async (req, topics) => {
        expect(topics).toEqual(["private"]);
        if (req.headers.get("authorization") === "boom") throw new Error("boom");
        if (req.headers.get("authorization") !== "ok") return new Response("Unauthorized", { status: 401 });
      },
      onUnsubscribe: onUnsubscribe.hit,
    });
    expect((await hub.subscribe(request(query("private")))).status).toBe(401);
    await expect(hub.subscribe(request(query("private"), { authorization: "boom" }))).rejects.toThrow("boom");
    expect(hub.size).toBe(0);
    const ok = await hub.subscribe(request(query("private"), { authorization: "ok" }));
    expect(ok.status).toBe(200);
    expect(hub.size).toBe(1);
    expect(onUnsubscribe.count).toBe(0);
  });

  it("calls onUnsubscribe exactly once, whether the body is cancelled, the request aborts, or both", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ onUnsubscribe: onUnsubscribe.hit });
    const controller = new AbortController();
    const req = request(query("x"), {}, controller.signal);
    const response = await hub.subscribe(req);
    controller.abort();
    await response.body!.cancel();
    controller.abort();
    expect(onUnsubscribe.count).toBe(1);
    expect(onUnsubscribe.calls[0]).toEqual([req, ["x"]]);
    const second = await hub.subscribe(request(query("y"), {}, new AbortController().signal));
    await second.body!.cancel();
    expect(onUnsubscribe.count).toBe(2);
    expect(hub.size).toBe(0);
  });

  it("ends at once a subscription whose request was already aborted", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ onUnsubscribe: onUnsubscribe.hit });
    const response = await hub.subscribe(request("", {}, AbortSignal.abort()));
    expect(hub.size).toBe(0);
    expect(onUnsubscribe.count).toBe(1);
    expect(await response.text()).toBe("");
  });
});

describe("SSEHub replay", () => {
  it("gives a reconnecting client exactly the missed events, once, in order, while publishing continues", async () => {
    const hub = newHub();
    const total = 300;
    const ids: string[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let n = 1; n <= total; n++) {
        ids.push(await hub.publish({ data: String(n) }, { topic: "r" }));
        if (n % 3 === 0) await tick();
      }
      publishing = false;
    })();

    const first = new BodyReader(await hub.subscribe(request(query("r"))));
    await first.until((r) => r.events.length >= 40);
    await first.cancel();
    const seen = first.events;
    const lastId = seen[seen.length - 1]!.id!;
    await tick();
    await tick();
    expect(publishing).toBe(true); // the reconnection happens while events keep coming
    const second = new BodyReader(await hub.subscribe(request(query("r"), { "Last-Event-ID": lastId })));
    await second.until((r) => r.events.at(-1)?.data === String(total));
    await publisher;

    const received = [...seen, ...second.events];
    const firstN = Number(received[0]!.data);
    expect(received.map((block) => block.data)).toEqual(Array.from({ length: total - firstN + 1 }, (_, i) => String(firstN + i)));
    expect(received.map((block) => block.id)).toEqual(ids.slice(firstN - 1));
    expect(second.blocks.some((block) => block.event === "reset")).toBe(false);
  });

  it("replays several topics in publication order from an id of any of them", async () => {
    const hub = newHub();
    const a1 = await hub.publish({ data: "a1" }, { topic: "a" });
    await hub.publish({ data: "b1" }, { topic: "b" });
    await hub.publish({ data: "c1" }, { topic: "c" });
    await hub.publish({ data: "a2" }, { topic: "a" });
    await hub.publish({ data: "b2" }, { topic: "b" });
    const reader = new BodyReader(await hub.subscribe(request(query("a", "b"), { "Last-Event-ID": a1 })));
    await hub.publish({ data: "b3" }, { topic: "b" });
    await reader.until((r) => r.events.length === 4);
    expect(reader.data).toEqual(["b1", "a2", "b2", "b3"]);
  });

  it("takes the last event id from the options instead of the header", async () => {
    const hub = newHub();
    const first = await hub.publish({ data: "1" });
    await hub.publish({ data: "2" });
    const reader = new BodyReader(await hub.subscribe(request("", { "Last-Event-ID": "ignored" }), { lastEventId: first }));
    await reader.until((r) => r.events.length === 1);
    expect(reader.data).toEqual(["2"]);
  });

  it("sends the reset event for an evicted id, then live events", async () => {
    const hub = newHub({ replay: { maxEvents: 3 } });
    const ids: string[] = [];
    for (let n = 1; n <= 10; n++) ids.push(await hub.publish({ data: String(n) }, { topic: "e" }));
    const reader = new BodyReader(await hub.subscribe(request(query("e"), { "Last-Event-ID": ids[1]! })));
    await hub.publish({ data: "11" }, { topic: "e" });
    await reader.until((r) => r.events.length === 2);
    expect(reader.events[0]).toEqual({
      event: "reset",
      data: JSON.stringify({ lastEventId: ids[1], topics: ["e"] }),
      id: ids[9],
    });
    expect(reader.events[1]!.data).toBe("11");

    // The id that was still retained replays normally.
    const resumed = new BodyReader(await hub.subscribe(request(query("e"), { "Last-Event-ID": ids[8]! })));
    await resumed.until((r) => r.events.length === 2);
    expect(resumed.data).toEqual(["10", "11"]);
  });

  it("sends the reset event for an unknown id, without an id when nothing is retained", async () => {
    const hub = newHub({ resetEvent: "refetch" });
    const reader = new BodyReader(await hub.subscribe(request(query("u"), { "Last-Event-ID": "1-999" })));
    await reader.until((r) => r.blocks.length === 1);
    expect(reader.blocks[0]).toEqual({ event: "refetch", data: '{"lastEventId":"1-999","topics":["u"]}' });
  });

  it("sends the reset event once events have expired, but not when nothing came after the expired id", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(1_000_000);
    const hub = newHub({ replay: { maxAge: 60_000 } });
    const old = await hub.publish({ data: "old" }, { topic: "quiet" });
    vi.setSystemTime(1_000_000 + 60_001);
    // The only event expired and nothing followed: the client missed nothing.
    const quiet = new BodyReader(await hub.subscribe(request(query("quiet"), { "Last-Event-ID": old })));
    await hub.publish({ data: "new" }, { topic: "quiet" });
    await quiet.until((r) => r.events.length === 1);
    expect(quiet.data).toEqual(["new"]);

    const before = await hub.publish({ data: "1" }, { topic: "busy" });
    await hub.publish({ data: "2" }, { topic: "busy" });
    vi.setSystemTime(1_000_000 + 200_000);
    const latest = await hub.publish({ data: "3" }, { topic: "busy" });
    const busy = new BodyReader(await hub.subscribe(request(query("busy"), { "Last-Event-ID": before })));
    await busy.until((r) => r.events.length === 1);
    expect(busy.events[0]).toMatchObject({ event: "reset", id: latest });
  });

  it("hands over from an asynchronous history to live events with no gap and no duplicate", async () => {
    const backplane = new SlowBackplane();
    const hub = newHub({ backplane });
    const ids: string[] = [];
    for (let n = 1; n <= 5; n++) ids.push(await hub.publish({ data: String(n) }, { topic: "s" }));
    // A first subscriber makes the topic live; the second reconnects while events keep coming.
    const live = new BodyReader(await hub.subscribe(request(query("s"))));
    await backplane.readyResolved.wait(1);
    const reader = new BodyReader(await hub.subscribe(request(query("s"), { "Last-Event-ID": ids[1]! })));
    await backplane.historyCalls.wait(1);
    for (let n = 6; n <= 9; n++) {
      ids.push(await hub.publish({ data: String(n) }, { topic: "s" }));
      await tick();
    }
    // The history read sees 3..9; 6..9 also arrived live meanwhile, and 10..12 only live.
    backplane.snapshotHistory();
    for (let n = 10; n <= 12; n++) ids.push(await hub.publish({ data: String(n) }, { topic: "s" }));
    expect(reader.events).toEqual([]);
    backplane.releaseHistory();
    ids.push(await hub.publish({ data: "13" }, { topic: "s" }));
    await reader.until((r) => r.events.at(-1)?.data === "13");
    expect(reader.data).toEqual(["3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13"]);
    expect(reader.events.map((block) => block.id)).toEqual(ids.slice(2));
    await live.until((r) => r.events.length === 8);
  });

  it("waits for live delivery to start before reading history", async () => {
    const backplane = new SlowBackplane({ holdReady: true });
    const hub = newHub({ backplane });
    const first = await hub.publish({ data: "1" }, { topic: "w" });
    const reader = new BodyReader(await hub.subscribe(request(query("w"), { "Last-Event-ID": first })));
    // Published before delivery is live: only the history can supply it.
    await hub.publish({ data: "2" }, { topic: "w" });
    await tick();
    expect(backplane.historyCalls.count).toBe(0);
    backplane.releaseReady();
    await backplane.historyCalls.wait(1);
    await hub.publish({ data: "3" }, { topic: "w" });
    backplane.releaseHistory();
    await reader.until((r) => r.events.length === 2);
    expect(reader.data).toEqual(["2", "3"]);
  });

  it("delivers events published on one hub to the subscribers of another, with the same ids and shared replay", async () => {
    const backplane = new MemoryBackplane();
    const a = newHub({ backplane });
    const b = newHub({ backplane });
    const onA = new BodyReader(await a.subscribe(request(query("x"))));
    const onB = new BodyReader(await b.subscribe(request(query("x"))));
    const first = await a.publish({ data: "from a" }, { topic: "x" });
    const second = await b.publish({ data: "from b" }, { topic: "x" });
    await onA.until((r) => r.events.length === 2);
    await onB.until((r) => r.events.length === 2);
    expect(onA.events).toEqual(onB.events);
    expect(onB.events.map((block) => block.id)).toEqual([first, second]);
    // A client of hub A moves to hub B with its last id.
    const moved = new BodyReader(await b.subscribe(request(query("x"), { "Last-Event-ID": first })));
    await moved.until((r) => r.events.length === 1);
    expect(moved.data).toEqual(["from b"]);
    await a.close();
    expect(await b.publish({ data: "still open" }, { topic: "x" })).toMatch(/-3$/);
  });
});

describe("SSEHub slow consumers", () => {
  it("disconnects a subscriber that never reads once its queue is full, while the others receive everything", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ maxQueued: 16, onUnsubscribe: onUnsubscribe.hit });
    const readers = await Promise.all(
      Array.from({ length: 10 }, async () => new BodyReader(await hub.subscribe(request(query("s"))))),
    );
    for (const reader of readers) void reader.run();
    const stalledRequest = request(query("s"));
    const stalled = await hub.subscribe(stalledRequest);
    for (let n = 1; n <= 16; n++) await hub.publish({ data: String(n) }, { topic: "s" });
    expect(hub.size).toBe(11);
    await hub.publish({ data: "17" }, { topic: "s" });
    // The 17th event did not fit: the stalled subscriber is gone, its queue with it.
    expect(hub.size).toBe(10);
    expect(onUnsubscribe.calls[0]![0]).toBe(stalledRequest);
    for (let n = 18; n <= 200; n++) {
      await hub.publish({ data: String(n) }, { topic: "s" });
      if (n % 8 === 0) await tick();
    }
    await Promise.all(readers.map((reader) => reader.until((r) => r.events.length === 200)));
    for (const reader of readers) expect(reader.data).toEqual(Array.from({ length: 200 }, (_, i) => String(i + 1)));
    // The cut is abortive: the body errors, so a server destroys the connection and its buffers.
    await expect(stalled.text()).rejects.toThrow(/cut/);
  });

  it("disconnects a subscriber whose queue has not drained for drainTimeout", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ drainTimeout: 100, onUnsubscribe: onUnsubscribe.hit });
    const healthy = new BodyReader(await hub.subscribe(request(query("d"))));
    void healthy.run();
    await hub.subscribe(request(query("d")));
    const started = performance.now();
    await hub.publish({ data: "1" }, { topic: "d" });
    await onUnsubscribe.wait(1);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(99);
    expect(elapsed).toBeLessThan(1000);
    expect(hub.size).toBe(1);
    await hub.publish({ data: "2" }, { topic: "d" });
    await healthy.until((r) => r.events.length === 2);
  });

  it("disconnects a frozen idle client through its unread keep-alives", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ keepAlive: 20, drainTimeout: 60, onUnsubscribe: onUnsubscribe.hit });
    const healthy = new BodyReader(await hub.subscribe(request()));
    void healthy.run();
    await hub.subscribe(request());
    await onUnsubscribe.wait(1);
    expect(hub.size).toBe(1);
    await healthy.until((r) => r.blocks.some((block) => block.comment === "keep-alive"));
  });

  it("drops the oldest queued events under the drop-oldest policy", async () => {
    const hub = newHub({ maxQueued: 5, slowConsumer: "drop-oldest" });
    const healthy = new BodyReader(await hub.subscribe(request()));
    void healthy.run();
    const lagging = await hub.subscribe(request());
    for (let n = 1; n <= 20; n++) await hub.publish({ data: String(n) });
    expect(hub.size).toBe(2);
    const reader = new BodyReader(lagging);
    await reader.until((r) => r.events.length === 5);
    expect(reader.data).toEqual(["16", "17", "18", "19", "20"]);
    await hub.publish({ data: "21" });
    await reader.until((r) => r.events.length === 6);
    await healthy.until((r) => r.events.length === 21);
  });
});

describe("SSEHub keep-alive and cleanup", () => {
  it("serves keep-alives to every subscriber from one timer", async () => {
    const setIntervalSpy = vi.spyOn(globalThis, "setInterval");
    const hub = newHub({ keepAlive: 20 });
    const readers = await Promise.all(Array.from({ length: 50 }, async () => new BodyReader(await hub.subscribe(request()))));
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    await Promise.all(readers.map((reader) => reader.until((r) => r.blocks.some((b) => b.comment === "keep-alive"))));
  });

  it("leaves no subscriber, timer or listener behind after 5000 connect/disconnect cycles", async () => {
    const active = new Set<unknown>();
    const realSetInterval = globalThis.setInterval;
    const realClearInterval = globalThis.clearInterval;
    vi.spyOn(globalThis, "setInterval").mockImplementation(((handler: () => void, ms: number) => {
      const timer = realSetInterval(handler, ms);
      active.add(timer);
      return timer;
    }) as typeof setInterval);
    vi.spyOn(globalThis, "clearInterval").mockImplementation(((timer: ReturnType<typeof setInterval>) => {
      active.delete(timer);
      realClearInterval(timer);
    }) as typeof clearInterval);
    const signals = new WeakSet<object>();
    let listeners = 0;
    const add = EventTarget.prototype.addEventListener;
    const remove = EventTarget.prototype.removeEventListener;
    vi.spyOn(EventTarget.prototype, "addEventListener").mockImplementation(function (this: EventTarget, ...args) {
      if (signals.has(this) && args[0] === "abort") listeners++;
      return add.apply(this, args);
    });
    vi.spyOn(EventTarget.prototype, "removeEventListener").mockImplementation(function (this: EventTarget, ...args) {
      if (signals.has(this) && args[0] === "abort") listeners--;
      return remove.apply(this, args);
    });

    const onUnsubscribe = new Counter();
    const hub = newHub({ keepAlive: 1000, drainTimeout: 1000, onUnsubscribe: onUnsubscribe.hit, retry: 1000 });
    let maxTimers = 0;
    for (let i = 0; i < 5000; i++) {
      const controller = new AbortController();
      const req = request(i % 3 === 0 ? query("a", "b") : query(`t${i % 7}`), {}, controller.signal);
      signals.add(req.signal);
      const response = await hub.subscribe(req);
      expect(hub.size).toBe(1);
      maxTimers = Math.max(maxTimers, active.size);
      if (i % 2 === 0) await response.body!.cancel();
      else controller.abort();
      if (i % 5 === 0) controller.abort();
      expect(hub.size).toBe(0);
    }
    // onUnsubscribe runs outside the call that ended the subscription.
    await onUnsubscribe.wait(5000);
    expect(onUnsubscribe.count).toBe(5000);
    expect(maxTimers).toBe(1);
    expect(active.size).toBe(0);
    expect(listeners).toBe(0);
    expect(hub.topics()).toEqual(["default"]);
  });

  it("closes every subscriber cleanly, telling clients when to come back", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ keepAlive: 1000, onUnsubscribe: onUnsubscribe.hit });
    const readers = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => new BodyReader(await hub.subscribe(request(query(`c${i % 3}`))))),
    );
    await hub.publish({ data: "last" }, { topic: "c0" });
    await hub.close({ retry: 5000 });
    await Promise.all(readers.map((reader) => reader.run()));
    for (const [i, reader] of readers.entries()) {
      expect(reader.blocks.at(-1)).toEqual({ retry: "5000" });
      expect(reader.data).toEqual(i % 3 === 0 ? ["last"] : []);
    }
    expect(hub.size).toBe(0);
    expect(onUnsubscribe.count).toBe(20);
    await expect(hub.publish({ data: "late" })).rejects.toThrow(new TypeError("Cannot publish: the hub is closed"));
    expect(hub.tryPublish({ data: "late" })).toBe(false);
    expect((await hub.subscribe(request())).status).toBe(503);
    await expect(hub.close()).resolves.toBeUndefined();
  });
});

describe("SSEHub publishing", () => {
  it("tryPublish returns false while the backplane has maxPendingPublishes unacknowledged, and publish waits", async () => {
    const backplane = new SlowBackplane({ slowPublish: true });
    const hub = newHub({ backplane, maxPendingPublishes: 2 });
    const reader = new BodyReader(await hub.subscribe(request()));
    expect(hub.tryPublish({ data: "1" })).toBe(true);
    expect(hub.tryPublish({ data: "2" })).toBe(true);
    expect(hub.tryPublish({ data: "3" })).toBe(false);
    let third: string | undefined;
    const waiting = hub.publish({ data: "3" }).then((id) => {
      third = id;
    });
    await tick();
    expect(backplane.calls).toBe(2);
    backplane.acknowledge();
    await tick();
    expect(backplane.calls).toBe(3);
    expect(third).toBeUndefined();
    backplane.acknowledge();
    backplane.acknowledge();
    await waiting;
    expect(third).toMatch(/-3$/);
    await reader.until((r) => r.events.length === 3);
    expect(reader.data).toEqual(["1", "2", "3"]);
  });

  it("rejects publishes waiting for a slot when the hub closes", async () => {
    const backplane = new SlowBackplane({ slowPublish: true });
    const hub = newHub({ backplane, maxPendingPublishes: 1 });
    expect(hub.tryPublish({ data: "1" })).toBe(true);
    const waiting = hub.publish({ data: "2" });
    await hub.close();
    await expect(waiting).rejects.toThrow(TypeError);
  });
});

describe("SSEHub over HTTP", () => {
  it("serves subscribers through @hono/node-server", async () => {
    const onUnsubscribe = new Counter();
    const hub = newHub({ keepAlive: 5000, onUnsubscribe: onUnsubscribe.hit });
    const server = serve({ fetch: (req) => hub.subscribe(req), port: 0, hostname: "127.0.0.1", overrideGlobalObjects: false });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    const { port } = server.address() as AddressInfo;
    try {
      const controllers = Array.from({ length: 20 }, () => new AbortController());
      const responses = await Promise.all(
        controllers.map((controller, i) =>
          fetch(`http://127.0.0.1:${port}/sse${query(i % 2 === 0 ? "even" : "odd")}`, { signal: controller.signal }),
        ),
      );
      for (const response of responses) {
        expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      }
      const readers = responses.map((response) => new BodyReader(response));
      expect(hub.size).toBe(20);
      for (let n = 1; n <= 50; n++) {
        await hub.publish({ data: `even ${n}` }, { topic: "even" });
        await hub.publish({ data: `odd ${n}` }, { topic: "odd" });
      }
      await Promise.all(readers.map((reader) => reader.until((r) => r.events.length === 50)));
      readers.forEach((reader, i) => {
        const kind = i % 2 === 0 ? "even" : "odd";
        expect(reader.data).toEqual(Array.from({ length: 50 }, (_, n) => `${kind} ${n + 1}`));
      });
      // Reconnect over HTTP with the last id seen.
      const lastId = readers[0]!.events[24]!.id!;
      const again = new BodyReader(
        await fetch(`http://127.0.0.1:${port}/sse?topic=even`, { headers: { "Last-Event-ID": lastId } }),
      );
      await again.until((r) => r.events.length === 25);
      expect(again.data[0]).toBe("even 26");
      for (const controller of controllers) controller.abort();
      await again.cancel();
      await onUnsubscribe.wait(21);
      expect(hub.size).toBe(0);
    } finally {
      (server as import("node:http").Server).closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * A backplane with the timing of a remote one (Redis): live delivery starts only once `ready`
 * resolves (on the next turn, or when released), history is read when the test takes a snapshot
 * and answered when it releases it, and publishes are performed and acknowledged one by one.
 */
class SlowBackplane implements Backplane {
  readonly inner = new MemoryBackplane();
  readonly historyCalls = new Counter();
  readonly readyResolved = new Counter();
  /** Publish calls received. */
  calls = 0;
  readonly #holdReady: boolean;
  readonly #slowPublish: boolean;
  #pendingReady: (() => void)[] = [];
  #pendingHistory: {
    topics: readonly string[];
    afterId: string;
    snapshot?: BackplaneHistory;
    resolve: (history: BackplaneHistory) => void;
  }[] = [];
  #pendingPublish: (() => void)[] = [];

  constructor(options: { holdReady?: boolean; slowPublish?: boolean } = {}) {
    this.#holdReady = options.holdReady ?? false;
    this.#slowPublish = options.slowPublish ?? false;
  }

  publish(topic: string, event: BackplaneEvent): string | Promise<string> {
    this.calls++;
    if (!this.#slowPublish) return this.inner.publish(topic, event);
    return new Promise((resolve) => {
      this.#pendingPublish.push(() => resolve(this.inner.publish(topic, event)));
    });
  }

  /** Performs and acknowledges the oldest pending publish. */
  acknowledge(): void {
    this.#pendingPublish.shift()?.();
  }

  subscribe(topic: string, listener: BackplaneListener): BackplaneSubscription {
    let live = false;
    const subscription = this.inner.subscribe(topic, (entry) => {
      if (live) listener(entry);
    });
    const ready = new Promise<void>((resolve) => {
      const go = () => {
        live = true;
        resolve();
        this.readyResolved.hit();
      };
      if (this.#holdReady) this.#pendingReady.push(go);
      else setImmediate(go);
    });
    return { ready, unsubscribe: () => subscription.unsubscribe() };
  }

  releaseReady(): void {
    for (const release of this.#pendingReady.splice(0)) release();
  }

  history(topics: readonly string[], afterId: string): Promise<BackplaneHistory> {
    this.historyCalls.hit();
    return new Promise((resolve) => this.#pendingHistory.push({ topics, afterId, resolve }));
  }

  /** Reads the pending history requests now (as XRANGE would), without answering yet. */
  snapshotHistory(): void {
    for (const pending of this.#pendingHistory) pending.snapshot ??= this.inner.history(pending.topics, pending.afterId);
  }

  releaseHistory(): void {
    for (const pending of this.#pendingHistory.splice(0)) {
      pending.resolve(pending.snapshot ?? this.inner.history(pending.topics, pending.afterId));
    }
  }

  close(): void {
    this.inner.close();
  }
}
