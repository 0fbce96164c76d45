import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackplaneEntry, SSEHub } from "../../src/hub/index.ts";
import { keySlot } from "../../src/redis/_codec.ts";
import { RedisBackplane, RedisBackplaneError } from "../../src/redis/index.ts";
import { ResumableStreams } from "../../src/resumable/index.ts";
import { redisRequirement } from "../_helpers/redis.ts";
import { hasRedisCli, RedisCluster } from "../_helpers/redis-cluster.ts";
import { EventReader, ManualSource, request } from "../resumable/_events.ts";

interface Block {
  id?: string;
  data?: string;
  event?: string;
}

function parseBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  for (const chunk of text.split("\n\n")) {
    const block: Block = {};
    for (const line of chunk.split("\n")) {
      const colon = line.indexOf(": ");
      if (colon <= 0) continue;
      const field = line.slice(0, colon);
      if (field === "id" || field === "data" || field === "event") block[field] = line.slice(colon + 2);
    }
    if (block.data !== undefined) blocks.push(block);
  }
  return blocks;
}

/** An SSE connection that collects events, with a wait for a condition on them. */
class Client {
  readonly events: Block[] = [];
  readonly #controller = new AbortController();
  #text = "";
  #waiters: { test: () => boolean; resolve: () => void }[] = [];

  static async open(url: string, lastEventId?: string): Promise<Client> {
    const client = new Client();
    const headers: Record<string, string> = lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId };
    const response = await fetch(url, { headers, signal: client.#controller.signal });
    void client.#pump(response.body!.getReader());
    return client;
  }

  async #pump(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        this.#text += decoder.decode(value, { stream: true });
        const end = this.#text.lastIndexOf("\n\n");
        if (end === -1) continue;
        this.events.push(...parseBlocks(this.#text.slice(0, end)));
        this.#text = this.#text.slice(end + 2);
        this.#waiters = this.#waiters.filter((waiter) => {
          if (!waiter.test()) return true;
          waiter.resolve();
          return false;
        });
      }
    } catch {
      // aborted
    }
  }

  until(test: (events: readonly Block[]) => boolean): Promise<void> {
    if (test(this.events)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ test: () => test(this.events), resolve }));
  }

  close(): void {
    this.#controller.abort();
  }
}

function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number) as [number, number];
  const [bm, bs] = b.split("-").map(Number) as [number, number];
  return am - bm || as - bs;
}

const requirement =
  redisRequirement() === "run" && !hasRedisCli() ? (process.env.CI === "true" ? "fail" : "skip") : redisRequirement();

