// The package's shape: npm and JSR export the same entry points, entry files only re-export, and
// the core uses web globals only.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./_helpers/runtimes.ts";

const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const deno = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
const entryName = (subpath: string) => (subpath === "." ? "index" : subpath.slice(2));

describe("packaging", () => {
  it("exports the same subpaths on npm and JSR", () => {
    const npm = Object.keys(pkg.exports)
      .filter((k) => k !== "./package.json")
      .sort();
    expect(npm).toEqual(Object.keys(deno.exports).sort());
  });

  it("names every entry file after its subpath, and every one exists", () => {
    for (const [subpath, file] of Object.entries(deno.exports as Record<string, string>)) {
      expect(existsSync(join(ROOT, file)), file).toBe(true);
      // src/index.ts, src/<layer>/index.ts, src/adapters/<name>.ts or src/adapters/<name>/index.ts
      const name = file
        .replace(/^\.\/src\//, "")
        .replace(/(\/index)?\.ts$/, "")
        .replace(/^adapters\//, "");
      expect(name === "index" ? "index" : name).toBe(entryName(subpath));
      const built = pkg.exports[subpath];
      expect(built.import.default).toBe(`./dist/${entryName(subpath)}.js`);
      expect(built.require.default).toBe(`./dist/${entryName(subpath)}.cjs`);
    }
  });

  it("has the same name and version on npm and JSR", () => {
    expect(pkg.name).toBe("hertz-sse");
    expect(deno.name).toBe("@hertz/sse");
    expect(deno.version).toBe(pkg.version);
  });

  it("has no runtime dependencies; hono is an optional peer", () => {
    expect(pkg.dependencies ?? {}).toEqual({});
    expect(pkg.peerDependenciesMeta.hono.optional).toBe(true);
  });

  it("keeps entry files to re-exports", () => {
    for (const [subpath, file] of Object.entries(deno.exports as Record<string, string>)) {
      if (file.includes("/adapters/")) continue; // an adapter is its own single concept
      const code = readFileSync(join(ROOT, file), "utf8")
        .replace(/\/\*[\s\S]*?\*\//g, "")
        .replace(/^\s*\/\/.*$/gm, "")
        .trim();
      for (const statement of code.split(/;\s*/).filter(Boolean)) {
        expect(statement, `${subpath}: ${statement}`).toMatch(/^export (type )?(\{[\s\S]*\}|\*) from "\.\.?\/[^"]+\.ts"$/);
      }
    }
  });

  it("uses web globals only outside the runtime adapters", () => {
    const files = readdirSync(join(ROOT, "src"), { recursive: true })
      .map(String)
      .filter((f) => f.endsWith(".ts") && !f.startsWith("adapters/"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      // JSDoc examples may show a runtime's own API; the code itself may not use one.
      const code = readFileSync(join(ROOT, "src", file), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
      expect(code, file).not.toMatch(/from "node:|require\(|\bBuffer\b|\bprocess\.|\bDeno\.|\bBun\./);
      for (const match of code.matchAll(/from "(\.[^"]+)"/g)) expect(match[1], file).toMatch(/\.ts$/);
    }
  });
});
