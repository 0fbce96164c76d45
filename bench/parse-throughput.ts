// Workload 4, parse: the four corpora of issue 16 (bench/corpora/: mixed, LLM tokens, large, CJK),
// each parsed from Uint8Array chunks of 1 KiB and of 64 KiB, in process; MB/s and events/s, with
// the event count, the data and type lengths and the last id checked against what the corpus
// generator wrote. Contenders:
//
// - hertz-sse `createParser()`, fed the bytes (it decodes them itself);
// - eventsource-parser 3.1, fed through a streaming `TextDecoder` (it takes strings only; its own
//   TransformStream does the same);
// - raw floor: a streaming `TextDecoder` plus a scan for line ends, counting blank lines (no field
//   is interpreted), which is what any parser must do at least.
//
// Every run measures each contender once, in turn; the tables show medians of the runs and
// medians of the per-run ratios. Times are the process's CPU time (user + system, its GC and
// compiler threads included), not wall time: on a machine shared with other work, wall time also
// counts the moments the benchmark waits for a core.
//
//   npx tsx bench/parse-throughput.ts [--quick] [--runs=N] [--mb=40] [--corpus=mixed,llm-tokens,large,cjk]
import { createParser as createEventsourceParser } from "eventsource-parser";
import { createParser } from "../src/parser/create-parser.ts";
import { CORPORA } from "./corpora/index.ts";
import {
  args,
  type Check,
  cpuMicros,
  fmt,
  gc,
  isMain,
  isQuick,
  median,
  printReport,
  ratio,
  runCount,
  type Table,
  type Target,
  type WorkloadReport,
} from "./lib/common.ts";

interface Outcome {
  count: number;
  dataLength: number;
  typeLength: number;
  lastId: string;
}

interface Contender {
  name: string;
  /** What its count is compared with. */
  counts: "events" | "blocks";
  /**
   * Makes the parser (and decoder) that every run of one table uses; a run is a whole stream,
   * ended (and so reset) at its end. One long-lived parser is what a stream of this size meets;
   * a new one per run, made after the previous one was collected by the GC between runs, measured
   * V8 optimising the parser again (the maps its optimised code relies on die with the last
   * instance), and that warm-up, not parsing, then dominated the quick runs.
   */
  start(): (chunks: readonly Uint8Array[]) => Outcome;
}

const contenders: Contender[] = [
  {
    name: "hertz-sse createParser",
    counts: "events",
    start() {
      let outcome: Outcome = { count: 0, dataLength: 0, typeLength: 0, lastId: "" };
      const parser = createParser({
        onEvent(message) {
          outcome.count++;
          outcome.dataLength += message.data.length;
          outcome.typeLength += message.type.length;
        },
      });
      return (chunks) => {
        outcome = { count: 0, dataLength: 0, typeLength: 0, lastId: "" };
        for (const chunk of chunks) parser.feed(chunk);
        outcome.lastId = parser.lastEventId;
        parser.end();
        return outcome;
      };
    },
  },
  {
    name: "eventsource-parser 3.1 + TextDecoder",
    counts: "events",
    start() {
      let outcome: Outcome = { count: 0, dataLength: 0, typeLength: 0, lastId: "" };
      const decoder = new TextDecoder();
      const parser = createEventsourceParser({
        onEvent(event) {
          outcome.count++;
          outcome.dataLength += event.data.length;
          outcome.typeLength += (event.event ?? "message").length;
          if (event.id !== undefined) outcome.lastId = event.id;
        },
      });
      return (chunks) => {
        outcome = { count: 0, dataLength: 0, typeLength: 0, lastId: "" };
        for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
        parser.feed(decoder.decode());
        parser.reset();
        return outcome;
      };
    },
  },
  {
    name: "raw floor: TextDecoder + line scan",
    counts: "blocks",
    start() {
      const decoder = new TextDecoder();
      return (chunks) => {
        // Counts empty lines (the input's line ends are LF), carrying a partial line across chunks.
        let count = 0;
        let lineStarted = false;
        for (const chunk of chunks) {
          const text = decoder.decode(chunk, { stream: true });
          let start = 0;
          for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
            if (end === start && !lineStarted) count++;
            lineStarted = false;
            start = end + 1;
          }
          if (start < text.length) lineStarted = true;
        }
        decoder.decode();
        return { count, dataLength: Number.NaN, typeLength: Number.NaN, lastId: "" };
      };
    },
  },
];

