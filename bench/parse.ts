// Parser throughput: hertz-sse's createParser against eventsource-parser 3.1 (the parser most
// JavaScript SSE clients use), on the same 50 MB of UTF-8 event-stream bytes cut into 1 KiB and
// 64 KiB chunks, with two floors: what decoding alone costs, and decoding plus finding the line
// ends (no interpretation at all). Three inputs of the same shape: "mixed", where about 2% of
// the events carry non-ASCII text (so every 64 KiB chunk has some), "ascii" (JSON APIs that
// escape it), and "cjk", where every event's text is Japanese and Chinese.
//
//   npx tsx bench/parse.ts     (RUNS=9 SIZE_MB=50 INPUT=mixed,ascii,cjk are the defaults)
//
// Every contender gets Uint8Array chunks and must produce text from them: eventsource-parser only
// takes strings, so it is fed through a streaming TextDecoder, as its own TransformStream does.
// Each run measures every contender once, in turn, so that drift in the machine's load spreads
// over all of them; the table shows the median of the runs, and the median of the per-run ratios.
import { createParser as createEventsourceParser } from "eventsource-parser";
import { createParser } from "../src/parser/create-parser.ts";

const RUNS = Number(process.env.RUNS ?? 9);
const INPUTS = (process.env.INPUT ?? "mixed,ascii,cjk").split(",");
const SIZE = Number(process.env.SIZE_MB ?? 50) * 1_000_000;
const CHUNK_SIZES = [1024, 64 * 1024];

/** A deterministic pseudo-random generator (mulberry32), so every run parses the same bytes. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The input: what an LLM token stream or a live feed looks like. Mostly one-line JSON events with
// a type and an id; some multi-line data, keep-alive comments, a few non-ASCII tokens.
const CJK = ["日本語", "の", "テキスト", "です", "中文", "文本", "流", "事件", "服务器", "发送", "数据", "和", "到", "在", "令牌", "。"];
const WORDS = ["the", "stream", "event", "token", "of", "a", "server", "sent", "data", "and", "to", "in", "café", "naïve", "日本語", "🎉"];
function makeInput(size: number, kind: string): { bytes: Uint8Array; events: number } {
  const ascii = kind === "ascii";
  const cjk = kind === "cjk";
  const next = random(42);
  const parts: string[] = [];
  let length = 0;
  let events = 0;
  for (let id = 1; length < size; id++) {
    const r = next();
    let event: string;
    if (r < 0.8) {
      let text = "";
      const words = 1 + Math.floor(next() * 4);
      for (let w = 0; w < words; w++) {
        const i = Math.floor(next() * WORDS.length);
        // Non-ASCII words are rarer than the word list makes them: about 2% of events have one.
        text += cjk ? CJK[i]! : ` ${i >= 12 && (ascii || next() < 0.9) ? "stream" : WORDS[i]}`;
      }
      event = `event: delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}\nid: ${id}\n\n`;
      events++;
    } else if (r < 0.95) {
      event = `data: {"symbol":"AAPL","price":${(150 + next() * 50).toFixed(2)},"time":${1_700_000_000_000 + id}}\n\n`;
      events++;
    } else if (r < 0.99) {
      event = `event: log\ndata: line one of ${id}\ndata: line two\ndata: line three\nid: ${id}\n\n`;
      events++;
    } else {
      event = ": keep-alive\n\n";
    }
    parts.push(event);
    length += event.length;
  }
  return { bytes: new TextEncoder().encode(parts.join("")), events };
}

type Contender = { name: string; run: (chunks: Uint8Array[]) => number };

const contenders: Contender[] = [
  {
    name: "hertz-sse createParser",
    run(chunks) {
      let n = 0;
      const parser = createParser({ onEvent: () => void n++ });
      for (const chunk of chunks) parser.feed(chunk);
      parser.end();
      return n;
    },
  },
  {
    name: "eventsource-parser 3.1 + TextDecoder",
    run(chunks) {
      let n = 0;
      const decoder = new TextDecoder();
      const parser = createEventsourceParser({ onEvent: () => void n++ });
      for (const chunk of chunks) parser.feed(decoder.decode(chunk, { stream: true }));
      parser.feed(decoder.decode());
      return n;
    },
  },
  {
    name: "floor: TextDecoder only",
    run(chunks) {
      let n = 0;
      const decoder = new TextDecoder();
      for (const chunk of chunks) n += decoder.decode(chunk, { stream: true }).length;
      return n;
    },
  },
  {
    name: "floor: TextDecoder + find line ends",
    run(chunks) {
      let n = 0;
      const decoder = new TextDecoder();
      for (const chunk of chunks) {
        const text = decoder.decode(chunk, { stream: true });
        for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
      }
      return n;
    },
  },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

console.log(`runtime: node ${process.versions.node}; ${RUNS} runs; median MB/s (min-max over the runs)`);

for (const input of INPUTS) {
  const { bytes, events } = makeInput(SIZE, input);
  const mb = bytes.length / 1_000_000;
  console.log(`\ninput "${input}": ${mb.toFixed(1)} MB, ${events} events`);
  for (const chunkSize of CHUNK_SIZES) {
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += chunkSize) chunks.push(bytes.subarray(i, i + chunkSize));
    // Warm up, and check that both parsers see every event.
    for (const contender of contenders) {
      const n = contender.run(chunks);
      if (contender.name.includes("parser") && n !== events) {
        throw new Error(`${contender.name} dispatched ${n} events, expected ${events}`);
      }
    }
    const speeds = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    for (let run = 0; run < RUNS; run++) {
      for (const contender of contenders) {
        const start = performance.now();
        contender.run(chunks);
        const seconds = (performance.now() - start) / 1000;
        speeds.get(contender.name)!.push(mb / seconds);
      }
    }
    const ours = speeds.get(contenders[0]!.name)!;
    console.log(`\n  ${chunkSize / 1024} KiB chunks`);
    console.log(`  ${"parser".padEnd(40)} ${"MB/s".padStart(7)} ${"min-max".padStart(11)} ${"hertz-sse is".padStart(13)}`);
    for (const contender of contenders) {
      const values = speeds.get(contender.name)!;
      const m = median(values);
      const range = `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`;
      // The ratio is the median of the runs' own ratios: both were measured in the same run, so
      // a slow moment of the machine affects both.
      const ratio = contender === contenders[0] ? "" : `${median(ours.map((o, i) => o / values[i]!)).toFixed(2)}×`;
      console.log(`  ${contender.name.padEnd(40)} ${m.toFixed(0).padStart(7)} ${range.padStart(11)} ${ratio.padStart(13)}`);
    }
  }
}
