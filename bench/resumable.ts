/**
 * Resumable streams: what relaying costs, and how fast a reconnecting client gets its first
 * resumed frame.
 *
 * - **relay CPU per frame**: one upstream event-stream `Response` of `--frames` frames (20 000
 *   OpenAI-style `chat.completion.chunk` frames of about 200 bytes, one per chunk, produced as
 *   fast as they are read) served over loopback HTTP (@hono/node-server) to one client in the
 *   same process, four ways: piped through untouched (`new Response(upstream.body)`, the
 *   baseline), proxied (parser stream, a new id per frame, encoder stream: a relay without
 *   resumption), relayed by `ResumableStreams` on its in-memory backplane (`start()` then
 *   `subscribe()`: parsed, published, re-encoded with new ids), and relayed on a
 *   `RedisBackplane` (a real redis-server on this machine, whose own CPU is not counted).
 *   Reported: process CPU (user + system) per frame, median of `--rounds` (5) rounds run
 *   alternately, and the ratio to the pipe. Target: the in-memory relay at most 2× the pipe.
 * - **reconnect → first frame**: a running stream with 1 000 frames; a client connects with a
 *   `Last-Event-ID` in its middle (and, separately, without one: replay from the first frame)
 *   and the time from the request to the first resumed frame parsed is taken, `--reconnects`
 *   (200) times, on Redis and in memory. Reported: p50 and p99.
 *
 * Usage: `npx tsx bench/resumable.ts [--quick] [--frames=20000] [--rounds=5] [--reconnects=200]`
 * (`--quick`: 5 000 frames, 3 rounds, 50 reconnects). Results also go to bench/results/resumable.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { serve } from "@hono/node-server";
import { Redis } from "ioredis";
import type { Backplane } from "../src/hub/index.ts";
import { MemoryBackplane } from "../src/hub/index.ts";
import { EventStreamEncoderStream } from "../src/index.ts";
import { createParser, EventStreamParserStream } from "../src/parser/index.ts";
import { RedisBackplane } from "../src/redis/index.ts";
import { ResumableStreams } from "../src/resumable/index.ts";
import { RedisServer } from "../test/_helpers/redis.ts";

const args = new Map(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, "").split("=");
    return [key!, value ?? "true"] as const;
  }),
);
const quick = args.has("quick");
const FRAMES = Number(args.get("frames") ?? 1_000);
const STREAMS = Number(args.get("streams") ?? (quick ? 10 : 40));
const ROUNDS = Number(args.get("rounds") ?? (quick ? 3 : 5));
const RECONNECTS = Number(args.get("reconnects") ?? (quick ? 50 : 200));

const encoder = new TextEncoder();
const frameBytes = (i: number): Uint8Array =>
  encoder.encode(
    `data: ${JSON.stringify({ id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1796280000, model: "mock-1", choices: [{ index: 0, delta: { content: ` token${i}` }, finish_reason: null }] })}\n\n`,
  );
// Encoded once: the upstream's own cost is the same in every variant and kept small.
const FRAME_CACHE = Array.from({ length: 64 }, (_, i) => frameBytes(i));

function upstream(frames: number): Response {
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i === frames) {
        controller.enqueue(encoder.encode("data: [DONE]\n\n"));
        controller.close();
        return;
      }
      controller.enqueue(FRAME_CACHE[i++ % FRAME_CACHE.length]!);
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

type Variant = "pipe" | "proxy" | "relay-memory" | "relay-redis";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<{ url: string; close(): void }> {
  const server = serve({ fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      (server as unknown as import("node:http").Server).closeAllConnections();
      server.close();
    },
  };
}

/** Reads a response to its end; returns the number of events. */
async function drain(response: Response): Promise<number> {
  let events = 0;
  const parser = createParser({ onEvent: () => events++ });
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return events;
    parser.feed(value);
  }
}

const redisServer = await RedisServer.start();
const redis = new Redis(redisServer.url, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false });
await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
let keys = 0;

function streamsOn(backplane: Backplane): ResumableStreams {
  return new ResumableStreams({ backplane, maxFrames: FRAMES + 10, maxBytes: 1 << 30, keepAlive: false });
}

async function relayRound(variant: Variant): Promise<{ cpu: number; wall: number }> {
  const backplane: Backplane | undefined =
    variant === "pipe" || variant === "proxy"
      ? undefined
      : variant === "relay-memory"
        ? new MemoryBackplane({ maxEvents: FRAMES + 100, maxAge: 600_000 })
        : new RedisBackplane({ redis, prefix: `bench${++keys}:`, maxEvents: FRAMES + 100, maxAge: 600_000 });
  const streams = backplane === undefined ? undefined : streamsOn(backplane);
  let ids = 0;
  const server = await listen(async (request) => {
    if (variant === "pipe") return new Response(upstream(FRAMES).body, { headers: { "content-type": "text/event-stream" } });
    if (variant === "proxy") {
      // What a relay without resumption costs: parse, give each frame a new id, encode.
      let n = 0;
      const body = upstream(FRAMES)
        .body!.pipeThrough(new EventStreamParserStream())
        .pipeThrough(new TransformStream({ transform: (m, c) => c.enqueue({ data: m.data, id: ++n }) }))
        .pipeThrough(new EventStreamEncoderStream());
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    if (streams === undefined) throw new Error("unreachable");
    const id = `s${++ids}`;
    await streams.start(id, upstream(FRAMES));
    return streams.subscribe(request, id);
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < STREAMS; i++) {
    const events = await drain(await fetch(`${server.url}/`));
    if (events !== FRAMES + 1) throw new Error(`${variant}: expected ${FRAMES + 1} events, got ${events}`);
  }
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  server.close();
  await streams?.close();
  await backplane?.close();
  return { cpu: (cpu.user + cpu.system) / (STREAMS * (FRAMES + 1)), wall };
}

const relay: Record<Variant, { cpu: number[]; wall: number[] }> = {
  pipe: { cpu: [], wall: [] },
  proxy: { cpu: [], wall: [] },
  "relay-memory": { cpu: [], wall: [] },
  "relay-redis": { cpu: [], wall: [] },
};
await relayRound("pipe"); // warm-up
await relayRound("relay-memory");
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of Object.keys(relay) as Variant[]) {
    const { cpu, wall } = await relayRound(variant);
    relay[variant].cpu.push(cpu);
    relay[variant].wall.push(wall);
  }
}

