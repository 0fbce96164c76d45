// Fastify 5 with @fastify/compress registered globally, as apps usually have it. The routes return
// hertz-sse's Response, which Fastify 5 writes itself: status, headers, then the body read as a
// stream, cancelled when the client leaves (which is how the stream notices: no request signal
// is needed). @fastify/compress leaves text/event-stream alone. Fastify hands routes its own
// request object: `toRequest` makes the fetch Request the handlers take.
import compress from "@fastify/compress";
import Fastify from "fastify";
import * as hertz from "hertz-sse";
import { SSEHub } from "hertz-sse/hub";
import { routes } from "../_shared/routes.js";

const { sse, subscribe, publish, debug } = routes({ ...hertz, SSEHub });

function toRequest(request) {
  const init = { method: request.method, headers: request.headers };
  // Fastify has parsed the body already (a string for text/plain).
  if (typeof request.body === "string") init.body = request.body;
  return new Request(`${request.protocol}://${request.host}${request.url}`, init);
}

const app = Fastify();
await app.register(compress, { global: true });
app.get("/sse", (request, reply) => reply.send(sse(toRequest(request))));
app.get("/hub", async (request, reply) => reply.send(await subscribe(toRequest(request))));
app.post("/publish", async (request, reply) => reply.send(await publish(toRequest(request))));
app.get("/debug", (_request, reply) => reply.send(debug()));
const port = Number(process.env.PORT ?? 3000);
await app.listen({ port, host: process.env.HOST ?? "127.0.0.1" });
console.log(`listening ${port}`);