/** The corpora on which the parser must also reach 70% of the raw floor (issue 16, target 1). */
const FLOOR_TARGET: Record<string, number> = { mixed: 0.7, "llm-tokens": 0.7 };

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(7, 3);
  const size = Number(args.get("mb") ?? (quick ? 10 : 40)) * 1_000_000;
  const only = args.get("corpus")?.split(",");
  const checks: Check[] = [];
  const tables: Table[] = [];
  const targets: Target[] = [];
  const data: Record<string, Record<string, number[]>> = {};
  const params: Record<string, unknown> = { runs, node: process.version };
  for (const [name, make] of Object.entries(CORPORA)) {
    if (only && !only.includes(name)) continue;
    const input = make(size);
    const mb = input.bytes.length / 1_000_000;
    params[name] = { megabytes: mb, events: input.events };
    for (const chunkSize of [1024, 64 * 1024]) {
      const label = `${chunkSize / 1024} KiB chunks`;
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < input.bytes.length; i += chunkSize) chunks.push(input.bytes.subarray(i, i + chunkSize));
      const runners = contenders.map((contender) => contender.start());
      // Warm-up, and the checks: against what the corpus generator wrote, not against another parser.
      for (const [i, contender] of contenders.entries()) {
        const outcome = runners[i]!(chunks);
        const expected = contender.counts === "events" ? input.events : input.blocks;
        const problems: string[] = [];
        if (outcome.count !== expected) problems.push(`${outcome.count} ${contender.counts} instead of ${expected}`);
        if (contender.counts === "events") {
          if (outcome.dataLength !== input.dataLength)
            problems.push(`${outcome.dataLength} characters of data instead of ${input.dataLength}`);
          if (outcome.typeLength !== input.typeLength)
            problems.push(`${outcome.typeLength} characters of types instead of ${input.typeLength}`);
          if (outcome.lastId !== input.lastId)
            problems.push(`last id ${JSON.stringify(outcome.lastId)} instead of ${JSON.stringify(input.lastId)}`);
        }
        checks.push({
          name: `${contender.name}, ${name}, ${label}: every ${contender.counts === "events" ? "event, its type and its data" : "block"} counted`,
          ok: problems.length === 0,
          detail: problems.join("; ") || undefined,
        });
      }
      const seconds = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
      const wrongRuns = new Set<string>();
      for (let r = 0; r < runs; r++) {
        for (const [i, contender] of contenders.entries()) {
          gc();
          const started = process.cpuUsage();
          const outcome = runners[i]!(chunks);
          seconds.get(contender.name)!.push(cpuMicros(started) / 1e6);
          if (outcome.count !== (contender.counts === "events" ? input.events : input.blocks)) wrongRuns.add(contender.name);
        }
      }
      checks.push({
        name: `${name}, ${label}: every timed run counted every event or block (the parsers are reused from run to run)`,
        ok: wrongRuns.size === 0,
        detail: wrongRuns.size > 0 ? `wrong count from ${[...wrongRuns].join(", ")}` : undefined,
      });
      const ours = seconds.get(contenders[0]!.name)!;
      const speedup = (contender: string) => median(seconds.get(contender)!.map((s, r) => s / ours[r]!));
      tables.push({
        title: `${name}: ${fmt(mb, 1)} MB (${input.events.toLocaleString("en-US")} events) in ${label} (median of ${runs} runs)`,
        columns: ["parser", "MB/s", "events/s", "hertz-sse's speed relative to it"],
        rows: contenders.map((contender) => {
          const s = median(seconds.get(contender.name)!);
          return [
            contender.name,
            fmt(mb / s),
            fmt(input.events / s),
            contender === contenders[0] ? "–" : ratio(speedup(contender.name)),
          ];
        }),
      });
      const vsParser = speedup(contenders[1]!.name);
      const vsFloor = speedup(contenders[2]!.name);
      const floorTarget = FLOOR_TARGET[name];
      targets.push({
        target: `parse ${name} in ${label} at ≥ 1.25× eventsource-parser${floorTarget ? ` and ≥ ${floorTarget * 100}% of the raw floor` : ""}`,
        measured: `${ratio(vsParser)} eventsource-parser, ${fmt(vsFloor * 100, 0)}% of the floor`,
        met: vsParser >= 1.25 && (floorTarget === undefined || vsFloor >= floorTarget),
      });
      data[`${name}, ${label}`] = Object.fromEntries(seconds);
    }
  }
  return { workload: "parse", title: "4. Parse (in process)", params, tables, checks, targets, data };
}

if (isMain(import.meta.url)) {
  const report = await run();
  if (process.send) process.send({ type: "report", report });
  else printReport(report);
}
