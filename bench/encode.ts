// Workload 1, encode: events per second turning `{ event, id, data }` into UTF-8 bytes, in
// process, for small events (about 60 bytes of JSON) and large ones (16 KiB of text in 100 lines).
//
// Two levels, because the libraries expose different things:
// - "stream": the API a handler calls to send an event, with the bytes read out of the body
//   stream it feeds — hertz-sse `SSEStream.send()`, hono `SSEStreamingApi.writeSSE()` (what
//   `streamSSE` hands a handler), better-sse `Session.push()` on its Fetch connection;
// - "function": a function from event to bytes — hertz-sse `encodeEvent()`, better-sse
//   `EventBuffer.push()`, each followed by `TextEncoder.encode()`; and the raw floor, a template
//   literal (no validation, LF-only splitting) plus `TextEncoder.encode()`.
// Every contender serialises the same data object (JSON) itself. better-sse cannot send text with
// line breaks as it is (it would write them into one `data:` field and corrupt the frame), so its
// large event goes out JSON-encoded, one line, as its documentation intends; the check decodes it.
//
// Times are the process's CPU time (user + system), not wall time, so that other load on a shared
// machine counts less; every contender runs in this one thread.
//
//   npx tsx bench/encode.ts [--quick] [--runs=N]
import { EventBuffer as BetterEventBuffer, Session } from "better-sse";
import { SSEStreamingApi } from "hono/streaming";
import { EventStreamEncoderStream, encodeEvent } from "../src/core/encoder.ts";
import { SSEStream } from "../src/core/stream.ts";
import {
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
import { EVENT_TYPE, firstDifference, LARGE_TEXT, parseAll, smallData } from "./lib/events.ts";

type Kind = "small" | "large";

interface Contender {
  name: string;
  level: "stream" | "function";
  /** Encodes events 1..n; returns the number of bytes produced. `sink` receives every chunk. */
  run(kind: Kind, n: number, sink?: (chunk: Uint8Array) => void): Promise<number> | number;
}

const encoder = new TextEncoder();

function dataOf(kind: Kind, seq: number): unknown {
  return kind === "small" ? smallData(seq) : LARGE_TEXT;
}

function expected(kind: Kind): (seq: number) => string {
  return kind === "small" ? (seq) => JSON.stringify(smallData(seq)) : () => LARGE_TEXT;
}

async function drain(stream: ReadableStream<Uint8Array>, sink?: (chunk: Uint8Array) => void): Promise<number> {
  const reader = stream.getReader();
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return bytes;
    bytes += value.byteLength;
    sink?.(value);
  }
}

const contenders: Contender[] = [
  {
    name: "raw (template + TextEncoder)",
    level: "function",
    run(kind, n, sink) {
      let bytes = 0;
      for (let seq = 1; seq <= n; seq++) {
        const data = dataOf(kind, seq);
        const text = typeof data === "string" ? data.replaceAll("\n", "\ndata: ") : JSON.stringify(data);
        const chunk = encoder.encode(`event: ${EVENT_TYPE}\ndata: ${text}\nid: ${seq}\n\n`);
        bytes += chunk.byteLength;
        sink?.(chunk);
      }
      return bytes;
    },
  },
  {
    name: "hertz-sse encodeEvent + TextEncoder",
    level: "function",
    run(kind, n, sink) {
      let bytes = 0;
      for (let seq = 1; seq <= n; seq++) {
        const chunk = encoder.encode(encodeEvent({ event: EVENT_TYPE, id: seq, data: dataOf(kind, seq) }));
        bytes += chunk.byteLength;
        sink?.(chunk);
      }
      return bytes;
    },
  },
  {
    name: "better-sse EventBuffer + TextEncoder",
    level: "function",
    run(kind, n, sink) {
      const buffer = new BetterEventBuffer();
      let bytes = 0;
      for (let seq = 1; seq <= n; seq++) {
        buffer.push(dataOf(kind, seq), EVENT_TYPE, String(seq));
        const chunk = encoder.encode(buffer.read());
        buffer.clear();
        bytes += chunk.byteLength;
        sink?.(chunk);
      }
      return bytes;
    },
  },
  {
    name: "hertz-sse SSEStream.send",
    level: "stream",
    async run(kind, n, sink) {
      const stream = new SSEStream({ keepAlive: false });
      const reading = drain(stream, sink);
      for (let seq = 1; seq <= n; seq++) await stream.send({ event: EVENT_TYPE, id: seq, data: dataOf(kind, seq) });
      stream.close();
      return reading;
    },
  },
  {
    name: "hertz-sse EventStreamEncoderStream",
    level: "stream",
    async run(kind, n, sink) {
      const encoderStream = new EventStreamEncoderStream();
      const reading = drain(encoderStream.readable, sink);
      const writer = encoderStream.writable.getWriter();
      for (let seq = 1; seq <= n; seq++) await writer.write({ event: EVENT_TYPE, id: seq, data: dataOf(kind, seq) });
      await writer.close();
      return reading;
    },
  },
  {
    name: "hono SSEStreamingApi.writeSSE",
    level: "stream",
    async run(kind, n, sink) {
      const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
      const api = new SSEStreamingApi(writable, readable);
      const reading = drain(api.responseReadable, sink);
      for (let seq = 1; seq <= n; seq++) {
        const data = dataOf(kind, seq);
        await api.writeSSE({ event: EVENT_TYPE, id: String(seq), data: typeof data === "string" ? data : JSON.stringify(data) });
      }
      await api.close();
      return reading;
    },
  },
  {
    name: "better-sse Session.push (Fetch)",
    level: "stream",
    async run(kind, n, sink) {
      const abort = new AbortController();
      const session = new Session(new Request("http://localhost/", { signal: abort.signal }), { keepAlive: null, retry: null });
      const reading = drain(session.getResponse().body!, sink);
      await new Promise<void>((resolve) => session.once("connected", () => resolve()));
      // push() never waits: better-sse has no backpressure, so this is how it is used.
      for (let seq = 1; seq <= n; seq++) session.push(dataOf(kind, seq), EVENT_TYPE, String(seq));
      abort.abort();
      return reading;
    },
  },
];

