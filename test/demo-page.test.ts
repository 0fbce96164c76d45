// The demo page in headless Chromium, served by the Node example: prices arrive on the chart, a
// chat message from one page arrives in another, and after the server is killed and restarted
// the page reconnects on its own, sending the Last-Event-ID it had.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, chromiumAvailable, launchChromium } from "./_helpers/browser.ts";
import { freePort, ROOT, type RunningServer, startProcess } from "./_helpers/runtimes.ts";

interface DemoState {
  prices: number;
  lastPriceId: string;
  messages: { type: string; From: string; To: string; Message: string }[];
  priceState: string;
  chatState: string;
  opens: number;
}
const state = (page: Page) => page.evaluate(() => (window as unknown as { demo: DemoState }).demo);

describe.skipIf(!chromiumAvailable())("the demo page in Chromium", () => {
  let browser: Browser;
  let server: RunningServer;
  let port: number;
  // node itself, not the tsx wrapper: a SIGKILL must reach the server, not only its launcher.
  const start = () =>
    startProcess(process.execPath, ["--import", "tsx", "examples/node/main.ts"], { env: { PORT: String(port) } });

  beforeAll(async () => {
    port = await freePort();
    server = await start();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("charts prices, carries chat between pages, and resumes after a server restart", async () => {
    const alice = await browser.context.newPage();
    const bob = await browser.context.newPage();
    await alice.setViewportSize({ width: 1280, height: 720 });
    await alice.goto(`${server.url}/`);
    await bob.goto(`${server.url}/`);

    // Prices arrive and are drawn.
    await alice.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.prices >= 4, undefined, {
      timeout: 10_000,
    });
    expect(await alice.textContent("#px-AAPL")).toMatch(/^\d+\.\d{2}$/);
    expect(await alice.textContent("#px-AMZN")).toMatch(/^\d+\.\d{2}$/);
    const drawn = await alice.evaluate(() => {
      const canvas = document.getElementById("chart") as HTMLCanvasElement;
      const pixels = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) painted++;
      return painted;
    });
    expect(drawn).toBeGreaterThan(100);

    // Chat: both join, alice broadcasts and sends bob a direct message.
    for (const [page, name] of [
      [alice, "alice"],
      [bob, "bob"],
    ] as const) {
      await page.fill("#username", name);
      await page.click("#join-button");
      await page.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.chatState === "open");
    }
    await alice.fill("#message", "hello from alice");
    await alice.click("#send-button");
    await bob.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.messages.length >= 1);
    const direct = await alice.evaluate(
      async () => (await fetch("/chat/direct?from=alice&to=bob&message=just+for+bob", { method: "POST" })).status,
    );
    expect(direct).toBe(202);
    await bob.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.messages.length >= 2);
    const received = (await state(bob)).messages;
    expect(received.map((m) => [m.type, m.From, m.Message])).toEqual([
      ["broadcast", "alice", "hello from alice"],
      ["direct", "alice", "just for bob"],
    ]);
    expect(await bob.textContent("#messages")).toContain("just for bob");

    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    await alice.screenshot({ path: join(ROOT, "test-results/demo.png") });

    // Kill the server (a crash: SIGKILL, no drain); the page shows it is reconnecting, then resumes
    // when it is back.
    const before = await state(alice);
    await server.stop("SIGKILL");
    await alice.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.priceState === "reconnecting", undefined, {
      timeout: 10_000,
    });
    expect(await alice.textContent("#price-state")).toContain(`reconnecting from id ${before.lastPriceId}`.slice(0, 20));
    server = await start();
    await alice.waitForFunction(() => (window as unknown as { demo: DemoState }).demo.opens >= 2, undefined, { timeout: 15_000 });
    const lastId = (await state(alice)).lastPriceId;
    // The page reconnected with the id of the last price it had seen...
    await expect.poll(() => server.output!(), { timeout: 5_000 }).toMatch(/price subscriber, last event ID: \d+/);
    const sent = /price subscriber, last event ID: (\d+)/.exec(server.output!())![1]!;
    expect(Number(sent)).toBeGreaterThanOrEqual(Number(before.lastPriceId));
    expect(Number(sent)).toBeLessThanOrEqual(Number(lastId));
    // ...and prices flow again.
    const count = (await state(alice)).prices;
    await alice.waitForFunction((n) => (window as unknown as { demo: DemoState }).demo.prices > n, count, { timeout: 10_000 });
    expect((await state(alice)).priceState).toBe("open");
  });
});
