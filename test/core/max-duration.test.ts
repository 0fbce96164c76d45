// maxDuration (issue 13): a stream or a hub subscription ends cleanly a little before the limit,
// after a retry: field, so that a client resumes with its last id instead of failing.
import { describe, expect, it } from "vitest";
import { sseResponse } from "../../src/core/response.ts";
import { SSEStream } from "../../src/core/stream.ts";
import { SSEHub } from "../../src/hub/index.ts";

describe("maxDuration", () => {
  it("ends an SSEStream cleanly before the limit, after retry:, keeping the last id", async () => {
    const stream = new SSEStream({ keepAlive: false, maxDuration: 300, retry: 2000 });
    const started = performance.now();
    await stream.send({ id: "7", data: "last" });
    const text = await new Response(stream).text();
    const elapsed = performance.now() - started;
    expect(text).toBe("retry: 2000\n\ndata: last\nid: 7\n\nretry: 2000\n\n");
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(300);
    expect(stream.signal.aborted).toBe(true);
  });

  it("stops an sseResponse handler through its signal, and sends retry: 1000 by default", async () => {
    let stopped = false;
    const response = sseResponse(
      undefined,
      async (stream) => {
        await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
        stopped = true;
      },
      { keepAlive: false, maxDuration: 100 },
    );
    expect(await response.text()).toBe("retry: 1000\n\n");
    expect(stopped).toBe(true);
  });

  it("ends hub subscriptions cleanly before the limit, after retry:", async () => {
    const hub = new SSEHub({ keepAlive: false, maxDuration: 400, retry: 500 });
    const started = performance.now();
    const response = await hub.subscribe(new Request("http://localhost/sse"));
    await hub.publish({ data: "a" });
    const text = await response.text();
    const elapsed = performance.now() - started;
    expect(text).toMatch(/^retry: 500\n\ndata: a\nid: [^\n]+\n\nretry: 500\n\n$/);
    expect(elapsed).toBeLessThan(400);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(hub.size).toBe(0);
    await hub.close();
  });
});
