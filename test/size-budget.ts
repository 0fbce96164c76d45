// Checks what each npm entry point costs a user's bundle: the built entry bundled with its shared
// chunks, minified and gzipped, against a budget. Run after the build: `tsx test/size-budget.ts`.
// Exits 1 when an entry is over its budget or has none.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

// Bytes, minified and gzipped. Raise a budget only with a reason in the commit.
// 0.2.0 (measured + ~15%): the main entry gained typed events (defineEvents, toOpenAPI, the event
// gate), metrics, SSEGroup and drain, bounded queues and maxDuration; the hub its bounds, drain,
// compound ids and typed publish; hono the direct Node path; cloudflare the split-out storage log,
// the hub object's bounds and ResumableStreamObject; client the typed messages and retry policy.
const BUDGETS: Record<string, number> = {
  index: 7_600,
  parser: 3_300,
  client: 8_700,
  hub: 12_700,
  hono: 6_900,
  bun: 500,
  redis: 11_500,
  cloudflare: 26_500,
  node: 3_200,
  otel: 1_500,
  resumable: 14_000,
};

const root = join(new URL("./", import.meta.url).pathname, "..");
const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as { exports: Record<string, string> };

let failed = false;
for (const subpath of Object.keys(deno.exports)) {
  const name = subpath === "." ? "index" : subpath.slice(2);
  const result = await build({
    entryPoints: [join(root, "dist", `${name}.js`)],
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "neutral",
    external: ["hono", "hono/*", "ioredis", "@opentelemetry/api", "node:*"],
    logLevel: "error",
  });
  const size = gzipSync(result.outputFiles[0]!.contents).byteLength;
  const budget = BUDGETS[name];
  const verdict = budget === undefined ? "NO BUDGET" : size <= budget ? "ok" : "OVER BUDGET";
  if (verdict !== "ok") failed = true;
  console.log(
    `${(subpath === "." ? "hertz-sse" : `hertz-sse/${name}`).padEnd(22)} ${String(size).padStart(6)} B min+gzip  (budget ${budget ?? "-"})  ${verdict}`,
  );
}
process.exit(failed ? 1 : 0);
