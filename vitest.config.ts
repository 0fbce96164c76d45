import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Runtime and browser tests start real servers; two cores do not take many at once.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
