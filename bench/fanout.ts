/**
 * Fan-out benchmark: N subscribers (1000) and 100 broadcasts per second for 5 s, over loopback,
 * served side by side in one run by:
 *
 * - `raw`: a node:http server writing one pre-encoded Buffer to every socket (the floor);
 * - `hub`: hertz-sse's `SSEHub` on @hono/node-server;
 * - `hono`: hono's `streamSSE` with a `Set` of streams as the hub, on @hono/node-server;
 * - `better-sse`: better-sse's `Channel` on node:http.
 *
 * Each server runs alone in its own child process, and the clients in another one, so the server
 * CPU (`process.cpuUsage()` in the server process, over the broadcast window only) and heap
 * (`heapUsed` after GC, idle subscribers minus none) are the server's. Reported: delivered rate
 * per subscriber, lost events, server CPU per delivery (one event to one subscriber) and its
 * ratio to `raw`, heap per idle subscriber.
 *
 * Usage: `npx tsx bench/fanout.ts [--quick] [--only=raw,hub] [--subscribers=1000] [--seconds=5]`
 * (`--quick`: 200 subscribers for 2 s). Two cores are shared by the server and the clients, as
 * in the issue's setting; run it on an otherwise idle machine.
 */
import { type ChildProcess, fork } from "node:child_process";
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { createChannel, createSession } from "better-sse";
import { Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { SSEHub } from "../src/hub.ts";

const MODES = ["raw", "hub", "hono", "better-sse"] as const;
type Mode = (typeof MODES)[number];

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key!, value ?? "true"] as const;
  }),
);

interface Payload {
  seq: number;
  symbol: string;
  price: number;
  t: number;
}

function payload(seq: number): Payload {
  return { seq, symbol: "AAPL", price: 189.5 + (seq % 100) / 100, t: Date.now() };
}

type Message =
  | { type: "listening"; port: number }
  | { type: "count"; count: number }
  | { type: "heap"; heapUsed: number }
  | { type: "done"; broadcasts: number; cpuMicros: number; elapsedMs: number }
  | { type: "connected"; connected: number }
  | { type: "report"; received: number[]; gaps: number; closed: number };

// ---------------------------------------------------------------------------------------------
// Server process

interface BenchServer {
  port: number;
  count(): number;
  broadcast(seq: number): void;
}

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
};

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

async function startServer(mode: Mode): Promise<BenchServer> {
  switch (mode) {
    case "raw": {
      const clients = new Set<ServerResponse>();
      const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        clients.add(res);
        res.on("close", () => clients.delete(res));
      });
      return {
        port: await listen(server),
        count: () => clients.size,
        broadcast(seq) {
          const chunk = Buffer.from(`data: ${JSON.stringify(payload(seq))}\nid: ${seq}\n\n`);
          for (const res of clients) res.write(chunk);
        },
      };
    }
    case "hub": {
      const hub = new SSEHub();
      const server = serve({ fetch: (request) => hub.subscribe(request), port: 0, hostname: "127.0.0.1" });
      await new Promise((resolve) => server.once("listening", resolve));
      return {
        port: (server.address() as AddressInfo).port,
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
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
      await new Promise((resolve) => server.once("listening", resolve));
      return {
        port: (server.address() as AddressInfo).port,
        count: () => streams.size,
        broadcast(seq) {
          const data = JSON.stringify(payload(seq));
          for (const stream of streams) void stream.writeSSE({ data, id: String(seq) });
        },
      };
    }
    case "better-sse": {
      const channel = createChannel();
      const server = createServer(async (req, res) => {
        const session = await createSession(req, res);
        channel.register(session);
      });
      return {
        port: await listen(server),
        count: () => channel.sessionCount,
        broadcast(seq) {
          channel.broadcast(payload(seq), "message", { eventId: String(seq) });
        },
      };
    }
  }
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error("run the server with --expose-gc");
  collect();
  collect();
}

async function serverMain(mode: Mode): Promise<void> {
  const send = (message: Message) => process.send!(message);
  const server = await startServer(mode);
  await new Promise((resolve) => setTimeout(resolve, 200));
  gc();
  const baseHeap = process.memoryUsage().heapUsed;
  process.on("message", async (message: { type: string; rate?: number; seconds?: number }) => {
    if (message.type === "count") send({ type: "count", count: server.count() });
    if (message.type === "heap") {
      await new Promise((resolve) => setTimeout(resolve, 200));
      gc();
      send({ type: "heap", heapUsed: process.memoryUsage().heapUsed - baseHeap });
    }
    if (message.type === "start") {
      const rate = message.rate!;
      const durationMs = message.seconds! * 1000;
      const startCpu = process.cpuUsage();
      const start = performance.now();
      let sent = 0;
      // Catch-up scheduling: each wake-up sends every broadcast due by now, so timer drift does
      // not lower the rate.
      await new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          const due = Math.min(Math.floor(((performance.now() - start) * rate) / 1000), (durationMs * rate) / 1000);
          while (sent < due) server.broadcast(++sent);
          if (sent >= (durationMs * rate) / 1000) {
            clearInterval(timer);
            resolve();
          }
        }, 1000 / rate);
      });
      const elapsedMs = performance.now() - start;
      // Let the last writes leave the process before CPU is read.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const cpu = process.cpuUsage(startCpu);
      send({ type: "done", broadcasts: sent, cpuMicros: cpu.user + cpu.system, elapsedMs });
    }
  });
  send({ type: "listening", port: server.port });
}

