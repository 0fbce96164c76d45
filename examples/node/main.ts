// Starts the example app on Node through @hono/node-server: `npm start` (PORT, default 8888).
import { serve } from "@hono/node-server";
import { createApp } from "../app.ts";

const port = Number(process.env.PORT ?? 8888);
const app = createApp({ secret: process.env.CHAT_SECRET });
serve({ fetch: app.fetch, port }, (info) => {
  console.log(`hertz-sse example listening on http://localhost:${info.port}/`);
  console.log(`listening ${info.port}`);
});
