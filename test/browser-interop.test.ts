// Interop with a real browser: Chromium's native EventSource against a hertz-sse server.
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLastEventId } from "../src/core/last-event-id.ts";
import { sseResponse } from "../src/core/response.ts";
import { type Browser, chromiumAvailable, launchChromium } from "./_helpers/browser.ts";

const PAGE = `<!doctype html><meta charset="utf-8"><title>interop</title>
<script>
  window.log = [];
  const source = new EventSource("/events");
  const record = (e) => window.log.push({ type: e.type, data: e.data, lastEventId: e.lastEventId });
  source.onmessage = record;
  source.addEventListener("greeting", record);
  source.addEventListener("resumed", record);
  source.onopen = () => window.log.push({ type: "open" });
</script>`;

describe.skipIf(!chromiumAvailable())("Chromium's native EventSource on a hertz-sse server", () => {
  let browser: Browser;
  let server: ReturnType<typeof serve>;
  let base = "";
  const seenLastEventIds: (string | undefined)[] = [];

  beforeAll(async () => {
    let connection = 0;
    const fetch = (request: Request): Response => {
      const url = new URL(request.url);
      if (url.pathname === "/") return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
      if (url.pathname !== "/events") return new Response("not found", { status: 404 });
      connection++;
      seenLastEventIds.push(getLastEventId(request));
      if (connection === 1) {
        // First connection: named event, multi-line data, a non-ASCII id; then the server ends
        // the stream and the browser reconnects after `retry`.
        return sseResponse(request, async (stream) => {
          await stream.send({ retry: 50 });
          await stream.send({ event: "greeting", data: "hello", id: "1" });
          await stream.send({ data: "line one\nline two\r\nline three", id: "2" });
          await stream.send({ data: "ünïcödé ✓", id: "évènement-3" });
        });
      }
      return sseResponse(
        request,
        async (stream) => {
          await stream.send({ event: "resumed", data: `after ${getLastEventId(request)}`, id: "4" });
          await stream.closed;
        },
        { keepAlive: 1000 },
      );
    };
    await new Promise<void>((resolve) => {
      server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
        base = `http://127.0.0.1:${info.port}`;
        resolve();
      });
    });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
    await new Promise((r) => server?.close(r));
  });

  it("receives named events, multi-line data and a reconnection with Last-Event-ID", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${base}/`);
    await page.waitForFunction(
      () => (window as unknown as { log: { type: string }[] }).log.some((e) => e.type === "resumed"),
      undefined,
      { timeout: 10_000 },
    );
    const log = await page.evaluate(() => (window as unknown as { log: unknown[] }).log);
    expect(log).toEqual([
      { type: "open" },
      { type: "greeting", data: "hello", lastEventId: "1" },
      { type: "message", data: "line one\nline two\nline three", lastEventId: "2" },
      { type: "message", data: "ünïcödé ✓", lastEventId: "évènement-3" },
      { type: "open" },
      { type: "resumed", data: "after évènement-3", lastEventId: "4" },
    ]);
    expect(seenLastEventIds).toEqual([undefined, "évènement-3"]);
    await page.close();
  });
});
