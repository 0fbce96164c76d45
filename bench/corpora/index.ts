// The parse corpora of issue 16, generated deterministically from fixed seeds. `size` is in
// characters (about bytes for the mostly-ASCII ones; the CJK corpus has about 1.5 bytes each).
import { cjk } from "./cjk.ts";
import type { Corpus } from "./corpus.ts";
import { large } from "./large.ts";
import { llmTokens } from "./llm-tokens.ts";
import { mixed } from "./mixed.ts";

export type { Corpus } from "./corpus.ts";

export const CORPORA: Record<string, (size: number) => Corpus> = {
  mixed,
  "llm-tokens": llmTokens,
  large,
  cjk,
};
