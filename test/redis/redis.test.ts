import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Redis, type RedisOptions } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BackplaneEntry, SSEHub } from "../../src/hub/index.ts";
import { RedisBackplane, RedisBackplaneError, type RedisBackplaneOptions, type RedisClientLike } from "../../src/redis/index.ts";
import { freePort, RedisServer, redisRequirement } from "../_helpers/redis.ts";

// ---------------------------------------------------------------------------------------------
// Helpers

/** Collects what a backplane listener receives; `until()` awaits a count without polling. */
class Collector {
  readonly entries: BackplaneEntry[] = [];
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  readonly listener = (entry: BackplaneEntry): void => {
    this.entries.push(entry);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.test()) return true;
      waiter.resolve();
      return false;
    });
  };

  get ids(): string[] {
    return this.entries.map((entry) => entry.id);
  }

  get data(): (string | undefined)[] {
    return this.entries.map((entry) => entry.event.data);
  }

  /** Resolves once `count` entries arrived, or once `test` holds. */
  until(count: number | ((collector: Collector) => boolean)): Promise<void> {
    const test = typeof count === "number" ? () => this.entries.length >= count : () => count(this);
    if (test()) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test, resolve }));
  }
}

interface Block {
  event?: string;
  data?: string;
  id?: string;
  retry?: string;
  comment?: string;
}

const decoder = new TextDecoder();

/** An event-stream client over fetch: parses blocks (the hub writes LF line ends only). */
class StreamClient {
  readonly blocks: Block[] = [];
  done = false;
  readonly #controller = new AbortController();
  #buffer = "";
  #waiters: { test: () => boolean; resolve: () => void; reject: (error: Error) => void }[] = [];

  static async open(url: string, lastEventId?: string): Promise<StreamClient> {
    const client = new StreamClient();
    const headers: Record<string, string> = lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId };
    const response = await fetch(url, { headers, signal: client.#controller.signal });
    expect(response.status).toBe(200);
    void client.#read(response.body!.getReader());
    return client;
  }

  get events(): Block[] {
    return this.blocks.filter((block) => block.data !== undefined || block.event !== undefined);
  }

  get comments(): number {
    return this.blocks.filter((block) => block.comment !== undefined).length;
  }

  until(test: (client: StreamClient) => boolean): Promise<void> {
    if (test(this)) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ test: () => test(this), resolve, reject }));
  }

  close(): void {
    this.#controller.abort();
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        this.#buffer += decoder.decode(value, { stream: true });
        let end = this.#buffer.indexOf("\n\n");
        while (end !== -1) {
          this.blocks.push(parseBlock(this.#buffer.slice(0, end)));
          this.#buffer = this.#buffer.slice(end + 2);
          end = this.#buffer.indexOf("\n\n");
        }
        this.#check();
      }
    } catch {
      // Aborted by the test.
    }
    this.done = true;
    for (const waiter of this.#waiters.splice(0)) {
      if (waiter.test()) waiter.resolve();
      else waiter.reject(new Error(`stream ended first; got ${JSON.stringify(this.blocks.slice(-5))}`));
    }
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

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}

function expectIncreasing(ids: readonly string[]): void {
  for (let i = 1; i < ids.length; i++) {
    if (compareIds(ids[i - 1]!, ids[i]!) >= 0) throw new Error(`ids not increasing at ${i}: ${ids[i - 1]} then ${ids[i]}`);
  }
}

