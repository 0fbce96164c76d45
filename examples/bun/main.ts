// Starts the example app with Bun.serve: `npm run example:bun` (PORT, default 8888).
// withBunIdleTimeout lifts Bun's 10 s idle timeout for event streams. With REDIS_URL, its hub uses
// the Redis backplane (start all instances but one with PRICE_TICKER=off). On SIGTERM or SIGINT it
// drains, then exits within the deadline.
import { withBunIdleTimeout } from "../../src/adapters/bun.ts";
import { backplaneFromEnv } from "../ai/chat.ts";
import { createApp, SHUTDOWN } from "../app.ts";

const app = createApp({
  secret: process.env.CHAT_SECRET,
  backplane: await backplaneFromEnv("sse:app:"),
  ticker: process.env.PRICE_TICKER !== "off",
});
const server = Bun.serve({ port: Number(process.env.PORT ?? 8888), fetch: withBunIdleTimeout(app.fetch) });
console.log(`hertz-sse example listening on http://localhost:${server.port}/`);
console.log(`listening ${server.port}`);

let draining = false;
const shutdown = async (signal: string) => {
  if (draining) return;
  draining = true;
  console.log(`${signal}: draining (deadline ${SHUTDOWN.deadline} ms, jitter ${SHUTDOWN.jitter} ms)`);
  setTimeout(() => process.exit(1), SHUTDOWN.deadline + 1_000).unref();
  await app.drain(SHUTDOWN);
  console.log("drained");
  await server.stop();
  process.exit(0);
};
// on, not once: Ctrl-C signals the whole process group, so a wrapper (tsx, npm) may relay a second
// signal, whose default action would kill the process mid-drain.
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));
