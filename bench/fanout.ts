// Workload 3, fan-out: N subscribers (100, 1 000 and 5 000) over loopback HTTP, and one broadcast
// every 10 ms (every 100 ms at 5 000) for 5 s, served side by side in one run by:
//
// - raw: node:http writing one pre-encoded Buffer to every response (the floor);
// - hertz-sse: `SSEHub` on @hono/node-server (the portable path), the same hub returned from a Hono
//   route under `nodeFastPath()` (hertz-sse/hono), and served by hertz-sse's Node adapter
//   (`toNodeListener`);
// - hono: `streamSSE` with a `Set` of streams as the hub, on @hono/node-server;
// - better-sse: its `Channel` on node:http.
//
// Each server runs alone in its own process, and the clients in another one, so the server's CPU
// (`process.cpuUsage()` over the broadcast window) and memory (RSS, and heap after GC, with N idle
// subscribers, minus the same before they connected) are the server's own. Reported: delivered
// rate per subscriber, losses, latency from broadcast to receipt (p50, p99), server CPU per
// delivery (one event to one subscriber) and its ratio to raw within the same run, RSS and heap
// per connection. The client checks every event's sequence number on every connection, and parses
// the first ten connections completely with eventsource-parser.
//
//   npx tsx bench/fanout.ts [--quick] [--runs=N] [--subscribers=100,1000] [--seconds=5] [--only=raw,hertz-sse]
import { Agent, request as httpRequest } from "node:http";
import { fileURLToPath } from "node:url";
import { createChannel, createSession } from "better-sse";
import { createParser } from "eventsource-parser";
import { Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { nodeFastPath } from "../src/adapters/hono.ts";
import { toNodeListener } from "../src/adapters/node.ts";
import { SSEHub } from "../src/hub/index.ts";
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
  percentile,
  printReport,
  ratio,
  runCount,
  serveParent,
  serverExecArgv,
  sleep,
  type Table,
  type Target,
  type WorkloadReport,
  wallMs,
} from "./lib/common.ts";
import { smallData } from "./lib/events.ts";
import { listenHono, listenNode, SERVER_LABELS, SERVERS, type ServerName, SSE_HEADERS } from "./lib/http.ts";

// ---------------------------------------------------------------------------------------------
// Server process

interface FanoutServer {
  port: number;
  count(): number;
  broadcast(seq: number): void;
}

async function startServer(name: ServerName): Promise<FanoutServer> {
  // Every contender serialises the same payload once per broadcast.
  const payload = (seq: number) => smallData(seq, wallMs());
  switch (name) {
    case "raw": {
      const clients = new Set<import("node:http").ServerResponse>();
      const { port } = await listenNode((_req, res) => {
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        clients.add(res);
        res.on("close", () => clients.delete(res));
      });
      return {
        port,
        count: () => clients.size,
        broadcast(seq) {
          const chunk = Buffer.from(`data: ${JSON.stringify(payload(seq))}\nid: ${seq}\n\n`);
          for (const res of clients) res.write(chunk);
        },
      };
    }
    case "hertz-sse":
    case "hertz-sse/hono":
    case "hertz-sse/node": {
      const hub = new SSEHub();
      const fetch = (request: Request) => hub.subscribe(request);
      // Through Hono, the hub's response is returned from a route as its documentation shows, with
      // the nodeFastPath() middleware.
      const hono = new Hono().use(nodeFastPath()).get("/", (c) => hub.subscribe(c.req.raw));
      const { port } =
        name === "hertz-sse"
          ? await listenHono(fetch)
          : name === "hertz-sse/hono"
            ? await listenHono(hono.fetch)
            : await listenNode(toNodeListener(fetch));
      return {
        port,
        count: () => hub.size,
        broadcast(seq) {
          void hub.publish({ data: payload(seq) });
        },
      };
    }
    case "hono": {
      const streams = new Set<SSEStreamingApi>();
      const app = new Hono();
      app.get("/", (c) =>
        streamSSE(c, async (stream) => {
          streams.add(stream);
          await new Promise<void>((resolve) => stream.onAbort(() => resolve()));
          streams.delete(stream);
        }),
      );
      const { port } = await listenHono(app.fetch);
      return {
        port,
        count: () => streams.size,
        broadcast(seq) {
          const data = JSON.stringify(payload(seq));
          for (const stream of streams) void stream.writeSSE({ data, id: String(seq) });
        },
      };
    }
    case "better-sse": {
      const channel = createChannel();
      const { port } = await listenNode(async (req, res) => {
        channel.register(await createSession(req, res));
      });
      return {
        port,
        count: () => channel.sessionCount,
        broadcast(seq) {
          channel.broadcast(payload(seq), "message", { eventId: String(seq) });
        },
      };
    }
  }
}

