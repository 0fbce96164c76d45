// Fastify 5 with @fastify/compress registered globally, as apps usually have it. The routes return
// hertz-sse's Response, which Fastify 5 writes itself (status, headers, the body read as a stream).
// Fastify hands routes its own request object: the few lines of `toRequest` make the fetch
// Request the handlers take, with a signal that aborts when the client leaves.
import compress from "@fastify/compress";
import Fastify from "fastify";
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { routes } from "../_shared/routes.js";

const { sse, subscribe, publish, debug } = routes({ ...hertz, SSEHub });

function toRequest(request, reply) {
  const controller = new AbortController();
  reply.raw.once("close", () => {
    if (!reply.raw.writableFinished) controller.abort(new DOMException("The client went away", "AbortError"));
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const init = { method: request.method, headers, signal: controller.signal };
  if (request.body !== undefined) init.body = typeof request.body === "string" ? request.body : JSON.stringify(request.body);
  return new Request(`${request.protocol}://${request.host}${request.url}`, init);
}

const app = Fastify();
await app.register(compress, { global: true });
app.get("/sse", (request, reply) => reply.send(sse(toRequest(request, reply))));
app.get("/hub", async (request, reply) => reply.send(await subscribe(toRequest(request, reply))));
app.post("/publish", async (request, reply) => reply.send(await publish(toRequest(request, reply))));
app.get("/debug", (_request, reply) => reply.send(debug()));
const port = Number(process.env.PORT ?? 3000);
await app.listen({ port, host: process.env.HOST ?? "127.0.0.1" });
console.log(`listening ${port}`);
