// Corpus (a), "mixed" (issue 16): about 88% small events, each with `event:`, `id:` and one
// ~60-byte JSON `data:` line; about 5% with multi-line data containing multi-byte UTF-8; the rest
// data-only ticks; about 12% of blocks preceded by a comment line; an occasional `retry:`.
import { pick, random } from "./_random.ts";
import { type Corpus, CorpusWriter } from "./corpus.ts";

const TYPES = ["update", "delta", "status", "message", "price"];
const KEYS = ["user", "room", "item", "order", "node"];
const WORDS = ["the", "server", "sent", "an", "event", "with", "some", "text", "to", "all", "clients", "now"];
const MULTI_BYTE = ["café", "naïve", "Ωmega", "日本語", "中文文本", "données", "😀", "🎉", "Привет", "ünïcödé"];
const COMMENTS = ["keep-alive", "", "ping", "heartbeat 30s"];

export function mixed(size: number, seed = 1): Corpus {
  const next = random(seed);
  const out = new CorpusWriter();
  for (let id = 1; out.length < size; id++) {
    let block = next() < 0.12 ? `: ${pick(next, COMMENTS)}\n` : "";
    if (next() < 0.005) block += `retry: ${1000 + Math.floor(next() * 9000)}\n`;
    const r = next();
    if (r < 0.88) {
      const type = pick(next, TYPES);
      const data = `{"${pick(next, KEYS)}":${Math.floor(next() * 1e6)},"value":${(next() * 1000).toFixed(3)},"ok":${next() < 0.5},"tag":"${pick(next, WORDS)}"}`;
      block += `event: ${type}\nid: ${id}\ndata: ${data}\n\n`;
      out.add(block, data, type, String(id));
    } else if (r < 0.93) {
      const lines: string[] = [];
      const count = 2 + Math.floor(next() * 4);
      for (let l = 0; l < count; l++) {
        const words: string[] = [];
        for (let w = 3 + Math.floor(next() * 8); w > 0; w--)
          words.push(next() < 0.3 ? pick(next, MULTI_BYTE) : pick(next, WORDS));
        lines.push(words.join(" "));
      }
      const type = pick(next, TYPES);
      block += `event: ${type}\nid: ${id}\n${lines.map((line) => `data: ${line}\n`).join("")}\n`;
      out.add(block, lines.join("\n"), type, String(id));
    } else {
      const data = `{"symbol":"AAPL","price":${(150 + next() * 50).toFixed(2)},"time":${1_700_000_000_000 + id}}`;
      block += `data: ${data}\n\n`;
      out.add(block, data);
    }
  }
  return out.finish("mixed");
}
