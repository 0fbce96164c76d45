// Elysia on Bun: a route returns hertz-sse's Response as it is, and Elysia's context carries the
// fetch Request. Bun closes a connection that is idle for 10 s by default, which would cut a quiet
// event stream (the hub's keep-alive comes every 15 s by default): lift it with `idleTimeout`.
import { Elysia } from "elysia";
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { routes } from "../_shared/routes.js";

const { sse, subscribe, publish, debug } = routes({ ...hertz, SSEHub }, { runtime: "bun" });
const port = Number(process.env.PORT ?? 3000);
new Elysia({ serve: { idleTimeout: 0 } })
  .get("/sse", ({ request }) => sse(request))
  .get("/hub", ({ request }) => subscribe(request))
  .post("/publish", ({ request }) => publish(request), { parse: "none" })
  .get("/debug", () => debug())
  .listen({ port, hostname: process.env.HOST ?? "127.0.0.1" }, () => console.log(`listening ${port}`));
