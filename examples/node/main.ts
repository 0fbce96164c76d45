// Starts the example app on Node through @hono/node-server: `npm start` (PORT, default 8888).
// With REDIS_URL, its hub uses the Redis backplane, so that several instances share prices and chat
// (start all but one with PRICE_TICKER=off). On SIGTERM or SIGINT it drains, then exits within DEADLINE.
import { serve } from "@hono/node-server";
import { backplaneFromEnv } from "../ai/chat.ts";
import { createApp, SHUTDOWN } from "../app.ts";

const port = Number(process.env.PORT ?? 8888);
const app = createApp({
  secret: process.env.CHAT_SECRET,
  backplane: await backplaneFromEnv("sse:app:"),
  ticker: process.env.PRICE_TICKER !== "off",
});
const server = serve({ fetch: app.fetch, port }, (info) => {
  console.log(`hertz-sse example listening on http://localhost:${info.port}/`);
  console.log(`listening ${info.port}`);
});

let draining = false;
const shutdown = async (signal: string) => {
  if (draining) return;
  draining = true;
  console.log(`${signal}: draining (deadline ${SHUTDOWN.deadline} ms, jitter ${SHUTDOWN.jitter} ms)`);
  // Whatever happens, the process is gone by the deadline.
  setTimeout(() => process.exit(1), SHUTDOWN.deadline + 1_000).unref();
  // No new connections from now on, and a connection whose stream the drain ended is closed as
  // soon as it is idle: a client then reconnects elsewhere (or, here, finds nobody and keeps
  // trying) instead of reusing the socket for a request this instance would refuse with 503.
  const idle = server as { closeIdleConnections?: () => void };
  server.close(() => process.exit(0));
  const sweep = setInterval(() => idle.closeIdleConnections?.(), 50);
  await app.drain(SHUTDOWN);
  clearInterval(sweep);
  console.log("drained");
  // Every stream has ended: close() resolves once their last bytes are out and sockets are gone.
  idle.closeIdleConnections?.();
};
// on, not once: Ctrl-C signals the whole process group, so a wrapper (tsx, npm) may relay a second
// signal, whose default action would kill the process mid-drain.
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
