// Starts real runtime servers (deno, bun, workerd from node_modules) for the tests, waits until
// they listen, and stops them. A missing runtime skips loudly on a developer machine and fails in
// CI (CI=true), where .ci/run has installed everything.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const BIN = join(ROOT, "node_modules/.bin");

export type RuntimeName = "node" | "deno" | "bun" | "workerd";

export interface RunningServer {
  url: string;
  /** Ends the process: SIGTERM (it may drain), SIGKILL after 3 s; or `"SIGKILL"` at once (a crash). */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** What the process printed so far (stdout and stderr), for servers started as processes. */
  output?(): string;
}

export function binary(name: "deno" | "bun" | "workerd"): string {
  return join(BIN, name);
}

/** Whether a runtime binary is here; in CI a missing one is an error, not a skip. */
export function available(name: RuntimeName): boolean {
  if (name === "node") return true;
  const present = existsSync(binary(name));
  if (!present) {
    if (process.env.CI) throw new Error(`The ${name} binary is missing from node_modules/.bin: run npm ci`);
    console.warn(`\n  SKIPPING ${name} tests: ${binary(name)} is missing (run npm ci)\n`);
  }
  return present;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** Spawns a server process and resolves once it prints `listening <port>` (or `port` is given and answers). */
export async function startProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; port?: number; timeoutMs?: number; readyPath?: string } = {},
): Promise<RunningServer> {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, NO_COLOR: "1", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const timeoutMs = options.timeoutMs ?? 30_000;
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before listening:\n${output}`));
    });
    if (options.port !== undefined) {
      const wanted = options.port;
      const probe = async () => {
        while (child.exitCode === null) {
          try {
            await fetch(`http://127.0.0.1:${wanted}${options.readyPath ?? "/"}`);
            clearTimeout(timer);
            resolvePort(wanted);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
      };
      void probe();
    }
  });
  // onData stays attached: output() keeps growing with what the process prints.
  return { url: `http://127.0.0.1:${port}`, stop: (signal) => stopProcess(child, signal), output: () => output };
}

export async function stopProcess(child: ChildProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Bundles a worker module with esbuild and serves it with the real workerd binary. */
export async function startWorkerd(
  entry: string,
  options: { compatibilityFlags?: string[]; name?: string; readyPath?: string } = {},
): Promise<RunningServer> {
  const { build } = await import("esbuild");
  const dir = join(ROOT, ".tmp/workerd", options.name ?? "worker");
  await mkdir(dir, { recursive: true });
  await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: join(dir, "worker.js"),
    logLevel: "error",
  });
  const port = await freePort();
  const flags = (options.compatibilityFlags ?? []).map((f) => `"${f}"`).join(", ");
  await writeFile(
    join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = [${flags}],
);
`,
  );
  return startProcess(binary("workerd"), ["serve", join(dir, "config.capnp")], {
    cwd: dir,
    port,
    readyPath: options.readyPath ?? "/__ready",
  });
}

/** Starts the runtime-test app (test/runtimes/app.ts) on the given runtime. */
export async function startApp(runtime: RuntimeName): Promise<RunningServer> {
  switch (runtime) {
    case "node": {
      const { serve } = await import("@hono/node-server");
      const { handle } = await import("../runtimes/app.ts");
      return new Promise((resolveServer) => {
        const server = serve({ fetch: handle, port: 0, hostname: "127.0.0.1" }, (info) => {
          resolveServer({
            url: `http://127.0.0.1:${info.port}`,
            stop: () =>
              new Promise<void>((r) => {
                (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
                server.close(() => r());
              }),
          });
        });
      });
    }
    case "deno":
      return startProcess(binary("deno"), [
        "run",
        "--quiet",
        "--no-lock",
        "--allow-net",
        "--allow-env",
        "test/runtimes/deno-server.ts",
      ]);
    case "bun":
      return startProcess(binary("bun"), ["run", "test/runtimes/bun-server.ts"]);
    case "workerd":
      return startWorkerd("test/runtimes/app.ts", { name: "runtime-app" });
  }
}
