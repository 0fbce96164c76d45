// Installs, builds and starts the framework apps under test/frameworks/<name>/.
//
// - The library: built from this checkout (tsup) and packed (`npm pack`); the tarball is unpacked
//   into each app's node_modules/hertz-sse after the app's own install, so an app sees exactly
//   what npm would install, and its lock file does not change with every build.
// - An app's dependencies: `npm ci` from its own lock file, skipped while node_modules matches it
//   (as test/node-matrix is cached). Install scripts are not run: none of the apps needs one (Bun
//   comes from the project's own node_modules).
// - Its production build: redone when the app's sources, the shared routes, its lock file or the
//   packed library change (a hash kept in <app>/.stamp).
// - Each app runs on the Node version it supports: the Node 20 running the tests, or the Node 22
//   of test/node-matrix (installed here if missing).
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { freePort, ROOT, type RunningServer, startProcess } from "../_helpers/runtimes.ts";

export const FRAMEWORKS = join(ROOT, "test/frameworks");
const CACHE = join(FRAMEWORKS, ".cache");
const NODE_MATRIX = join(ROOT, "test/node-matrix");
/** For every build and server: no telemetry calls home (only the npm registry is reachable in CI). */
const QUIET = { NEXT_TELEMETRY_DISABLED: "1", ASTRO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1" };

export interface App {
  /** The folder under test/frameworks/. */
  name: string;
  /** What the README table calls it. */
  title: string;
  /** Which binary runs the build and the server. */
  runtime: "node20" | "node22" | "bun";
  /** The production build, run in the app's folder with the chosen Node first on PATH. */
  build?: string[];
  /** The production server: a command and arguments (PORT and HOST come from the environment). */
  start: string[];
  /** Sources that the build depends on, relative to the app folder (node_modules and outputs excluded). */
  sources: string[];
  /** Whether the app compresses responses (the scenario then asks for gzip, br and zstd). */
  compression: string;
}

export function nodeBinary(runtime: App["runtime"]): string {
  if (runtime === "node22") return join(NODE_MATRIX, "node_modules/node22/bin/node");
  if (runtime === "bun") return join(ROOT, "node_modules/.bin/bun");
  return process.execPath;
}

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, NO_COLOR: "1", ...QUIET, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(" ")} (in ${cwd}) exited with ${code}:\n${output.slice(-6000)}`));
    });
  });
}

function hashFiles(paths: string[]): string {
  const hash = createHash("sha256");
  const visit = (path: string) => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) {
      for (const entry of readdirSync(path).sort()) visit(join(path, entry));
      return;
    }
    hash.update(path);
    hash.update(readFileSync(path));
  };
  for (const path of paths) visit(path);
  return hash.digest("hex");
}

let packed: Promise<string> | undefined;

/**
 * Builds the library from this checkout and packs it; resolves with the tarball's path. Once per
 * run. HERTZ_SSE_TARBALL=<path> uses a tarball packed beforehand instead (for working on the apps
 * while the sources are in the middle of a change).
 */
export function packLibrary(): Promise<string> {
  const given = process.env.HERTZ_SSE_TARBALL;
  if (given) return Promise.resolve(given);
  packed ??= (async () => {
    await run(join(ROOT, "node_modules/.bin/tsup"), ["--silent"], ROOT);
    await mkdir(CACHE, { recursive: true });
    const output = await run("npm", ["pack", "--json", "--pack-destination", CACHE], ROOT);
    const [{ filename }] = JSON.parse(output.slice(output.indexOf("["))) as [{ filename: string }];
    return join(CACHE, filename);
  })();
  return packed;
}

let node22: Promise<void> | undefined;

function ensureNode22(): Promise<void> {
  node22 ??= existsSync(nodeBinary("node22"))
    ? Promise.resolve()
    : run("npm", ["ci", "--no-audit", "--no-fund", "--no-bin-links"], NODE_MATRIX).then(() => {});
  return node22;
}

/** Installs an app's dependencies if its node_modules does not match its lock file. */
export async function install(app: App): Promise<void> {
  const dir = join(FRAMEWORKS, app.name);
  const lock = await readFile(join(dir, "package-lock.json"), "utf8");
  const stampFile = join(dir, "node_modules/.hertz-install-stamp");
  const stamp = createHash("sha256").update(lock).digest("hex");
  if (existsSync(stampFile) && (await readFile(stampFile, "utf8")) === stamp) return;
  await run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], dir);
  await writeFile(stampFile, stamp);
}

/** Unpacks the library into the app, then builds the app for production if anything changed. */
export async function build(app: App, tarball: string): Promise<void> {
  const dir = join(FRAMEWORKS, app.name);
  const target = join(dir, "node_modules/hertz-sse");
  const tarballHash = hashFiles([tarball]);
  const libraryStamp = join(target, ".hertz-tarball");
  if (!existsSync(libraryStamp) || (await readFile(libraryStamp, "utf8")) !== tarballHash) {
    await rm(target, { recursive: true, force: true });
    await mkdir(target, { recursive: true });
    await run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"], dir);
    await writeFile(libraryStamp, tarballHash);
  }
  if (app.runtime === "node22") await ensureNode22();
  if (app.build === undefined) return;
  const stampFile = join(dir, ".stamp");
  const stampOf = () =>
    `${tarballHash}\n${hashFiles([...app.sources.map((source) => join(dir, source)), join(dir, "package-lock.json"), join(FRAMEWORKS, "_shared")])}`;
  if (existsSync(stampFile) && (await readFile(stampFile, "utf8")) === stampOf()) return;
  const node = nodeBinary(app.runtime === "bun" ? "node20" : app.runtime);
  const [command, ...args] = app.build;
  await run(command!, args, dir, {
    PATH: `${dirname(node)}:${join(dir, "node_modules/.bin")}:${process.env.PATH}`,
    NODE_ENV: "production",
  });
  // Taken after the build: some builds rewrite their own config (next build formats tsconfig.json).
  await writeFile(stampFile, stampOf());
}

/** Runs `tasks` with at most `limit` at a time; rejects with the first failure once all have settled. */
export async function pool<T>(items: T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  const worker = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
      try {
        await task(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  if (errors.length > 0) throw errors[0];
}

export interface StartedApp extends RunningServer {
  child?: ChildProcess;
}

/** Starts the app's production server on a free port; resolves once /debug answers. */
export async function start(app: App): Promise<StartedApp> {
  const dir = join(FRAMEWORKS, app.name);
  const port = await freePort();
  const node = nodeBinary(app.runtime);
  const [command, ...args] = app.start;
  return startProcess(command === "node" || command === "bun" ? node : command!, args, {
    cwd: dir,
    port,
    readyPath: "/debug",
    timeoutMs: 60_000,
    env: {
      ...QUIET,
      PORT: String(port),
      HOST: "127.0.0.1",
      // SvelteKit's adapter-node takes the origin from here (it assumes https otherwise, and
      // refuses a same-origin POST as cross-site).
      ORIGIN: `http://127.0.0.1:${port}`,
      NODE_ENV: "production",
      PATH: `${dirname(node)}:${join(dir, "node_modules/.bin")}:${process.env.PATH}`,
    },
  });
}
