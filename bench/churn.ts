// Workload 5, churn: 5 000 event-stream connections opened and closed by the client, 50 at a
// time. Each server answers with one event and holds the stream open until the client goes
// away. Reported: wall time per connection, server CPU per connection (process.cpuUsage() over
// the churn), streams still alive afterwards (must be 0: every disconnect noticed and cleaned
// up), and the server's heap growth (after GC, against the same after a warm-up round).
//
// The client checks that every connection's first event parses back as sent before it closes it.
//
//   npx tsx bench/churn.ts [--quick] [--runs=N] [--connections=5000] [--only=raw,hertz-sse]
import { Agent, request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import { createSession } from "better-sse";
import { createParser } from "eventsource-parser";
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { sse } from "../src/adapters/hono.ts";
import { toNodeListener } from "../src/adapters/node.ts";
import { sseResponse } from "../src/core/response.ts";
import {
  args,
  type Check,
  Child,
  type ChildMessage,
  cpuMicros,
  fmt,
  gc,
  isMain,
  isQuick,
  median,
  printReport,
  ratio,
  runCount,
  serveParent,
  serverExecArgv,
  sleep,
  type Target,
  type WorkloadReport,
} from "./lib/common.ts";
import { listenHono, listenNode, SERVER_LABELS, SERVERS, type ServerName, SSE_HEADERS } from "./lib/http.ts";

const BATCH = 50;
const HELLO = { event: "hello", data: "hi" };

// ---------------------------------------------------------------------------------------------
// Server process

async function startServer(name: ServerName, live: { count: number }): Promise<number> {
  // Each library's own way of holding a stream open until the client leaves: `closed` here,
  // `onAbort` for hono, the `disconnected` event for better-sse.
  const hertzHandler = (request: Request) =>
    sseResponse(request, async (stream) => {
      live.count++;
      await stream.send(HELLO);
      await stream.closed;
      live.count--;
    });
  switch (name) {
    case "raw": {
      const hello = Buffer.from(`event: ${HELLO.event}\ndata: ${HELLO.data}\n\n`);
      return (
        await listenNode((_req, res) => {
          live.count++;
          res.writeHead(200, SSE_HEADERS);
          res.write(hello);
          res.on("close", () => live.count--);
        })
      ).port;
    }
    case "hertz-sse":
      return (await listenHono(hertzHandler)).port;
    case "hertz-sse/hono": {
      const app = new Hono();
      app.get("/", (c) =>
        sse(c, async (stream) => {
          live.count++;
          await stream.send(HELLO);
          await stream.closed;
          live.count--;
        }),
      );
      return (await listenHono(app.fetch)).port;
    }
    case "hertz-sse/node":
      return (await listenNode(toNodeListener(hertzHandler))).port;
    case "hono": {
      const app = new Hono();
      app.get("/", (c) =>
        streamSSE(c, async (stream) => {
          live.count++;
          await stream.writeSSE(HELLO);
          await new Promise<void>((resolve) => stream.onAbort(() => resolve()));
          live.count--;
        }),
      );
      return (await listenHono(app.fetch)).port;
    }
    case "better-sse":
      return (
        await listenNode(async (req, res) => {
          const session = await createSession(req, res, { retry: null });
          live.count++;
          session.once("disconnected", () => live.count--);
          session.push(HELLO.data, HELLO.event);
        })
      ).port;
  }
}

async function serverMain(name: ServerName): Promise<void> {
  const live = { count: 0 };
  const port = await startServer(name, live);
  let since: NodeJS.CpuUsage | undefined;
  serveParent(async (message) => {
    switch (message.type) {
      case "mark":
        await sleep(200);
        gc();
        since = process.cpuUsage();
        return { type: "mark", heap: process.memoryUsage().heapUsed };
      case "cpu":
        return { type: "cpu", micros: cpuMicros(since) };
      case "settle": {
        // Streams still alive once every close has had time to arrive.
        for (let waited = 0; live.count > 0 && waited < 2000; waited += 50) await sleep(50);
        await sleep(200);
        gc();
        return { type: "settle", live: live.count, heap: process.memoryUsage().heapUsed };
      }
    }
    return undefined;
  });
  process.send!({ type: "listening", port });
}

// ---------------------------------------------------------------------------------------------
// Client process

/** Opens one stream, waits for its first event, checks it, and closes the connection. */
function cycle(port: number, agent: Agent): Promise<string | undefined> {
  return new Promise((resolve) => {
    let problem: string | undefined;
    let seen = false;
    const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent, headers: { Accept: "text/event-stream" } }, (res) => {
      const parser = createParser({
        onEvent(event) {
          if (seen) return;
          seen = true;
          if (event.event !== HELLO.event || (event.data !== HELLO.data && event.data !== JSON.stringify(HELLO.data))) {
            problem = `first event ${JSON.stringify(event)}`;
          }
          req.destroy();
        },
      });
      res.setEncoding("utf8");
      res.on("data", (text: string) => parser.feed(text));
      res.on("error", () => {});
    });
    req.on("error", () => {});
    req.on("close", () => resolve(seen ? problem : (problem ?? "closed before the first event")));
    req.end();
  });
}

