// Elysia on Bun: a route returns hertz-sse's Response as it is, and Elysia's context carries the
// fetch Request. Nothing to configure: Elysia raises Bun's idle timeout (10 s in plain Bun.serve,
// which would cut a quiet stream between keep-alives) to 30 s, above the default 15 s keep-alive.
import { Elysia } from "elysia";
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { routes } from "../_shared/routes.js";

const { sse, subscribe, publish, debug } = routes({ ...hertz, SSEHub }, { runtime: "bun" });
const port = Number(process.env.PORT ?? 3000);
new Elysia()
  .get("/sse", ({ request }) => sse(request))
  .get("/hub", ({ request }) => subscribe(request))
  .post("/publish", ({ request }) => publish(request), { parse: "none" })
  .get("/debug", () => debug())
  .listen({ port, hostname: process.env.HOST ?? "127.0.0.1" }, () => console.log(`listening ${port}`));