console.log(
  `\nrelay CPU per frame (${STREAMS} streams of ${FRAMES} frames, one after the other, median of ${ROUNDS} rounds, Node ${process.versions.node})`,
);
const pipeCpu = median(relay.pipe.cpu);
const relayResults: Record<string, unknown> = {};
for (const variant of Object.keys(relay) as Variant[]) {
  const cpu = median(relay[variant].cpu);
  const wall = median(relay[variant].wall);
  relayResults[variant] = {
    cpuPerFrameUs: cpu,
    ratio: cpu / pipeCpu,
    wallMs: wall,
    framesPerSecond: (STREAMS * (FRAMES + 1)) / (wall / 1000),
  };
  console.log(
    `  ${variant.padEnd(13)} ${cpu.toFixed(2).padStart(6)} µs/frame  ${(cpu / pipeCpu).toFixed(2)}×  ` +
      `${Math.round((STREAMS * (FRAMES + 1)) / (wall / 1000))
        .toLocaleString("en")
        .padStart(8)} frames/s`,
  );
}

// ---------------------------------------------------------------------------------------------
// Reconnect → first resumed frame.

async function firstFrameTimes(backplane: Backplane, label: string): Promise<Record<string, { p50: number; p99: number }>> {
  const streams = streamsOn(backplane);
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const id = `reconnect-${label}`;
  await streams.start(
    id,
    (async function* () {
      for (let i = 0; i < 1000; i++) yield `frame ${i}`;
      await held; // running, silent: a client resumes a live stream
    })(),
  );
  const server = await listen((request) => streams.subscribe(request, id));
  // The ids, read once from the first frame.
  const ids: string[] = [];
  {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/`, { signal: controller.signal });
    const parser = createParser({ onEvent: (message) => ids.push(message.lastEventId) });
    const reader = response.body!.getReader();
    while (ids.length < 1000) parser.feed((await reader.read()).value!);
    controller.abort();
  }
  const time = async (lastEventId: string | undefined): Promise<number> => {
    const controller = new AbortController();
    const t0 = performance.now();
    const response = await fetch(`${server.url}/`, {
      headers: lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId },
      signal: controller.signal,
    });
    let first = 0;
    const parser = createParser({ onEvent: () => (first ||= performance.now()) });
    const reader = response.body!.getReader();
    while (first === 0) parser.feed((await reader.read()).value!);
    controller.abort();
    return first - t0;
  };
  const results: Record<string, { p50: number; p99: number }> = {};
  for (const [name, lastEventId] of [
    ["middle", ids[499]],
    ["first frame", undefined],
  ] as const) {
    const samples: number[] = [];
    for (let i = 0; i < RECONNECTS; i++) samples.push(await time(lastEventId));
    results[name] = { p50: percentile(samples, 50), p99: percentile(samples, 99) };
  }
  release();
  while ((await streams.status(id)) === "active") await new Promise((resolve) => setTimeout(resolve, 5));
  server.close();
  await streams.close();
  return results;
}

console.log(`\nreconnect → first resumed frame (a running stream of 1 000 frames, ${RECONNECTS} reconnects)`);
const reconnect: Record<string, unknown> = {};
for (const [label, backplane] of [
  ["redis", new RedisBackplane({ redis, prefix: "bench-reconnect:", maxEvents: 5_000, maxAge: 600_000 })],
  ["memory", new MemoryBackplane({ maxEvents: 5_000, maxAge: 600_000 })],
] as const) {
  const results = await firstFrameTimes(backplane, label);
  reconnect[label] = results;
  for (const [name, { p50, p99 }] of Object.entries(results)) {
    console.log(
      `  ${label.padEnd(7)} from ${name.padEnd(12)} p50 ${p50.toFixed(2).padStart(6)} ms  p99 ${p99.toFixed(2).padStart(6)} ms`,
    );
  }
  await backplane.close();
}

const out = join(dirname(fileURLToPath(import.meta.url)), "results", "resumable.json");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(
  out,
  `${JSON.stringify({ node: process.versions.node, frames: FRAMES, streams: STREAMS, rounds: ROUNDS, reconnects: RECONNECTS, relay: relayResults, reconnect }, null, 2)}\n`,
);
redis.disconnect();
await redisServer.stop();
process.exit(0);
