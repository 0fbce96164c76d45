// The original Go README's flows against the example app, started for real on each runtime
// exactly as its npm script starts it: quickstart stream, stock prices with ids, chat broadcast
// and direct messages, and a price client resuming from its Last-Event-ID.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { available, binary, freePort, type RunningServer, type RuntimeName, startProcess } from "./_helpers/runtimes.ts";
import { type ParsedMessage, readMessages } from "./_helpers/spec-parser.ts";

const TSX = "node_modules/.bin/tsx";
const COMMANDS: Record<RuntimeName, [string, string[]]> = {
  node: [TSX, ["examples/node/main.ts"]],
  deno: [binary("deno"), ["run", "--quiet", "--no-lock", "--allow-net", "--allow-env", "examples/deno/main.ts"]],
  bun: [binary("bun"), ["run", "examples/bun/main.ts"]],
  workerd: [TSX, ["examples/cloudflare/run.ts"]],
};

async function take(messages: AsyncGenerator<ParsedMessage>, n: number): Promise<ParsedMessage[]> {
  const out: ParsedMessage[] = [];
  while (out.length < n) {
    const { value, done } = await messages.next();
    if (done) break;
    out.push(value);
  }
  return out;
}

for (const runtime of ["node", "deno", "bun", "workerd"] as RuntimeName[]) {
  describe.skipIf(!available(runtime))(`the examples on ${runtime}`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      const port = await freePort();
      const [command, args] = COMMANDS[runtime];
      server = await startProcess(command, args, { env: { PORT: String(port) } });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("serves the demo page", async () => {
      const response = await fetch(`${server.url}/`);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(await response.text()).toContain("hertz-sse live demo");
    });

    it("streams a timestamp event every second at /sse", async () => {
      const response = await fetch(`${server.url}/sse`);
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const messages = await take(readMessages(response.body!), 2);
      expect(messages.map((m) => m.type)).toEqual(["timestamp", "timestamp"]);
      for (const m of messages) expect(Math.abs(Date.parse(m.data) - Date.now())).toBeLessThan(10_000);
      await response.body?.cancel().catch(() => {});
    });

    it("streams AAPL and AMZN prices with millisecond ids at /price, and resumes from Last-Event-ID", async () => {
      const first = await fetch(`${server.url}/price`);
      const messages = readMessages(first.body!);
      const seen = await take(messages, 2);
      expect(seen.map((m) => m.type).sort(), JSON.stringify(seen)).toEqual(["AAPL", "AMZN"]);
      for (const m of seen) {
        expect(m.data).toMatch(/^\d+\.\d{2}$/);
        expect(Math.abs(Number(m.lastEventId) - Date.now())).toBeLessThan(10_000);
      }
      const lastId = seen[1]!.lastEventId;
      await messages.return(undefined);
      // Reconnect with the last id seen: the next events are exactly those published after it.
      const again = await fetch(`${server.url}/price`, { headers: { "Last-Event-ID": lastId } });
      const resumed = await take(readMessages(again.body!), 2);
      // What both connections saw, in every message below: a rare failure under load on workerd
      // could not be reproduced, and this says which case it was.
      const story = JSON.stringify({ seen, resumed });
      // Each tick publishes AAPL then AMZN: the first connection may have started between the
      // two (a slow machine), so the resumed stream goes on with whichever symbol comes next.
      expect(resumed.map((m) => m.type).sort(), story).toEqual(["AAPL", "AMZN"]);
      // Prices keep two decimals (189.50, not 189.5) on every runtime, Durable Object included.
      for (const m of resumed) expect(m.data, story).toMatch(/^\d+\.\d{2}$/);
      expect(resumed[0]!.type, story).not.toBe(seen[1]!.type);
      expect(Number(resumed[0]!.lastEventId), story).toBeGreaterThan(Number(lastId));
      expect(Number(resumed[1]!.lastEventId), story).toBeGreaterThan(Number(resumed[0]!.lastEventId));
      await again.body?.cancel().catch(() => {});
    });

    it("delivers a chat broadcast and a direct message with the original JSON fields", async () => {
      const user = `bob-${runtime}`;
      const stream = await fetch(`${server.url}/chat/sse?username=${user}`);
      expect(stream.status).toBe(200);
      const messages = readMessages(stream.body!);
      const broadcast = await fetch(`${server.url}/chat/broadcast?from=alice&message=${encodeURIComponent("hello all")}`, {
        method: "POST",
      });
      expect(broadcast.status).toBe(200);
      const direct = await fetch(`${server.url}/chat/direct?from=alice&to=${user}&message=psst`, { method: "POST" });
      expect(direct.status).toBe(202);
      // Accepted the same way when nobody is connected: the answer does not tell who is online.
      const nobody = await fetch(`${server.url}/chat/direct?from=alice&to=nobody-here&message=psst`, { method: "POST" });
      expect(nobody.status).toBe(202);
      const received = await take(messages, 2);
      expect(received.map((m) => m.type)).toEqual(["broadcast", "direct"]);
      const [b, d] = received.map((m) => JSON.parse(m.data));
      expect(b).toEqual({ Type: "broadcast", From: "alice", To: "", Message: "hello all", Timestamp: expect.any(String) });
      expect(d).toEqual({ Type: "direct", From: "alice", To: user, Message: "psst", Timestamp: expect.any(String) });
      expect(Number.isNaN(Date.parse(b.Timestamp))).toBe(false);
      await messages.return(undefined);
    });

    it("refuses chat requests that lack their parameters", async () => {
      expect((await fetch(`${server.url}/chat/sse`)).status).toBe(400);
      expect((await fetch(`${server.url}/chat/broadcast?from=a`, { method: "POST" })).status).toBe(400);
      expect((await fetch(`${server.url}/chat/direct?from=a&message=m`, { method: "POST" })).status).toBe(400);
    });
  });
}
