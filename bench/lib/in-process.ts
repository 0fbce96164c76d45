// The encode and parse measurements that run unchanged on Node, Deno and Bun (web APIs only, plus
// the runtime's GC and CPU clock where it has them), for bench/encode-parse-runtimes.ts. Each
// contender is checked before it is timed; a failed check is reported, never skipped.
import { createParser as createEventsourceParser } from "eventsource-parser";
import { SSEStreamingApi } from "hono/streaming";
import { EventStreamEncoderStream, encodeEvent } from "../../src/core/encoder.ts";
import { createParser } from "../../src/parser/create-parser.ts";
import { EventStreamParserStream } from "../../src/parser/parser-stream.ts";
import { CORPORA, type Corpus } from "../corpora/index.ts";
import { ServerSentEventParseStream } from "./deno-std/server_sent_event_parse_stream.ts";
import { ServerSentEventStream } from "./deno-std/server_sent_event_stream.ts";
import { EVENT_TYPE, firstDifference, LARGE_TEXT, parseAll, smallData } from "./events.ts";

export interface Measurement {
  /** Median seconds per run, for each contender (NaN when its check failed). */
  seconds: Record<string, number>;
  /** Median of the per-run ratios of hertz-sse's speed to each contender's. */
  ratios: Record<string, number>;
  /** Bytes (encode) or MB (parse) per run. */
  size: number;
  problems: string[];
}

interface Runtime {
  gc(): void;
  /** CPU seconds of the process so far, or wall seconds where the runtime has no CPU clock. */
  now(): number;
}

