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
  await app.drain(SHUTDOWN);
  console.log("drained");
  // Every stream has ended: close() waits for their last bytes, then idle keep-alive sockets go.
  server.close(() => process.exit(0));
  (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
};
// on, not once: Ctrl-C signals the whole process group, so a wrapper (tsx, npm) may relay a second
// signal, whose default action would kill the process mid-drain.
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
