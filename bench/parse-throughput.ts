// Workload 4, parse: 50 MB of event-stream bytes parsed in 1 KiB and in 64 KiB chunks, in
// process; MB/s and events/s, with the counts and the data checked. Contenders:
//
// - hertz-sse `createParser()`, fed the bytes (it decodes them itself);
// - eventsource-parser 3.1, fed through a streaming `TextDecoder` (it takes strings only; its own
//   TransformStream does the same);
// - raw floor: a streaming `TextDecoder` plus a scan for line ends, counting blank lines (no field
//   is interpreted), which is what any parser must do at least.
//
// The input is what a live feed or an LLM token stream looks like: mostly one-line JSON events
// with a type and an id, some multi-line data, keep-alive comments, and about 2% of events with
// non-ASCII text (so a 64 KiB chunk usually contains some). Every run measures each contender
// once, in turn; the tables show medians of the runs and medians of the per-run ratios.
//
//   npx tsx bench/parse-throughput.ts [--quick] [--runs=N] [--mb=50]
import { createParser as createEventsourceParser } from "eventsource-parser";
import { createParser } from "../src/parser/create-parser.ts";
import { args, type Check, fmt, gc, isMain, isQuick, median, printReport, ratio, runCount, type Table, type Target, type WorkloadReport } from "./lib/common.ts";

interface Input {
  bytes: Uint8Array;
  /** Dispatched events (blocks with data). */
  events: number;
  /** Blocks, including comment-only ones: what the floor counts. */
  blocks: number;
  /** The sum of the lengths of every event's data. */
  dataLength: number;
  lastId: string;
}

/** A deterministic pseudo-random generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["the", "stream", "token", "of", "a", "server", "event", "and", "to", "in", "data", "model"];
const NON_ASCII = ["café", "naïve", "日本語", "🎉", "Ωmega"];

function makeInput(size: number): Input {
  const next = random(7);
  const parts: string[] = [];
  let length = 0;
  let events = 0;
  let blocks = 0;
  let dataLength = 0;
  let lastId = "";
  for (let id = 1; length < size; id++) {
    const r = next();
    let block: string;
    if (r < 0.8) {
      let text = "";
      const words = 1 + Math.floor(next() * 4);
      for (let w = 0; w < words; w++) text += ` ${next() < 0.005 ? NON_ASCII[Math.floor(next() * NON_ASCII.length)] : WORDS[Math.floor(next() * WORDS.length)]}`;
      const data = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}`;
      block = `event: delta\ndata: ${data}\nid: ${id}\n\n`;
      dataLength += data.length;
      lastId = String(id);
      events++;
    } else if (r < 0.95) {
      const data = `{"symbol":"AAPL","price":${(150 + next() * 50).toFixed(2)},"time":${1_700_000_000_000 + id}}`;
      block = `data: ${data}\n\n`;
      dataLength += data.length;
      events++;
    } else if (r < 0.99) {
      block = `event: log\ndata: line one of ${id}\ndata: line two\ndata: line three\nid: ${id}\n\n`;
      dataLength += `line one of ${id}\nline two\nline three`.length;
      lastId = String(id);
      events++;
    } else {
      block = ": keep-alive\n\n";
    }
    blocks++;
    parts.push(block);
    length += block.length;
  }
  return { bytes: new TextEncoder().encode(parts.join("")), events, blocks, dataLength, lastId };
}

interface Outcome {
  count: number;
  dataLength: number;
  lastId: string;
}

interface Contender {
  name: string;
  /** What its count is compared with. */
  counts: "events" | "blocks";
  run(chunks: readonly Uint8Array[]): Outcome;
}

