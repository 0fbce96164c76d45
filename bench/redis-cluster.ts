/**
 * The Redis backplane on one Redis vs a 3-primary Redis Cluster, in one run, at the backplane
 * level (no HTTP: the hub's own fan-out is measured by bench/fanout.ts and bench/redis-fanout.ts).
 *
 * - **publish**: `--events` publishes (20 000), `--inflight` (64) at a time, to 1 topic and spread
 *   over 1 000 topics; reported: publishes per second, and the Redis CPU time per publish (the
 *   sum over all nodes of `used_cpu_user + used_cpu_sys` from `INFO cpu`, before and after).
 * - **fan-out**: `--readers` (4) backplanes, each standing for one app instance, read the same
 *   100 topics while one publisher publishes `--events` events over them; reported: entries
 *   delivered per second (all readers together, first publish to last delivery), and the Redis
 *   and Node CPU time per delivered entry.
 *
 * Every Redis node runs in its own process; the publisher and readers share this process. On a
 * machine with few cores the cluster cannot show its scaling as throughput (three primaries share
 * the same cores): the CPU cost per operation is what the model in BENCHMARKS.md builds on.
 * Results go to bench/results/redis-cluster.json.
 *
 * Usage: `npx tsx bench/redis-cluster.ts [--quick] [--events=20000] [--inflight=64] [--readers=4]`
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster, Redis } from "ioredis";
import { RedisBackplane } from "../src/redis/index.ts";
import { RedisServer } from "../test/_helpers/redis.ts";
import { RedisCluster } from "../test/_helpers/redis-cluster.ts";

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key!, value ?? "true"] as const;
  }),
);
const quick = args.has("quick");
const EVENTS = Number(args.get("events") ?? (quick ? 5_000 : 20_000));
const INFLIGHT = Number(args.get("inflight") ?? 64);
const READERS = Number(args.get("readers") ?? 4);

type Client = Redis | Cluster;

interface Setup {
  readonly name: string;
  client(): Client;
  /** Total Redis CPU seconds so far, over all nodes. */
  cpu(): Promise<number>;
  stop(): Promise<void>;
}

async function cpuOf(redis: Redis): Promise<number> {
  const info = String(await redis.call("INFO", "cpu"));
  const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]);
  const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
  return user + sys;
}

async function single(): Promise<Setup> {
  const server = await RedisServer.start();
  const clients: Client[] = [];
  const admin = new Redis(server.url);
  return {
    name: "1 node",
    client: () => {
      const redis = new Redis(server.url);
      clients.push(redis);
      return redis;
    },
    cpu: () => cpuOf(admin),
    stop: async () => {
      for (const redis of [...clients, admin]) redis.disconnect();
      await server.stop();
    },
  };
}

async function cluster(): Promise<Setup> {
  const started = await RedisCluster.start({ primaries: 3 });
  const clients: Client[] = [];
  const admins = started.ports.map((port) => new Redis({ host: "127.0.0.1", port }));
  return {
    name: "3-primary cluster",
    client: () => {
      const redis = new Cluster(started.nodes);
      clients.push(redis);
      return redis;
    },
    cpu: async () => (await Promise.all(admins.map(cpuOf))).reduce((a, b) => a + b, 0),
    stop: async () => {
      for (const redis of [...clients, ...admins]) redis.disconnect();
      await started.stop();
    },
  };
}

/** Publishes `count` events over `topics`, `INFLIGHT` at a time. */
async function publishAll(backplane: RedisBackplane, topics: readonly string[], count: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: INFLIGHT }, async () => {
      while (next < count) {
        const n = next++;
        await backplane.publish(topics[n % topics.length]!, { data: `event ${n}` });
      }
    }),
  );
}

const topicsOf = (count: number): string[] => Array.from({ length: count }, (_, i) => `topic-${i}`);

async function publishBench(setup: Setup, topicCount: number): Promise<{ perSecond: number; redisMicros: number }> {
  const backplane = new RedisBackplane({ redis: setup.client(), prefix: `p${topicCount}:`, maxEvents: 1_000 });
  const topics = topicsOf(topicCount);
  await publishAll(backplane, topics, Math.min(2_000, EVENTS)); // warm-up: scripts loaded, connections up
  const cpu0 = await setup.cpu();
  const t0 = performance.now();
  await publishAll(backplane, topics, EVENTS);
  const seconds = (performance.now() - t0) / 1_000;
  const cpu = (await setup.cpu()) - cpu0;
  await backplane.close();
  return { perSecond: EVENTS / seconds, redisMicros: (cpu * 1e6) / EVENTS };
}

async function fanoutBench(setup: Setup): Promise<{ deliveredPerSecond: number; redisMicros: number; nodeMicros: number }> {
  const prefix = "f:";
  const topics = topicsOf(100);
  const readers = Array.from({ length: READERS }, () => new RedisBackplane({ redis: setup.client(), prefix, maxEvents: 10_000 }));
  const publisher = new RedisBackplane({ redis: setup.client(), prefix, maxEvents: 10_000 });
  const total = EVENTS * READERS;
  let delivered = 0;
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const listener = (): void => {
    if (++delivered === total) done();
  };
  await Promise.all(readers.flatMap((reader) => topics.map((topic) => reader.subscribe(topic, listener).ready)));
  const cpu0 = await setup.cpu();
  const node0 = process.cpuUsage();
  const t0 = performance.now();
  await publishAll(publisher, topics, EVENTS);
  await finished;
  const seconds = (performance.now() - t0) / 1_000;
  const node = process.cpuUsage(node0);
  const cpu = (await setup.cpu()) - cpu0;
  await Promise.all([...readers, publisher].map((backplane) => backplane.close()));
  return { deliveredPerSecond: total / seconds, redisMicros: (cpu * 1e6) / total, nodeMicros: (node.user + node.system) / total };
}

const results: Record<string, unknown> = {};
for (const make of [single, cluster]) {
  const setup = await make();
  try {
    const one = await publishBench(setup, 1);
    const many = await publishBench(setup, 1_000);
    const fanout = await fanoutBench(setup);
    results[setup.name] = { publishOneTopic: one, publish1000Topics: many, fanout };
    console.log(
      `${setup.name.padEnd(18)} publish, 1 topic: ${one.perSecond.toFixed(0)}/s (Redis ${one.redisMicros.toFixed(1)} µs each); ` +
        `1000 topics: ${many.perSecond.toFixed(0)}/s (Redis ${many.redisMicros.toFixed(1)} µs each); ` +
        `fan-out to ${READERS} readers: ${fanout.deliveredPerSecond.toFixed(0)} entries/s ` +
        `(Redis ${fanout.redisMicros.toFixed(1)} µs, Node ${fanout.nodeMicros.toFixed(1)} µs per entry delivered)`,
    );
  } finally {
    await setup.stop();
  }
}

const out = join(dirname(fileURLToPath(import.meta.url)), "results", "redis-cluster.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ date: new Date().toISOString(), events: EVENTS, inflight: INFLIGHT, readers: READERS, results }, null, 2)}\n`,
);
console.log(`written to ${out}`);
process.exit(0);
