import { defineConfig } from "vitest/config";

// The framework tier (test/run.sh runs it after the main suites, which exclude it): one file, the
// apps one after another, each a real production server.
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/frameworks/frameworks.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 900_000,
    fileParallelism: false,
  },
});