function runtime(): Runtime {
  const g = globalThis as {
    gc?: () => void;
    Bun?: { gc(full: boolean): void };
    process?: { cpuUsage?: () => { user: number; system: number } };
  };
  const gc = g.Bun ? () => g.Bun!.gc(true) : (g.gc ?? (() => {}));
  const cpu = g.process?.cpuUsage;
  const now = cpu
    ? () => {
        const usage = cpu();
        return (usage.user + usage.system) / 1e6;
      }
    : () => performance.now() / 1000;
  return { gc, now };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Times each runner `runs` times, in turn, after one warm-up run each; `first` is hertz-sse. */
async function time(runners: Record<string, () => unknown>, runs: number): Promise<Pick<Measurement, "seconds" | "ratios">> {
  const { gc, now } = runtime();
  const names = Object.keys(runners);
  const seconds: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
  for (const name of names) await runners[name]!();
  for (let r = 0; r < runs; r++) {
    for (const name of names) {
      gc();
      const started = now();
      await runners[name]!();
      seconds[name]!.push(now() - started);
    }
  }
  const ours = seconds[names[0]!]!;
  return {
    seconds: Object.fromEntries(names.map((name) => [name, median(seconds[name]!)])),
    ratios: Object.fromEntries(names.map((name) => [name, median(seconds[name]!.map((s, r) => s / ours[r]!))])),
  };
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

// ---------------------------------------------------------------------------------------------
// Encode: `{ event, id, data }` to UTF-8 bytes, small events (~60 bytes of JSON) and large ones
// (16 KiB of text in 100 lines), as in bench/encode.ts.

type Kind = "small" | "large";
type Encoder = (kind: Kind, n: number, sink?: (chunk: Uint8Array) => void) => Promise<number> | number;

const textEncoder = new TextEncoder();
const dataOf = (kind: Kind, seq: number): unknown => (kind === "small" ? smallData(seq) : LARGE_TEXT);
const textOf = (kind: Kind, seq: number): string => (kind === "small" ? JSON.stringify(smallData(seq)) : LARGE_TEXT);

/** The encoders, hertz-sse first. */
export const ENCODERS: Record<string, Encoder> = {
  "hertz-sse encodeEvent + TextEncoder"(kind, n, sink) {
    let bytes = 0;
    for (let seq = 1; seq <= n; seq++) {
      const chunk = textEncoder.encode(encodeEvent({ event: EVENT_TYPE, id: seq, data: dataOf(kind, seq) }));
      bytes += chunk.byteLength;
      sink?.(chunk);
    }
    return bytes;
  },
  "raw (template + TextEncoder)"(kind, n, sink) {
    let bytes = 0;
    for (let seq = 1; seq <= n; seq++) {
      const data = dataOf(kind, seq);
      const text = typeof data === "string" ? data.replaceAll("\n", "\ndata: ") : JSON.stringify(data);
      const chunk = textEncoder.encode(`event: ${EVENT_TYPE}\ndata: ${text}\nid: ${seq}\n\n`);
      bytes += chunk.byteLength;
      sink?.(chunk);
    }
    return bytes;
  },
  async "hertz-sse EventStreamEncoderStream"(kind, n, sink) {
    const stream = new EventStreamEncoderStream();
    const reading = drain(stream.readable, sink);
    const writer = stream.writable.getWriter();
    for (let seq = 1; seq <= n; seq++) await writer.write({ event: EVENT_TYPE, id: seq, data: dataOf(kind, seq) });
    await writer.close();
    return reading;
  },
  async "hono SSEStreamingApi.writeSSE"(kind, n, sink) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const api = new SSEStreamingApi(writable, readable);
    const reading = drain(api.responseReadable, sink);
    for (let seq = 1; seq <= n; seq++) await api.writeSSE({ event: EVENT_TYPE, id: String(seq), data: textOf(kind, seq) });
    await api.close();
    return reading;
  },
  async "Deno std ServerSentEventStream"(kind, n, sink) {
    const stream = new ServerSentEventStream();
    const reading = drain(stream.readable, sink);
    const writer = stream.writable.getWriter();
    for (let seq = 1; seq <= n; seq++) await writer.write({ event: EVENT_TYPE, id: seq, data: textOf(kind, seq) });
    await writer.close();
    return reading;
  },
};

export async function measureEncode(kind: Kind, n: number, runs: number): Promise<Measurement> {
  const problems: string[] = [];
  for (const [name, encode] of Object.entries(ENCODERS)) {
    const chunks: Uint8Array[] = [];
    const count = kind === "small" ? 300 : 30;
    await encode(kind, count, (chunk) => chunks.push(chunk));
    let length = 0;
    for (const chunk of chunks) length += chunk.byteLength;
    const all = new Uint8Array(length);
    let offset = 0;
    for (const chunk of chunks) {
      all.set(chunk, offset);
      offset += chunk.byteLength;
    }
    const difference = firstDifference(parseAll(new TextDecoder().decode(all)), count, (seq) => textOf(kind, seq));
    if (difference) problems.push(`${name}, ${kind}: ${difference}`);
  }
  let bytes = 0;
  const runners = Object.fromEntries(
    Object.entries(ENCODERS).map(([name, encode]) => [
      name,
      async () => {
        bytes = await encode(kind, n);
      },
    ]),
  );
  return { ...(await time(runners, runs)), size: bytes, problems };
}

// ---------------------------------------------------------------------------------------------
// Parse: the corpora of bench/corpora in Uint8Array chunks, as in bench/parse-throughput.ts.

interface Outcome {
  events: number;
  dataLength: number;
}

type Parser = (chunks: readonly Uint8Array[]) => Promise<Outcome> | Outcome;

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

/** The parsers, hertz-sse first; each made once per table (see bench/parse-throughput.ts). */
export const PARSERS: Record<string, () => Parser> = {
  "hertz-sse createParser"() {
    let outcome: Outcome = { events: 0, dataLength: 0 };
    const parser = createParser({
      onEvent(message) {
        outcome.events++;
        outcome.dataLength += message.data.length;
      },
    });
    return (chunks) => {
      outcome = { events: 0, dataLength: 0 };
      for (const chunk of chunks) parser.feed(chunk);
      parser.end();
      return outcome;
    };
  },
  "eventsource-parser 3.1 + TextDecoder"() {
    let outcome: Outcome = { events: 0, dataLength: 0 };
    const decoder = new TextDecoder();
    const parser = createEventsourceParser({
      onEvent(event) {
        outcome.events++;
        outcome.dataLength += event.data.length;
      },
    });
    return (chunks) => {
      outcome = { events: 0, dataLength: 0 };
      for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
      parser.feed(decoder.decode());
      parser.reset();
      return outcome;
    };
  },
  "hertz-sse EventStreamParserStream"() {
    return async (chunks) => {
      const outcome: Outcome = { events: 0, dataLength: 0 };
      const reader = streamOf(chunks).pipeThrough(new EventStreamParserStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return outcome;
        outcome.events++;
        outcome.dataLength += value.data.length;
      }
    };
  },
  "Deno std ServerSentEventParseStream"() {
    return async (chunks) => {
      const outcome: Outcome = { events: 0, dataLength: 0 };
      const reader = streamOf(chunks)
        .pipeThrough(new ServerSentEventParseStream({ ignoreComments: true }))
        .getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return outcome;
        // It also dispatches blocks without data (an id or a retry alone), which the standard
        // does not: only messages with data are counted.
        if (value.data === undefined) continue;
        outcome.events++;
        outcome.dataLength += value.data.length;
      }
    };
  },
  "raw floor: TextDecoder + line scan"() {
    const decoder = new TextDecoder();
    return (chunks) => {
      let blocks = 0;
      let lineStarted = false;
      for (const chunk of chunks) {
        const text = decoder.decode(chunk, { stream: true });
        let start = 0;
        for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
          if (end === start && !lineStarted) blocks++;
          lineStarted = false;
          start = end + 1;
        }
        if (start < text.length) lineStarted = true;
      }
      decoder.decode();
      return { events: blocks, dataLength: Number.NaN };
    };
  },
};

const corpusCache = new Map<string, Corpus>();

export async function measureParse(corpusName: string, size: number, chunkSize: number, runs: number): Promise<Measurement> {
  let corpus = corpusCache.get(corpusName);
  if (!corpus) corpusCache.set(corpusName, (corpus = CORPORA[corpusName]!(size)));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < corpus.bytes.length; i += chunkSize) chunks.push(corpus.bytes.subarray(i, i + chunkSize));
  const problems: string[] = [];
  const runners: Record<string, () => unknown> = {};
  for (const [name, make] of Object.entries(PARSERS)) {
    const parse = make();
    const outcome = await parse(chunks);
    const floor = name.startsWith("raw");
    const expected = floor
      ? { events: corpus.blocks, dataLength: Number.NaN }
      : { events: corpus.events, dataLength: corpus.dataLength };
    if (outcome.events !== expected.events || (!floor && outcome.dataLength !== expected.dataLength)) {
      problems.push(
        `${name}, ${corpusName}, ${chunkSize} B chunks: ${outcome.events} events and ${outcome.dataLength} characters, expected ${expected.events} and ${expected.dataLength}`,
      );
    }
    runners[name] = async () => {
      const again = await parse(chunks);
      if (again.events !== expected.events) problems.push(`${name}: ${again.events} events in a timed run`);
    };
  }
  return { ...(await time(runners, runs)), size: corpus.bytes.length / 1e6, problems };
}
