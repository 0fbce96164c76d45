import { defineConfig } from "vitest/config";

// The operations tier (test/run.sh runs it on its own, after the main suites, which exclude it):
// the drain test measures how evenly 1 000 reconnections arrive, in 100 ms buckets, and the clients'
// timers run in the test process. Beside other suites on two cores that process stalls for 100 ms
// and more, and the bound can then only be reported, not checked; alone, it is checked.
export default defineConfig({
  test: {
    root: new URL("../..", import.meta.url).pathname,
    include: ["test/operations/**/*.test.ts"],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
