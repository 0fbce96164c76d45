// SSEGroup: streams join through sseResponse's `group` option and leave when they end; drain()
// refuses new ones, closes the open ones after a retry: and resolves once they have ended.
import { describe, expect, it } from "vitest";
import { SSEGroup, SSEStream, sseResponse } from "../../src/index.ts";

const request = () => new Request("http://localhost/sse");
const untilAborted = (stream: SSEStream) => new Promise((resolve) => stream.signal.addEventListener("abort", resolve));

describe("SSEGroup", () => {
  it("counts open streams, which leave when they end", async () => {
    const group = new SSEGroup();
    const responses = Array.from({ length: 3 }, () => sseResponse(request(), untilAborted, { group, keepAlive: false }));
    expect(group.size).toBe(3);
    await responses[0]!.body!.cancel();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(group.size).toBe(2);
    await group.drain({ deadline: 5_000, jitter: 0 });
    expect(group.size).toBe(0);
  });

  it("drains in waves: every stream ends after a retry: of 100 ms or more, and drain() resolves once", async () => {
    const group = new SSEGroup();
    const responses = Array.from({ length: 40 }, () => sseResponse(request(), untilAborted, { group, keepAlive: false }));
    const texts = Promise.all(responses.map((response) => response.text()));
    const drained = group.drain({ deadline: 10_000, jitter: 200 });
    expect(group.drain()).toBe(drained);
    expect(group.draining).toBe(true);
    await drained;
    for (const text of await texts) {
      const retry = Number(/^retry: (\d+)\n\n$/.exec(text)?.[1]);
      // Stratified over [100, 100 + the wave interval): 4 waves of 50 ms.
      expect(retry).toBeGreaterThanOrEqual(100);
      expect(retry).toBeLessThan(150);
    }
  });

  it("refuses new streams while draining: sseResponse answers 503 with Retry-After, add() closes at once", async () => {
    const group = new SSEGroup();
    await group.drain();
    let ran = false;
    const refused = sseResponse(request(), () => void (ran = true), { group });
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(ran).toBe(false);
    const stream = new SSEStream({ keepAlive: false });
    group.add(stream);
    expect(stream.signal.aborted).toBe(true);
    expect(group.size).toBe(0);
  });

  it("rejects invalid options with a RangeError", async () => {
    await expect(new SSEGroup().drain({ deadline: 1_000, jitter: 2_000 })).rejects.toThrow(RangeError);
    await expect(new SSEGroup().drain({ deadline: -1 })).rejects.toThrow(/Cannot drain the group: "deadline"/);
  });
});
