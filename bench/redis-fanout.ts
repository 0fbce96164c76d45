/**
 * Fan-out through Redis: latency and throughput of events published on one hub instance and
 * delivered to subscribers of two instances that share a `RedisBackplane` (2 × 1000 subscribers),
 * against the single-process hub with its in-memory backplane (1 × 2000 subscribers), in one run.
 *
 * - **latency**: one instance publishes `--rate` events per second (10, below what either setup
 *   can sustain on two shared cores, so that this measures latency, not queueing) for `--seconds` (5);
 *   each event carries its publish time, and the clients record, for every delivery (one event to
 *   one subscriber), the time from `hub.publish()` to the event parsed from the HTTP stream.
 *   Reported: p50, p99 and max over all deliveries, and the p50/p99 of `publish()` itself (the
 *   Redis round trip of the publish script; nothing for the in-memory hub).
 * - **throughput**: the same instance publishes `--events` events (2000) as fast as the hub lets
 *   it (64 publishers in a row, each awaiting its previous `publish()`; the in-memory hub, which
 *   answers at once, yields to I/O every `--yield` (16) publishes); reported: events per second
 *   from the first publish to the last event read by the last subscriber, and deliveries per
 *   second. Both are bounded here by the HTTP writes and reads of the subscribers' sockets.
 *
 * Every server (redis-server, each hub instance) and the clients (all subscribers, over
 * loopback HTTP) run in their own processes, sharing the machine's cores. Results also go to
 * bench/results/redis-fanout.json.
 *
 * Usage: `npx tsx bench/redis-fanout.ts [--quick] [--subscribers=1000] [--rate=10] [--seconds=5] [--events=2000]
 * [--only=memory|redis] [--yield=16]`
 * (`--quick`: 200 subscribers per instance, 2 s, 500 events). Run it on an otherwise idle machine.
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Redis } from "ioredis";
import { SSEHub } from "../src/hub/index.ts";
import { RedisBackplane } from "../src/redis/index.ts";
import { RedisServer } from "../test/_helpers/redis.ts";

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key!, value ?? "true"] as const;
  }),
);

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes. */
const now = (): number => performance.timeOrigin + performance.now();

type Mode = "memory" | "redis";

type Message =
  | { type: "listening"; port: number }
  | { type: "count"; count: number }
  | { type: "published"; count: number; failed: number; t0: number; ack: number[] }
  | { type: "connected" }
  | { type: "reached"; at: number }
  | { type: "report"; deliveries: number; closed: number; p50: number; p99: number; max: number };

