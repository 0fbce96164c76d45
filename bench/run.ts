// The benchmark suite of issue 7: runs the five workloads one after another, each in its own
// process, and writes bench/results/latest.json (every number) and bench/results/latest.md (the
// tables, the checks and the targets).
//
//   npm run bench                          all five workloads, full size (about 15 minutes)
//   npm run bench -- --quick               smaller sizes and fewer runs (under 2 minutes)
//   BENCH_QUICK=1 npm run bench            the same
//   npm run bench -- --only=encode,parse   some workloads; also --runs=N, --cpu-prof=DIR
//
// Run it on an otherwise idle machine: the load average before and after is recorded, and the
// tables are only comparable within one run (the ratios are taken within each run).
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { args, Child, type ChildMessage, isQuick, markdownReport, type WorkloadReport } from "./lib/common.ts";

const WORKLOADS = [
  ["encode", "encode.ts"],
  ["connection", "connection.ts"],
  ["fanout", "fanout.ts"],
  ["parse", "parse-throughput.ts"],
  ["churn", "churn.ts"],
  ["runtimes", "encode-parse-runtimes.ts"],
  ["connection-runtimes", "connection-runtimes.ts"],
] as const;

function version(name: string): string {
  try {
    const file = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function git(...command: string[]): string {
  try {
    return execFileSync("git", command, { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) }).trim();
  } catch {
    return "unknown";
  }
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(" / ");

async function main(): Promise<void> {
  const quick = isQuick();
  const only = args.get("only")?.split(",");
  const passThrough = process.argv.slice(2).filter((arg) => !arg.startsWith("--only="));
  if (quick && !passThrough.includes("--quick")) passThrough.push("--quick");
  const started = new Date();
  const loadBefore = load();
  const machine = {
    cpu: `${cpus()[0]?.model ?? "unknown"} × ${cpus().length}`,
    memory: `${Math.round(totalmem() / 2 ** 30)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
  const versions = Object.fromEntries(
    ["hono", "@hono/node-server", "better-sse", "eventsource-parser", "tsx"].map((name) => [name, version(name)]),
  );
  const commit = `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "src").length > 0 ? " + uncommitted changes in src/" : ""}`;
  console.log(`hertz-sse benchmarks${quick ? " (quick)" : ""}: ${machine.cpu}, Node ${machine.node}, load average ${loadBefore}`);
  const reports: WorkloadReport[] = [];
  for (const [name, file] of WORKLOADS) {
    if (only && !only.includes(name)) continue;
    const t = performance.now();
    console.log(`\n== ${name}`);
    const child = new Child(fileURLToPath(new URL(file, import.meta.url)), passThrough);
    try {
      const { report } = await child.next<ChildMessage & { report: WorkloadReport }>("report", 3_600_000);
      reports.push(report);
      console.log(markdownReport(report));
      console.log(`(${((performance.now() - t) / 1000).toFixed(0)} s)`);
    } finally {
      await child.stop();
    }
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  const loadAfter = load();
  const command = `npm run bench${passThrough.length || only ? ` -- ${[...passThrough, ...(only ? [`--only=${only.join(",")}`] : [])].join(" ")}` : ""}`;
  const results = {
    date: started.toISOString(),
    command,
    quick,
    seconds,
    commit,
    machine,
    versions,
    loadBefore,
    loadAfter,
    reports,
  };
  const dir = fileURLToPath(new URL("results/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(results, null, 2)}\n`);
  const targets = reports.flatMap((report) => report.targets);
  const failed = reports.flatMap((report) => report.checks.filter((check) => !check.ok));
  const md = [
    `## hertz-sse benchmark results${quick ? " (quick mode)" : ""}`,
    "",
    `- Date: ${results.date} (${seconds.toFixed(0)} s); command: \`${command}\`; commit ${commit}`,
    `- Machine: ${machine.cpu}, ${machine.memory}, ${machine.platform}; Node ${machine.node}`,
    `- Versions: ${Object.entries(versions)
      .map(([name, v]) => `${name} ${v}`)
      .join(", ")}`,
    `- Load average (1 / 5 / 15 min): ${loadBefore} before, ${loadAfter} after`,
    `- Correctness: ${failed.length === 0 ? "every check passed" : `**${failed.length} checks failed**`}; targets: ${targets.filter((t) => t.met).length} of ${targets.length} met`,
    "",
    ...reports.map(markdownReport),
  ].join("\n");
  writeFileSync(`${dir}latest.md`, `${md}\n`);
  console.log(`\nwrote bench/results/latest.json and bench/results/latest.md (${seconds.toFixed(0)} s)`);
  if (failed.length > 0) process.exitCode = 1;
}

await main();
