// The source layout's rules, read from the import statements with the TypeScript compiler: a
// folder per layer, imports flowing one way between layers (DESIGN.md's table), no import cycle
// between files.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT } from "./_helpers/runtimes.ts";

const SRC = join(ROOT, "src");

/** What each layer may import, besides itself. The top-level `src/index.ts` is the core's entry. */
const ALLOWED: Record<string, readonly string[]> = {
  _internal: [],
  core: ["_internal"],
  parser: ["core", "_internal"],
  client: ["parser", "core", "_internal"],
  hub: ["core", "_internal"],
  resumable: ["hub", "parser", "core", "_internal"],
  redis: ["hub", "core", "_internal"],
  otel: ["core", "_internal"],
  adapters: ["otel", "redis", "resumable", "hub", "client", "parser", "core", "_internal"],
  ".": ["core"],
};

function layerOf(file: string): string {
  const parts = relative(SRC, file).split("/");
  return parts.length === 1 ? "." : (parts[0] as string);
}

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(SRC, f));
}

/** The relative imports and re-exports of a file (type-only ones included: they couple too). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return info.importedFiles
    .map((ref) => ref.fileName)
    .filter((name) => name.startsWith("."))
    .map((name) => normalize(join(dirname(file), name)));
}

const graph = new Map(sourceFiles().map((file) => [file, importsOf(file)]));

describe("source layout", () => {
  it("puts every source file in a known layer", () => {
    for (const file of graph.keys()) expect(Object.keys(ALLOWED), relative(ROOT, file)).toContain(layerOf(file));
  });

  it("imports only files that exist", () => {
    for (const [file, imports] of graph) {
      for (const target of imports) expect(graph.has(target), `${relative(ROOT, file)} -> ${relative(ROOT, target)}`).toBe(true);
    }
  });

  it("imports only downward between layers", () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = layerOf(file);
      for (const target of imports) {
        const to = layerOf(target);
        if (to !== from && !ALLOWED[from]?.includes(to)) upward.push(`${relative(ROOT, file)} -> ${relative(ROOT, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("has no import cycle", () => {
    const cycles: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const path: string[] = [];
    const visit = (file: string): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(" -> "));
        return;
      }
      state.set(file, "visiting");
      path.push(file);
      for (const target of graph.get(file) ?? []) visit(target);
      path.pop();
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file);
    expect(cycles).toEqual([]);
  });
});
