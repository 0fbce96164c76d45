// Workload 2, one connection: 200 000 small events pushed over loopback HTTP as fast as the
// server's stream accepts them, to one client. Each server runs in its own process (its CPU is
// read with process.cpuUsage() from the request's arrival until the client has everything) and
// the client in another; all servers stay up, idle, and the runs take turns, so the ratios of one
// run are taken under the same conditions.
//
// - raw: node:http writing pre-encoded Buffers, one `res.write()` per event, waiting for 'drain'
//   when write() says so: the per-event floor.
// - hertz-sse: `sseResponse()` with `await stream.send(event)` in a loop, served by
//   @hono/node-server (the portable path) and by hertz-sse's Node adapter.
// - hono: `streamSSE()` with `await stream.writeSSE(...)` in a loop.
// - better-sse: `session.push(...)` on node:http; better-sse has no backpressure of its own, so
//   the loop waits for 'drain' like the raw baseline (without it, everything piles up in memory).
//
// The client keeps the bytes and, after the clock has stopped, parses them (eventsource-parser)
// and checks every event: type, id and data, in order.
//
//   npx tsx bench/connection.ts [--quick] [--runs=N] [--events=N] [--only=raw,hertz-sse]
import { once } from "node:events";
import { request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import { createSession } from "better-sse";
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
  type Target,
  type WorkloadReport,
} from "./lib/common.ts";
import { EVENT_TYPE, firstDifference, parseAll, smallData } from "./lib/events.ts";
import { listenHono, listenNode, SERVER_LABELS, SERVERS, type ServerName, SSE_HEADERS } from "./lib/http.ts";

// ---------------------------------------------------------------------------------------------
// Server process

async function startServer(name: ServerName, maxEvents: number, onRequest: () => void): Promise<number> {
  const countOf = (url: string | undefined) => Number(new URL(url ?? "/", "http://x").searchParams.get("n"));
  const hertzHandler = (request: Request) => {
    onRequest();
    const n = countOf(request.url);
    return sseResponse(
      request,
      async (stream) => {
        for (let seq = 1; seq <= n; seq++) await stream.send({ event: EVENT_TYPE, id: seq, data: smallData(seq) });
      },
      { keepAlive: false },
    );
  };
  switch (name) {
    case "raw": {
      // Pre-encoded, as the baseline is defined: this server pays for writing only.
      const chunks = Array.from({ length: maxEvents }, (_, i) =>
        Buffer.from(`event: ${EVENT_TYPE}\ndata: ${JSON.stringify(smallData(i + 1))}\nid: ${i + 1}\n\n`),
      );
      return (
        await listenNode(async (req, res) => {
          onRequest();
          const n = countOf(req.url);
          res.writeHead(200, SSE_HEADERS);
          for (let i = 0; i < n; i++) {
            if (!res.write(chunks[i]!)) await once(res, "drain");
          }
          res.end();
        })
      ).port;
    }
    case "hertz-sse":
      return (await listenHono(hertzHandler)).port;
    case "hertz-sse/hono": {
      const app = new Hono();
      app.get("/", (c) => {
        onRequest();
        const n = countOf(c.req.url);
        return sse(
          c,
          async (stream) => {
            for (let seq = 1; seq <= n; seq++) await stream.send({ event: EVENT_TYPE, id: seq, data: smallData(seq) });
          },
          { keepAlive: false },
        );
      });
      return (await listenHono(app.fetch)).port;
    }
    case "hertz-sse/node":
      return (await listenNode(toNodeListener(hertzHandler))).port;
    case "hono": {
      const app = new Hono();
      app.get("/", (c) => {
        onRequest();
        const n = countOf(c.req.url);
        return streamSSE(c, async (stream) => {
          for (let seq = 1; seq <= n; seq++) {
            await stream.writeSSE({ event: EVENT_TYPE, id: String(seq), data: JSON.stringify(smallData(seq)) });
          }
        });
      });
      return (await listenHono(app.fetch)).port;
    }
    case "better-sse":
      return (
        await listenNode(async (req, res) => {
          onRequest();
          const n = countOf(req.url);
          const session = await createSession(req, res, { keepAlive: null, retry: null });
          for (let seq = 1; seq <= n; seq++) {
            session.push(smallData(seq), EVENT_TYPE, String(seq));
            if (res.writableNeedDrain) await once(res, "drain");
          }
          res.end();
        })
      ).port;
  }
}

