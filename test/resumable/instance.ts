/**
 * One ResumableStreams instance for the multi-process tests: streams on a RedisBackplane, served
 * by @hono/node-server on a free port.
 *
 * - `POST /start?id=…&upstream=URL&prompt=…` starts stream `id`, relaying the upstream's
 *   event-stream `Response` (a POST with an OpenAI-style body, made with the stream's signal);
 * - `GET /stream?id=…` subscribes (from `Last-Event-ID`, or from the first frame; 204 when there
 *   is nothing to resume);
 * - `POST /stop?id=…` stops it, answering `{"stopped":bool}`; `GET /status?id=…` its status.
 *
 * Environment: `REDIS_URL` (required; `cluster:host:port,…` for a Redis Cluster), `PREFIX`
 * (default `sse:`), `HEARTBEAT` (ms, default 5000). Prints `{"port":N}` once it serves, and each
 * error as `{"error":"…"}`, one JSON line each, on stdout. Ends on SIGTERM.
 *
 * Usage: `node_modules/.bin/tsx test/resumable/instance.ts`
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Cluster, Redis } from "ioredis";
import { RedisBackplane } from "../../src/redis/index.ts";
import { ResumableStreams } from "../../src/resumable/index.ts";

const url = process.env.REDIS_URL;
if (url === undefined) throw new Error("REDIS_URL is not set");

const settings = { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, commandTimeout: 1_000 };
const redis = url.startsWith("cluster:")
  ? new Cluster(
      url
        .slice("cluster:".length)
        .split(",")
        .map((node) => ({ host: node.split(":")[0]!, port: Number(node.split(":")[1]) })),
      { enableOfflineQueue: false, redisOptions: settings },
    )
  : new Redis(url, settings);
redis.on("error", () => {});

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

const backplane = new RedisBackplane({ redis, prefix: process.env.PREFIX ?? "sse:", maxEvents: 20_000, maxAge: 600_000 });
const streams = new ResumableStreams({
  backplane,
  heartbeat: process.env.HEARTBEAT === undefined ? 5_000 : Number(process.env.HEARTBEAT),
  onError: (error) => print({ error: String(error) }),
});

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const id = url.searchParams.get("id") ?? "";
  if (url.pathname === "/start" && request.method === "POST") {
    const upstream = url.searchParams.get("upstream") ?? "";
    const prompt = url.searchParams.get("prompt") ?? "hello";
    await streams.start(id, (signal) =>
      fetch(upstream, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "mock", stream: true, messages: [{ role: "user", content: prompt }] }),
        signal,
      }),
    );
    return new Response(null, { status: 201 });
  }
  if (url.pathname === "/stream" && request.method === "GET") return streams.subscribe(request, id);
  if (url.pathname === "/stop" && request.method === "POST") return Response.json({ stopped: await streams.stop(id, "user") });
  if (url.pathname === "/status" && request.method === "GET")
    return Response.json({ status: (await streams.status(id)) ?? null });
  return new Response("Not found", { status: 404 });
}

await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
const server = serve({ fetch: handle, port: 0, hostname: "127.0.0.1" });
server.once("listening", () => print({ port: (server.address() as AddressInfo).port }));

process.once("SIGTERM", async () => {
  await streams.close();
  await backplane.close();
  (server as import("node:http").Server).closeAllConnections();
  server.close();
  redis.disconnect();
  process.exit(0);
});