async function serverMain(name: ServerName): Promise<void> {
  const server = await startServer(name);
  await sleep(200);
  gc();
  const base = process.memoryUsage();
  serveParent(async (message) => {
    switch (message.type) {
      case "count":
        return { type: "count", count: server.count() };
      case "memory": {
        await sleep(300);
        gc();
        const now = process.memoryUsage();
        return { type: "memory", heap: now.heapUsed - base.heapUsed, rss: now.rss - base.rss };
      }
      case "start": {
        const rate = message.rate as number;
        const total = Math.round((message.seconds as number) * rate);
        const since = process.cpuUsage();
        const start = performance.now();
        let sent = 0;
        // Catch-up scheduling: each wake-up sends every broadcast due by now, so timer drift does
        // not lower the rate.
        await new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            const due = Math.min(Math.floor(((performance.now() - start) * rate) / 1000) + 1, total);
            while (sent < due) server.broadcast(++sent);
            if (sent >= total) {
              clearInterval(timer);
              resolve();
            }
          }, 1000 / rate);
        });
        const elapsedMs = performance.now() - start;
        // Let the last writes leave the process before CPU is read.
        await sleep(300);
        return { type: "done", broadcasts: sent, cpuMicros: cpuMicros(since), elapsedMs };
      }
    }
    return undefined;
  });
  process.send!({ type: "listening", port: server.port });
}

// ---------------------------------------------------------------------------------------------
// Client process

const FULLY_PARSED = 10;

async function clientMain(port: number, subscribers: number, expected: number): Promise<void> {
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const received = new Array<number>(subscribers).fill(0);
  const latencies = new Float64Array(subscribers * expected);
  let samples = 0;
  let gaps = 0;
  let closed = 0;
  const problems: string[] = [];
  const open = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent, headers: { Accept: "text/event-stream" } }, (res) => {
        let rest = "";
        let last = 0;
        res.setEncoding("latin1");
        // The first connections are also parsed completely, as a check of the bytes themselves.
        const parser =
          index < FULLY_PARSED
            ? createParser({
                onEvent(event) {
                  const seq = (JSON.parse(event.data) as { seq: number }).seq;
                  if (event.id === undefined || event.id === "") problems.push(`connection ${index}: event ${seq} without an id`);
                },
              })
            : undefined;
        res.on("data", (text: string) => {
          const now = wallMs();
          parser?.feed(text);
          const lines = (rest + text).split("\n");
          rest = lines.pop()!;
          for (const line of lines) {
            // better-sse writes "data:" without the optional space.
            if (!line.startsWith("data:")) continue;
            const seqAt = line.indexOf('"seq":');
            const seq = Number.parseInt(line.slice(seqAt + 6), 10);
            if (seq !== last + 1) gaps += Math.max(0, seq - last - 1);
            last = seq;
            received[index]!++;
            const tAt = line.indexOf('"t":');
            if (samples < latencies.length) latencies[samples++] = now - Number.parseFloat(line.slice(tAt + 4));
          }
        });
        res.on("close", () => closed++);
        resolve();
      });
      req.on("error", reject);
      req.end();
    });
  for (let i = 0; i < subscribers; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, subscribers - i) }, (_, j) => open(i + j)));
  }
  serveParent((message) => {
    if (message.type !== "report") return undefined;
    const sorted = latencies.subarray(0, samples).sort();
    return {
      type: "report",
      received: received.reduce((sum, n) => sum + n, 0),
      minReceived: Math.min(...received),
      gaps,
      closed,
      p50: percentile(sorted, 50),
      p99: percentile(sorted, 99),
      problems: problems.slice(0, 5),
    };
  });
  process.send!({ type: "connected" });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

