// Corpus (b), "LLM tokens" (issue 16): OpenAI-style chat completion chunks, `data: {…}` frames of
// about 150–300 bytes with no `event` or `id`, each completion ended by a chunk with a
// finish_reason and `data: [DONE]`.
import { pick, random } from "./_random.ts";
import { type Corpus, CorpusWriter } from "./corpus.ts";

const TOKENS = [
  " the",
  " model",
  " is",
  " a",
  " token",
  " stream",
  ",",
  ".",
  " of",
  " and",
  " to",
  " in",
  " that",
  " it",
  " for",
  " with",
  " server",
  " sent",
  " events",
  " response",
  " each",
  " chunk",
  " returns",
  " JSON",
  "\\n",
  "\\n\\n",
  " **",
  "`",
  " café",
  " 日本",
];
const MODELS = ["gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "o3-mini-2025-01-31"];

function id(next: () => number): string {
  let s = "chatcmpl-";
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  for (let i = 0; i < 29; i++) s += alphabet[Math.floor(next() * alphabet.length)];
  return s;
}

export function llmTokens(size: number, seed = 2): Corpus {
  const next = random(seed);
  const out = new CorpusWriter();
  while (out.length < size) {
    const head = `{"id":"${id(next)}","object":"chat.completion.chunk","created":${1_730_000_000 + Math.floor(next() * 1e7)},"model":"${pick(next, MODELS)}","system_fingerprint":"fp_${Math.floor(next() * 1e10).toString(16)}","choices":[{"index":0,"delta":`;
    const tokens = 20 + Math.floor(next() * 400);
    const first = `${head}{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`;
    out.add(`data: ${first}\n\n`, first);
    for (let t = 0; t < tokens; t++) {
      let content = pick(next, TOKENS);
      if (next() < 0.3) content += pick(next, TOKENS);
      const data = `${head}{"content":"${content}"},"logprobs":null,"finish_reason":null}]}`;
      out.add(`data: ${data}\n\n`, data);
    }
    const last = `${head}{},"logprobs":null,"finish_reason":"stop"}]}`;
    out.add(`data: ${last}\n\n`, last);
    out.add("data: [DONE]\n\n", "[DONE]");
  }
  return out.finish("llm-tokens");
}
