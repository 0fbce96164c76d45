// Starts the example app with Bun.serve: `npm run example:bun` (PORT, default 8888).
// withBunIdleTimeout lifts Bun's 10 s idle timeout for event streams.
import { withBunIdleTimeout } from "../../src/adapters/bun.ts";
import { createApp } from "../app.ts";

const app = createApp({ secret: process.env.CHAT_SECRET });
const server = Bun.serve({ port: Number(process.env.PORT ?? 8888), fetch: withBunIdleTimeout(app.fetch) });
console.log(`hertz-sse example listening on http://localhost:${server.port}/`);
console.log(`listening ${server.port}`);
