// Workload 7 (issue 16, target 6): one connection on Deno and Bun — `?n=` small events pushed
// over loopback HTTP as fast as the server's stream takes them, to one client, by a server running
// on that runtime's own HTTP server (bench/lib/runtime-server.ts: `Deno.serve`, `Bun.serve`), beside
// the alternatives a user of that runtime would pick: hono's `streamSSE`, Deno std's
// `ServerSentEventStream` (Deno), and a raw `ReadableStream` of pre-encoded events (the floor).
//
// The client is this Node process (node:http, keeping the bytes). The server's CPU time (user +
// system, from `process.cpuUsage()`, which both runtimes provide) is read before and after each
// request. Every contender's first, untimed run is parsed with eventsource-parser and checked event
// by event; the timed runs take turns, so the ratios of one run are taken under the same conditions.
//
//   npx tsx bench/connection-runtimes.ts [--quick] [--runs=N] [--events=N] [--runtimes=deno,bun]
import { type ChildProcess, spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import {
  args,
  type Check,
  DENO_RUN,
  fmt,
  isMain,
  isQuick,
  median,
  printReport,
  ratio,
  runCount,
  runtimeBin,
  runtimeVersion,
  type Table,
  type Target,
  type WorkloadReport,
} from "./lib/common.ts";
import { firstDifference, parseAll, smallData } from "./lib/events.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const script = fileURLToPath(new URL("lib/runtime-server.ts", import.meta.url));

const COMMANDS: Record<string, [string, string[]]> = {
  deno: [runtimeBin("deno"), [...DENO_RUN, "--allow-net", script]],
  bun: [runtimeBin("bun"), ["run", script]],
};

const CONTENDERS: Record<string, readonly string[]> = {
  deno: ["raw", "hertz-sse", "hono", "deno-std"],
  bun: ["raw", "hertz-sse", "hono"],
};

const LABELS: Record<string, string> = {
  raw: "raw ReadableStream (pre-encoded, one enqueue per pull)",
  "hertz-sse": "hertz-sse sseResponse()",
  hono: "hono streamSSE",
  "deno-std": "Deno std ServerSentEventStream",
};

function start(runtime: string, maxEvents: number): Promise<{ child: ChildProcess; port: number }> {
  const [command, commandArgs] = COMMANDS[runtime]!;
  const child = spawn(command, commandArgs, {
    cwd: root,
    env: { ...process.env, MAX_EVENTS: String(maxEvents) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let output = "";
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening (\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${runtime} server exited (${code}) before listening:\n${output}`)));
  });
}

function get(port: number, path: string): Promise<{ ms: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const started = performance.now();
    const req = httpRequest({ host: "127.0.0.1", port, path, headers: { Accept: "text/event-stream" } }, (res) => {
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ ms: performance.now() - started, bytes: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const cpu = async (port: number) => Number((await get(port, "/cpu")).bytes.toString());

interface Sample {
  eventsPerSecond: number;
  cpuPerEvent: number;
}

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(5, 2);
  const n = Number(args.get("events") ?? (quick ? 30_000 : 100_000));
  const runtimes = (args.get("runtimes") ?? "deno,bun").split(",");
  const tables: Table[] = [];
  const checks: Check[] = [];
  const targets: Target[] = [];
  const data: Record<string, unknown> = {};
  const versions: Record<string, string> = {};
  for (const runtime of runtimes) {
    versions[runtime] = await runtimeVersion(runtime);
    const names = CONTENDERS[runtime]!;
    const samples = new Map<string, Sample[]>(names.map((name) => [name, []]));
    const { child, port } = await start(runtime, n);
    try {
      for (const name of names) {
        const { bytes } = await get(port, `/${name}?n=${n}`);
        const difference = firstDifference(parseAll(bytes.toString("utf8")), n, (seq) => JSON.stringify(smallData(seq)));
        checks.push({
          name: `${runtime}, ${LABELS[name]}: ${n} events arrive in order, intact`,
          ok: difference === undefined,
          detail: difference,
        });
      }
      for (let r = 0; r < runs; r++) {
        for (const name of names) {
          const before = await cpu(port);
          const { ms } = await get(port, `/${name}?n=${n}`);
          const micros = (await cpu(port)) - before;
          samples.get(name)!.push({ eventsPerSecond: n / (ms / 1000), cpuPerEvent: micros / n });
        }
      }
    } finally {
      child.kill("SIGKILL");
    }
    data[runtime] = Object.fromEntries(samples);
    const raw = samples.get("raw")!;
    const vs = (name: string, key: keyof Sample) => median(samples.get(name)!.map((s, r) => s[key] / raw[r]![key]));
    tables.push({
      title: `${runtime} (${versions[runtime]}): ${n.toLocaleString("en-US")} small events on one connection (median of ${runs} runs)`,
      columns: ["server", "events/s", "vs raw", "server CPU per event", "vs raw"],
      rows: names.map((name) => {
        const list = samples.get(name)!;
        return [
          LABELS[name]!,
          fmt(median(list.map((s) => s.eventsPerSecond))),
          ratio(vs(name, "eventsPerSecond")),
          `${fmt(median(list.map((s) => s.cpuPerEvent)))} µs`,
          ratio(vs(name, "cpuPerEvent")),
        ];
      }),
    });
    const honoRatio = median(
      samples.get("hertz-sse")!.map((s, r) => s.eventsPerSecond / samples.get("hono")![r]!.eventsPerSecond),
    );
    targets.push({
      target: `${runtime}: one connection, hertz-sse at least the events/s of the runtime's alternative (hono streamSSE)`,
      measured: `${ratio(honoRatio)} hono's events/s, ${ratio(vs("hertz-sse", "eventsPerSecond"))} raw's`,
      met: honoRatio >= 1,
    });
  }
  return {
    workload: "connection-runtimes",
    title: "7. One connection on Deno and Bun (loopback HTTP, each runtime's own server)",
    params: { runs, events: n, versions },
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
