// Starts the example app with Deno.serve: `npm run example:deno` (PORT, default 8888).
import { createApp } from "../app.ts";

const port = Number(Deno.env.get("PORT") ?? 8888);
const app = createApp({ secret: Deno.env.get("CHAT_SECRET") });
Deno.serve({ port, onListen: ({ port }) => {
  console.log(`hertz-sse example listening on http://localhost:${port}/`);
  console.log(`listening ${port}`);
} }, app.fetch);
