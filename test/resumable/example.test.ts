// The example's chat with a model, started for real on each runtime as its npm script starts it:
// a generation read to its end, 204 afterwards, a stop that cancels the mock model's request;
// and the demo page in Chromium, reloaded mid-answer, showing the whole answer once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mockAnswer } from "../../examples/ai/mock-upstream.ts";
import { chromiumAvailable, launchChromium } from "../_helpers/browser.ts";
import { RedisServer, redisRequirement } from "../_helpers/redis.ts";
import { available, binary, freePort, type RunningServer, type RuntimeName, startProcess } from "../_helpers/runtimes.ts";
import { EventReader } from "./_events.ts";

const TSX = "node_modules/.bin/tsx";
const COMMANDS: Record<RuntimeName, [string, string[]]> = {
  node: [TSX, ["examples/node/main.ts"]],
  deno: [binary("deno"), ["run", "--quiet", "--no-lock", "--allow-net", "--allow-env", "examples/deno/main.ts"]],
  bun: [binary("bun"), ["run", "examples/bun/main.ts"]],
  workerd: [TSX, ["examples/cloudflare/run.ts"]],
};

async function start(runtime: RuntimeName, env: Record<string, string> = {}): Promise<RunningServer> {
  const port = await freePort();
  const [command, args] = COMMANDS[runtime];
  return startProcess(command, args, { env: { PORT: String(port), ...env } });
}

function post(base: string, id: string, text: string): Promise<Response> {
  return fetch(`${base}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id,
      trigger: "submit-message",
      messages: [{ id: "u1", role: "user", parts: [{ type: "text", text }] }],
    }),
  });
}

const deltas = (reader: EventReader): string =>
  reader.data
    .filter((data) => data !== "[DONE]")
    .map((data) => JSON.parse(data) as { type: string; delta?: string })
    .map((chunk) => (chunk.type === "text-delta" ? chunk.delta : ""))
    .join("");

const stats = async (base: string): Promise<{ requests: number; cancelled: number; completed: number }> =>
  (await fetch(`${base}/v1/mock/stats`)).json();

for (const runtime of ["node", "deno", "bun", "workerd"] as RuntimeName[]) {
  describe.skipIf(!available(runtime))(`the AI chat example on ${runtime}`, () => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await start(runtime, { MOCK_INTERVAL: "10" });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("streams a generation as UI message chunks to its end, then answers 204", async () => {
      const id = `chat-${runtime}-1`;
      const response = await post(server.url, id, "hello");
      expect(response.status).toBe(200);
      expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
      const reader = new EventReader(response);
      await reader.ended;
      expect(JSON.parse(reader.data[0]!)).toMatchObject({ type: "start" });
      expect(reader.data.at(-1)).toBe("[DONE]");
      expect(deltas(reader)).toBe(mockAnswer("hello"));
      expect((await fetch(`${server.url}/api/chat/${id}/stream`)).status).toBe(204);
      const resumed = await fetch(`${server.url}/api/chat/${id}/stream`, {
        headers: { "Last-Event-ID": reader.messages[3]!.lastEventId },
      });
      const rest = new EventReader(resumed);
      await rest.ended;
      expect(rest.data).toEqual(reader.data.slice(4));
    });

    it("stops a generation from another request: the mock model sees its request cancelled", async () => {
      const id = `chat-${runtime}-2`;
      const before = await stats(server.url);
      const reader = new EventReader(await post(server.url, id, "stop me"));
      await reader.until(() => reader.data.length >= 3);
      const stop = await fetch(`${server.url}/api/chat/${id}/stop`, { method: "POST" });
      expect(await stop.json()).toEqual({ stopped: true });
      await reader.ended;
      expect(JSON.parse(reader.data.at(-1)!)).toEqual({ type: "abort" });
      const after = await stats(server.url);
      expect(after.cancelled).toBe(before.cancelled + 1);
    });
  });
}

describe.skipIf(!chromiumAvailable())("the AI chat panel in Chromium", () => {
  let server: RunningServer;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  beforeAll(async () => {
    server = await start("node", { MOCK_INTERVAL: "40" });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it("shows the complete answer once after a reload mid-answer", async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/`);
    await page.fill("#ai-input", "reload me");
    await page.click("#ai-send");
    await page.waitForFunction(() => (window as unknown as { aiChat: { text: string } }).aiChat.text.split(" ").length >= 8);
    const partial = await page.textContent("#ai-answer");
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { aiChat: { state: string } }).aiChat.state === "done", undefined, {
      timeout: 20_000,
    });
    const answer = mockAnswer("reload me");
    expect(await page.textContent("#ai-answer")).toBe(answer);
    expect(answer.startsWith(partial!)).toBe(true);
    // Stop on a second question: the cancelled count shown goes up.
    const cancelled = Number(await page.textContent("#ai-cancelled"));
    await page.fill("#ai-input", "then stop");
    await page.click("#ai-send");
    await page.waitForFunction(() => (window as unknown as { aiChat: { text: string } }).aiChat.text.length > 0);
    await page.click("#ai-stop");
    await page.waitForFunction((before) => Number(document.getElementById("ai-cancelled")!.textContent) > before, cancelled);
    expect(await page.textContent("[data-testid=ai-state]")).toBe("stopped");
  });
});

describe.skipIf(redisRequirement() === "skip")("the AI chat example with REDIS_URL", () => {
  let redis: RedisServer;
  let servers: RunningServer[] = [];
  beforeAll(async () => {
    redis = await RedisServer.start();
    servers = await Promise.all([0, 1].map(() => start("node", { REDIS_URL: redis.url, MOCK_INTERVAL: "20" })));
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => server.stop()));
    await redis?.stop();
  });

  it("shares generations between two processes: started on one, followed on the other", async () => {
    const [a, b] = servers as [RunningServer, RunningServer];
    const onA = new EventReader(await post(a.url, "shared-1", "two processes"));
    await onA.until(() => onA.messages.length >= 5);
    const onB = new EventReader(await fetch(`${b.url}/api/chat/shared-1/stream`));
    await Promise.all([onA.ended, onB.ended]);
    expect(onB.data).toEqual(onA.data);
    expect(onB.messages.map((m) => m.lastEventId)).toEqual(onA.messages.map((m) => m.lastEventId));
    expect(deltas(onB)).toBe(mockAnswer("two processes"));
    expect((await fetch(`${b.url}/api/chat/shared-1/stream`)).status).toBe(204);
  });
});
