// Corpus (c), "large" (issue 16): events with `event:` and `id:` and 16 KiB of text in 100
// `data:` lines.
import { pick, random } from "./_random.ts";
import { type Corpus, CorpusWriter } from "./corpus.ts";

const WORDS = ["lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor"];
const DATA_SIZE = 16 * 1024;
const LINES = 100;

export function large(size: number, seed = 3): Corpus {
  const next = random(seed);
  const out = new CorpusWriter();
  for (let id = 1; out.length < size; id++) {
    const lines: string[] = [];
    // 100 lines of random words, joined by LF, exactly 16 KiB in all.
    const perLine = Math.floor((DATA_SIZE - (LINES - 1)) / LINES);
    for (let l = 0; l < LINES; l++) {
      let line = "";
      while (line.length < perLine) line += `${pick(next, WORDS)} `;
      lines.push(line.slice(0, perLine));
    }
    let data = lines.join("\n");
    data += "x".repeat(DATA_SIZE - data.length);
    const block = `event: document\nid: ${id}\n${data
      .split("\n")
      .map((line) => `data: ${line}\n`)
      .join("")}\n`;
    out.add(block, data, "document", String(id));
  }
  return out.finish("large");
}
