// Starting the servers the HTTP workloads compare: node:http for the raw baseline, better-sse and
// hertz-sse's Node adapter; @hono/node-server for hertz-sse's portable path (a plain fetch handler),
// hertz-sse's Hono helper in a Hono app (the default fast path on Node) and hono's streamSSE.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";

/** The contenders of the HTTP workloads, in table order. */
export const SERVERS = ["raw", "hertz-sse", "hertz-sse/hono", "hertz-sse/node", "hono", "better-sse"] as const;
export type ServerName = (typeof SERVERS)[number];

export const SERVER_LABELS: Record<ServerName, string> = {
  raw: "raw node:http (pre-encoded)",
  "hertz-sse": "hertz-sse (@hono/node-server)",
  "hertz-sse/hono": "hertz-sse (Hono sse() on @hono/node-server)",
  "hertz-sse/node": "hertz-sse (node adapter)",
  hono: "hono streamSSE (@hono/node-server)",
  "better-sse": "better-sse 0.16 (node:http)",
};

/** The headers the raw baseline sends: the same as hertz-sse's. */
export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
};

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;
export type FetchHandler = (request: Request) => Response | Promise<Response>;

export async function listenNode(handler: NodeHandler): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  // Thousands of connections arrive at once in the fan-out and churn workloads.
  server.maxConnections = 100_000;
  await new Promise<void>((resolve) => server.listen({ port: 0, host: "127.0.0.1", backlog: 4096 }, resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

export async function listenHono(fetch: FetchHandler): Promise<{ server: Server; port: number }> {
  const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }) as Server;
  await new Promise((resolve) => server.once("listening", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