interface Result {
  server: ServerName;
  subscribers: number;
  rate: number;
  hz: number;
  minHz: number;
  lost: number;
  gaps: number;
  closed: number;
  p50: number;
  p99: number;
  cpuPerDelivery: number;
  cpuShare: number;
  heapPerConnection: number;
  rssPerConnection: number;
  problems: string[];
}

async function measure(server: ServerName, subscribers: number, seconds: number, rate: number): Promise<Result> {
  const script = fileURLToPath(import.meta.url);
  const serverChild = new Child(script, ["--role=server", `--server=${server}`], serverExecArgv());
  let client: Child | undefined;
  try {
    const { port } = await serverChild.next<ChildMessage & { port: number }>("listening");
    const expected = Math.round(seconds * rate);
    client = new Child(script, ["--role=client", `--port=${port}`, `--subscribers=${subscribers}`, `--expected=${expected}`]);
    await client.next("connected");
    for (;;) {
      const { count } = await serverChild.ask<ChildMessage & { count: number }>({ type: "count" }, "count");
      if (count >= subscribers) break;
      await sleep(50);
    }
    const memory = await serverChild.ask<ChildMessage & { heap: number; rss: number }>({ type: "memory" }, "memory");
    const done = await serverChild.ask<ChildMessage & { broadcasts: number; cpuMicros: number; elapsedMs: number }>(
      { type: "start", rate, seconds },
      "done",
      600_000,
    );
    const report = await client.ask<
      ChildMessage & {
        received: number;
        minReceived: number;
        gaps: number;
        closed: number;
        p50: number;
        p99: number;
        problems: string[];
      }
    >({ type: "report" }, "report");
    const secs = done.elapsedMs / 1000;
    return {
      server,
      subscribers,
      rate,
      hz: report.received / subscribers / secs,
      minHz: report.minReceived / secs,
      lost: done.broadcasts * subscribers - report.received,
      gaps: report.gaps,
      closed: report.closed,
      p50: report.p50,
      p99: report.p99,
      cpuPerDelivery: done.cpuMicros / report.received,
      cpuShare: done.cpuMicros / 1000 / done.elapsedMs,
      heapPerConnection: memory.heap / subscribers,
      rssPerConnection: memory.rss / subscribers,
      problems: report.problems,
    };
  } finally {
    await client?.stop();
    await serverChild.stop();
  }
}