async function serverMain(name: ServerName, maxEvents: number): Promise<void> {
  let since: NodeJS.CpuUsage | undefined;
  const port = await startServer(name, maxEvents, () => {
    since = process.cpuUsage();
  });
  serveParent((message) => {
    if (message.type === "gc") {
      gc();
      return { type: "gc" };
    }
    if (message.type === "cpu") {
      const usage = process.cpuUsage(since);
      return { type: "cpu", micros: since ? cpuMicros(since) : Number.NaN, systemMicros: usage.system };
    }
    return undefined;
  });
  process.send!({ type: "listening", port });
}

// ---------------------------------------------------------------------------------------------
// Client process

function fetchAll(port: number, n: number): Promise<{ ms: number; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const started = performance.now();
    const req = httpRequest({ host: "127.0.0.1", port, path: `/?n=${n}`, headers: { Accept: "text/event-stream" } }, (res) => {
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ ms: performance.now() - started, bytes: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

function clientMain(): void {
  serveParent(async (message) => {
    if (message.type !== "fetch") return undefined;
    const n = message.n as number;
    const since = process.cpuUsage();
    const { ms, bytes } = await fetchAll(message.port as number, n);
    const clientMicros = cpuMicros(since);
    let difference: string | undefined;
    if (message.verify)
      difference = firstDifference(parseAll(bytes.toString("utf8")), n, (seq) => JSON.stringify(smallData(seq)));
    return { type: "fetched", ms, bytes: bytes.length, difference, clientMicros };
  });
  process.send!({ type: "ready" });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Sample {
  eventsPerSecond: number;
  cpuPerEvent: number;
  /** The kernel's part of it: on loopback, the sender's writes also do the receiving side's TCP work. */
  systemCpuPerEvent: number;
  clientCpuPerEvent: number;
}

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(5, 2);
  const n = Number(args.get("events") ?? (quick ? 50_000 : 200_000));
  const only = args.get("only")?.split(",");
  const names = SERVERS.filter((name) => !only || only.includes(name));
  const script = fileURLToPath(import.meta.url);
  const servers = new Map<ServerName, { child: Child; port: number }>();
  const client = new Child(script, ["--role=client"]);
  const checks: Check[] = [];
  const samples = new Map<ServerName, Sample[]>(names.map((name) => [name, []]));
  try {
    for (const name of names) {
      const child = new Child(script, ["--role=server", `--server=${name}`, `--max=${n}`], serverExecArgv());
      const { port } = await child.next<ChildMessage & { port: number }>("listening");
      servers.set(name, { child, port });
    }
    await client.next("ready");
    // Warm-up, and the correctness check: every event of one full run parsed and compared.
    for (const name of names) {
      const { child, port } = servers.get(name)!;
      const answer = await client.ask<ChildMessage & { difference?: string }>(
        { type: "fetch", port, n, verify: true },
        "fetched",
      );
      checks.push({
        name: `${SERVER_LABELS[name]}: ${n} events arrive in order, intact`,
        ok: answer.difference === undefined,
        detail: answer.difference,
      });
      await child.ask({ type: "gc" }, "gc");
    }
    for (let r = 0; r < runs; r++) {
      for (const name of names) {
        const { child, port } = servers.get(name)!;
        await child.ask({ type: "gc" }, "gc");
        const answer = await client.ask<ChildMessage & { ms: number; clientMicros: number }>(
          { type: "fetch", port, n, verify: false },
          "fetched",
        );
        const { micros, systemMicros } = await child.ask<ChildMessage & { micros: number; systemMicros: number }>(
          { type: "cpu" },
          "cpu",
        );
        samples.get(name)!.push({
          eventsPerSecond: n / (answer.ms / 1000),
          cpuPerEvent: micros / n,
          systemCpuPerEvent: systemMicros / n,
          clientCpuPerEvent: answer.clientMicros / n,
        });
      }
    }
  } finally {
    await client.stop();
    for (const { child } of servers.values()) await child.stop();
  }
  const raw = samples.get("raw");
  const vsRaw = (name: ServerName, key: keyof Sample) =>
    raw ? median(samples.get(name)!.map((sample, r) => sample[key] / raw[r]![key])) : Number.NaN;
  const rows = names.map((name) => {
    const list = samples.get(name)!;
    return [
      SERVER_LABELS[name],
      fmt(median(list.map((s) => s.eventsPerSecond))),
      ratio(vsRaw(name, "eventsPerSecond")),
      `${fmt(median(list.map((s) => s.cpuPerEvent)))} µs (${fmt(median(list.map((s) => s.systemCpuPerEvent)))} system)`,
      ratio(vsRaw(name, "cpuPerEvent")),
      `${fmt(median(list.map((s) => s.clientCpuPerEvent)))} µs`,
    ];
  });
  const targets: Target[] = [];
  for (const name of ["hertz-sse", "hertz-sse/node"] as const) {
    if (!samples.has(name) || !raw) continue;
    const speed = vsRaw(name, "eventsPerSecond");
    const cpu = vsRaw(name, "cpuPerEvent");
    targets.push({
      target: `one connection, ${SERVER_LABELS[name]}: ≥ raw's events/s at ≤ 2× raw's CPU per event`,
      measured: `${ratio(speed)} raw's events/s at ${ratio(cpu)} its CPU per event`,
      met: speed >= 1 && cpu <= 2,
    });
  }
  // Issue 16: the default fast path (target 2) and the portable path against better-sse (target 3).
  if (samples.has("hertz-sse/hono") && raw) {
    const speed = vsRaw("hertz-sse/hono", "eventsPerSecond");
    const cpu = vsRaw("hertz-sse/hono", "cpuPerEvent");
    targets.push({
      target: `one connection, ${SERVER_LABELS["hertz-sse/hono"]}: ≥ 1.5× raw's events/s at ≤ 0.8× raw's CPU per event (issue 16)`,
      measured: `${ratio(speed)} raw's events/s at ${ratio(cpu)} its CPU per event`,
      met: speed >= 1.5 && cpu <= 0.8,
    });
  }
  const better = samples.get("better-sse");
  const portable = samples.get("hertz-sse");
  if (better && portable) {
    const speed = median(portable.map((sample, r) => sample.eventsPerSecond / better[r]!.eventsPerSecond));
    const cpu = median(portable.map((sample, r) => sample.cpuPerEvent / better[r]!.cpuPerEvent));
    targets.push({
      target: `one connection, ${SERVER_LABELS["hertz-sse"]}: ≥ better-sse's events/s (issue 16)`,
      measured: `${ratio(speed)} better-sse's events/s at ${ratio(cpu)} its CPU per event`,
      met: speed >= 1,
    });
  }
  return {
    workload: "connection",
    title: "2. One connection over loopback HTTP",
    params: { runs, events: n, node: process.version },
    tables: [
      {
        title: `${n.toLocaleString("en-US")} small events on one connection (median of ${runs} runs; ratios are medians of per-run ratios)`,
        columns: ["server", "events/s", "vs raw", "server CPU per event", "vs raw", "client CPU per event"],
        rows,
      },
    ],
    checks,
    targets,
    data: Object.fromEntries(samples),
  };
}

const role = args.get("role");
if (role === "server") await serverMain(args.get("server") as ServerName, Number(args.get("max")));
else if (role === "client") clientMain();
else if (isMain(import.meta.url)) {
  const report = await run();
  if (process.send) process.send({ type: "report", report });
  else printReport(report);
}