describe.skipIf(requirement === "skip")("RedisBackplane on Redis Cluster", () => {
  if (requirement === "fail") {
    it("runs against a real Redis Cluster, which CI must provide", () => {
      throw new Error("redis-server or redis-cli is not installed: the Redis Cluster tests cannot run");
    });
    return;
  }

  describe("3 primaries", () => {
    let cluster: RedisCluster;
    const clients: Cluster[] = [];
    const children: ChildProcess[] = [];
    let counter = 0;
    const prefix = (): string => `t${process.pid}-${++counter}:`;
    const client = (): Cluster => {
      const redis = new Cluster(cluster.nodes, { enableOfflineQueue: true });
      clients.push(redis);
      return redis;
    };

    beforeAll(async () => {
      cluster = await RedisCluster.start({ primaries: 3 });
    }, 30_000);

    afterAll(async () => {
      for (const child of children) child.kill("SIGKILL");
      for (const redis of clients) redis.disconnect();
      await cluster?.stop();
    });

    it("spreads topics over the primaries, keeps a hash-tag group in one slot and one order, and resumes a subscription spanning groups from a compound id", async () => {
      const shared = prefix();
      const writer = new RedisBackplane({ redis: client(), prefix: shared });
      const reader = new RedisBackplane({ redis: client(), prefix: shared });
      try {
        const topics = ["{room42}:chat", "{room42}:presence", "alpha", "beta", "gamma", "delta"];
        const slots = topics.map((topic) => keySlot(`${shared}s:{${topic.startsWith("{") ? "room42" : topic}}`));
        expect(slots[0]).toBe(slots[1]);
        const primaries = new Set(slots.map((slot) => cluster.primaryOf(slot)));
        expect(primaries.size).toBeGreaterThan(1);

        const received = new Map<string, BackplaneEntry[]>(topics.map((topic) => [topic, []]));
        const all: BackplaneEntry[] = [];
        let waiter: (() => void) | undefined;
        await Promise.all(
          topics.map(
            (topic) =>
              reader.subscribe(topic, (entry) => {
                received.get(topic)!.push(entry);
                all.push(entry);
                waiter?.();
              }).ready,
          ),
        );
        const published: { topic: string; id: string }[] = [];
        for (let n = 0; n < 60; n++) {
          const topic = topics[n % topics.length]!;
          published.push({ topic, id: await writer.publish(topic, { data: `${topic}#${n}` }) });
        }
        while (all.length < published.length) await new Promise<void>((resolve) => (waiter = resolve));
        // Ids are unique across the cluster; each topic's entries arrive in publication order.
        expect(new Set(published.map((p) => p.id)).size).toBe(published.length);
        for (const topic of topics) {
          expect(received.get(topic)!.map((entry) => entry.id)).toEqual(
            published.filter((p) => p.topic === topic).map((p) => p.id),
          );
        }
        // The group's two topics share one clock: their ids increase in publication order across both.
        const room = published.filter((p) => p.topic.startsWith("{room42}")).map((p) => p.id);
        expect([...room].sort(compareIds)).toEqual(room);

        // A subscription spanning three groups resumes from one position per slot, exactly.
        const span = ["{room42}:chat", "{room42}:presence", "alpha", "beta"];
        const cut = 30;
        const seen = published.slice(0, cut).filter((p) => span.includes(p.topic));
        const lastPerSlot = new Map<number, string>();
        for (const p of seen) lastPerSlot.set(Number(p.id.split("-")[1]) % 16_384, p.id);
        const compound = [...lastPerSlot.values()].join(",");
        const history = await reader.history(span, compound);
        expect(history.gone).toBe(false);
        const rest = (history as { entries: readonly BackplaneEntry[] }).entries.map((entry) => entry.id).sort(compareIds);
        const expected = published
          .slice(cut)
          .filter((p) => span.includes(p.topic))
          .map((p) => p.id)
          .sort(compareIds);
        expect(rest).toEqual(expected);
      } finally {
        await writer.close();
        await reader.close();
      }
    }, 120_000);

    it("runs a resumable stream on the cluster: started on one instance, resumed on another with exactly the remaining frames", async () => {
      const shared = prefix();
      const planes = [0, 1].map(() => new RedisBackplane({ redis: client(), prefix: shared, maxEvents: 100 }));
      const [one, two] = planes.map((backplane) => new ResumableStreams({ backplane, heartbeat: 500, onError: () => {} }));
      try {
        const source = new ManualSource();
        await one!.start("chat-7", source.start);
        source.push("1", "2", "3");
        const first = new EventReader(await one!.subscribe(request("chat-7"), "chat-7"));
        await first.until(() => first.data.length === 2);
        const resumeFrom = first.messages[1]!.lastEventId;
        await first.cancel();
        const resumed = new EventReader(await two!.subscribe(request("chat-7", resumeFrom), "chat-7"));
        source.push("4", "5");
        source.end();
        await resumed.ended;
        expect(resumed.data).toEqual(["3", "4", "5"]);
        expect(await two!.status("chat-7")).toBe("done");
      } finally {
        one!.close();
        two!.close();
        await Promise.all(planes.map((backplane) => backplane.close()));
      }
    });

    it("runs three hub processes: every instance delivers every event in order per group, and a client moves between them with its Last-Event-ID", async () => {
      const url = `cluster:${cluster.nodes.map((node) => `${node.host}:${node.port}`).join(",")}`;
      // One prefix for all three.
      const shared = prefix();
      const spawnWith = async (): Promise<string> => {
        const child = spawn(process.execPath, ["--import", "tsx", "test/redis/instance.ts"], {
          env: { ...process.env, REDIS_URL: url, PREFIX: shared, KEEP_ALIVE: "60000" },
          stdio: ["ignore", "pipe", "inherit"],
        });
        children.push(child);
        return await new Promise<string>((resolve, reject) => {
          child.once("exit", (code) => reject(new Error(`instance exited with ${code}`)));
          createInterface({ input: child.stdout! }).on("line", (line) => {
            const message = JSON.parse(line) as { port?: number };
            if (message.port !== undefined) resolve(`http://127.0.0.1:${message.port}`);
          });
        });
      };
      const instances = await Promise.all([spawnWith(), spawnWith(), spawnWith()]);
      const query = "topic=%7Broom%7D%3Achat&topic=%7Broom%7D%3Apresence";
      const roomClients = await Promise.all(instances.map((base) => Client.open(`${base}/sse?${query}`)));
      const soloClients = await Promise.all(instances.map((base) => Client.open(`${base}/sse?topic=solo`)));
      // Each subscription is live once one probe event published after it has arrived.
      const probe = async (topic: string, clients: Client[]): Promise<void> => {
        for (;;) {
          const response = await fetch(`${instances[0]}/publish?topic=${encodeURIComponent(topic)}`, {
            method: "POST",
            body: "probe",
          });
          const id = await response.text();
          const arrived = await Promise.race([
            Promise.all(clients.map((c) => c.until((events) => events.some((block) => block.id === id)))).then(() => true),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000)),
          ]);
          if (arrived) return;
        }
      };
      await probe("{room}:chat", roomClients);
      await probe("solo", soloClients);
      const published: { topic: string; id: string; data: string }[] = [];
      const topics = ["{room}:chat", "{room}:presence", "solo"];
      for (let n = 0; n < 45; n++) {
        const topic = topics[n % 3]!;
        const data = `m${n}`;
        const response = await fetch(`${instances[n % 3]}/publish?topic=${encodeURIComponent(topic)}`, {
          method: "POST",
          body: data,
        });
        expect(response.status).toBe(200);
        published.push({ topic, id: await response.text(), data });
      }
      const room = published.filter((p) => p.topic !== "solo");
      const solo = published.filter((p) => p.topic === "solo");
      await Promise.all(roomClients.map((c) => c.until((events) => events.some((block) => block.id === room.at(-1)!.id))));
      await Promise.all(soloClients.map((c) => c.until((events) => events.some((block) => block.id === solo.at(-1)!.id))));
      for (const c of roomClients) {
        expect(c.events.filter((block) => block.data !== "probe").map((block) => [block.id, block.data])).toEqual(
          room.map((p) => [p.id, p.data]),
        );
      }
      for (const c of soloClients) {
        expect(c.events.filter((block) => block.data !== "probe").map((block) => [block.id, block.data])).toEqual(
          solo.map((p) => [p.id, p.data]),
        );
      }
      // The client of instance 0 leaves after the 10th room event and comes back on instance 2.
      const leaveAt = room[9]!;
      roomClients[0]!.close();
      const moved = await Client.open(`${instances[2]}/sse?${query}`, leaveAt.id);
      await moved.until((events) => events.some((block) => block.id === room.at(-1)!.id));
      expect(moved.events.map((block) => block.id)).toEqual(room.slice(10).map((p) => p.id));
      moved.close();
      for (const c of [...roomClients, ...soloClients]) c.close();
    }, 120_000);

    it("moves a client subscribed to topics in different slots between hub processes with one Last-Event-ID while both topics go on: exactly the rest of both", async () => {
      const url = `cluster:${cluster.nodes.map((node) => `${node.host}:${node.port}`).join(",")}`;
      const shared = prefix();
      const spawnWith = async (): Promise<string> => {
        // node itself (not the tsx wrapper), so that the SIGKILL of afterAll reaches the instance.
        const child = spawn(process.execPath, ["--import", "tsx", "test/redis/instance.ts"], {
          env: { ...process.env, REDIS_URL: url, PREFIX: shared, KEEP_ALIVE: "60000" },
          stdio: ["ignore", "pipe", "inherit"],
        });
        children.push(child);
        return await new Promise<string>((resolve, reject) => {
          child.once("exit", (code) => reject(new Error(`instance exited with ${code}`)));
          createInterface({ input: child.stdout! }).on("line", (line) => {
            const message = JSON.parse(line) as { port?: number };
            if (message.port !== undefined) resolve(`http://127.0.0.1:${message.port}`);
          });
        });
      };
      const instances = await Promise.all([spawnWith(), spawnWith(), spawnWith()]);
      // Two topics without a common hash tag, in slots served by different primaries.
      const slotOf = (topic: string): number => keySlot(`${shared}s:{${topic}}${topic}`);
      const north = "north";
      const south = ["south", "east", "west", "up", "down"].find(
        (topic) => cluster.primaryOf(slotOf(topic)) !== cluster.primaryOf(slotOf(north)),
      )!;
      const topics = [north, south];
      const query = topics.map((topic) => `topic=${topic}`).join("&");
      const publishTo = async (base: string, topic: string, data: string): Promise<string> => {
        const response = await fetch(`${base}/publish?topic=${topic}`, { method: "POST", body: data });
        expect(response.status).toBe(200);
        return await response.text();
      };
      const first = await Client.open(`${instances[0]}/sse?${query}`);
      // Live once a probe published after the subscription has arrived on each topic.
      for (const topic of topics) {
        for (;;) {
          const id = await publishTo(instances[1]!, topic, "probe");
          const arrived = await Promise.race([
            first.until((events) => events.some((block) => block.id!.split(",").includes(id))).then(() => true),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000)),
          ]);
          if (arrived) break;
        }
      }
      // Publishes go on, on both topics at once (one publisher per topic, on different instances, so
      // that the two slots' clocks are not ordered against each other), through all three instances.
      const published: { topic: string; data: string }[] = [];
      let stopAt = Number.POSITIVE_INFINITY;
      const publisher = Promise.all(
        topics.map(async (topic, t) => {
          for (let n = 0; published.length < stopAt; n++) {
            const data = `${topic}${n}`;
            await publishTo(instances[(n + t) % 3]!, topic, data);
            published.push({ topic, data });
          }
        }),
      );
      const real = (events: readonly Block[]) => events.filter((block) => block.data !== "probe");
      await first.until((events) => real(events).length >= 20);
      first.close();
      const seen = real(first.events).map((block) => block.data!);
      const lastId = first.events.at(-1)!.id!;
      // One position per slot: the compound id names both.
      expect(lastId.split(",")).toHaveLength(2);
      const moved = await Client.open(`${instances[2]}/sse?${query}`, lastId);
      // 20 more after the move, then the publisher stops.
      stopAt = published.length + 20;
      await publisher;
      const last = (topic: string): string => published.filter((p) => p.topic === topic).at(-1)!.data;
      await moved.until((events) => topics.every((topic) => events.some((block) => block.data === last(topic))));
      const got = real(moved.events).map((block) => block.data!);
      // Nothing twice, nothing missing: per topic, exactly what the first connection had not received, in order.
      expect(new Set([...seen, ...got]).size).toBe(seen.length + got.length);
      for (const topic of topics) {
        const ofTopic = new Set(published.filter((p) => p.topic === topic).map((p) => p.data));
        expect(got.filter((data) => ofTopic.has(data))).toEqual(
          published.filter((p) => p.topic === topic && !seen.includes(p.data)).map((p) => p.data),
        );
      }
      expect(got.length + seen.length).toBe(published.length);
      expect(moved.events.at(-1)!.id!.split(",")).toHaveLength(2);
      moved.close();
    }, 120_000);
  });

  it("survives SIGKILL of a primary with replicas: keeps delivering after the failover, resumes where the data survived, and reports what it lost", async () => {
    const cluster = await RedisCluster.start({ primaries: 3, replicas: 1, nodeTimeout: 1_000 });
    // Publishes fail (rather than wait) while their primary is down: the test retries them.
    const redis = new Cluster(cluster.nodes, { enableOfflineQueue: true, redisOptions: { commandTimeout: 10_000 } });
    // Each step is bounded, so that a failure says which one did not happen.
    const step = <T>(what: string, promise: Promise<T>): Promise<T> =>
      Promise.race([
        promise,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`Timed out: ${what}; reported: ${errors.map(String).join(" | ")}`)), 30_000),
        ),
      ]);
    const errors: unknown[] = [];
    let onLost: (() => void) | undefined;
    const backplane = new RedisBackplane({
      redis,
      prefix: "f:",
      blockTimeout: 500,
      onError: (error) => {
        errors.push(error);
        if (RedisBackplaneError.is(error) && error.kind === "lost") onLost?.();
      },
    });
    const hub = new SSEHub({ backplane, keepAlive: false });
    try {
      const topic = "orders";
      const slot = keySlot(`f:s:{${topic}}`);
      const primary = cluster.primaryOf(slot);
      // Its replica, to freeze (SIGSTOP) so that what the primary acknowledges meanwhile is not replicated.
      const nodes = cluster.cli(primary, "cluster", "nodes");
      const primaryId = nodes
        .split("\n")
        .find((line) => line.includes(`:${primary}@`))!
        .split(" ")[0]!;
      const replicaLine = nodes.split("\n").find((line) => line.split(" ")[3] === primaryId)!;
      const replicaPort = Number(replicaLine.split(" ")[1]!.split(":")[1]!.split("@")[0]);
      const replicaPid = Number(/process_id:(\d+)/.exec(cluster.cli(replicaPort, "info", "server"))![1]);

      // The hub's stream, read in the background: the ids it has delivered.
      const response = await hub.subscribe(new Request(`http://hub.test/sse?topic=${topic}`));
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      const delivered = new Set<string>();
      let wanted: { id: string; resolve: () => void } | undefined;
      void (async () => {
        let tail = "";
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          const lines = (tail + decoder.decode(value, { stream: true })).split("\n");
          tail = lines.pop()!;
          for (const line of lines) if (line.startsWith("id: ")) delivered.add(line.slice(4));
          if (wanted !== undefined && delivered.has(wanted.id)) wanted.resolve();
        }
      })();
      const readUntil = (id: string): Promise<void> =>
        delivered.has(id) ? Promise.resolve() : new Promise((resolve) => (wanted = { id, resolve }));
      // Resumable from here on: the backplane takes the topic up before the first publish.
      await backplane.subscribe(topic, () => {}).ready;
      const kept: string[] = [];
      for (let n = 0; n < 5; n++) kept.push(await hub.publish({ data: `kept ${n}` }, { topic }));
      await step("the kept events delivered", readUntil(kept.at(-1)!));
      // The replica has the kept events before it is frozen.
      const offsets = (): string[] => {
        const info = cluster.cli(primary, "info", "replication");
        return [/slave0:.*offset=(\d+)/.exec(info)?.[1] ?? "", /master_repl_offset:(\d+)/.exec(info)?.[1] ?? "-"];
      };
      await cluster.waitUntil(() => offsets()[0] === offsets()[1], "replica in sync");

      // Frozen, the replica stops reading its primary's stream: past its socket buffers (a few
      // MB), what the primary acknowledges stays in the primary's memory, and dies with it.
      process.kill(replicaPid, "SIGSTOP");
      const payload = "x".repeat(64 * 1024);
      const lostIds: string[] = [];
      for (let n = 0; n < 400; n++) lostIds.push(await hub.publish({ data: `lost ${n} ${payload}` }, { topic }));
      await step("the frozen phase's events delivered", readUntil(lostIds.at(-1)!));
      const lost = new Promise<void>((resolve) => (onLost = resolve));
      await cluster.kill(primary);
      process.kill(replicaPid, "SIGCONT");
      await cluster.waitUntil(
        () => cluster.cli(replicaPort, "info", "replication").includes("role:master"),
        "the replica's promotion",
      );

      // Publishing works again once the client has found the new primary.
      let after: string | undefined;
      const deadline = Date.now() + 30_000;
      while (after === undefined) {
        if (Date.now() > deadline)
          throw new Error(`Timed out: publishing after the failover; reported: ${errors.map(String).join(" | ")}`);
        try {
          after = await hub.publish({ data: "after" }, { topic });
        } catch (error) {
          expect(RedisBackplaneError.is(error)).toBe(true);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
      await step("the event after the failover delivered", readUntil(after));
      await step("the loss reported", lost);
      const report = errors.find((error) => RedisBackplaneError.is(error) && error.kind === "lost") as Error;
      expect(report.message).toMatch(
        /^Events were lost: slot \d+ failed over and its new primary lacks acknowledged events up to "/,
      );
      // No id is issued twice: the clock was moved past what this instance had delivered.
      expect(compareIds(after, lostIds.at(-1)!)).toBeGreaterThan(0);
      await reader.cancel();

      // A client that had seen the kept events resumes exactly from what survived: the kept
      // events, the first of the frozen phase's (those the replica had received), then the new one.
      const history = await backplane.history([topic], kept[2]!);
      expect(history.gone).toBe(false);
      const ids = (history as { entries: readonly BackplaneEntry[] }).entries.map((entry) => entry.id);
      const survivors = ids.length - 3;
      expect(survivors).toBeLessThan(lostIds.length);
      expect(ids).toEqual([kept[3], kept[4], ...lostIds.slice(0, survivors), after]);
    } finally {
      await hub.close();
      await backplane.close();
      redis.disconnect();
      await cluster.stop();
    }
  }, 120_000);
});
