import { readFileSync } from "node:fs";
import { defineConfig } from "tsup";

// The entry points are deno.json's exports: one list for JSR, npm and the build.
const deno = JSON.parse(readFileSync(new URL("./deno.json", import.meta.url), "utf8")) as { exports: Record<string, string> };
const entry = Object.fromEntries(
  Object.entries(deno.exports).map(([subpath, file]) => [subpath === "." ? "index" : subpath.slice(2), file]),
);

export default defineConfig({
  entry,
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: false,
  target: "es2022",
  platform: "neutral",
  splitting: true,
  treeshake: true,
  external: ["hono", "ioredis", "@opentelemetry/api"],
});
