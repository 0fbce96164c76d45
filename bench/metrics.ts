// The cost of metrics (issue 15): the same in-process workloads, interleaved in one run, on
//
// - baseline: src/ as it was before the metrics were wired (`--base=<rev>`, extracted with
//   `git archive` into a temporary folder; by default the commit before them), without metrics;
// - absent: the current src/ without the `metrics` option (what "nothing costs" must match);
// - otel: the current src/ with `otelMetrics()` on the real OpenTelemetry SDK (a MeterProvider
//   with a reader; aggregation happens on every record, export does not).
//
// Workloads: one connection (an SSEStream read as fast as it is written, awaited sends), fan-out
// (an SSEHub on the in-memory backplane with 1 000 subscribers, each body read by a loop), and
// churn (streams opened, sent one event, closed and read). Reported: CPU per operation (median of
// the rounds), and each variant's ratio to the baseline.
//
//   npx tsx bench/metrics.ts [--base=<rev>] [--rounds=N] [--quick]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { MeterProvider, MetricReader } from "@opentelemetry/sdk-metrics";
import { args, cpuMicros, fmt, isQuick, median } from "./lib/common.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const quick = isQuick();
const rounds = Number(args.get("rounds") ?? (quick ? 3 : 7));
const base = args.get("base") ?? "1b695e0^";

class Reader extends MetricReader {
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

type Core = typeof import("../src/index.ts");
type Hub = typeof import("../src/hub/index.ts");
interface Variant {
  name: string;
  core: Core;
  hub: Hub;
  metrics: unknown;
}

async function read(body: ReadableStream<Uint8Array>): Promise<number> {
  const reader = body.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
  }
}

/** One connection: `events` awaited sends through one stream, read concurrently. CPU µs per event. */
async function oneConnection(v: Variant, events: number): Promise<number> {
  const stream = new v.core.SSEStream({ keepAlive: false, metrics: v.metrics } as never);
  const reading = read(stream);
  const start = process.cpuUsage();
  const event = { event: "price", data: '{"symbol":"AAPL","price":189.5}' };
  for (let i = 0; i < events; i++) await stream.send(event);
  stream.close();
  await reading;
  return cpuMicros(start) / events;
}

/** Fan-out: `events` publishes to `subscribers` readers. CPU µs per delivery (one event to one subscriber). */
async function fanOut(v: Variant, subscribers: number, events: number): Promise<number> {
  const hub = new v.hub.SSEHub({ keepAlive: false, metrics: v.metrics } as never);
  const readers: Promise<number>[] = [];
  for (let i = 0; i < subscribers; i++)
    readers.push(read((await hub.subscribe(new Request("http://localhost/"), { topics: "t" })).body!));
  await new Promise((resolve) => setTimeout(resolve, 10));
  const start = process.cpuUsage();
  for (let i = 0; i < events; i++) {
    await hub.publish({ data: String(i) }, { topic: "t" });
    // Let the readers take the event, as a network would between publishes.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await hub.close();
  await Promise.all(readers);
  return cpuMicros(start) / (subscribers * events);
}

/** Churn: streams opened, one event, closed, read. CPU µs per stream. */
async function churn(v: Variant, streams: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < streams; i++) {
    const response = v.core.sseResponse(undefined, (stream) => stream.send({ data: "x" }), {
      keepAlive: false,
      metrics: v.metrics,
    } as never);
    await read(response.body!);
  }
  return cpuMicros(start) / streams;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "hertz-metrics-bench-"));
  try {
    execFileSync("sh", ["-c", `git archive ${base} src | tar -x -C ${dir}`], { cwd: ROOT });
    const provider = new MeterProvider({ readers: [new Reader()] });
    const { otelMetrics } = await import("../src/otel/index.ts");
    const variants: Variant[] = [
      {
        name: "baseline",
        core: await import(join(dir, "src/index.ts")),
        hub: await import(join(dir, "src/hub/index.ts")),
        metrics: undefined,
      },
      { name: "absent", core: await import("../src/index.ts"), hub: await import("../src/hub/index.ts"), metrics: undefined },
      {
        name: "otel",
        core: await import("../src/index.ts"),
        hub: await import("../src/hub/index.ts"),
        metrics: otelMetrics(provider.getMeter("bench")),
      },
    ];
    const workloads: [string, (v: Variant) => Promise<number>][] = [
      ["one connection (µs/event)", (v) => oneConnection(v, quick ? 20_000 : 100_000)],
      ["fan-out, 1 000 subscribers (µs/delivery)", (v) => fanOut(v, 1000, quick ? 50 : 200)],
      ["churn (µs/stream)", (v) => churn(v, quick ? 5_000 : 20_000)],
    ];
    console.log(`metrics cost, ${rounds} rounds interleaved, baseline = src at ${base}, node ${process.version}\n`);
    console.log("| workload | baseline | absent | otel | absent / baseline | otel / baseline |");
    console.log("|---|---|---|---|---|---|");
    for (const [label, run] of workloads) {
      const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
      for (const v of variants) await run(v); // warm-up
      for (let r = 0; r < rounds; r++) for (const v of variants) samples.get(v.name)!.push(await run(v));
      const [b, a, o] = variants.map((v) => median(samples.get(v.name)!));
      console.log(`| ${label} | ${fmt(b!, 3)} | ${fmt(a!, 3)} | ${fmt(o!, 3)} | ${fmt(a! / b!, 2)} | ${fmt(o! / b!, 2)} |`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