function percentile(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

// ---------------------------------------------------------------------------------------------
// A hub instance

async function instanceMain(mode: Mode, redisUrl: string | undefined, prefix: string, yieldEvery: number): Promise<void> {
  const send = (message: Message): void => void process.send!(message);
  let redis: Redis | undefined;
  let backplane: RedisBackplane | undefined;
  if (mode === "redis") {
    redis = new Redis(redisUrl!, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, commandTimeout: 5_000 });
    await new Promise<void>((resolve) => redis!.once("ready", () => resolve()));
    backplane = new RedisBackplane({ redis, prefix, maxEvents: 10_000 });
  }
  // Queues large enough that the clients, on the same cores, are never disconnected as slow.
  const hub = new SSEHub({ backplane, keepAlive: false, drainTimeout: false, maxQueued: 16_384 });
  const server = serve({ fetch: (request) => hub.subscribe(request), port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  send({ type: "listening", port: (server.address() as AddressInfo).port });

  process.on("message", async (message: { type: string; rate?: number; seconds?: number; events?: number }) => {
    if (message.type === "count") send({ type: "count", count: hub.size });
    if (message.type === "latency") {
      // A fixed schedule, so that a slow publish does not delay the next ones.
      const total = Math.round(message.rate! * message.seconds!);
      const period = 1000 / message.rate!;
      const t0 = now();
      const ack: number[] = [];
      let failed = 0;
      const pending: Promise<unknown>[] = [];
      for (let seq = 0; seq < total; seq++) {
        const wait = t0 + seq * period - now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const started = now();
        pending.push(
          hub.publish({ data: `${seq} ${started}` }, { topic: "bench" }).then(
            () => ack.push(now() - started),
            () => failed++,
          ),
        );
      }
      await Promise.all(pending);
      send({ type: "published", count: total, failed, t0, ack });
    }
    if (message.type === "throughput") {
      const total = message.events!;
      const t0 = now();
      let failed = 0;
      let next = 0;
      // 64 publishers in a row: each publishes when its previous one is acknowledged.
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < total) {
            const seq = next++;
            try {
              await hub.publish({ data: `${seq} ${now()}` }, { topic: "bench" });
            } catch {
              failed++;
            }
            // The in-memory hub answers at once: yield now and then so that it can write.
            if (mode === "memory" && seq % yieldEvery === 0) await new Promise((resolve) => setImmediate(resolve));
          }
        }),
      );
      send({ type: "published", count: total, failed, t0, ack: [] });
    }
    if (message.type === "stop") {
      await hub.close();
      await backplane?.close();
      redis?.disconnect();
      server.close();
      process.exit(0);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The clients: every subscriber of every instance, in one process

async function clientsMain(ports: number[], perInstance: number): Promise<void> {
  const send = (message: Message): void => void process.send!(message);
  const agent = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const counts: number[] = [];
  let latencies = new Float64Array(1 << 20);
  let recorded = 0;
  let closed = 0;
  let target: { count: number } | undefined;
  let below = 0;

  const record = (latency: number): void => {
    if (recorded === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[recorded++] = latency;
  };

  const open = (port: number, index: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const request = httpRequest({ host: "127.0.0.1", port, path: "/sse?topic=bench", agent }, (response) => {
        resolve();
        response.setEncoding("utf8");
        let buffer = "";
        response.on("data", (chunk: string) => {
          const received = now();
          buffer += chunk;
          let end = buffer.indexOf("\n\n");
          let start = 0;
          while (end !== -1) {
            // "data: <seq> <publish time>\nid: …"
            const data = buffer.indexOf("data: ", start);
            if (data !== -1 && data < end) {
              const space = buffer.indexOf(" ", data + 6);
              const line = buffer.indexOf("\n", space);
              record(received - Number(buffer.slice(space + 1, line)));
              const count = ++counts[index]!;
              if (target !== undefined && count === target.count && --below === 0) {
                target = undefined;
                send({ type: "reached", at: received });
              }
            }
            start = end + 2;
            end = buffer.indexOf("\n\n", start);
          }
          buffer = buffer.slice(start);
        });
        response.on("end", () => closed++);
      });
      request.on("error", reject);
      request.end();
    });

  const opening: Promise<void>[] = [];
  for (const port of ports) {
    for (let i = 0; i < perInstance; i++) {
      counts.push(0);
      opening.push(open(port, counts.length - 1));
    }
  }
  await Promise.all(opening);
  send({ type: "connected" });

  process.on("message", (message: { type: string; count?: number }) => {
    if (message.type === "reset") {
      counts.fill(0);
      recorded = 0;
    }
    if (message.type === "await") {
      below = counts.filter((count) => count < message.count!).length;
      if (below === 0) send({ type: "reached", at: now() });
      else target = { count: message.count! };
    }
    if (message.type === "report") {
      const sorted = latencies.slice(0, recorded).sort();
      send({
        type: "report",
        deliveries: recorded,
        closed,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        max: sorted[recorded - 1] ?? Number.NaN,
      });
    }
    if (message.type === "stop") process.exit(0);
  });
}

// ---------------------------------------------------------------------------------------------
// The orchestrator

class Child {
  readonly process: ChildProcess;
  #queue: Message[] = [];
  #waiters: { type: Message["type"]; resolve: (message: Message) => void }[] = [];

  constructor(script: string, childArgs: string[]) {
    this.process = fork(script, childArgs, { execArgv: ["--import", "tsx"], stdio: "inherit" });
    this.process.on("message", (message: Message) => {
      const index = this.#waiters.findIndex((waiter) => waiter.type === message.type);
      if (index === -1) this.#queue.push(message);
      else this.#waiters.splice(index, 1)[0]!.resolve(message);
    });
  }

  next<T extends Message["type"]>(type: T): Promise<Extract<Message, { type: T }>> {
    const index = this.#queue.findIndex((message) => message.type === type);
    if (index !== -1) return Promise.resolve(this.#queue.splice(index, 1)[0] as Extract<Message, { type: T }>);
    return new Promise((resolve) => this.#waiters.push({ type, resolve: resolve as (message: Message) => void }));
  }

  ask<T extends Message["type"]>(message: object, type: T): Promise<Extract<Message, { type: T }>> {
    const answer = this.next(type);
    this.process.send(message);
    return answer;
  }

  stop(): Promise<void> {
    if (this.process.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.process.once("exit", () => resolve());
      this.process.send({ type: "stop" });
    });
  }
}

interface Result {
  mode: Mode;
  instances: number;
  subscribers: number;
  latency: {
    p50: number;
    p99: number;
    max: number;
    deliveries: number;
    publishAckP50: number | null;
    publishAckP99: number | null;
  };
  throughput: { events: number; eventsPerSecond: number; deliveriesPerSecond: number };
  failedPublishes: number;
  closedSubscribers: number;
}

async function measure(
  mode: Mode,
  options: {
    instances: number;
    perInstance: number;
    rate: number;
    seconds: number;
    events: number;
    yieldEvery: number;
    redisUrl?: string;
  },
): Promise<Result> {
  const script = fileURLToPath(import.meta.url);
  const prefix = `bench${Date.now()}:`;
  const instances = Array.from(
    { length: options.instances },
    () =>
      new Child(script, [
        "--role=instance",
        `--mode=${mode}`,
        `--redis=${options.redisUrl ?? ""}`,
        `--prefix=${prefix}`,
        `--yield=${options.yieldEvery}`,
      ]),
  );
  const children: Child[] = [...instances];
  try {
    const ports = await Promise.all(instances.map(async (instance) => (await instance.next("listening")).port));
    const clients = new Child(script, ["--role=clients", `--ports=${ports.join(",")}`, `--per-instance=${options.perInstance}`]);
    children.push(clients);
    await clients.next("connected");
    for (const instance of instances) {
      while ((await instance.ask({ type: "count" }, "count")).count < options.perInstance) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const publisher = instances[0]!;
    // Warm-up: every instance's reader is following the topic, and the code paths are compiled.
    await publisher.ask({ type: "throughput", events: 50 }, "published");
    await clients.ask({ type: "await", count: 50 }, "reached");

    clients.process.send({ type: "reset" });
    const latency = await publisher.ask({ type: "latency", rate: options.rate, seconds: options.seconds }, "published");
    await clients.ask({ type: "await", count: latency.count - latency.failed }, "reached");
    const report = await clients.ask({ type: "report" }, "report");
    const ack = latency.ack.sort((a, b) => a - b);

    clients.process.send({ type: "reset" });
    const burst = await publisher.ask({ type: "throughput", events: options.events }, "published");
    const reached = await clients.ask({ type: "await", count: burst.count - burst.failed }, "reached");
    const elapsed = (reached.at - burst.t0) / 1000;
    const subscribers = options.instances * options.perInstance;
    const final = await clients.ask({ type: "report" }, "report");
    return {
      mode,
      instances: options.instances,
      subscribers,
      latency: {
        p50: report.p50,
        p99: report.p99,
        max: report.max,
        deliveries: report.deliveries,
        publishAckP50: mode === "redis" ? percentile(ack, 50) : null,
        publishAckP99: mode === "redis" ? percentile(ack, 99) : null,
      },
      throughput: {
        events: burst.count,
        eventsPerSecond: burst.count / elapsed,
        deliveriesPerSecond: (burst.count * subscribers) / elapsed,
      },
      failedPublishes: latency.failed + burst.failed,
      closedSubscribers: final.closed,
    };
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}

async function main(): Promise<void> {
  const quick = args.has("quick");
  const perInstance = Number(args.get("subscribers") ?? (quick ? 200 : 1000));
  const rate = Number(args.get("rate") ?? 10);
  const seconds = Number(args.get("seconds") ?? (quick ? 2 : 5));
  const events = Number(args.get("events") ?? (quick ? 500 : 2000));
  const yieldEvery = Number(args.get("yield") ?? 16);
  const only = args.get("only");
  const redisServer = await RedisServer.start();
  const info = new Redis(redisServer.url);
  const version = String(await info.call("INFO", "server"));
  info.disconnect();
  console.log(
    `Redis fan-out: 2 instances × ${perInstance} subscribers through Redis vs 1 × ${2 * perInstance} in memory; ` +
      `latency at ${rate} events/s for ${seconds} s, throughput over ${events} events; Node ${process.version}`,
  );
  const results: Result[] = [];
  try {
    if (only !== "redis") {
      results.push(await measure("memory", { instances: 1, perInstance: 2 * perInstance, rate, seconds, events, yieldEvery }));
      console.log("  memory done");
    }
    if (only !== "memory") {
      const redisUrl = redisServer.url;
      results.push(await measure("redis", { instances: 2, perInstance, rate, seconds, events, yieldEvery, redisUrl }));
      console.log("  redis done");
    }
  } finally {
    await redisServer.stop();
  }
  const ms = (value: number | null): string => (value === null ? "–" : `${value.toFixed(2)} ms`);
  console.log("");
  console.log(
    "| backplane | instances × subscribers | latency p50 | p99 | max | publish() p50 / p99 | events/s | deliveries/s | failed / closed |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(
      `| ${r.mode === "redis" ? "Redis" : "in-memory (one process)"} | ${r.instances} × ${r.subscribers / r.instances} | ` +
        `${ms(r.latency.p50)} | ${ms(r.latency.p99)} | ${ms(r.latency.max)} | ` +
        `${r.latency.publishAckP50 === null ? "–" : `${ms(r.latency.publishAckP50)} / ${ms(r.latency.publishAckP99)}`} | ` +
        `${Math.round(r.throughput.eventsPerSecond)} | ${Math.round(r.throughput.deliveriesPerSecond).toLocaleString("en")} | ` +
        `${r.failedPublishes} / ${r.closedSubscribers} |`,
    );
  }
  const out = join(dirname(fileURLToPath(import.meta.url)), "results", "redis-fanout.json");
  mkdirSync(dirname(out), { recursive: true });
  const redisVersion = /redis_version:(\S+)/.exec(version)?.[1] ?? "unknown";
  writeFileSync(
    out,
    `${JSON.stringify({ date: new Date().toISOString(), node: process.version, redis: redisVersion, quick, perInstance, rate, seconds, events, results }, null, 2)}\n`,
  );
  console.log(`\nwritten to ${out}`);
}

const role = args.get("role");
if (role === "instance") {
  await instanceMain(args.get("mode") as Mode, args.get("redis") || undefined, args.get("prefix")!, Number(args.get("yield")));
} else if (role === "clients") await clientsMain(args.get("ports")!.split(",").map(Number), Number(args.get("per-instance")));
else await main();