// ---------------------------------------------------------------------------------------------
// Client process

async function clientMain(port: number, subscribers: number): Promise<void> {
  const send = (message: Message) => process.send!(message);
  const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const received = new Array<number>(subscribers).fill(0);
  let gaps = 0;
  let closed = 0;
  const open = (index: number) =>
    new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/", agent, headers: { Accept: "text/event-stream" } }, (res) => {
        let rest = "";
        let last = 0;
        res.setEncoding("latin1");
        res.on("data", (text: string) => {
          const lines = (rest + text).split("\n");
          rest = lines.pop()!;
          for (const line of lines) {
            // better-sse writes "data:" without the optional space.
            if (!line.startsWith("data:")) continue;
            const at = line.indexOf('"seq":');
            const seq = Number.parseInt(line.slice(at + 6), 10);
            if (seq !== last + 1) gaps += seq - last - 1;
            last = seq;
            received[index]!++;
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
  send({ type: "connected", connected: subscribers });
  process.on("message", (message: { type: string }) => {
    if (message.type === "report") send({ type: "report", received, gaps, closed });
  });
}

// ---------------------------------------------------------------------------------------------
// Orchestrator

class Child {
  readonly process: ChildProcess;
  #waiters: { type: string; resolve: (message: Message) => void }[] = [];

  constructor(script: string, childArgs: string[]) {
    this.process = fork(script, childArgs, { execArgv: ["--expose-gc", "--import", "tsx"], stdio: "inherit" });
    this.process.on("message", (message: Message) => {
      const index = this.#waiters.findIndex((waiter) => waiter.type === message.type);
      if (index !== -1) this.#waiters.splice(index, 1)[0]!.resolve(message);
    });
  }

  next<T extends Message["type"]>(type: T): Promise<Extract<Message, { type: T }>> {
    return new Promise((resolve) => this.#waiters.push({ type, resolve: resolve as (message: Message) => void }));
  }

  async ask<T extends Message["type"]>(message: object, type: T): Promise<Extract<Message, { type: T }>> {
    const answer = this.next(type);
    this.process.send(message);
    return answer;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.process.exitCode !== null) return resolve();
      this.process.once("exit", () => resolve());
      this.process.kill();
    });
  }
}

interface Result {
  mode: Mode;
  hz: number;
  minHz: number;
  lost: number;
  gaps: number;
  closed: number;
  cpuPerDelivery: number;
  cpuShare: number;
  heapPerSubscriber: number;
}

async function measure(mode: Mode, subscribers: number, seconds: number, rate: number): Promise<Result> {
  const script = fileURLToPath(import.meta.url);
  const server = new Child(script, ["--role=server", `--mode=${mode}`]);
  const { port } = await server.next("listening");
  const client = new Child(script, ["--role=client", `--port=${port}`, `--subscribers=${subscribers}`]);
  try {
    await client.next("connected");
    for (;;) {
      const { count } = await server.ask({ type: "count" }, "count");
      if (count >= subscribers) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const { heapUsed } = await server.ask({ type: "heap" }, "heap");
    const done = await server.ask({ type: "start", rate, seconds }, "done");
    const report = await client.ask({ type: "report" }, "report");
    const total = report.received.reduce((sum, n) => sum + n, 0);
    const seconds_ = done.elapsedMs / 1000;
    return {
      mode,
      hz: total / subscribers / seconds_,
      minHz: Math.min(...report.received) / seconds_,
      lost: done.broadcasts * subscribers - total,
      gaps: report.gaps,
      closed: report.closed,
      cpuPerDelivery: done.cpuMicros / total,
      cpuShare: done.cpuMicros / 1000 / done.elapsedMs,
      heapPerSubscriber: heapUsed / subscribers,
    };
  } finally {
    await client.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const quick = args.has("quick");
  const subscribers = Number(args.get("subscribers") ?? (quick ? 200 : 1000));
  const seconds = Number(args.get("seconds") ?? (quick ? 2 : 5));
  const rate = Number(args.get("rate") ?? 100);
  const only = args.get("only")?.split(",") as Mode[] | undefined;
  const modes = only ?? [...MODES];
  console.log(`fan-out: ${subscribers} subscribers, ${rate} broadcasts/s for ${seconds} s, Node ${process.version}`);
  const results: Result[] = [];
  for (const mode of modes) {
    const result = await measure(mode, subscribers, seconds, rate);
    results.push(result);
    console.log(`  ${mode} done`);
  }
  const raw = results.find((result) => result.mode === "raw");
  console.log("");
  console.log("| server | delivered Hz (avg / min) | lost | server CPU per delivery | vs raw | server CPU | heap per idle subscriber |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    const ratio = raw ? `${(r.cpuPerDelivery / raw.cpuPerDelivery).toFixed(2)}×` : "–";
    console.log(
      `| ${r.mode} | ${r.hz.toFixed(1)} / ${r.minHz.toFixed(1)} | ${r.lost}${r.closed ? ` (${r.closed} closed)` : ""} | ` +
        `${r.cpuPerDelivery.toFixed(2)} µs | ${ratio} | ${(r.cpuShare * 100).toFixed(0)} % | ${(r.heapPerSubscriber / 1024).toFixed(1)} KB |`,
    );
  }
}

const role = args.get("role");
if (role === "server") await serverMain(args.get("mode") as Mode);
else if (role === "client") await clientMain(Number(args.get("port")), Number(args.get("subscribers")));
else await main();
