/**
 * A Node server for the drain test: one hub on a Redis backplane (REDIS_URL, PREFIX) serving
 * GET /sse (topic "seq"), GET /size (open subscriptions) and GET /arrivals (when each subscription
 * with a Last-Event-ID arrived, in ms on the wall clock). On SIGTERM it drains the hub with
 * DEADLINE and JITTER, closes the server, and exits; it prints `drained <ms>` first.
 */
import { createServer } from "node:http";
import { Redis } from "ioredis";
import { toNodeListener } from "../../src/adapters/node.ts";
import { SSEHub } from "../../src/hub/index.ts";
import { RedisBackplane } from "../../src/redis/index.ts";

const redis = new Redis(process.env.REDIS_URL!, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false });
await new Promise<void>((resolve, reject) => {
  redis.once("ready", () => resolve());
  redis.once("error", reject);
});
const backplane = new RedisBackplane({ redis, prefix: process.env.PREFIX });
const hub = new SSEHub({ backplane, keepAlive: false });
const arrivals: number[] = [];
const server = createServer(
  toNodeListener((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/size") return new Response(String(hub.size));
    if (path === "/arrivals") return Response.json(arrivals);
    if (request.headers.has("last-event-id")) arrivals.push(performance.timeOrigin + performance.now());
    return hub.subscribe(request, { topics: "seq" });
  }),
);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  console.log(`listening ${typeof address === "object" && address !== null ? address.port : 0}`);
});
process.once("SIGTERM", async () => {
  const started = Date.now();
  await hub.drain({ deadline: Number(process.env.DEADLINE), jitter: Number(process.env.JITTER) });
  console.log(`drained ${Date.now() - started}`);
  // Every response has ended: close() waits for their last bytes, then the keep-alive sockets go.
  server.close(() => {
    void backplane.close().finally(() => {
      redis.disconnect();
      process.exit(0);
    });
  });
  server.closeIdleConnections();
});