/** A promise resolved from outside: something the test awaits. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------

const requirement = redisRequirement();

if (requirement === "fail") {
  describe("RedisBackplane", () => {
    it("runs against a real redis-server, which CI must provide", () => {
      throw new Error("redis-server is not installed (CI=true): install it, as .ci/run does with apt-get install redis-server");
    });
  });
}

describe.skipIf(requirement !== "run")("RedisBackplane", () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const backplanes: RedisBackplane[] = [];
  let prefixes = 0;

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(async () => {
    await Promise.all(backplanes.splice(0).map((backplane) => backplane.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });

  function client(options: RedisOptions = {}): Redis {
    const redis = new Redis(server.url, options);
    clients.push(redis);
    return redis;
  }

  function prefix(): string {
    return `t${++prefixes}:`;
  }

  function backplane(options: Partial<RedisBackplaneOptions> = {}): RedisBackplane {
    const created = new RedisBackplane({ redis: client(), ...options });
    backplanes.push(created);
    return created;
  }

  describe("publishing and delivery", () => {
    it("delivers every event to every instance, in order, each once, with ids from one clock across topics", async () => {
      const shared = prefix();
      const a = backplane({ prefix: shared });
      const b = backplane({ prefix: shared });
      const onA = { x: new Collector(), y: new Collector(), both: new Collector() };
      const onB = { x: new Collector(), y: new Collector(), both: new Collector() };
      for (const [instance, collectors] of [
        [a, onA],
        [b, onB],
      ] as const) {
        await Promise.all([
          instance.subscribe("x", collectors.x.listener).ready,
          instance.subscribe("y", collectors.y.listener).ready,
          instance.subscribe("x", collectors.both.listener).ready,
          instance.subscribe("y", collectors.both.listener).ready,
        ]);
      }
      // Two publishers, one per instance, interleaving two topics, all at once.
      const publishes: Promise<{ topic: string; data: string; id: string }>[] = [];
      for (let n = 0; n < 100; n++) {
        const topic = n % 3 === 0 ? "y" : "x";
        const data = `${n}`;
        publishes.push((n % 2 === 0 ? a : b).publish(topic, { data }).then((id) => ({ topic, data, id })));
      }
      const published = (await Promise.all(publishes)).sort((p, q) => compareIds(p.id, q.id));
      expect(new Set(published.map((p) => p.id)).size).toBe(100);
      for (const id of published.map((p) => p.id)) expect(id).toMatch(/^\d{13}-\d+$/);

      const onX = published.filter((p) => p.topic === "x").length;
      await Promise.all([onA, onB].flatMap((c) => [c.x.until(onX), c.y.until(100 - onX), c.both.until(100)]));
      for (const collectors of [onA, onB]) {
        expect(collectors.both.ids).toEqual(published.map((p) => p.id));
        expect(collectors.both.data).toEqual(published.map((p) => p.data));
        expect(collectors.x.ids).toEqual(published.filter((p) => p.topic === "x").map((p) => p.id));
        expect(collectors.y.ids).toEqual(published.filter((p) => p.topic === "y").map((p) => p.id));
        expect(collectors.both.entries.map((entry) => entry.topic)).toEqual(published.map((p) => p.topic));
      }
    });

    it("stores the event's fields compactly and gives them back unchanged", async () => {
      const keys = prefix();
      const instance = backplane({ prefix: keys });
      const collector = new Collector();
      await instance.subscribe("f", collector.listener).ready;
      const events = [
        { event: "price", data: 'line 1\nline 2\r\n{"x":1}', comment: "a\ncomment", retry: 2500 },
        { data: "" },
        {},
        { event: "only-type" },
        { data: "ünïcödé 🚀" },
      ];
      const ids: string[] = [];
      for (const event of events) ids.push(await instance.publish("f", event));
      await collector.until(events.length);
      const expected = events.map((event) => ({
        event: undefined,
        data: undefined,
        comment: undefined,
        retry: undefined,
        ...event,
      }));
      expect(collector.entries.map((entry) => entry.event)).toEqual(expected);
      const history = await instance.history(["f"], ids[0]!);
      expect(history).toMatchObject({ gone: false });
      expect((history as { gone: false; entries: BackplaneEntry[] }).entries.map((entry) => entry.event)).toEqual(
        expected.slice(1),
      );
      const raw = await client().call("XRANGE", `${keys}s:f`, "-", "+");
      expect(raw).toEqual([
        [ids[0], ["e", "price", "d", 'line 1\nline 2\r\n{"x":1}', "c", "a\ncomment", "r", "2500"]],
        [ids[1], ["d", ""]],
        [ids[2], ["_", ""]],
        [ids[3], ["e", "only-type"]],
        [ids[4], ["d", "ünïcödé 🚀"]],
      ]);
    });

    it("refuses publisher ids, invalid arguments, and use after close", async () => {
      const instance = backplane({ prefix: prefix() });
      expect(() => instance.publish("t", { data: "x", id: "5-0" })).toThrow(
        new TypeError(
          'Cannot publish: the Redis backplane assigns the ids, so the event must have none, got "id" the string "5-0"',
        ),
      );
      expect(() => instance.publish("", { data: "x" })).toThrow(TypeError);
      expect(() => instance.subscribe("t", "nope" as never)).toThrow(TypeError);
      expect(() => new RedisBackplane({ redis: client(), maxEvents: 0 })).toThrow(
        new RangeError('Cannot create RedisBackplane: "maxEvents" must be a positive integer, got number 0'),
      );
      expect(() => new RedisBackplane({ redis: client({ keyPrefix: "app:" }) })).toThrow(/keyPrefix "app:"/);
      expect(() => new RedisBackplane({ redis: {} as never })).toThrow(TypeError);
      await instance.close();
      expect(() => instance.publish("t", { data: "x" })).toThrow(new TypeError("Cannot publish: the backplane is closed"));
      expect(() => instance.subscribe("t", () => {})).toThrow(TypeError);
      expect(() => instance.history(["t"], "1-0")).toThrow(TypeError);
    });

    it("uses one reading connection for all topics, takes a new topic up at once, and closes only that connection", async () => {
      const redis = client();
      const instance = new RedisBackplane({ redis, prefix: prefix(), blockTimeout: 20_000 });
      backplanes.push(instance);
      const countClients = async (): Promise<number> =>
        String(await redis.call("CLIENT", "LIST"))
          .trim()
          .split("\n").length;
      const before = await countClients();
      const collectors = Array.from({ length: 20 }, () => new Collector());
      await Promise.all(collectors.map((collector, i) => instance.subscribe(`topic-${i}`, collector.listener).ready));
      expect(await countClients()).toBe(before + 1);
      // The reader now blocks for up to 20 s; a new topic must not wait for that.
      const started = performance.now();
      const late = new Collector();
      const subscription = instance.subscribe("late", late.listener);
      await subscription.ready;
      expect(performance.now() - started).toBeLessThan(1_000);
      const id = await instance.publish("late", { data: "picked up" });
      await late.until(1);
      expect(late.ids).toEqual([id]);
      expect(performance.now() - started).toBeLessThan(1_000);
      // A second listener of a topic being read is live at once.
      const second = new Collector();
      expect(instance.subscribe("late", second.listener).ready).toBeUndefined();
      await instance.publish("late", { data: "both" });
      await Promise.all([late.until(2), second.until(1)]);

      await instance.close();
      expect(await countClients()).toBe(before);
      expect(await redis.call("PING")).toBe("PONG");
    });

    it("resolves ready only once every later publish is sure to be delivered", async () => {
      const shared = prefix();
      const publisher = backplane({ prefix: shared });
      const reader = backplane({ prefix: shared });
      // Publishing continues while topics are added: what follows each ready must all arrive.
      let publishing = true;
      const published: string[] = [];
      const loop = (async () => {
        for (let n = 0; publishing; n++) published.push(await publisher.publish(`r${n % 5}`, { data: String(n) }));
      })();
      for (let round = 0; round < 5; round++) {
        const collector = new Collector();
        const subscription = reader.subscribe(`r${round}`, collector.listener);
        await subscription.ready;
        const after = await publisher.publish(`r${round}`, { data: "after ready" });
        await collector.until((c) => c.ids.includes(after));
        expectIncreasing(collector.ids);
        subscription.unsubscribe();
      }
      publishing = false;
      await loop;
      expectIncreasing(published);
    });
  });

  describe("history", () => {
    it("returns the entries after an id, merged across topics in publication order, from any instance", async () => {
      const shared = prefix();
      const a = backplane({ prefix: shared });
      const b = backplane({ prefix: shared });
      const a1 = await a.publish("a", { data: "a1" });
      await b.publish("b", { data: "b1" });
      await a.publish("c", { data: "c1" });
      await b.publish("a", { data: "a2" });
      await a.publish("b", { data: "b2" });
      for (const instance of [a, b]) {
        const history = (await instance.history(["a", "b"], a1)) as { gone: false; entries: BackplaneEntry[] };
        expect(history.gone).toBe(false);
        expect(history.entries.map((entry) => [entry.topic, entry.event.data])).toEqual([
          ["b", "b1"],
          ["a", "a2"],
          ["b", "b2"],
        ]);
      }
      const last = await a.publish("c", { data: "c2" });
      expect(await a.history(["a", "b", "c"], last)).toEqual({ gone: false, entries: [] });
      expect(await a.history(["never-used"], a1)).toEqual({ gone: false, entries: [] });
    });

    it("is gone for ids the clock did not issue, with the newest retained id", async () => {
      const instance = backplane({ prefix: prefix() });
      expect(await instance.history(["t"], "1-0")).toEqual({ gone: true });
      const first = await instance.publish("t", { data: "1" });
      const second = await instance.publish("u", { data: "2" });
      const [ms] = first.split("-");
      for (const id of ["42", "", "abc", "1-0", `${Number(ms) + 60_000}-0`, "-1-0", "1e3-0", `${first}x`]) {
        expect(await instance.history(["t", "u"], id), id).toEqual({ gone: true, lastId: second });
      }
      expect(await instance.history(["t"], "nope")).toEqual({ gone: true, lastId: first });
      expect(await instance.history(["t", "u"], first)).toMatchObject({ gone: false, entries: [{ id: second }] });
    });

    it("trims each topic to maxEvents: an evicted id is gone, the newest evicted one still resumes", async () => {
      const keys = prefix();
      const instance = backplane({ prefix: keys, maxEvents: 3 });
      const ids: string[] = [];
      for (let n = 0; n < 10; n++) ids.push(await instance.publish("e", { data: String(n) }));
      const redis = client();
      expect(await redis.call("XLEN", `${keys}s:e`)).toBe(3);
      expect(await instance.history(["e"], ids[1]!)).toEqual({ gone: true, lastId: ids[9] });
      expect(await instance.history(["e"], ids[5]!)).toEqual({ gone: true, lastId: ids[9] });
      const resumed = (await instance.history(["e"], ids[6]!)) as { gone: false; entries: BackplaneEntry[] };
      expect(resumed.entries.map((entry) => entry.event.data)).toEqual(["7", "8", "9"]);
      // An id of another topic marks a point too: a quiet topic trimmed long before it is fine.
      const other = await instance.publish("quiet", { data: "q" });
      expect(await instance.history(["e", "quiet"], ids[9]!)).toMatchObject({ gone: false, entries: [{ id: other }] });
      // Batched trimming for larger bounds: between maxEvents and 1/16 more.
      const batched = backplane({ prefix: keys, maxEvents: 64 });
      for (let n = 0; n < 200; n++) await batched.publish("big", { data: String(n) });
      const length = Number(await redis.call("XLEN", `${keys}s:big`));
      expect(length).toBeGreaterThanOrEqual(64);
      expect(length).toBeLessThanOrEqual(68);
    });

    it("expires events after maxAge, and the keys of idle topics after twice that", async () => {
      const keys = prefix();
      // Seconds, not milliseconds: each check below must run inside a window of maxAge, even on a
      // machine many times slower than usual.
      const maxAge = 2_000;
      const instance = backplane({ prefix: keys, maxAge });
      const first = await instance.publish("old", { data: "1" });
      const second = await instance.publish("old", { data: "2" });
      expect(await instance.history(["old"], first)).toMatchObject({ gone: false, entries: [{ id: second }] });
      await sleep(maxAge + 50); // time itself must pass
      expect(await instance.history(["old"], first)).toEqual({ gone: true });
      // Nothing after the newest one, even if it has expired: no reset.
      expect(await instance.history(["old"], second)).toEqual({ gone: false, entries: [] });
      const third = await instance.publish("old", { data: "3" });
      const redis = client();
      expect(await redis.call("XLEN", `${keys}s:old`)).toBe(1);
      const ttl = Number(await redis.call("PTTL", `${keys}s:old`));
      expect(ttl).toBeGreaterThan(maxAge);
      expect(ttl).toBeLessThanOrEqual(2 * maxAge);
      expect(await instance.history(["old"], first)).toEqual({ gone: true, lastId: third });
    });
  });

  describe("faults", () => {
    it("rejects publishes and history reads with a clear error when Redis is unreachable", async () => {
      const port = await freePort();
      const redis = new Redis(port, "127.0.0.1", { enableOfflineQueue: false, lazyConnect: true, retryStrategy: () => null });
      clients.push(redis);
      redis.on("error", () => {});
      const instance = new RedisBackplane({ redis });
      backplanes.push(instance);
      const failure = await instance.publish("t", { data: "x" }).catch((error: unknown) => error);
      expect(RedisBackplaneError.is(failure)).toBe(true);
      expect(failure).toBeInstanceOf(RedisBackplaneError);
      expect((failure as RedisBackplaneError).kind).toBe("unavailable");
      expect((failure as Error).message).toMatch(/^Cannot publish: Redis is unreachable: \S/);
      expect((failure as Error).cause).toBeInstanceOf(Error);
      await expect(instance.history(["t"], "1-0")).rejects.toThrow(/^Cannot read history: Redis is unreachable: /);
    });

    it("reads on from the last delivered id after its connection breaks, and reports events trimmed meanwhile", async () => {
      const shared = prefix();
      const errors: unknown[] = [];
      const lost = deferred();
      // The reader (a duplicate) reconnects after 300 ms, while the other instance publishes.
      const redis = client({ retryStrategy: () => 300 });
      redis.on("error", () => {});
      const instance = new RedisBackplane({
        redis,
        prefix: shared,
        maxEvents: 5,
        onError: (error) => {
          errors.push(error);
          if (RedisBackplaneError.is(error) && error.kind === "lost") lost.resolve();
        },
      });
      backplanes.push(instance);
      const publisher = backplane({ prefix: shared, maxEvents: 5 });
      const kept = new Collector();
      const trimmed = new Collector();
      await instance.subscribe("kept", kept.listener).ready;
      await instance.subscribe("trimmed", trimmed.listener).ready;
      const before = await publisher.publish("kept", { data: "before" });
      await kept.until(1);

      const admin = client();
      const list = String(await admin.call("CLIENT", "LIST"));
      const readerId = /id=(\d+) .*cmd=xread/.exec(list)![1]!;
      admin.once("error", () => {});
      expect(await admin.call("CLIENT", "KILL", "ID", readerId)).toBe(1);
      const during: string[] = [await publisher.publish("kept", { data: "during" })];
      for (let n = 0; n < 10; n++) during.push(await publisher.publish("trimmed", { data: String(n) }));
      await lost.promise;
      await kept.until(2);
      await trimmed.until(5);
      expect(kept.ids).toEqual([before, during[0]]);
      // The five oldest of "trimmed" were gone before the reader came back: reported, not hidden.
      expect(trimmed.ids).toEqual(during.slice(6));
      const report = errors.find((error) => RedisBackplaneError.is(error) && error.kind === "lost") as Error;
      expect(report.message).toMatch(
        /^Events were lost: topic "trimmed" was trimmed past "\d+-\d+" before this instance could read it/,
      );
      const after = await publisher.publish("kept", { data: "after" });
      await kept.until(3);
      expect(kept.ids.at(-1)).toBe(after);
    });
    it("stays idle when it reads no topic, even after its connection broke", async () => {
      const redis = client({ retryStrategy: () => 20, connectionName: "idle-test" });
      const instance = new RedisBackplane({ redis, prefix: prefix(), onError: () => {} });
      backplanes.push(instance);
      const collector = new Collector();
      const subscription = instance.subscribe("t", collector.listener);
      await subscription.ready;
      await instance.publish("t", { data: "x" });
      await collector.until(1);
      const admin = client();
      // The reader is the duplicate: the other connection with the client's name. Wait until it
      // blocks in its next read (a server state, which no event announces).
      const mainId = String(await redis.call("CLIENT", "ID"));
      let readerId: string | undefined;
      while (readerId === undefined) {
        const list = String(await admin.call("CLIENT", "LIST"));
        readerId = /^id=(\d+) .*name=idle-test .*cmd=xread/m.exec(list)?.[1];
        if (readerId === undefined) await sleep(5);
      }
      expect(readerId).not.toBe(mainId);
      subscription.unsubscribe();
      await admin.call("CONFIG", "RESETSTAT");
      expect(await admin.call("CLIENT", "KILL", "ID", readerId)).toBe(1);
      await sleep(300); // nothing to await: the point is that nothing happens
      const stats = String(await admin.call("INFO", "commandstats"));
      const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
      // One check of the clock after the reconnection, then no reading at all.
      expect(calls("evalsha") + calls("eval")).toBe(1);
      expect(calls("xread")).toBe(0);
    });
  });

  // -------------------------------------------------------------------------------------------
  // Hubs in separate processes

  // Waits for events only; the timeout is generous for machines under load (process starts dominate).
  describe("across processes", { timeout: 120_000 }, () => {
    const instances: ChildProcess[] = [];

    afterAll(async () => {
      await Promise.all(instances.splice(0).map(stopInstance));
    });

    interface Instance {
      readonly url: string;
      readonly process: ChildProcess;
      readonly errors: { kind: string; message: string }[];
    }

    async function startInstance(redisUrl: string, env: Record<string, string> = {}): Promise<Instance> {
      const child = spawn(process.execPath, ["--import", "tsx", "test/redis/instance.ts"], {
        env: { ...process.env, REDIS_URL: redisUrl, ...env },
        stdio: ["ignore", "pipe", "inherit"],
      });
      instances.push(child);
      const errors: { kind: string; message: string }[] = [];
      const port = await new Promise<number>((resolve, reject) => {
        child.once("exit", (code) => reject(new Error(`instance exited with ${code}`)));
        createInterface({ input: child.stdout! }).on("line", (line) => {
          const message = JSON.parse(line) as { port?: number; error?: { kind: string; message: string } };
          if (message.port !== undefined) resolve(message.port);
          if (message.error !== undefined) errors.push(message.error);
        });
      });
      return { url: `http://127.0.0.1:${port}`, process: child, errors };
    }

    function stopInstance(child: ChildProcess): Promise<void> {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      });
    }

    async function publish(instance: Instance, topic: string, data: string): Promise<{ status: number; text: string }> {
      const response = await fetch(`${instance.url}/publish?topic=${topic}`, { method: "POST", body: data });
      return { status: response.status, text: await response.text() };
    }

    /**
     * Publishes a marker on `topic` through `instance` until every client has it: then their
     * subscriptions are live. (A new subscription is taken up by the backplane asynchronously, so
     * an event published the moment the response arrives may precede it.)
     */
    async function warmUp(instance: Instance, topic: string, clients: readonly StreamClient[]): Promise<void> {
      const marker = `warm-up:${topic}`;
      for (;;) {
        expect((await publish(instance, topic, marker)).status).toBe(200);
        const arrived = Promise.all(
          clients.map((client) => client.until((c) => c.events.some((block) => block.data === marker))),
        );
        if (await Promise.race([arrived.then(() => true), sleep(500).then(() => false)])) return;
      }
    }

    const isWarmUp = (block: Block): boolean => block.data?.startsWith("warm-up:") === true;

    function subscribeUrl(instance: Instance, topics: readonly string[]): string {
      return `${instance.url}/sse?${topics.map((topic) => `topic=${topic}`).join("&")}`;
    }

    it("delivers every event of their topics, in the same order with the same ids, to subscribers spread over three instances", async () => {
      const keys = prefix();
      const hubs = await Promise.all([0, 1, 2].map(() => startInstance(server.url, { PREFIX: keys })));
      const topicSets = [["a"], ["b"], ["a", "b"], ["a", "b"]];
      const subscribers: { topics: string[]; client: StreamClient }[] = [];
      for (const hub of hubs) {
        for (const topics of topicSets) subscribers.push({ topics, client: await StreamClient.open(subscribeUrl(hub, topics)) });
      }
      // Let the readers of all instances take the topics up.
      for (const topic of ["a", "b"]) {
        await warmUp(
          hubs[0]!,
          topic,
          subscribers.filter((s) => s.topics.includes(topic)).map((s) => s.client),
        );
      }

      const published: { topic: string; data: string; id: string }[] = [];
      await Promise.all(
        hubs.map(async (hub, h) => {
          for (let n = 0; n < 40; n++) {
            const topic = n % 2 === 0 ? "a" : "b";
            const data = `hub${h}-${n}`;
            const result = await publish(hub, topic, data);
            expect(result.status).toBe(200);
            published.push({ topic, data, id: result.text });
          }
        }),
      );
      published.sort((p, q) => compareIds(p.id, q.id));
      const count = (c: StreamClient): number => c.events.filter((block) => !isWarmUp(block)).length;
      await Promise.all(
        subscribers.map((s) => s.client.until((c) => count(c) >= published.filter((p) => s.topics.includes(p.topic)).length)),
      );
      for (const { topics, client } of subscribers) {
        const expected = published.filter((p) => topics.includes(p.topic));
        const events = client.events.filter((block) => !isWarmUp(block));
        expect(events.map((block) => [block.id, block.data])).toEqual(expected.map((p) => [p.id, p.data]));
        expectIncreasing(client.events.map((block) => block.id!));
        client.close();
      }
      for (const hub of hubs) expect(hub.errors).toEqual([]);
      await Promise.all(hubs.map((hub) => stopInstance(hub.process)));
    });

    it("resumes exactly a client that moves from one instance to another with its Last-Event-ID", async () => {
      const keys = prefix();
      const [a, b, c] = await Promise.all([0, 1, 2].map(() => startInstance(server.url, { PREFIX: keys })));
      const first = await StreamClient.open(subscribeUrl(a!, ["m", "n"]));
      await warmUp(c!, "m", [first]);

      // Publishing pauses at half-way until the client has reconnected, so that it moves while
      // events keep coming, whatever the speed of the machine.
      const total = 200;
      const ids: string[] = [];
      const reconnected = deferred();
      const publisher = (async () => {
        for (let n = 1; n <= total; n++) {
          if (n === total / 2 + 1) await reconnected.promise;
          const result = await publish(c!, n % 3 === 0 ? "n" : "m", String(n));
          expect(result.status).toBe(200);
          ids.push(result.text);
        }
      })();
      await first.until((client) => client.events.filter((block) => !isWarmUp(block)).length >= 40);
      first.close();
      const seen = [...first.events];
      const lastId = seen.at(-1)!.id!;
      const moved = await StreamClient.open(subscribeUrl(b!, ["m", "n"]), lastId);
      reconnected.resolve();
      await publisher;
      await moved.until((client) => client.events.at(-1)?.data === String(total));
      const received = [...seen, ...moved.events].filter((block) => !isWarmUp(block));
      expect(moved.events.some((block) => block.event === "reset" || isWarmUp(block))).toBe(false);
      expect(received.map((block) => block.id)).toEqual(ids);
      expect(received.map((block) => block.data)).toEqual(Array.from({ length: total }, (_, i) => String(i + 1)));
      moved.close();
      await Promise.all([a!, b!, c!].map((hub) => stopInstance(hub.process)));
    });

    it("keeps subscribers through a Redis crash: publishes fail meanwhile, and nothing acknowledged is lost or repeated", async () => {
      const durable = await RedisServer.start({ persistent: true });
      try {
        const hubs = await Promise.all([0, 1].map(() => startInstance(durable.url, { KEEP_ALIVE: "200" })));
        const subscribers: StreamClient[] = [];
        for (const hub of hubs) {
          for (let i = 0; i < 2; i++) subscribers.push(await StreamClient.open(subscribeUrl(hub, ["f"])));
        }
        await warmUp(hubs[0]!, "f", subscribers);

        // Two publishers, one per instance, each a number series, paced at about 100/s.
        const acknowledged = new Map<string, string>();
        const attempted = new Set<string>();
        const refusals: string[] = [];
        let phase: "before" | "down" | "after" = "before";
        let stop = false;
        const acknowledgedAfter = { count: 0, reached: deferred() };
        const refused = deferred();
        const publishers = hubs.map(async (hub, h) => {
          for (let n = 0; !stop; n++) {
            const data = `p${h}-${n}`;
            attempted.add(data);
            const result = await publish(hub, "f", data);
            if (result.status === 200) {
              acknowledged.set(result.text, data);
              if (phase === "after" && ++acknowledgedAfter.count === 20) acknowledgedAfter.reached.resolve();
            } else {
              expect(result.status).toBe(503);
              refusals.push(result.text);
              if (phase === "down" && /^Cannot publish: Redis is unreachable: /.test(result.text)) refused.resolve();
            }
            await sleep(10); // pacing
          }
        });
        await Promise.all(subscribers.map((client) => client.until((c) => c.events.length >= 10)));

        await durable.kill();
        phase = "down";
        const comments = subscribers.map((client) => client.comments);
        await refused.promise;
        // Still connected: keep-alives keep coming while Redis is down.
        await Promise.all(subscribers.map((client, i) => client.until((c) => c.comments > comments[i]! + 1)));
        expect(subscribers.every((client) => !client.done)).toBe(true);

        await durable.restart();
        phase = "after";
        await acknowledgedAfter.reached.promise;
        stop = true;
        await Promise.all(publishers);

        const expected = [...acknowledged.keys()].sort(compareIds);
        const last = expected.at(-1)!;
        await Promise.all(subscribers.map((client) => client.until((c) => c.events.some((block) => block.id === last))));
        const published = (client: StreamClient): Block[] => client.events.filter((block) => !isWarmUp(block));
        const reference = published(subscribers[0]!).map((block) => [block.id, block.data]);
        for (const client of subscribers) {
          expect(client.done).toBe(false);
          expectIncreasing(client.events.map((block) => block.id!));
          const events = published(client);
          expect(events.map((block) => [block.id, block.data])).toEqual(reference);
          expectIncreasing(events.map((block) => block.id!));
          // Every acknowledged event, with its id; nothing twice; nothing never published. (A
          // publish under way when Redis died may have been stored without an answer.)
          const received = new Map(events.map((block) => [block.id!, block.data!]));
          for (const [id, data] of acknowledged) expect(received.get(id), id).toBe(data);
          expect(new Set(events.map((block) => block.data)).size).toBe(events.length);
          for (const block of events) expect(attempted.has(block.data!)).toBe(true);
          client.close();
        }
        expect(refusals.length).toBeGreaterThan(0);
        for (const hub of hubs) {
          expect(hub.errors.filter((error) => error.kind === "lost" || error.kind === "hub")).toEqual([]);
        }
        await Promise.all(hubs.map((hub) => stopInstance(hub.process)));
      } finally {
        await durable.stop();
      }
    });
  });

  // -------------------------------------------------------------------------------------------

  /** The client, with a reader (its duplicate) whose XREAD replies arrive `lag` ms late. */
  function laggingReader(redis: Redis, lag: number): RedisClientLike {
    const wrap = (inner: Redis, slow: boolean): RedisClientLike => ({
      call: async (command, ...args) => {
        const reply = await inner.call(command, ...args);
        if (slow && command === "XREAD") await sleep(lag);
        return reply;
      },
      duplicate: (options) => {
        const reader = inner.duplicate(options);
        clients.push(reader);
        return wrap(reader, true);
      },
      on: (event: "error" | "close", listener: (error: Error) => void) => inner.on(event, listener),
      disconnect: () => inner.disconnect(),
    });
    return wrap(redis, false);
  }

  it("hands a reconnecting client of a hub over from history to live with no gap or duplicate, even when its reader lags", async () => {
    const shared = prefix();
    const a = new SSEHub({ backplane: backplane({ prefix: shared }), keepAlive: false });
    const lagging = new RedisBackplane({ redis: laggingReader(client(), 20), prefix: shared });
    backplanes.push(lagging);
    const b = new SSEHub({ backplane: lagging, keepAlive: false });
    try {
      // The topic is live on b's reader before anything is published, so the first connection
      // sees the first events; publishing pauses after 150 until the client has reconnected, so
      // the hand-over from history to live happens while the rest is being published, whatever
      // the speed of the machine.
      await lagging.subscribe("h", () => {}).ready;
      const reconnected = deferred();
      const ids: string[] = [];
      const publisher = (async () => {
        for (let n = 1; n <= 300; n++) {
          if (n === 151) await reconnected.promise;
          ids.push(await a.publish({ data: String(n) }, { topic: "h" }));
        }
      })();
      const response = await b.subscribe(new Request("http://hub.test/sse?topic=h"));
      const reader = response.body!.getReader();
      let text = "";
      while ((text.match(/\n\n/g)?.length ?? 0) < 30) text += decoder.decode((await reader.read()).value);
      await reader.cancel();
      const seen = text
        .split("\n\n")
        .filter((block) => block.startsWith("data: "))
        .map(parseBlock);
      expect(Number(seen.at(-1)!.data)).toBeLessThanOrEqual(150);
      const again = await b.subscribe(
        new Request("http://hub.test/sse?topic=h", { headers: { "Last-Event-ID": seen.at(-1)!.id! } }),
      );
      reconnected.resolve();
      const next = again.body!.getReader();
      let rest = "";
      await publisher;
      while (!rest.includes(`id: ${ids.at(-1)}\n`)) rest += decoder.decode((await next.read()).value);
      await next.cancel();
      const received = [
        ...seen,
        ...rest
          .split("\n\n")
          .filter((block) => block !== "")
          .map(parseBlock),
      ];
      const firstN = Number(received[0]!.data);
      expect(received.map((block) => block.id)).toEqual(ids.slice(firstN - 1));
      expect(received.map((block) => block.data)).toEqual(Array.from({ length: 300 - firstN + 1 }, (_, i) => String(firstN + i)));
    } finally {
      await a.close();
      await b.close();
    }
  });
});
