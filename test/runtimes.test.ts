// The server core on four real runtimes: Node (through @hono/node-server), Deno.serve, Bun.serve
// and workerd. One test body, registered once per runtime; each starts the same app
// (test/runtimes/app.ts) for real on a free port and talks to it over HTTP.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResponseError } from "../src/client/errors.ts";
import { subscribe } from "../src/client/subscribe.ts";
import { available, binary, type RunningServer, type RuntimeName, startApp } from "./_helpers/runtimes.ts";
import { readMessages } from "./_helpers/spec-parser.ts";

const RUNTIMES: RuntimeName[] = ["node", "deno", "bun", "workerd"];
// On Bun, withBunIdleTimeout starts every event stream with an empty comment to send the headers.
const withoutPrelude = (text: string) => text.replace(/^:\n\n/, "");

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, withinMs: number): Promise<T> {
  const deadline = Date.now() + withinMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const runtime of RUNTIMES) {
  describe.skipIf(!available(runtime))(`the server core on ${runtime}`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startApp(runtime);
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("answers with the event-stream headers", async () => {
      const response = await fetch(`${server.url}/ticks?n=1&interval=0`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
      expect(response.headers.get("x-accel-buffering")).toBe("no");
      expect(response.headers.get("x-runtime-test")).toBe("yes");
      expect(response.headers.get("transfer-encoding") ?? "chunked").toBe("chunked");
      await response.body?.cancel();
    });

    it("sends the headers before the first event of a quiet stream", async () => {
      const started = performance.now();
      const response = await fetch(`${server.url}/keepalive?every=10000`);
      expect(response.status).toBe(200);
      expect(performance.now() - started).toBeLessThan(2_000);
      await response.body?.cancel();
    });

    it("delivers events one by one while the stream is open", async () => {
      const interval = 150;
      const response = await fetch(`${server.url}/ticks?n=5&interval=${interval}`);
      const arrivals: number[] = [];
      const ids: string[] = [];
      for await (const message of readMessages(response.body!)) {
        arrivals.push(performance.now());
        ids.push(message.lastEventId);
        expect(message.type).toBe("tick");
        expect(JSON.parse(message.data)).toEqual({ i: arrivals.length });
      }
      expect(ids).toEqual(["1", "2", "3", "4", "5"]);
      // Buffered to the end, all five would arrive together; streamed, they are ~4 intervals apart.
      expect(arrivals[4]! - arrivals[0]!).toBeGreaterThan(2 * interval);
    });

    it("sees the client disconnect within one second and stops the handler", async () => {
      const channel = `${runtime}-${Math.random().toString(36).slice(2)}`;
      const controller = new AbortController();
      const response = await fetch(`${server.url}/forever?ch=${channel}`, { signal: controller.signal });
      const messages = readMessages(response.body!);
      expect((await messages.next()).value?.data).toBe("event 1");
      expect((await messages.next()).value?.data).toBe("event 2");
      controller.abort();
      const started = Date.now();
      const status = await waitFor(
        "the server to see the disconnect",
        async () => {
          const s = (await (await fetch(`${server.url}/status?ch=${channel}`)).json()) as {
            closed: boolean;
            handlerReturned: boolean;
          };
          // workerd ends the whole request context on disconnect: cancel() runs (so `closed` and
          // `signal` fire), but the handler's pending timers never fire again, so it never returns.
          return s.closed && (s.handlerReturned || runtime === "workerd") ? s : undefined;
        },
        1_000,
      );
      expect(status.closed).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_000);
    });

    it("sends keep-alive comments on an idle stream", async () => {
      const response = await fetch(`${server.url}/keepalive?every=50`);
      const comments: string[] = [];
      const reader = response
        .body!.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>)
        .getReader();
      let text = "";
      while ((text.match(/^: keep-alive\n\n/gm) ?? []).length < 3) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      await reader.cancel();
      comments.push(...(text.match(/^: keep-alive$/gm) ?? []));
      expect(comments.length).toBeGreaterThanOrEqual(3);
      expect(withoutPrelude(text).replaceAll(": keep-alive\n\n", "")).toBe("");
    });

    it("ends the stream without leaking a handler error", async () => {
      const response = await fetch(`${server.url}/fail`);
      const text = withoutPrelude(await response.text());
      expect(text).toBe("data: first\n\nevent: error\ndata: something went wrong\n\n");
      expect(text).not.toContain("secret");
    });

    it("reads a non-ASCII Last-Event-ID back as the id that was sent", async () => {
      const id = "évènement-42-✓";
      const bytes = new TextEncoder().encode(id);
      const header = String.fromCharCode(...bytes);
      const response = await fetch(`${server.url}/last-event-id`, { headers: { "Last-Event-ID": header } });
      const messages = [];
      for await (const message of readMessages(response.body!)) messages.push(message);
      expect(messages).toEqual([{ type: "echo", data: id, lastEventId: "" }]);
    });

    // A plain Worker cannot write to one request's stream from another request: on workerd the
    // hub runs in a Durable Object, tested in test/cloudflare.test.ts.
    if (runtime !== "workerd")
      it("fans a hub's topics out, and replays what a reconnecting client missed", async () => {
        const topic = (name: string) => `${runtime}-${name}-${Math.random().toString(36).slice(2)}`;
        const [a, b] = [topic("a"), topic("b")];
        const publish = async (t: string, data: string) =>
          (
            (await (await fetch(`${server.url}/hub/publish?topic=${t}&data=${data}`, { method: "POST" })).json()) as {
              id: string;
            }
          ).id;
        const count = async (t: string) =>
          ((await (await fetch(`${server.url}/hub/count?topic=${t}`)).json()) as { topic: number }).topic;
        const controllerA = new AbortController();
        const subA = readMessages((await fetch(`${server.url}/hub?topic=${a}`, { signal: controllerA.signal })).body!);
        const subB = readMessages((await fetch(`${server.url}/hub?topic=${b}`)).body!);
        const subAB = readMessages((await fetch(`${server.url}/hub?topic=${a}&topic=${b}`)).body!);
        expect(await count(a)).toBe(2);
        const ids = [await publish(a, "a1"), await publish(b, "b1"), await publish(a, "a2")];
        const next = async (sub: AsyncGenerator<{ data: string; lastEventId: string }>) => (await sub.next()).value!;
        expect([await next(subA), await next(subA)].map((m) => [m.data, m.lastEventId])).toEqual([
          ["a1", ids[0]],
          ["a2", ids[2]],
        ]);
        expect([(await next(subB)).data]).toEqual(["b1"]);
        expect([await next(subAB), await next(subAB), await next(subAB)].map((m) => m.data)).toEqual(["a1", "b1", "a2"]);
        // A disconnects; the server notices; A misses two events, then reconnects with its last id.
        controllerA.abort();
        await waitFor("the hub to drop the subscriber", async () => ((await count(a)) === 1 ? true : undefined), 1_000);
        await publish(a, "a3");
        await publish(a, "a4");
        const again = readMessages(
          (await fetch(`${server.url}/hub?topic=${a}`, { headers: { "Last-Event-ID": ids[2]! } })).body!,
        );
        expect([(await next(again)).data, (await next(again)).data]).toEqual(["a3", "a4"]);
        await publish(a, "a5");
        expect((await next(again)).data).toBe("a5");
        // An id the hub never issued gets the reset event.
        const unknown = readMessages(
          (await fetch(`${server.url}/hub?topic=${a}`, { headers: { "Last-Event-ID": "no-such-id" } })).body!,
        );
        expect((await next(unknown)).type).toBe("reset");
        for (const sub of [subB, subAB, again, unknown]) await sub.return(undefined);
      });

    it("lets the client resume after the server ends the stream, honouring the server's retry", async () => {
      // The client's own reconnection time is 10 s; the server's `retry: 10` must replace it, or
      // the two reconnections below would not fit in the test's time.
      const messages = [];
      const started = performance.now();
      for await (const message of subscribe(`${server.url}/counter?retry=10`, { retry: 10_000 })) {
        messages.push(message);
        if (messages.length === 7) break;
      }
      expect(messages.map((m) => [m.type, m.data, m.lastEventId])).toEqual(
        [1, 2, 3, 4, 5, 6, 7].map((n) => ["count", String(n), String(n)]),
      );
      expect(performance.now() - started).toBeLessThan(5_000);
    });

    it("ends the client on 204, and fails it on 500 or a wrong content type", async () => {
      const none = [];
      for await (const message of subscribe(`${server.url}/code?code=204`)) none.push(message);
      expect(none).toEqual([]);
      for (const [path, status] of [
        ["/code?code=500", 500],
        ["/wrong-type", 200],
      ] as const) {
        const failure = await (async () => {
          for await (const _ of subscribe(`${server.url}${path}`, { retry: 10 })) {
            // nothing arrives
          }
        })().catch((error: unknown) => error);
        expect(ResponseError.is(failure), path).toBe(true);
        expect((failure as ResponseError).status).toBe(status);
      }
    });

    it("consumes a POST stream with a JSON body and an Authorization header", async () => {
      const stream = subscribe(`${server.url}/echo`, {
        method: "POST",
        headers: { Authorization: "Bearer token-123", "Content-Type": "application/json" },
        body: JSON.stringify({ prompt: "hello", n: 1 }),
        backoff: { maxAttempts: 0 },
      });
      const messages = [];
      for await (const message of stream) messages.push(message);
      expect(messages).toHaveLength(1);
      expect(messages[0]!.type).toBe("echo");
      expect(JSON.parse(messages[0]!.data)).toEqual({
        method: "POST",
        authorization: "Bearer token-123",
        body: { prompt: "hello", n: 1 },
      });
    });

    if (runtime === "node") {
      // The client itself is portable: the same subscription, run by Deno and by Bun.
      const run = promisify(execFile);
      const clients: [string, () => [string, string[]]][] = [
        [
          "deno",
          () => [binary("deno"), ["run", "--quiet", "--no-lock", "--allow-net", "test/runtimes/client-script.ts", server.url]],
        ],
        ["bun", () => [binary("bun"), ["run", "test/runtimes/client-script.ts", server.url]]],
      ];
      for (const [name, command] of clients) {
        if (!available(name as RuntimeName)) continue;
        it(`runs the client on ${name}, resuming across reconnections`, async () => {
          const [file, args] = command();
          const { stdout } = await run(file, args, { timeout: 20_000 });
          const received = JSON.parse(stdout.trim().split("\n").at(-1)!) as { data: string; lastEventId: string }[];
          expect(received.map((m) => m.lastEventId)).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
        });
      }
    }

    if (runtime === "bun") {
      it("outlives Bun's idle timeout on a quiet stream", async () => {
        // The Bun server runs with idleTimeout: 1 (second); withBunIdleTimeout must lift it.
        const response = await fetch(`${server.url}/quiet?silence=2200`);
        expect(await response.text()).toBe(":\n\ndata: before\n\ndata: after\n\n");
      });
    }
  });
}
