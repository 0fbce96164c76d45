// Shared pieces of the benchmark suite: arguments, statistics, child processes, the report
// format and its Markdown rendering. Nothing here measures anything by itself.
import { type ChildProcess, execFile, fork } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/** `--key=value` and `--flag` arguments of this process. */
export const args: Map<string, string> = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key!, value ?? "true"] as const;
  }),
);

/** Quick mode (`--quick` or `BENCH_QUICK=1`): fewer runs and smaller sizes, for development. */
export function isQuick(): boolean {
  return args.has("quick") || process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";
}

/** How many runs to take the median of (`--runs=N` or `BENCH_RUNS=N` override the default). */
export function runCount(full: number, quick: number): number {
  const given = args.get("runs") ?? process.env.BENCH_RUNS;
  return given !== undefined ? Number(given) : isQuick() ? quick : full;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The `p`-th percentile (0–100) of a sorted array, nearest-rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs a full garbage collection twice (weak references and finalisers settle in between). */
export function gc(): void {
  collectGarbage ??= (globalThis as { gc?: () => void }).gc ?? exposeGc();
  collectGarbage();
  collectGarbage();
}

let collectGarbage: (() => void) | undefined;

/** `gc()` without `--expose-gc` on the command line, so that `npx tsx bench/x.ts` works. */
function exposeGc(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** Total CPU time (user + system) of this process in microseconds since `since`. */
export function cpuMicros(since?: NodeJS.CpuUsage): number {
  const usage = process.cpuUsage(since);
  return usage.user + usage.system;
}

/** Wall-clock milliseconds with sub-millisecond resolution, comparable between processes. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

// ---------------------------------------------------------------------------------------------
// Child processes: each server and each client load generator runs in its own process, so that a
// server's CPU and memory are its own.

export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

export class Child {
  readonly process: ChildProcess;
  readonly #waiters: { type: string; resolve: (message: ChildMessage) => void; reject: (error: Error) => void }[] = [];
  readonly #unclaimed: ChildMessage[] = [];
  #exited = false;

  constructor(script: string, childArgs: string[], execArgv: string[] = []) {
    this.process = fork(script, childArgs, {
      execArgv: ["--expose-gc", "--import", "tsx", ...execArgv],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.process.on("message", (message: ChildMessage) => {
      const index = this.#waiters.findIndex((waiter) => waiter.type === message.type);
      if (index !== -1) this.#waiters.splice(index, 1)[0]!.resolve(message);
      else if (message.type === "error") {
        const waiters = this.#waiters.splice(0);
        if (waiters.length === 0) console.error(`child error: ${String(message.message)}`);
        for (const waiter of waiters) waiter.reject(new Error(String(message.message)));
      } else this.#unclaimed.push(message);
    });
    // A child that has just exited can make a send fail; stop() then kills it, which is a no-op.
    this.process.on("error", () => {});
    this.process.on("exit", (code, signal) => {
      this.#exited = true;
      const error = new Error(`${script} ${childArgs.join(" ")} exited (${code ?? signal})`);
      for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
    });
  }

  /** Resolves with the next message of `type`. */
  next<T extends ChildMessage = ChildMessage>(type: string, timeoutMs = 120_000): Promise<T> {
    const early = this.#unclaimed.findIndex((message) => message.type === type);
    if (early !== -1) return Promise.resolve(this.#unclaimed.splice(early, 1)[0] as T);
    return new Promise<T>((resolve, reject) => {
      if (this.#exited) return reject(new Error("child has exited"));
      const timer = setTimeout(() => reject(new Error(`timed out waiting for "${type}"`)), timeoutMs);
      this.#waiters.push({
        type,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  /** Sends `message` and resolves with the answer of type `answer`. */
  ask<T extends ChildMessage = ChildMessage>(message: ChildMessage, answer: string, timeoutMs?: number): Promise<T> {
    const reply = this.next<T>(answer, timeoutMs);
    this.process.send(message);
    return reply;
  }

  send(message: ChildMessage): void {
    this.process.send(message);
  }

  /** Asks the child to exit (so that a CPU profile gets written), and kills it if it does not. */
  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#exited || this.process.exitCode !== null) return resolve();
      const timer = setTimeout(() => this.process.kill(), 3000);
      this.process.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.process.connected) this.process.send({ type: "exit" }, (error) => error && this.process.kill());
      else this.process.kill();
    });
  }
}

/**
 * Extra Node flags for server processes: `--cpu-prof=DIR` writes a V8 CPU profile of each server
 * to DIR (open it in Chrome DevTools), which is how the costs named in BENCHMARKS.md were found.
 */
export function serverExecArgv(): string[] {
  const dir = args.get("cpu-prof");
  return dir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${dir === "true" ? "bench/results/profiles" : dir}`];
}

/** In a child: answers messages from the parent with `handler`; errors are reported, not thrown. */
export function serveParent(
  handler: (message: ChildMessage) => Promise<ChildMessage | undefined> | ChildMessage | undefined,
): void {
  process.on("message", async (message: ChildMessage) => {
    if (message.type === "exit") process.exit(0);
    try {
      const reply = await handler(message);
      if (reply) process.send!(reply);
    } catch (error) {
      process.send!({ type: "error", message: (error as Error).stack ?? String(error) });
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Reports

export type Cell = string | number;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  notes?: string[];
}

export interface Check {
  name: string;
  ok: boolean;
  detail?: string;
}

export interface Target {
  /** What the issue asks, in its words. */
  target: string;
  /** What was measured, in words and numbers. */
  measured: string;
  met: boolean;
}

export interface WorkloadReport {
  workload: string;
  title: string;
  params: Record<string, unknown>;
  tables: Table[];
  checks: Check[];
  targets: Target[];
  /** Raw per-run numbers, for the JSON file. */
  data: unknown;
}

/** Formats a number with `digits` significant decimals, and thousands separators for large ones. */
export function fmt(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(Math.min(1, digits));
  return value.toFixed(digits);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "–";
}

export function markdownTable(table: Table): string {
  const lines = [`#### ${table.title}`, "", `| ${table.columns.join(" | ")} |`, `|${table.columns.map(() => "---").join("|")}|`];
  for (const row of table.rows) lines.push(`| ${row.map(String).join(" | ")} |`);
  for (const note of table.notes ?? []) lines.push("", note);
  return lines.join("\n");
}

export function markdownReport(report: WorkloadReport): string {
  const parts = [`### ${report.title}`, ""];
  for (const table of report.tables) parts.push(markdownTable(table), "");
  if (report.checks.length > 0) {
    const failed = report.checks.filter((check) => !check.ok);
    parts.push(
      failed.length === 0
        ? `Correctness: all ${report.checks.length} checks passed.`
        : `Correctness: **${failed.length} of ${report.checks.length} checks failed**: ${failed.map((c) => `${c.name}${c.detail ? ` (${c.detail})` : ""}`).join("; ")}.`,
      "",
    );
  }
  for (const target of report.targets) {
    parts.push(`- ${target.met ? "**met**" : "**missed**"}: ${target.target} — ${target.measured}`);
  }
  if (report.targets.length > 0) parts.push("");
  return parts.join("\n");
}

/** Prints a report to the console as Markdown (what a standalone run of a workload shows). */
export function printReport(report: WorkloadReport): void {
  console.log(`\n${markdownReport(report)}`);
}

/** Whether this module is the process's entry point (a workload run on its own). */
export function isMain(url: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && url === pathToFileURL(resolve(entry)).href;
}

/** The path of a runtime installed from npm (`deno`, `bun`) in node_modules/.bin. */
export function runtimeBin(name: string): string {
  return fileURLToPath(new URL(`../../node_modules/.bin/${name}`, import.meta.url));
}

/** The first line of `<runtime> --version` (`node` is this process's own Node). */
export function runtimeVersion(runtime: string): Promise<string> {
  const command = runtime === "node" ? process.execPath : runtimeBin(runtime);
  return new Promise((resolve) =>
    execFile(command, ["--version"], (error, stdout) => resolve(error ? "unknown" : stdout.split("\n")[0]!.trim())),
  );
}

/**
 * `deno run` with what a bench script needs: the project's node_modules (no deno.json), reading
 * files and the environment, no progress output. Add the script, and `--allow-net` for a server.
 */
export const DENO_RUN: readonly string[] = [
  "run",
  "--quiet",
  "--no-config",
  "--node-modules-dir=manual",
  "--allow-read",
  "--allow-env",
];
