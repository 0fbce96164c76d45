// Issue 11, Medium 3 and 7, Low 9 (Node side): the Node adapter validates what the network hands
// it. A Host header cannot change the handler's path, or make every request a 500; the first Host
// wins; a header Node refuses cancels the body instead of blocking its producer; HEAD ends.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toNodeListener } from "../../src/adapters/node.ts";
import { sseResponse } from "../../src/core/response.ts";
import { SSEHub } from "../../src/hub/index.ts";
import { get, rawRequest } from "./_raw-http.ts";

describe("the Node adapter under attack", () => {
  let server: Server;
  let url: string;
  const seen: string[] = [];
  const errors: unknown[] = [];
  let producerReleased: Promise<boolean> | undefined;
  const hub = new SSEHub({ keepAlive: false });
  beforeAll(async () => {
    const handler = (request: Request): Response | Promise<Response> => {
      seen.push(request.url);
      const path = new URL(request.url).pathname;
      if (path === "/bad-header") {
        let released!: (value: boolean) => void;
        producerReleased = new Promise((r) => (released = r));
        return sseResponse(
          request,
          async (stream) => {
            await stream.closed;
            released(true);
          },
          { headers: { "X-Bad": "a\u0001b" }, keepAlive: false },
        );
      }
      if (path === "/hub") return hub.subscribe(request);
      if (path === "/stream") return sseResponse(request, (stream) => stream.closed, { keepAlive: false });
      return new Response(path);
    };
    server = createServer(toNodeListener(handler, { onError: (error) => void errors.push(error) }) as never);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await hub.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("answers 400 to a Host that would change the path, or is not a host at all, without calling onError", async () => {
    for (const host of ["example.com/admin?x=", "[", "a@b.example", "example.com:99999", "exa mple.com"]) {
      seen.length = 0;
      const response = await rawRequest(url, `GET /public HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect(response.status).toBe(400);
      response.socket.destroy();
      expect(seen).toEqual([]);
    }
    expect(errors).toEqual([]);
  });

  it("answers 400 to a request target that does not start with /", async () => {
    const response = await rawRequest(url, "GET http://evil.example/admin HTTP/1.1\r\nHost: example.com\r\n\r\n");
    expect(response.status).toBe(400);
    response.socket.destroy();
    expect(errors).toEqual([]);
  });

  it("takes the first Host header, as Node does", async () => {
    seen.length = 0;
    const response = await rawRequest(url, "GET /public HTTP/1.1\r\nHost: first.example\r\nHost: second.example\r\n\r\n");
    response.socket.destroy();
    // Node itself may refuse two Host headers with 400; if the handler ran, it saw the first.
    if (seen.length > 0) expect(seen[0]).toBe("http://first.example/public");
    else expect(response.status).toBe(400);
  });

  it("cancels the body when Node refuses a header, so the producer is released, and answers 500", async () => {
    const response = await rawRequest(url, get(url, "/bad-header"));
    expect(response.status).toBe(500);
    response.socket.destroy();
    expect(await producerReleased).toBe(true);
    expect(errors.length).toBe(1);
  });

  it("ends a HEAD request at once: a hub answers 405, a stream's body is cancelled", async () => {
    const head = await fetch(`${url}/hub`, { method: "HEAD" });
    expect(head.status).toBe(405);
    expect(hub.size).toBe(0);
    const stream = await fetch(`${url}/stream`, { method: "HEAD", signal: AbortSignal.timeout(5_000) });
    expect(stream.status).toBe(200);
    expect(await stream.text()).toBe("");
  });
});
