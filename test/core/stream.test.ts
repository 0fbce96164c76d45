import { afterEach, describe, expect, it, vi } from "vitest";
import { SSEStream } from "../../src/core/stream.ts";

const decoder = new TextDecoder();
const text = (chunk: Uint8Array | undefined) => decoder.decode(chunk);

afterEach(() => {
  vi.useRealTimers();
});

describe("SSEStream", () => {
  it("is a ReadableStream of UTF-8 event-stream bytes", async () => {
    const stream = new SSEStream({ keepAlive: false });
    expect(stream).toBeInstanceOf(ReadableStream);
    await stream.send({ event: "greeting", data: "héllo 🌍" });
    stream.close();
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    expect(bytes).toEqual(new TextEncoder().encode("event: greeting\ndata: héllo 🌍\n\n"));
  });

  it("sends an event at once while the client waits", async () => {
    const stream = new SSEStream({ keepAlive: false });
    const reader = stream.getReader();
    const read = reader.read();
    expect(await stream.send({ data: "now" })).toBe(true);
    expect(text((await read).value)).toBe("data: now\n\n");
  });

  it("coalesces events queued while the client is not reading into one chunk", async () => {
    const stream = new SSEStream({ keepAlive: false });
    for (let i = 0; i < 5; i++) await stream.send({ id: i, data: String(i) });
    expect(stream.queued).toBe(5);
    const reader = stream.getReader();
    const { value } = await reader.read();
    expect(text(value)).toBe([0, 1, 2, 3, 4].map((i) => `data: ${i}\nid: ${i}\n\n`).join(""));
    expect(stream.queued).toBe(0);
  });

  it("joins a fast producer's events into few reads, each at most 64 KiB unless one event is larger", async () => {
    const stream = new SSEStream({ keepAlive: false });
    const n = 2000;
    const big = "x".repeat(100 * 1024);
    const producing = (async () => {
      for (let i = 1; i <= n; i++) await stream.send({ id: i, data: i === 1000 ? big : `event ${i}` });
      stream.close();
    })();
    // A server's read loop: reads again as soon as a read is answered.
    const sizes: number[] = [];
    let all = "";
    const reader = stream.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      sizes.push(read.value.byteLength);
      all += decoder.decode(read.value, { stream: true });
    }
    await producing;
    const expected = Array.from({ length: n }, (_, k) => `data: ${k + 1 === 1000 ? big : `event ${k + 1}`}\nid: ${k + 1}\n\n`);
    expect(all).toBe(expected.join(""));
    // One read per event when the reader and the producer take turns; joined, far fewer.
    expect(sizes.length).toBeLessThan(n / 10);
    const largest = new TextEncoder().encode(expected[999]!).byteLength;
    for (const size of sizes) expect(size === largest || size <= 64 * 1024).toBe(true);
  });

  it("sends each of a live stream's events at once, one read each", async () => {
    const stream = new SSEStream({ keepAlive: false });
    const reader = stream.getReader();
    for (let i = 1; i <= 3; i++) {
      const read = reader.read();
      // Each event in a task of its own, as a live stream's are.
      await new Promise((resolve) => setTimeout(resolve, 1));
      await stream.send({ data: String(i) });
      expect(text((await read).value)).toBe(`data: ${i}\n\n`);
    }
  });

  it("makes send() wait while the queue is at its high-water mark", async () => {
    const stream = new SSEStream({ keepAlive: false, highWaterMark: 2 });
    expect(await stream.send({ data: "1" })).toBe(true);
    expect(await stream.send({ data: "2" })).toBe(true);
    let settled = false;
    const third = stream.send({ data: "3" }).then((accepted) => {
      settled = true;
      return accepted;
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(stream.queued).toBe(2);
    const reader = stream.getReader();
    expect(text((await reader.read()).value)).toBe("data: 1\n\ndata: 2\n\n");
    expect(await third).toBe(true);
    expect(text((await reader.read()).value)).toBe("data: 3\n\n");
  });

  it("refuses an invalid event before writing any of it", async () => {
    const stream = new SSEStream({ keepAlive: false });
    await expect(stream.send({ event: "x\ndata: injected" })).rejects.toThrow(TypeError);
    await expect(stream.send({ retry: -5 })).rejects.toThrow(RangeError);
    await expect(stream.send({ data: 1n })).rejects.toThrow(SyntaxError);
    expect(stream.queued).toBe(0);
    await stream.send({ data: "fine" });
    stream.close();
    expect(await new Response(stream).text()).toBe("data: fine\n\n");
  });

  it("delivers what was queued before close(), then ends", async () => {
    const stream = new SSEStream({ keepAlive: false, highWaterMark: 1 });
    await stream.send({ data: "a" });
    const waiting = stream.send({ data: "b" });
    stream.close();
    expect(stream.signal.aborted).toBe(true);
    expect(await waiting).toBe(true);
    expect(await stream.send({ data: "late" })).toBe(false);
    expect(await stream.comment("late")).toBe(false);
    expect(await new Response(stream).text()).toBe("data: a\n\ndata: b\n\n");
  });

  it("resolves send() false after the client cancels, and never hangs a waiting send", async () => {
    const stream = new SSEStream({ keepAlive: false, highWaterMark: 1 });
    await stream.send({ data: "a" });
    const waiting = stream.send({ data: "b" });
    const onAbort = vi.fn();
    stream.signal.addEventListener("abort", onAbort);
    await stream.cancel("gone");
    expect(await waiting).toBe(false);
    expect(await stream.send({ data: "c" })).toBe(false);
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect(stream.signal.reason).toBe("gone");
    await stream.closed;
  });

  it("merges an external signal with cancel(), cleaning up once", async () => {
    const external = new AbortController();
    const stream = new SSEStream({ keepAlive: 1000, signal: external.signal });
    const onAbort = vi.fn();
    stream.signal.addEventListener("abort", onAbort);
    const reader = stream.getReader();
    const read = reader.read();
    external.abort(new Error("request aborted"));
    expect((await read).done).toBe(true);
    await reader.cancel("also cancelled");
    stream.close();
    external.abort();
    expect(onAbort).toHaveBeenCalledTimes(1);
    expect((stream.signal.reason as Error).message).toBe("request aborted");
  });

  it("is closed at once when the external signal has already aborted", async () => {
    const stream = new SSEStream({ signal: AbortSignal.abort("early") });
    expect(stream.signal.aborted).toBe(true);
    await stream.closed;
    expect(await stream.send({ data: "x" })).toBe(false);
  });

  it("detaches from the external signal when it ends", () => {
    const external = new AbortController();
    const add = vi.spyOn(external.signal, "addEventListener");
    const remove = vi.spyOn(external.signal, "removeEventListener");
    const stream = new SSEStream({ keepAlive: false, signal: external.signal });
    stream.close();
    expect(add).toHaveBeenCalledTimes(1);
    expect(remove).toHaveBeenCalledWith("abort", add.mock.calls[0]![1]);
  });

  it("sends keep-alive comments on its interval and stops the timer on close", async () => {
    vi.useFakeTimers();
    const stream = new SSEStream({ keepAlive: 100 });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(100);
    vi.advanceTimersByTime(100);
    expect(stream.queued).toBe(1); // the second tick found the first keep-alive still queued
    const reader = stream.getReader();
    expect(text((await reader.read()).value)).toBe(": keep-alive\n\n");
    await reader.cancel();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("runs no timer when keepAlive and drainTimeout are false", () => {
    vi.useFakeTimers();
    const stream = new SSEStream({ keepAlive: false, drainTimeout: false });
    expect(vi.getTimerCount()).toBe(0);
    stream.close();
  });

  it("writes a retry field first when asked", async () => {
    const stream = new SSEStream({ keepAlive: false, retry: 2500 });
    await stream.send({ data: "x" });
    stream.close();
    expect(await new Response(stream).text()).toBe("retry: 2500\n\ndata: x\n\n");
  });

  it("writes pre-encoded bytes and text together in one chunk", async () => {
    const stream = new SSEStream({ keepAlive: false });
    const shared = new TextEncoder().encode("data: shared\n\n");
    await stream.write(shared);
    await stream.send({ data: "own" });
    await stream.write(shared);
    const { value } = await stream.getReader().read();
    expect(text(value)).toBe("data: shared\n\ndata: own\n\ndata: shared\n\n");
  });

  it("validates its options", () => {
    expect(() => new SSEStream({ highWaterMark: 0 })).toThrow(RangeError);
    expect(() => new SSEStream({ keepAlive: -1 })).toThrow(RangeError);
    expect(() => new SSEStream({ keepAlive: 0 })).toThrow(/"keepAlive" must be a positive number or false/);
  });

  it("makes a Response with the event-stream headers", () => {
    const stream = new SSEStream({ keepAlive: false });
    const response = stream.toResponse({ status: 201, headers: { "X-A": "1", Connection: "keep-alive" } });
    expect(response.status).toBe(201);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("x-a")).toBe("1");
    expect(response.headers.has("connection")).toBe(false);
    expect(response.body).toBe(stream);
    stream.close();
  });
});
