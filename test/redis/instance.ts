/**
 * One hub instance for the Redis backplane's multi-process tests: an SSEHub on a RedisBackplane,
 * served by @hono/node-server on a free port.
 *
 * - `GET /sse?topic=…` subscribes (replay from `Last-Event-ID`);
 * - `POST /publish?topic=…` publishes the request body as `data` and answers the id, or 503 with
 *   the error's message when the backplane cannot publish.
 *
 * Environment: `REDIS_URL` (required; `cluster:host:port,host:port,…` for a Redis Cluster), `PREFIX` (default `sse:`), `KEEP_ALIVE` (ms, default
 * 15000), `MAX_EVENTS`. Prints `{"port":N}` once it serves, and each backplane error as
 * `{"error":{"kind":…,"message":…}}`, one JSON line each, on stdout. Ends on SIGTERM.
 *
 * Usage: `node_modules/.bin/tsx test/redis/instance.ts`
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Cluster, Redis } from "ioredis";
import { SSEHub } from "../../src/hub/index.ts";
import { RedisBackplane, RedisBackplaneError } from "../../src/redis/index.ts";

const url = process.env.REDIS_URL;
if (url === undefined) throw new Error("REDIS_URL is not set");

// The recommended settings: publishes fail at once while Redis is unreachable, and one under way
// when the connection breaks fails after commandTimeout instead of being sent twice. The client
// reconnects quickly here, as the tests restart Redis.
const settings = {
  enableOfflineQueue: false,
  autoResendUnfulfilledCommands: false,
  commandTimeout: 1_000,
  retryStrategy: (times: number) => Math.min(times * 20, 200),
};
const redis = url.startsWith("cluster:")
  ? new Cluster(
      url
        .slice("cluster:".length)
        .split(",")
        .map((node) => ({ host: node.split(":")[0]!, port: Number(node.split(":")[1]) })),
      { enableOfflineQueue: false, redisOptions: settings },
    )
  : new Redis(url, settings);
redis.on("error", () => {
  // Reported through the failing publishes; ioredis would log every reconnection attempt.
});

const print = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value)}\n`);
};

const backplane = new RedisBackplane({
  redis,
  prefix: process.env.PREFIX ?? "sse:",
  maxEvents: process.env.MAX_EVENTS === undefined ? undefined : Number(process.env.MAX_EVENTS),
  onError: (error) => {
    const kind = RedisBackplaneError.is(error) ? error.kind : "other";
    print({ error: { kind, message: error instanceof Error ? error.message : String(error) } });
  },
});
const hub = new SSEHub({
  backplane,
  keepAlive: process.env.KEEP_ALIVE === undefined ? 15_000 : Number(process.env.KEEP_ALIVE),
  onError: (error) => print({ error: { kind: "hub", message: String(error) } }),
});

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/sse") return hub.subscribe(request);
  if (url.pathname === "/publish" && request.method === "POST") {
    const topic = url.searchParams.get("topic") ?? undefined;
    try {
      return new Response(await hub.publish({ data: await request.text() }, { topic }));
    } catch (error) {
      const status = RedisBackplaneError.is(error) ? 503 : 500;
      return new Response(error instanceof Error ? error.message : String(error), { status });
    }
  }
  return new Response("Not found", { status: 404 });
}

await new Promise<void>((resolve) => redis.once("ready", () => resolve()));
const server = serve({ fetch: handle, port: 0, hostname: "127.0.0.1" });
// Node closes an idle keep-alive connection after 5 s, and a test's fetch that reuses it at that
// moment fails with "other side closed" (seen on a loaded machine): keep them open for the test.
(server as import("node:http").Server).keepAliveTimeout = 120_000;
server.once("listening", () => print({ port: (server.address() as AddressInfo).port }));

process.once("SIGTERM", async () => {
  await hub.close();
  await backplane.close();
  (server as import("node:http").Server).closeAllConnections();
  server.close();
  redis.disconnect();
  process.exit(0);
});
