// Starts the example app with Deno.serve: `npm run example:deno` (PORT, default 8888). With
// REDIS_URL, its hub uses the Redis backplane (start all instances but one with PRICE_TICKER=off).
// On SIGTERM or SIGINT it drains, then exits within the deadline.
import { backplaneFromEnv } from "../ai/chat.ts";
import { createApp, SHUTDOWN } from "../app.ts";

const port = Number(Deno.env.get("PORT") ?? 8888);
const app = createApp({
  secret: Deno.env.get("CHAT_SECRET"),
  backplane: await backplaneFromEnv("sse:app:"),
  ticker: Deno.env.get("PRICE_TICKER") !== "off",
});
const server = Deno.serve(
  {
    port,
    onListen: ({ port }) => {
      console.log(`hertz-sse example listening on http://localhost:${port}/`);
      console.log(`listening ${port}`);
    },
  },
  app.fetch,
);

let draining = false;
const shutdown = async (signal: string) => {
  if (draining) return;
  draining = true;
  console.log(`${signal}: draining (deadline ${SHUTDOWN.deadline} ms, jitter ${SHUTDOWN.jitter} ms)`);
  const timer = setTimeout(() => Deno.exit(1), SHUTDOWN.deadline + 1_000);
  Deno.unrefTimer(timer);
  await app.drain(SHUTDOWN);
  console.log("drained");
  await server.shutdown();
  Deno.exit(0);
};
for (const signal of ["SIGTERM", "SIGINT"] as const) Deno.addSignalListener(signal, () => void shutdown(signal));
