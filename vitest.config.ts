import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The framework apps and the drain test have their own runs (test/frameworks/vitest.config.ts,
    // test/operations/vitest.config.ts), after these suites.
    exclude: ["**/node_modules/**", "test/frameworks/**", "test/operations/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Runtime and browser tests start real servers; two cores do not take many at once.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
