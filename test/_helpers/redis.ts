/**
 * Starts and stops real `redis-server` processes for the Redis backplane's tests and benchmark:
 * on a free port, persistence off unless asked, ready when the server says so on stdout.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The redis-server binary: `REDIS_SERVER`, else the one on the PATH (Debian: /usr/bin/redis-server). */
export const REDIS_SERVER = process.env.REDIS_SERVER ?? "redis-server";

/** Whether redis-server can be run here. */
export function hasRedisServer(): boolean {
  const result = spawnSync(REDIS_SERVER, ["--version"], { encoding: "utf8" });
  return result.status === 0 && /Redis server v=/.test(result.stdout);
}

/**
 * What the Redis tests do when redis-server is missing: in CI (`CI=true`) they must fail, so the
 * caller registers a failing test; elsewhere they are skipped, loudly.
 */
export function redisRequirement(): "run" | "fail" | "skip" {
  if (hasRedisServer()) return "run";
  if (process.env.CI === "true" || process.env.CI === "1") return "fail";
  console.warn(
    "\n!!! redis-server is not installed: the Redis backplane tests are SKIPPED." +
      "\n!!! Install it (Debian: apt-get install redis-server) to run them; in CI they fail instead.\n",
  );
  return "skip";
}

/** A free TCP port on 127.0.0.1 (free when asked; redis-server is retried on a clash). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /** The port; a free one by default. */
  port?: number;
  /**
   * Keep the data across a restart: an append-only file, written before each reply
   * (`appendfsync always`), in a temporary directory. Off by default (`--save "" --appendonly no`).
   */
  persistent?: boolean;
}

/** A running redis-server. */
export class RedisServer {
  readonly port: number;
  readonly url: string;
  readonly #persistent: boolean;
  readonly #dir: string;
  #process: ChildProcess | undefined;

  private constructor(port: number, persistent: boolean) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.#persistent = persistent;
    this.#dir = mkdtempSync(join(tmpdir(), "hertz-redis-"));
  }

  /** Starts a server and resolves once it accepts connections. */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options.persistent ?? false);
      try {
        await server.restart();
        return server;
      } catch (error) {
        server.#cleanup();
        // Another process took the port between freePort() and the bind: try another one.
        if (options.port !== undefined || attempt >= 3 || !/Address already in use/.test(String(error))) throw error;
      }
    }
  }

  /** Whether the process is running. */
  get running(): boolean {
    return this.#process !== undefined;
  }

  /** (Re)starts the server on the same port (and, when persistent, with the same data). */
  restart(): Promise<void> {
    if (this.#process !== undefined) return Promise.reject(new Error("redis-server is already running"));
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.#dir, "--save", "", "--logfile", ""];
    args.push(...(this.#persistent ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]));
    const child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#process = child;
    child.once("exit", () => {
      if (this.#process === child) this.#process = undefined;
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
      const onExit = (code: number | null): void => {
        reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`));
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", (chunk: Buffer) => {
        output += chunk.toString();
      });
      child.once("exit", onExit);
      child.once("error", reject);
    });
  }

  /** Kills the server at once (SIGKILL): no shutdown, no final save. */
  kill(): Promise<void> {
    return this.#stop("SIGKILL");
  }

  /** Stops the server and removes its data directory. */
  async stop(): Promise<void> {
    await this.#stop("SIGTERM");
    this.#cleanup();
  }

  #stop(signal: NodeJS.Signals): Promise<void> {
    const child = this.#process;
    if (child === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }

  #cleanup(): void {
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
