// Corpus (d), "cjk": the CJK-heavy input of the first parse benchmark (bench/parse.ts before issue
// 16), unchanged: mostly typed one-line JSON events with an id whose text is Japanese and
// Chinese, some price ticks, some three-line log events, a few comments.
import { random } from "./_random.ts";
import { type Corpus, CorpusWriter } from "./corpus.ts";

const CJK = [
  "日本語",
  "の",
  "テキスト",
  "です",
  "中文",
  "文本",
  "流",
  "事件",
  "服务器",
  "发送",
  "数据",
  "和",
  "到",
  "在",
  "令牌",
  "。",
];

export function cjk(size: number, seed = 42): Corpus {
  const next = random(seed);
  const out = new CorpusWriter();
  for (let id = 1; out.length < size; id++) {
    const r = next();
    if (r < 0.8) {
      let text = "";
      const words = 1 + Math.floor(next() * 4);
      for (let w = 0; w < words; w++) text += CJK[Math.floor(next() * CJK.length)]!;
      const data = `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${text}"}}`;
      out.add(`event: delta\ndata: ${data}\nid: ${id}\n\n`, data, "delta", String(id));
    } else if (r < 0.95) {
      const data = `{"symbol":"AAPL","price":${(150 + next() * 50).toFixed(2)},"time":${1_700_000_000_000 + id}}`;
      out.add(`data: ${data}\n\n`, data);
    } else if (r < 0.99) {
      const data = `line one of ${id}\nline two\nline three`;
      out.add(`event: log\ndata: line one of ${id}\ndata: line two\ndata: line three\nid: ${id}\n\n`, data, "log", String(id));
    } else {
      out.add(": keep-alive\n\n", undefined);
    }
  }
  return out.finish("cjk");
}
