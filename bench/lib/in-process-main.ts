// The child of bench/encode-parse-runtimes.ts: runs the measurements of in-process.ts on whichever
// runtime started it and prints them as one line of JSON. Its one argument is the plan, as JSON:
// { runs, encode: { small, large }, parse: { size, corpora, chunkSizes } }.
import { measureEncode, measureParse } from "./in-process.ts";

interface Plan {
  runs: number;
  encode: { small: number; large: number };
  parse: { size: number; corpora: string[]; chunkSizes: number[] };
}

const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } };
const plan = JSON.parse((g.Deno ? g.Deno.args : g.process!.argv.slice(2))[0]!) as Plan;
const results: Record<string, unknown> = {};
for (const kind of ["small", "large"] as const)
  results[`encode ${kind}`] = await measureEncode(kind, plan.encode[kind], plan.runs);
for (const corpus of plan.parse.corpora) {
  for (const chunkSize of plan.parse.chunkSizes)
    results[`parse ${corpus} ${chunkSize}`] = await measureParse(corpus, plan.parse.size, chunkSize, plan.runs);
}
console.log(JSON.stringify(results));
