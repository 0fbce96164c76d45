/**
 * Starts a real Redis Cluster from apt's `redis-server` and `redis-cli` for the backplane's
 * cluster tests and benchmark: N nodes on free ports (each port and its bus port, + 10000), then
 * `redis-cli --cluster create … --cluster-yes`, ready once every node reports `cluster_state:ok`.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REDIS_SERVER } from "./redis.ts";

/** The redis-cli binary: `REDIS_CLI`, else the one on the PATH (Debian ships it with redis-server). */
export const REDIS_CLI = process.env.REDIS_CLI ?? "redis-cli";

// Nodes still running when the test process exits (a run interrupted before its afterAll) are
// killed with it, so that an aborted run leaves no cluster behind.
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** A port P below 55535 where P and P + 10000 (the cluster bus) are both free. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await portFree(port)) && (await portFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
}

function cli(port: number, ...args: string[]): string {
  const result = spawnSync(REDIS_CLI, ["-p", String(port), ...args], { encoding: "utf8" });
  return `${result.stdout}${result.stderr}`;
}

export interface RedisClusterOptions {
  /** Primaries. @default 3 */
  primaries?: number;
  /** Replicas per primary. @default 0 */
  replicas?: number;
  /** `cluster-node-timeout` in ms: how soon a dead primary is failed over. @default 1000 */
  nodeTimeout?: number;
}

/** A running Redis Cluster on 127.0.0.1. */
export class RedisCluster {
  readonly #dir = mkdtempSync(join(tmpdir(), "hertz-redis-cluster-"));
  readonly #processes = new Map<number, ChildProcess>();
  /** Every node's port, primaries first as created. */
  readonly ports: number[] = [];

  /** The startup nodes for ioredis' `Cluster`. */
  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: "127.0.0.1", port }));
  }

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const cluster = new RedisCluster();
    try {
      await cluster.#start(options.primaries ?? 3, options.replicas ?? 0, options.nodeTimeout ?? 1_000);
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  async #start(primaries: number, replicas: number, nodeTimeout: number): Promise<void> {
    const taken = new Set<number>();
    const count = primaries * (1 + replicas);
    for (let i = 0; i < count; i++) this.ports.push(await clusterPort(taken));
    await Promise.all(this.ports.map((port) => this.#spawn(port, nodeTimeout)));
    const create = spawnSync(
      REDIS_CLI,
      [
        "--cluster",
        "create",
        ...this.ports.map((port) => `127.0.0.1:${port}`),
        "--cluster-replicas",
        String(replicas),
        "--cluster-yes",
      ],
      { encoding: "utf8" },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed:\n${create.stdout}${create.stderr}`);
    await this.waitUntil(
      () => this.ports.every((port) => cli(port, "cluster", "info").includes("cluster_state:ok")),
      "cluster_state:ok",
    );
    if (replicas > 0) {
      // Replicas must have synced before a failover can promote them.
      await this.waitUntil(
        () =>
          this.ports.every(
            (port) =>
              !cli(port, "info", "replication").includes("role:slave") ||
              cli(port, "info", "replication").includes("master_link_status:up"),
          ),
        "replicas in sync",
      );
    }
  }

  #spawn(port: number, nodeTimeout: number): Promise<void> {
    const dir = join(this.#dir, String(port));
    spawnSync("mkdir", ["-p", dir]);
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
    ];
    args.push("--cluster-node-timeout", String(nodeTimeout), "--dir", dir, "--save", "", "--appendonly", "no", "--logfile", "");
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#processes.set(port, child);
    live.add(child);
    child.once("exit", () => {
      live.delete(child);
      if (this.#processes.get(port) === child) this.#processes.delete(port);
    });
    return new Promise<void>((resolve, reject) => {
      let output = "";
      const onData = (chunk: Buffer): void => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          child.stdout!.off("data", onData);
          child.stdout!.resume();
          child.off("exit", onExit);
          resolve();
        }
      };
      const onExit = (code: number | null): void => reject(new Error(`redis-server on ${port} exited with ${code}:\n${output}`));
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once("exit", onExit);
    });
  }

  /** Polls `test` every 50 ms until it holds; fails after 20 s. (Cluster state has no event to await.) */
  async waitUntil(test: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`Redis Cluster: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** The port of the primary that serves `slot`. */
  primaryOf(slot: number): number {
    for (const port of this.#processes.keys()) {
      const nodes = cli(port, "cluster", "nodes").trim().split("\n");
      for (const line of nodes) {
        const fields = line.split(" ");
        if (!fields[2]!.includes("master") || fields[2]!.includes("fail")) continue;
        for (const range of fields.slice(8)) {
          const [from, to] = range.split("-").map(Number) as [number, number | undefined];
          if (slot >= from && slot <= (to ?? from)) return Number(fields[1]!.split(":")[1]!.split("@")[0]);
        }
      }
      break;
    }
    throw new Error(`No primary serves slot ${slot}`);
  }

  /** SIGKILLs a node: no shutdown, no final sync to its replica. */
  kill(port: number): Promise<void> {
    const child = this.#processes.get(port);
    if (child === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  /** Runs redis-cli against a node. */
  cli(port: number, ...args: string[]): string {
    return cli(port, ...args);
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.#processes.values()].map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** Whether redis-cli can be run here (it ships with redis-server on Debian). */
export function hasRedisCli(): boolean {
  const result = spawnSync(REDIS_CLI, ["--version"], { encoding: "utf8" });
  return result.status === 0;
}
