// Serves a Worker that binds a Durable Object class with the real workerd binary, its storage on
// local disk so that it outlives the object (evictions) and the process (restarts). The runtime
// helper's startWorkerd() has no Durable Object option, so this is its counterpart.
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { binary, freePort, ROOT, type RunningServer, startProcess } from "./runtimes.ts";

export interface DurableObjectWorker {
  /** The running server; replaced by restart(). */
  server: RunningServer;
  /** Stops workerd and starts it again on the same storage. */
  restart(): Promise<void>;
  /** Stops workerd and removes the storage. */
  stop(): Promise<void>;
}

export interface DurableObjectWorkerOptions {
  /** The folder under .tmp/workerd for the bundle, config and storage. */
  name: string;
  /** The exported Durable Object class. */
  className: string;
  /** The binding name in env. */
  binding: string;
  compatibilityFlags?: string[];
}

export async function startDurableObjectWorker(entry: string, options: DurableObjectWorkerOptions): Promise<DurableObjectWorker> {
  const { build } = await import("esbuild");
  const dir = join(ROOT, ".tmp/workerd", options.name);
  const storage = join(dir, "storage");
  await rm(dir, { recursive: true, force: true });
  await mkdir(storage, { recursive: true });
  await build({
    entryPoints: [resolve(ROOT, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    outfile: join(dir, "worker.js"),
    logLevel: "error",
  });
  const flags = (options.compatibilityFlags ?? []).map((flag) => JSON.stringify(flag)).join(", ");
  const start = async (): Promise<RunningServer> => {
    const port = await freePort();
    await writeFile(
      join(dir, "config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "storage", disk = (path = ${JSON.stringify(storage)}, writable = true)),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = [${flags}],
  durableObjectNamespaces = [(className = ${JSON.stringify(options.className)}, uniqueKey = "hertz-sse-test-${options.name}")],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [(name = ${JSON.stringify(options.binding)}, durableObjectNamespace = ${JSON.stringify(options.className)})],
);
`,
    );
    return startProcess(binary("workerd"), ["serve", join(dir, "config.capnp")], { cwd: dir, port, readyPath: "/__ready" });
  };
  const running: DurableObjectWorker = {
    server: await start(),
    async restart() {
      await running.server.stop();
      running.server = await start();
    },
    async stop() {
      await running.server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return running;
}