function clientMain(): void {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  serveParent(async (message) => {
    if (message.type !== "churn") return undefined;
    const port = message.port as number;
    const connections = message.connections as number;
    const problems: string[] = [];
    const started = performance.now();
    for (let i = 0; i < connections; i += BATCH) {
      const results = await Promise.all(Array.from({ length: Math.min(BATCH, connections - i) }, () => cycle(port, agent)));
      for (const result of results) if (result !== undefined && problems.length < 5) problems.push(result);
    }
    return { type: "churned", ms: performance.now() - started, problems };
  });
  process.send!({ type: "ready" });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Sample {
  msPerConnection: number;
  cpuPerConnection: number;
  live: number;
  heapGrowth: number;
  problems: string[];
}

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(3, 1);
  const connections = Number(args.get("connections") ?? (quick ? 1000 : 5000));
  const only = args.get("only")?.split(",");
  const names = SERVERS.filter((name) => !only || only.includes(name));
  const script = fileURLToPath(import.meta.url);
  const servers = new Map<ServerName, { child: Child; port: number }>();
  const samples = new Map<ServerName, Sample[]>(names.map((name) => [name, []]));
  const client = new Child(script, ["--role=client"]);
  try {
    for (const name of names) {
      const child = new Child(script, ["--role=server", `--server=${name}`], serverExecArgv());
      const { port } = await child.next<ChildMessage & { port: number }>("listening");
      servers.set(name, { child, port });
    }
    await client.next("ready");
    for (const name of names) await client.ask({ type: "churn", port: servers.get(name)!.port, connections: 500 }, "churned");
    for (let r = 0; r < runs; r++) {
      for (const name of names) {
        const { child, port } = servers.get(name)!;
        const before = await child.ask<ChildMessage & { heap: number }>({ type: "mark" }, "mark");
        const churned = await client.ask<ChildMessage & { ms: number; problems: string[] }>(
          { type: "churn", port, connections },
          "churned",
          600_000,
        );
        const { micros } = await child.ask<ChildMessage & { micros: number }>({ type: "cpu" }, "cpu");
        const after = await child.ask<ChildMessage & { live: number; heap: number }>({ type: "settle" }, "settle");
        samples.get(name)!.push({
          msPerConnection: churned.ms / connections,
          cpuPerConnection: micros / connections,
          live: after.live,
          heapGrowth: after.heap - before.heap,
          problems: churned.problems,
        });
      }
    }
  } finally {
    await client.stop();
    for (const { child } of servers.values()) await child.stop();
  }
  const raw = samples.get("raw");
  const cpuVsRaw = (name: ServerName) =>
    raw ? median(samples.get(name)!.map((s, r) => s.cpuPerConnection / raw[r]!.cpuPerConnection)) : Number.NaN;
  const checks: Check[] = names.map((name) => {
    const list = samples.get(name)!;
    const live = Math.max(...list.map((s) => s.live));
    const problems = list.flatMap((s) => s.problems);
    return {
      name: `${SERVER_LABELS[name]}: every stream answered correctly, and none alive afterwards`,
      ok: live === 0 && problems.length === 0,
      detail: live === 0 && problems.length === 0 ? undefined : `${live} alive; ${problems.slice(0, 3).join("; ")}`,
    };
  });
  const targets: Target[] = [];
  for (const name of ["hertz-sse", "hertz-sse/node"] as const) {
    if (!samples.has(name)) continue;
    const list = samples.get(name)!;
    const cpu = median(list.map((s) => s.cpuPerConnection));
    const live = Math.max(...list.map((s) => s.live));
    targets.push({
      target: `churn, ${SERVER_LABELS[name]}: clean (0 streams alive) at ≤ 300 µs of server CPU per connection`,
      measured: `${live} alive, ${fmt(cpu, 0)} µs per connection (${ratio(cpuVsRaw(name))} raw)`,
      met: live === 0 && cpu <= 300,
    });
  }
  // Issue 16, target 5: every path at ≤ 1.5× raw, and the Node adapter no slower than the portable path.
  for (const name of ["hertz-sse", "hertz-sse/hono", "hertz-sse/node"] as const) {
    if (!samples.has(name) || !samples.has("raw")) continue;
    targets.push({
      target: `churn, ${SERVER_LABELS[name]}: ≤ 1.5× raw's server CPU per connection (issue 16)`,
      measured: `${ratio(cpuVsRaw(name))} raw`,
      met: cpuVsRaw(name) <= 1.5,
    });
  }
  if (samples.has("hertz-sse") && samples.has("hertz-sse/node")) {
    const portable = samples.get("hertz-sse")!;
    const adapter = median(samples.get("hertz-sse/node")!.map((s, r) => s.cpuPerConnection / portable[r]!.cpuPerConnection));
    targets.push({
      target: "churn: the Node adapter's server CPU per connection ≤ the portable path's (issue 16)",
      measured: `${ratio(adapter)} the portable path's`,
      met: adapter <= 1,
    });
  }
  return {
    workload: "churn",
    title: "5. Churn",
    params: { runs, connections, batch: BATCH, node: process.version },
    tables: [
      {
        title: `${connections.toLocaleString("en-US")} connections opened and closed ${BATCH} at a time (median of ${runs} run${runs > 1 ? "s" : ""})`,
        columns: ["server", "time per connection", "server CPU per connection", "vs raw", "alive afterwards", "heap growth"],
        rows: names.map((name) => {
          const list = samples.get(name)!;
          return [
            SERVER_LABELS[name],
            `${fmt(median(list.map((s) => s.msPerConnection)) * 1000, 0)} µs`,
            `${fmt(median(list.map((s) => s.cpuPerConnection)), 0)} µs`,
            ratio(cpuVsRaw(name)),
            String(Math.max(...list.map((s) => s.live))),
            `${fmt(median(list.map((s) => s.heapGrowth)) / 1024, 0)} KB`,
          ];
        }),
      },
    ],
    checks,
    targets,
    data: Object.fromEntries(samples),
  };
}

const role = args.get("role");
if (role === "server") await serverMain(args.get("server") as ServerName);
else if (role === "client") clientMain();
else if (isMain(import.meta.url)) {
  const report = await run();
  if (process.send) process.send({ type: "report", report });
  else printReport(report);
}
