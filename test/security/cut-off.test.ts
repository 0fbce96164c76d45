// Issue 11, High 1: a client that stops reading is cut abortively. The server drops the
// subscription (or aborts the producer of an sseResponse stream) within its deadline and destroys
// the connection, so nothing stays buffered for a client that will never read it; a graceful end
// would leave every unsent byte queued behind the chunked terminator. Tried through
// @hono/node-server, the Node adapter, Deno, Bun and workerd, on the runtime-test app.
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toNodeListener } from "../../src/adapters/node.ts";
import { available, type RunningServer, startApp } from "../_helpers/runtimes.ts";
import { handle } from "../runtimes/app.ts";
import { get, rawRequest, waitFor } from "./_raw-http.ts";

interface Target {
  name: string;
  start(): Promise<RunningServer & { sockets?: Set<Socket> }>;
  skip?: boolean;
}

/** An in-process Node server that remembers its connections, to look at them after the cut. */
async function inProcess(server: Server): Promise<RunningServer & { sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => sockets.add(socket));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sockets,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const TARGETS: Target[] = [
  {
    name: "@hono/node-server",
    start: () =>
      inProcess(serve({ fetch: handle, port: 0, hostname: "127.0.0.1", autoCleanupIncoming: false } as never) as Server),
  },
  { name: "the Node adapter", start: () => inProcess(createServer(toNodeListener(handle) as never)) },
  { name: "Deno", start: () => startApp("deno"), skip: !available("deno") },
  { name: "Bun", start: () => startApp("bun"), skip: !available("bun") },
  { name: "workerd", start: () => startApp("workerd"), skip: !available("workerd") },
];

let seq = 0;

for (const target of TARGETS) {
  describe.skipIf(target.skip)(`cut-offs through ${target.name}`, () => {
    let server: RunningServer & { sockets?: Set<Socket> };
    beforeAll(async () => {
      server = await target.start();
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
    });

    const count = async (query: string) =>
      (await (await fetch(`${server.url}/cut/count?${query}`)).json()) as {
        count: number;
        stream: { sent: number; ended: boolean } | null;
      };

    /** After the server gave up on the client: an in-process server holds no buffer for it any more. */
    const expectFreed = async () => {
      const sockets = server.sockets;
      if (sockets === undefined) return;
      await waitFor(
        "the server to free what it buffered for the frozen client",
        () => ([...sockets].some((socket) => !socket.destroyed && socket.writableLength > 0) ? undefined : true),
        5_000,
      );
    };

    it("cuts a hub subscriber that stops reading, destroying its connection", async () => {
      const topic = `flood-${++seq}`;
      const client = await rawRequest(server.url, get(server.url, `/cut/hub?topic=${topic}`));
      expect(client.status).toBe(200);
      // The subscription is cut (256 KiB queued, or 1 s without a read), well within 10 s.
      await waitFor(
        "the hub to drop the frozen subscriber",
        async () => ((await count(`topic=${topic}`)).count === 0 ? true : undefined),
        10_000,
      );
      await expectFreed();
      const { graceful, closed } = await client.finish(10_000);
      expect(closed).toBe(true);
      expect(graceful).toBe(false);
    }, 30_000);

    it("cuts an sseResponse stream whose client stops reading, releasing its producer", async () => {
      const ch = `stream-${++seq}`;
      const client = await rawRequest(server.url, get(server.url, `/cut/stream?ch=${ch}&size=32000`));
      expect(client.status).toBe(200);
      // The producer awaits every send: it is released (send() resolves false) by the cut.
      const status = await waitFor(
        "the producer to be released",
        async () => {
          const { stream } = await count(`ch=${ch}`);
          return stream?.ended ? stream : undefined;
        },
        10_000,
      );
      expect(status.sent).toBeGreaterThan(0);
      await expectFreed();
      const { graceful, closed } = await client.finish(10_000);
      expect(closed).toBe(true);
      expect(graceful).toBe(false);
    }, 30_000);
  });
}
