// The client against a hostile server (issue 11, finding 11): a stream must not be able to make
// subscribe() reconnect in a busy loop, park it for weeks, or choose the size of its request
// headers. Each test failed on the client before the fix (a zero-delay loop; a delay of
// 2147483647 ms; a 5000-byte Last-Event-ID sent back).
import { describe, expect, it } from "vitest";
import { subscribe } from "../../src/client/subscribe.ts";
import type { RetryInfo } from "../../src/client/subscribe-options.ts";
import { routeServer } from "../client/_route-server.ts";

const { route } = routeServer();

/** A response that writes `body` and ends at once, as a hostile or broken server may. */
const endAtOnce = (body: string) => new Response(body, { headers: { "content-type": "text/event-stream" } });

/** Resolves once `n` values have been pushed. */
function counter<T>(n: number): { values: T[]; push: (value: T) => void; reached: Promise<T[]> } {
  const values: T[] = [];
  let resolve!: (values: T[]) => void;
  const reached = new Promise<T[]>((r) => {
    resolve = r;
  });
  return {
    values,
    push(value) {
      values.push(value);
      if (values.length === n) resolve(values);
    },
    reached,
  };
}

describe("subscribe against a hostile server", () => {
  it("waits at least 100 ms before reconnecting to a stream that ended at once with retry: 0", async () => {
    const times = counter<number>(4);
    const url = route(() => {
      times.push(performance.now());
      return endAtOnce("retry: 0\ndata: x\n\n");
    });
    // The client's own reconnection time is 0 too: neither side can turn the floor off.
    const subscription = subscribe(url, { retry: 0, backoff: { jitter: 0 } });
    const seen = await times.reached;
    subscription.close();
    const gaps = seen.slice(1).map((t, i) => t - seen[i]!);
    // A timer never fires early; 5 ms of slack covers the two clocks' rounding.
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(95);
  });

  it("clamps an absurd retry: to maxRetry (5 minutes by default)", async () => {
    const url = route(() => endAtOnce("retry: 2147483647\ndata: x\n\n"));
    const retries = counter<RetryInfo>(1);
    const subscription = subscribe(url, { backoff: { jitter: 0 }, onRetry: retries.push });
    const [info] = await retries.reached;
    subscription.close();
    expect(info!.delay).toBe(300_000);

    const tighter = counter<RetryInfo>(1);
    const clamped = subscribe(url, { maxRetry: 1500, backoff: { jitter: 0 }, onRetry: tighter.push });
    const [short] = await tighter.reached;
    clamped.close();
    expect(short!.delay).toBe(1500);
  });

  it("does not send back as Last-Event-ID an id longer than 1024 bytes of UTF-8", async () => {
    const ids = ["a".repeat(1024), "x".repeat(5000), "é".repeat(600)]; // The last: 1200 bytes.
    const headers = counter<string | null>(ids.length + 1);
    let call = 0;
    const url = route((request) => {
      headers.push(request.headers.get("last-event-id"));
      const id = ids[call++];
      return endAtOnce(id === undefined ? "" : `id: ${id}\ndata: x\n\n`);
    });
    const subscription = subscribe(url, { retry: 0, backoff: { jitter: 0 } });
    const seen = await headers.reached;
    subscription.close();
    expect(seen.map((h) => h?.length ?? null)).toEqual([null, 1024, null, null]);
    // The id is still the stream's last event id; it is only not sent.
    expect(subscription.lastEventId).toBe("é".repeat(600));
  });
});
