// maxDuration (issue 13): a stream or a hub subscription ends cleanly a little before the limit,
// after a retry: field, so that a client resumes with its last id instead of failing.
import { describe, expect, it, vi } from "vitest";
import { sseResponse } from "../../src/core/response.ts";
import { SSEStream } from "../../src/core/stream.ts";
import { SSEHub } from "../../src/hub/index.ts";

describe("maxDuration", () => {
  // Fake timers: "before the limit" is asserted on the clock the stream schedules with, so that
  // a loaded machine firing timers late cannot fail it.
  it("ends an SSEStream cleanly before the limit, after retry:, keeping the last id", async () => {
    vi.useFakeTimers();
    try {
      const stream = new SSEStream({ keepAlive: false, maxDuration: 300, retry: 2000 });
      await stream.send({ id: "7", data: "last" });
      const text = new Response(stream).text();
      await vi.advanceTimersByTimeAsync(250);
      expect(stream.signal.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(49);
      expect(stream.signal.aborted).toBe(true);
      expect(await text).toBe("retry: 2000\n\ndata: last\nid: 7\n\nretry: 2000\n\n");
    } finally {
      vi.useRealTimers();
    }
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
    vi.useFakeTimers();
    try {
      const hub = new SSEHub({ keepAlive: false, maxDuration: 400, retry: 500 });
      const response = await hub.subscribe(new Request("http://localhost/sse"));
      await hub.publish({ data: "a" });
      const text = response.text();
      await vi.advanceTimersByTimeAsync(250);
      expect(hub.size).toBe(1);
      await vi.advanceTimersByTimeAsync(149);
      expect(hub.size).toBe(0);
      expect(await text).toMatch(/^retry: 500\n\ndata: a\nid: [^\n]+\n\nretry: 500\n\n$/);
      await hub.close();
    } finally {
      vi.useRealTimers();
    }
  });
});
