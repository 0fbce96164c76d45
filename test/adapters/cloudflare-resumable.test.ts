// ResumableStreamObject on the real workerd binary, its storage on disk: the producer runs in the
// object and keeps generating after its client has gone; a client resumes exactly from its
// Last-Event-ID, also after workerd restarts; DELETE stops it; nothing left to resume is a 204.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { available } from "../_helpers/runtimes.ts";
import { type DurableObjectWorker, startDurableObjectWorker } from "../_helpers/workerd.ts";
import { Subscription } from "./cloudflare/subscription.ts";

const tokens = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `token-${from + i}`);

describe.skipIf(!available("workerd"))("ResumableStreamObject on workerd", () => {
  let worker: DurableObjectWorker;
  let base: string;
  const open: Subscription[] = [];
  const start = async (stream: string, count: number): Promise<Subscription> => {
    const subscription = await Subscription.open(
      `${base}/?stream=${stream}`,
      { "content-type": "application/json" },
      {
        method: "POST",
        body: JSON.stringify({ tokens: count }),
      },
    );
    open.push(subscription);
    return subscription;
  };
  const resume = async (stream: string, lastEventId?: string): Promise<Subscription> => {
    const subscription = await Subscription.open(
      `${base}/?stream=${stream}`,
      lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId },
    );
    open.push(subscription);
    return subscription;
  };
  const status = async (stream: string): Promise<string | null> =>
    ((await (await fetch(`${base}/status?stream=${stream}`)).json()) as { status: string | null }).status;
  const untilStatus = async (stream: string, wanted: string): Promise<void> => {
    const deadline = Date.now() + 15_000;
    let now = await status(stream);
    while (now !== wanted) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for status ${wanted}; it is ${now}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      now = await status(stream);
    }
  };

  beforeAll(async () => {
    worker = await startDurableObjectWorker("test/adapters/cloudflare/resumable-worker.ts", {
      name: "cloudflare-resumable",
      className: "TestStream",
      binding: "STREAMS",
    });
    base = worker.server.url;
  });
  afterEach(() => {
    for (const subscription of open.splice(0)) subscription.close();
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it("keeps generating after its client disconnects, and resumes exactly after the client's last frame", async () => {
    const first = await start("s1", 40);
    const seen = await first.count(5);
    expect(seen.map((message) => message.data)).toEqual(tokens(1, 5));
    first.close();
    // Nobody is connected while the other 35 tokens are produced.
    await untilStatus("s1", "done");
    const again = await resume("s1", seen[4]!.lastEventId);
    await again.until(() => again.ended, "the end of the resumed stream");
    expect(again.messages.map((message) => message.data)).toEqual(tokens(6, 40));
    const ids = [...seen, ...again.messages].map((message) => message.lastEventId);
    expect(new Set(ids).size).toBe(40);
    // Nothing left to resume: without an id, or with the last frame's.
    expect((await fetch(`${base}/?stream=s1`)).status).toBe(204);
    expect((await fetch(`${base}/?stream=s1`, { headers: { "Last-Event-ID": ids[39]! } })).status).toBe(204);
  });

  it("resumes from the object's storage after workerd restarts", async () => {
    const first = await start("s2", 30);
    const seen = await first.count(30);
    await first.until(() => first.ended, "the end of the stream");
    await worker.restart();
    base = worker.server.url;
    const again = await resume("s2", seen[19]!.lastEventId);
    await again.until(() => again.ended, "the end of the resumed stream");
    expect(again.messages).toEqual(seen.slice(20));
    expect(await status("s2")).toBe("done");
  });

  it("stops the producer on DELETE: readers get the stop frame, a new POST starts again, one at a time, a bad one gets a 400", async () => {
    const reader = await start("s3", 100_000);
    await reader.count(3);
    expect((await fetch(`${base}/?stream=s3`, { method: "POST", body: JSON.stringify({ tokens: 1 }) })).status).toBe(409);
    const stop = await fetch(`${base}/?stream=s3`, { method: "DELETE" });
    expect(await stop.json()).toEqual({ stopped: true });
    await reader.until(() => reader.ended, "the stopped stream to end");
    expect(reader.messages.at(-1)).toMatchObject({ type: "stop", data: '{"reason":"stopped"}' });
    expect(await status("s3")).toBe("stopped");
    expect(await (await fetch(`${base}/?stream=s3`, { method: "DELETE" })).json()).toEqual({ stopped: false });
    const refused = await fetch(`${base}/?stream=s3`, { method: "POST", body: "not json" });
    expect(refused.status).toBe(400);
    const next = await start("s3", 5);
    await next.until(() => next.ended, "the second generation");
    expect(next.messages.map((message) => message.data)).toEqual(tokens(1, 5));
  });
});