const contenders: Contender[] = [
  {
    name: "hertz-sse createParser",
    counts: "events",
    run(chunks) {
      const outcome: Outcome = { count: 0, dataLength: 0, lastId: "" };
      const parser = createParser({
        onEvent(message) {
          outcome.count++;
          outcome.dataLength += message.data.length;
        },
      });
      for (const chunk of chunks) parser.feed(chunk);
      outcome.lastId = parser.lastEventId;
      parser.end();
      return outcome;
    },
  },
  {
    name: "eventsource-parser 3.1 + TextDecoder",
    counts: "events",
    run(chunks) {
      const outcome: Outcome = { count: 0, dataLength: 0, lastId: "" };
      const decoder = new TextDecoder();
      const parser = createEventsourceParser({
        onEvent(event) {
          outcome.count++;
          outcome.dataLength += event.data.length;
          if (event.id !== undefined) outcome.lastId = event.id;
        },
      });
      for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
      parser.feed(decoder.decode());
      return outcome;
    },
  },
  {
    name: "raw floor: TextDecoder + line scan",
    counts: "blocks",
    run(chunks) {
      // Counts empty lines (the input's line ends are LF), carrying a partial line across chunks.
      const decoder = new TextDecoder();
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
      return { count, dataLength: Number.NaN, lastId: "" };
    },
  },
];

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(7, 3);
  const size = Number(args.get("mb") ?? (quick ? 10 : 50)) * 1_000_000;
  const input = makeInput(size);
  const mb = input.bytes.length / 1_000_000;
  const checks: Check[] = [];
  const tables: Table[] = [];
  const targets: Target[] = [];
  const data: Record<string, Record<string, number[]>> = {};
  for (const chunkSize of [1024, 64 * 1024]) {
    const label = `${chunkSize / 1024} KiB chunks`;
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < input.bytes.length; i += chunkSize) chunks.push(input.bytes.subarray(i, i + chunkSize));
    // Warm-up, and the checks.
    for (const contender of contenders) {
      const outcome = contender.run(chunks);
      const expected = contender.counts === "events" ? input.events : input.blocks;
      const problems: string[] = [];
      if (outcome.count !== expected) problems.push(`${outcome.count} ${contender.counts} instead of ${expected}`);
      if (contender.counts === "events") {
        if (outcome.dataLength !== input.dataLength) problems.push(`${outcome.dataLength} characters of data instead of ${input.dataLength}`);
        if (outcome.lastId !== input.lastId) problems.push(`last id ${JSON.stringify(outcome.lastId)} instead of ${JSON.stringify(input.lastId)}`);
      }
      checks.push({ name: `${contender.name}, ${label}: every ${contender.counts === "events" ? "event and its data" : "block"} counted`, ok: problems.length === 0, detail: problems.join("; ") || undefined });
    }
    const seconds = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    for (let r = 0; r < runs; r++) {
      for (const contender of contenders) {
        gc();
        const started = performance.now();
        contender.run(chunks);
        seconds.get(contender.name)!.push((performance.now() - started) / 1000);
      }
    }
    const ours = seconds.get(contenders[0]!.name)!;
    const speedup = (name: string) => median(seconds.get(name)!.map((s, r) => s / ours[r]!));
    tables.push({
      title: `${fmt(mb, 1)} MB (${input.events.toLocaleString("en-US")} events) in ${label} (median of ${runs} runs)`,
      columns: ["parser", "MB/s", "events/s", "hertz-sse's speed relative to it"],
      rows: contenders.map((contender) => {
        const s = median(seconds.get(contender.name)!);
        return [contender.name, fmt(mb / s), fmt(input.events / s), contender === contenders[0] ? "–" : ratio(speedup(contender.name))];
      }),
    });
    const vsParser = speedup(contenders[1]!.name);
    const vsFloor = speedup(contenders[2]!.name);
    targets.push({
      target: `parse ${label} at ≥ 1.25× eventsource-parser and ≥ 75% of the raw floor`,
      measured: `${ratio(vsParser)} eventsource-parser, ${fmt(vsFloor * 100, 0)}% of the floor`,
      met: vsParser >= 1.25 && vsFloor >= 0.75,
    });
    data[label] = Object.fromEntries(seconds);
  }
  return {
    workload: "parse",
    title: "4. Parse (in process)",
    params: { runs, megabytes: mb, events: input.events, node: process.version },
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
