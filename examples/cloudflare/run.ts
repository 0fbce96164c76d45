// Serves the example Worker locally with the real workerd runtime from npm: bundles worker.ts
// with esbuild, writes a workerd config (the same Durable Object binding as wrangler.jsonc, with
// the object's storage on disk as `wrangler dev` keeps it) and starts `workerd serve` on PORT
// (default 8888). Everything goes to .tmp/example-cloudflare/<port>/, so the hub's replay log
// survives a restart on the same port.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../..");
const port = Number(process.env.PORT ?? 8888);
const out = join(root, ".tmp/example-cloudflare", String(port));
const storage = join(out, "storage");
mkdirSync(storage, { recursive: true });
await build({
  entryPoints: [join(here, "worker.ts")],
  bundle: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  outfile: join(out, "worker.js"),
  logLevel: "error",
});
writeFileSync(
  join(out, "config.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "storage", disk = (path = ${JSON.stringify(storage)}, writable = true)),
  ],
  sockets = [(name = "http", address = "*:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["enable_request_signal"],
  durableObjectNamespaces = [(className = "DemoHub", uniqueKey = "hertz-sse-example-demo")],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [(name = "DEMO", durableObjectNamespace = "DemoHub")${
    process.env.CHAT_SECRET ? `, (name = "CHAT_SECRET", text = ${JSON.stringify(process.env.CHAT_SECRET)})` : ""
  }],
);
`,
);
const child = spawn(join(root, "node_modules/.bin/workerd"), ["serve", join(out, "config.capnp")], { stdio: "inherit" });
// workerd prints nothing when it is ready: wait until the socket answers.
while (true) {
  try {
    await fetch(`http://127.0.0.1:${port}/`);
    break;
  } catch {
    if (child.exitCode !== null) process.exit(child.exitCode);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
console.log(`hertz-sse example (workerd) listening on http://localhost:${port}/`);
console.log(`listening ${port}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
child.on("exit", (code) => process.exit(code ?? 0));