function decoderFor(contender: Contender, kind: Kind): (data: string) => string {
  if (contender.name.startsWith("better-sse")) {
    // better-sse JSON-encodes all data; the small event's data is the JSON itself.
    return kind === "small" ? (data) => data : (data) => JSON.parse(data) as string;
  }
  return (data) => data;
}

async function check(contender: Contender, kind: Kind): Promise<Check> {
  const n = kind === "small" ? 500 : 50;
  const chunks: Uint8Array[] = [];
  await contender.run(kind, n, (chunk) => chunks.push(chunk));
  const text = new TextDecoder().decode(Buffer.concat(chunks));
  const difference = firstDifference(parseAll(text), n, expected(kind), decoderFor(contender, kind));
  return { name: `${contender.name}, ${kind}`, ok: difference === undefined, detail: difference };
}

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(5, 3);
  const counts: Record<Kind, number> = { small: quick ? 30_000 : 100_000, large: quick ? 600 : 2_000 };
  const checks: Check[] = [];
  for (const contender of contenders) {
    for (const kind of ["small", "large"] as const) checks.push(await check(contender, kind));
  }
  // rates[kind][contender] = events/s per run
  const rates: Record<Kind, number[][]> = { small: contenders.map(() => []), large: contenders.map(() => []) };
  const bytesPerEvent: Record<Kind, number[]> = { small: [], large: [] };
  for (const kind of ["small", "large"] as const) {
    // Warm-up: every contender once, a tenth of the size.
    for (const contender of contenders) await contender.run(kind, Math.ceil(counts[kind] / 10));
    for (let r = 0; r < runs; r++) {
      for (const [i, contender] of contenders.entries()) {
        gc();
        const started = process.cpuUsage();
        const bytes = await contender.run(kind, counts[kind]);
        const seconds = cpuMicros(started) / 1e6;
        rates[kind][i]!.push(counts[kind] / seconds);
        bytesPerEvent[kind][i] = bytes / counts[kind];
      }
    }
  }
  const honoIndex = contenders.findIndex((c) => c.name.startsWith("hono"));
  const ratioToHono = (kind: Kind, i: number) => median(rates[kind][i]!.map((rate, r) => rate / rates[kind][honoIndex]![r]!));
  const tables: Table[] = (["small", "large"] as const).map((kind) => ({
    title:
      kind === "small"
        ? `Small events (${counts.small.toLocaleString("en-US")} per run, ~60-byte JSON data)`
        : `Large events (${counts.large.toLocaleString("en-US")} per run, 16 KiB of text in 100 lines)`,
    columns: ["contender", "level", "events/s (median)", "MB/s", "bytes/event", "vs hono writeSSE"],
    rows: contenders.map((contender, i) => {
      const rate = median(rates[kind][i]!);
      return [
        contender.name,
        contender.level,
        fmt(rate),
        fmt((rate * bytesPerEvent[kind][i]!) / 1e6),
        fmt(bytesPerEvent[kind][i]!, 0),
        ratio(ratioToHono(kind, i)),
      ];
    }),
  }));
  tables[1]!.notes = [
    "better-sse's large event is JSON-encoded into one line (it cannot send line breaks as they are), so it carries a few more bytes.",
  ];
  const index = (name: string) => contenders.findIndex((c) => c.name === name);
  const targets: Target[] = [];
  for (const [kind, wanted] of [
    ["small", 2],
    ["large", 2.5],
  ] as const) {
    const viaFunction = ratioToHono(kind, index("hertz-sse encodeEvent + TextEncoder"));
    const viaEncoderStream = ratioToHono(kind, index("hertz-sse EventStreamEncoderStream"));
    const viaSend = ratioToHono(kind, index("hertz-sse SSEStream.send"));
    // The target is the encoder's (event to bytes); the stream rows are reported beside it,
    // because they also carry each runtime's stream machinery, which BENCHMARKS.md discusses.
    targets.push({
      target: `encode ${kind} events at ≥ ${wanted}× hono`,
      measured:
        `encodeEvent + TextEncoder ${ratio(viaFunction)} hono's writeSSE; through streams: SSEStream.send ${ratio(viaSend)}, ` +
        `EventStreamEncoderStream ${ratio(viaEncoderStream)}`,
      met: viaFunction >= wanted,
    });
  }
  return {
    workload: "encode",
    title: "1. Encode (in process)",
    params: { runs, counts, node: process.version },
    tables,
    checks,
    targets,
    data: { contenders: contenders.map((c) => c.name), rates, bytesPerEvent },
  };
}

if (isMain(import.meta.url)) {
  const report = await run();
  if (process.send) process.send({ type: "report", report });
  else printReport(report);
}
