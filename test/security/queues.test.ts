// Issue 11, Medium 6: no unbounded queue behind the bounded ones. publish() past
// maxPendingPublishes waits in a bounded line (maxWaiting) and times out (publishTimeout);
// SSEStream.send() past the queue's bound waits in a bounded line too (maxWaiting), and a
// producer blocked on a frozen client is released by drainTimeout.
import { describe, expect, it } from "vitest";
import { SSEStream } from "../../src/core/stream.ts";
import type { Backplane } from "../../src/hub/index.ts";
import { SSEHub } from "../../src/hub/index.ts";

/** A backplane that never acknowledges a publish. */
function silentBackplane(): Backplane {
  return {
    publish: () => new Promise<string>(() => {}),
    subscribe: () => ({ unsubscribe() {} }),
    history: () => ({ gone: true }),
    close() {},
  };
}

describe("bounded publish line", () => {
  it("rejects publishes past maxWaiting at once, instead of holding them", async () => {
    const hub = new SSEHub({ backplane: silentBackplane(), maxPendingPublishes: 2, maxWaiting: 3, publishTimeout: false });
    const results = Array.from({ length: 10 }, () => hub.publish({ data: "x" }).catch((error: unknown) => error));
    const settled = await Promise.race([Promise.all(results.slice(5)), new Promise((r) => setTimeout(() => r("hang"), 1000))]);
    expect(settled).not.toBe("hang");
    for (const error of settled as unknown[]) expect(error).toBeInstanceOf(RangeError);
    await hub.close();
  });

  it("rejects a publish the backplane has not answered within publishTimeout", async () => {
    const hub = new SSEHub({ backplane: silentBackplane(), maxPendingPublishes: 1, publishTimeout: 50 });
    const first = hub.publish({ data: "a" });
    const second = hub.publish({ data: "b" }); // waits for a slot
    await expect(first).rejects.toMatchObject({ name: "TimeoutError" });
    await expect(second).rejects.toMatchObject({ name: "TimeoutError" });
    await hub.close();
  });
});

describe("bounded send line", () => {
  it("rejects sends past maxWaiting instead of keeping every chunk", async () => {
    const stream = new SSEStream({ keepAlive: false, maxQueued: 4, maxWaiting: 8 });
    const sends = Array.from({ length: 100 }, () => stream.send({ data: "x".repeat(1000) }).catch((error: unknown) => error));
    const rejected = (await Promise.all(sends.slice(12))).filter((r) => r instanceof RangeError);
    expect(rejected).toHaveLength(88);
    await stream.cancel();
    expect(await Promise.all(sends.slice(0, 12))).not.toContain(undefined);
  });

  it("releases a producer blocked on a client that stopped reading, after drainTimeout", async () => {
    const stream = new SSEStream({ keepAlive: false, maxQueued: 2, drainTimeout: 100 });
    const reader = stream.getReader();
    await stream.send({ data: "1" });
    await reader.read(); // then the client freezes
    let sent = 0;
    while (await stream.send({ data: "more" })) sent++;
    expect(sent).toBeGreaterThan(0);
    expect(stream.signal.aborted).toBe(true);
    await expect(reader.read()).rejects.toThrow(/cut/);
  });
});