export async function run(): Promise<WorkloadReport> {
  const quick = isQuick();
  const runs = runCount(3, 1);
  const seconds = Number(args.get("seconds") ?? (quick ? 2 : 5));
  const sizes = (args.get("subscribers") ?? (quick ? "1000" : "100,1000,5000")).split(",").map(Number);
  const only = args.get("only")?.split(",");
  const names = SERVERS.filter((name) => !only || only.includes(name));
  const results: Result[] = [];
  const checks: Check[] = [];
  for (const subscribers of sizes) {
    const rate = subscribers >= 5000 ? 10 : 100;
    for (let r = 0; r < runs; r++) {
      for (const name of names) {
        const result = await measure(name, subscribers, seconds, rate);
        results.push(result);
        console.error(`  fan-out ${subscribers} × ${rate} Hz, run ${r + 1}: ${name} done`);
      }
    }
  }
  const tables: Table[] = [];
  const targets: Target[] = [];
  for (const subscribers of sizes) {
    const rate = subscribers >= 5000 ? 10 : 100;
    const of = (name: ServerName) => results.filter((result) => result.server === name && result.subscribers === subscribers);
    const raw = of("raw");
    const cpuRatio = (name: ServerName) =>
      raw.length ? median(of(name).map((result, i) => result.cpuPerDelivery / raw[i]!.cpuPerDelivery)) : Number.NaN;
    const med = (name: ServerName, key: keyof Result) => median(of(name).map((result) => result[key] as number));
    tables.push({
      title: `${subscribers.toLocaleString("en-US")} subscribers, ${rate} broadcasts/s for ${seconds} s (median of ${runs} run${runs > 1 ? "s" : ""})`,
      columns: [
        "server",
        "delivered Hz (avg / min)",
        "lost",
        "latency p50 / p99",
        "server CPU per delivery",
        "vs raw",
        "server CPU",
        "heap per connection",
        "RSS per connection",
      ],
      rows: names.map((name) => [
        SERVER_LABELS[name],
        `${fmt(med(name, "hz"), 1)} / ${fmt(med(name, "minHz"), 1)}`,
        `${fmt(Math.max(...of(name).map((r) => r.lost)), 0)}${of(name).some((r) => r.closed > 0) ? ` (${Math.max(...of(name).map((r) => r.closed))} closed)` : ""}`,
        `${fmt(med(name, "p50"))} / ${fmt(med(name, "p99"))} ms`,
        `${fmt(med(name, "cpuPerDelivery"))} µs`,
        ratio(cpuRatio(name)),
        `${fmt(med(name, "cpuShare") * 100, 0)} %`,
        `${fmt(med(name, "heapPerConnection") / 1024, 1)} KB`,
        `${fmt(med(name, "rssPerConnection") / 1024, 1)} KB`,
      ]),
    });
    for (const name of names) {
      for (const result of of(name)) {
        const ok = result.lost === 0 && result.gaps === 0 && result.closed === 0 && result.problems.length === 0;
        checks.push({
          name: `${SERVER_LABELS[name]}, ${subscribers} subscribers: every event delivered, in order, intact`,
          ok,
          detail: ok
            ? undefined
            : `lost ${result.lost}, gaps ${result.gaps}, closed ${result.closed}${result.problems.length ? `, ${result.problems.join("; ")}` : ""}`,
        });
      }
    }
    if (subscribers === 1000) {
      for (const name of ["hertz-sse", "hertz-sse/node"] as const) {
        if (!names.includes(name)) continue;
        const hz = med(name, "minHz");
        const cpu = cpuRatio(name);
        const heap = med(name, "heapPerConnection") / 1024;
        const lost = Math.max(...of(name).map((r) => r.lost));
        targets.push({
          target: `fan-out at 1 000 × 100 Hz, ${SERVER_LABELS[name]}: ≥ 95 Hz delivered with no loss, ≤ 1.3× raw CPU per delivery, ≤ 12 KB heap per subscriber`,
          measured: `${fmt(hz, 1)} Hz (slowest subscriber), ${lost} lost, ${ratio(cpu)} raw CPU per delivery, ${fmt(heap, 1)} KB heap per subscriber`,
          met: hz >= 95 && lost === 0 && cpu <= 1.3 && heap <= 12,
        });
      }
    }
  }
  // Keep only one check per server and size in the report: the worst run.
  const merged = new Map<string, Check>();
  for (const check of checks) {
    const seen = merged.get(check.name);
    if (!seen || (seen.ok && !check.ok)) merged.set(check.name, check);
  }
  return {
    workload: "fanout",
    title: "3. Fan-out",
    params: { runs, seconds, sizes, node: process.version },
    tables,
    checks: [...merged.values()],
    targets,
    data: results,
  };
}

const role = args.get("role");
if (role === "server") await serverMain(args.get("server") as ServerName);
else if (role === "client")
  await clientMain(Number(args.get("port")), Number(args.get("subscribers")), Number(args.get("expected")));
else if (isMain(import.meta.url)) {
  const report = await run();
  if (process.send) process.send({ type: "report", report });
  else printReport(report);
}
