// Workload 6 (issue 16): encode and parse on every runtime — Node, Deno and Bun each run
// bench/lib/in-process-main.ts in a process of their own, beside the alternatives a user of that
// runtime would pick: hono's `SSEStreamingApi.writeSSE` (what `streamSSE` uses, on every runtime),
// Deno std's `ServerSentEventStream` and `ServerSentEventParseStream` (vendored unchanged in
// bench/lib/deno-std/, since JSR is not reachable here), eventsource-parser fed through a
// `TextDecoder`, and the raw baselines (a template literal plus `TextEncoder`; `TextDecoder` plus a
// scan for line ends). Times are CPU time (user + system) where the runtime reports it — all
// three do — so that other load on a shared machine counts less; ratios are medians of per-run
// ratios within one process.
//
// workerd is not measured: it stops its clocks while a request's JavaScript runs (`Date.now()` and
// `performance.now()` advance only on I/O, a Spectre mitigation), so in-process timing reads 0,
// and timing it from outside would add a request's overhead to each sample.
//
//   npx tsx bench/encode-parse-runtimes.ts [--quick] [--runs=N] [--runtimes=node,deno,bun]
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  args,
  type Check,
  DENO_RUN,
  fmt,
  isMain,
  isQuick,
  printReport,
  ratio,
  runCount,
  runtimeBin,
  runtimeVersion,
  type Table,
  type Target,
  type WorkloadReport,
} from "./lib/common.ts";
import type { Measurement } from "./lib/in-process.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const main = fileURLToPath(new URL("lib/in-process-main.ts", import.meta.url));

const COMMANDS: Record<string, (plan: string) => [string, string[]]> = {
  node: (plan) => [process.execPath, ["--expose-gc", "--import", "tsx", main, plan]],
  deno: (plan) => [runtimeBin("deno"), [...DENO_RUN, "--v8-flags=--expose-gc", main, plan]],
  bun: (plan) => [runtimeBin("bun"), ["run", main, plan]],
};

function measure(runtime: string, plan: string): Promise<Record<string, Measurement>> {
  const [command, commandArgs] = COMMANDS[runtime]!(plan);
  return new Promise((resolve, reject) => {
    execFile(command, commandArgs, { cwd: root, maxBuffer: 64 * 1024 * 1024, timeout: 3_600_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${runtime} failed: ${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop()!) as Record<string, Measurement>);
    });
  });
}

const ENCODE_HONO = "hono SSEStreamingApi.writeSSE";
const ESP = "eventsource-parser 3.1 + TextDecoder";
const FLOOR = "raw floor: TextDecoder + line scan";

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(5, 3);
  const runtimes = (args.get("runtimes") ?? "node,deno,bun").split(",");
  const corpora = ["mixed", "llm-tokens", "large", "cjk"];
  const chunkSizes = [1024, 64 * 1024];
  const plan = {
    runs,
    encode: { small: quick ? 20_000 : 50_000, large: quick ? 600 : 2_000 },
    parse: { size: (quick ? 5 : 20) * 1e6, corpora, chunkSizes },
  };
  const tables: Table[] = [];
  const checks: Check[] = [];
  const targets: Target[] = [];
  const data: Record<string, unknown> = {};
  const versions: Record<string, string> = {};
  for (const runtime of runtimes) {
    versions[runtime] = await runtimeVersion(runtime);
    const results = await measure(runtime, JSON.stringify(plan));
    data[runtime] = results;
    const problems = Object.values(results).flatMap((m) => m.problems);
    checks.push({
      name: `${runtime}: every encoder's output parses back to what was sent; every parser counts every event and its data`,
      ok: problems.length === 0,
      detail: problems.join("; ") || undefined,
    });
    for (const kind of ["small", "large"] as const) {
      const m = results[`encode ${kind}`]!;
      const n = plan.encode[kind];
      tables.push({
        title: `${runtime} (${versions[runtime]}): encode ${n.toLocaleString("en-US")} ${kind === "small" ? "small events (~60-byte JSON)" : "large events (16 KiB in 100 lines)"} (median of ${runs} runs, CPU time)`,
        columns: ["encoder", "events/s", "MB/s", "hertz-sse encodeEvent's speed relative to it"],
        rows: Object.entries(m.seconds).map(([name, s], i) => [
          name,
          fmt(n / s),
          fmt(m.size / s / 1e6),
          i === 0 ? "–" : ratio(m.ratios[name]!),
        ]),
      });
      if (kind === "large") {
        const viaStream = m.ratios[ENCODE_HONO]! / m.ratios["hertz-sse EventStreamEncoderStream"]!;
        targets.push({
          target: `${runtime}: encode 16 KiB events at ≥ 2.5× hono`,
          measured: `encodeEvent + TextEncoder ${ratio(m.ratios[ENCODE_HONO]!)} hono's writeSSE; EventStreamEncoderStream ${ratio(viaStream)}`,
          met: m.ratios[ENCODE_HONO]! >= 2.5,
        });
      }
    }
    const rows: (string | number)[][] = [];
    for (const corpus of corpora) {
      for (const chunkSize of chunkSizes) {
        const m = results[`parse ${corpus} ${chunkSize}`]!;
        rows.push([
          corpus,
          `${chunkSize / 1024} KiB`,
          ...Object.values(m.seconds).map((s) => fmt(m.size / s)),
          ratio(m.ratios[ESP]!),
          `${fmt(m.ratios[FLOOR]! * 100, 0)}%`,
        ]);
        const floorTarget = corpus === "mixed" || corpus === "llm-tokens";
        targets.push({
          target: `${runtime}: parse ${corpus} in ${chunkSize / 1024} KiB chunks at ≥ 1.25× eventsource-parser${floorTarget ? " and ≥ 70% of the raw floor" : ""}`,
          measured: `${ratio(m.ratios[ESP]!)} eventsource-parser, ${fmt(m.ratios[FLOOR]! * 100, 0)}% of the floor`,
          met: m.ratios[ESP]! >= 1.25 && (!floorTarget || m.ratios[FLOOR]! >= 0.7),
        });
      }
    }
    const names = Object.keys(results[`parse ${corpora[0]} ${chunkSizes[0]}`]!.seconds);
    tables.push({
      title: `${runtime} (${versions[runtime]}): parse, MB/s (median of ${runs} runs of ${fmt(plan.parse.size / 1e6, 0)} MB, CPU time)`,
      columns: ["corpus", "chunks", ...names, "hertz-sse vs eventsource-parser", "hertz-sse, % of the floor"],
      rows,
    });
  }
  return {
    workload: "runtimes",
    title: "6. Encode and parse on Node, Deno and Bun (in process)",
    params: { runs, plan, versions },
    tables,
    checks,
    targets,
    data,
  };
}

if (isMain(import.meta.url)) {
  const report = await run();
  if (process.send) process.send({ type: "report", report });
  else printReport(report);
}
