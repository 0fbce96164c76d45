// The typed Node client example (examples/client/typed-client.ts) against the demo app served by
// @hono/node-server: it prints typed prices, and a broadcast posted the curl way.
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createApp } from "../../examples/app.ts";
import { watch } from "../../examples/client/typed-client.ts";

const app = createApp({ interval: 50, log: () => {} });
let server: ReturnType<typeof serve>;
let base = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
});

afterAll(async () => {
  await app.close();
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
});

it("prints typed prices and chat messages from the demo app", async () => {
  const lines: string[] = [];
  const controller = new AbortController();
  let seen!: () => void;
  const enough = new Promise<void>((resolve) => {
    seen = resolve;
  });
  const done = watch(base, {
    signal: controller.signal,
    user: "typed-test",
    print: (line) => {
      lines.push(line);
      if (lines.some((l) => l.endsWith("kitex: hello typed")) && lines.some((l) => /^AAPL \d+\.\d\d/.test(l))) seen();
    },
  });
  // Post until the chat subscription is live and has received it (it may not be subscribed yet).
  const posting = setInterval(() => {
    fetch(`${base}/chat/broadcast?from=kitex&message=hello%20typed`, { method: "POST" }).catch(() => {});
  }, 50);
  await enough;
  clearInterval(posting);
  controller.abort();
  await done;
  expect(lines.find((l) => l.startsWith("AMZN ") || l.startsWith("AAPL "))).toMatch(/^(AAPL|AMZN) \d+\.\d\d \(id \d+\)$/);
});
