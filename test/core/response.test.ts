import { describe, expect, it, vi } from "vitest";
import { sseHeaders } from "../../src/core/headers.ts";
import { sseResponse } from "../../src/core/response.ts";
import type { SSEStream } from "../../src/core/stream.ts";
import { readMessages } from "../_helpers/spec-parser.ts";

describe("sseResponse", () => {
  it("returns the response at once with the event-stream headers", () => {
    let handlerStarted = false;
    const response = sseResponse(
      new Request("http://localhost/"),
      async () => {
        handlerStarted = true;
        await new Promise(() => {});
      },
      { keepAlive: false },
    );
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toEqual({
      "cache-control": "no-cache, no-transform",
      "content-type": "text/event-stream; charset=utf-8",
      "x-accel-buffering": "no",
    });
    expect(handlerStarted).toBe(true);
    void response.body?.cancel();
  });

  it("keeps the caller's headers and Cache-Control, never hop-by-hop ones", () => {
    const response = sseResponse(undefined, () => {}, {
      headers: {
        "Cache-Control": "private, no-store",
        "Access-Control-Allow-Origin": "*",
        Connection: "keep-alive",
        "Transfer-Encoding": "chunked",
        "Content-Type": "text/plain",
      },
    });
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.has("connection")).toBe(false);
    expect(response.headers.has("transfer-encoding")).toBe(false);
  });

  it("closes the stream when the handler returns", async () => {
    const response = sseResponse(undefined, async (stream) => {
      await stream.send({ data: "one" });
      await stream.send({ data: "two" });
    });
    expect(await response.text()).toBe("data: one\n\ndata: two\n\n");
  });

  it("reports a thrown error to onError without sending its message", async () => {
    const onError = vi.fn();
    const response = sseResponse(
      undefined,
      () => {
        throw new Error("database password is hunter2");
      },
      { onError },
    );
    expect(await response.text()).toBe("");
    expect(onError).toHaveBeenCalledTimes(1);
    expect((onError.mock.calls[0]![0] as Error).message).toContain("hunter2");
  });

  it("lets onError send a last event before the stream closes", async () => {
    const response = sseResponse(
      undefined,
      async (stream) => {
        await stream.send({ data: "partial" });
        throw new Error("boom");
      },
      {
        onError: (_error, stream) => stream.send({ event: "error", data: "try again later" }).then(() => {}),
      },
    );
    expect(await response.text()).toBe("data: partial\n\nevent: error\ndata: try again later\n\n");
  });

  it("logs a failing handler with console.error by default", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const response = sseResponse(undefined, async () => {
      throw new Error("unseen");
    });
    expect(await response.text()).toBe("");
    expect(log).toHaveBeenCalledTimes(1);
    log.mockRestore();
  });

  it("aborts the handler's signal when the request aborts", async () => {
    const request = new AbortController();
    let seen: SSEStream | undefined;
    const response = sseResponse(
      new Request("http://localhost/", { signal: request.signal }),
      async (stream) => {
        seen = stream;
        await stream.closed;
      },
      { keepAlive: false },
    );
    const reader = response.body!.getReader();
    request.abort();
    expect((await reader.read()).done).toBe(true);
    expect(seen!.signal.aborted).toBe(true);
  });

  it("does not report the abort a disconnect causes as a handler error", async () => {
    const onError = vi.fn();
    const response = sseResponse(
      undefined,
      async (stream) => {
        await new Promise((_resolve, reject) => stream.signal.addEventListener("abort", () => reject(stream.signal.reason)));
      },
      { onError, keepAlive: false },
    );
    await response.body!.cancel();
    await new Promise((r) => setTimeout(r, 0));
    expect(onError).not.toHaveBeenCalled();
  });

  it("never holds more than the high-water mark while 100 000 events go to a slow reader", async () => {
    const highWaterMark = 32;
    let maxQueued = 0;
    let sent = 0;
    const response = sseResponse(
      undefined,
      async (stream) => {
        for (let i = 0; i < 100_000; i++) {
          await stream.send({ id: i, data: "x" });
          sent++;
          if (stream.queued > maxQueued) maxQueued = stream.queued;
        }
      },
      { highWaterMark, keepAlive: false },
    );
    const reader = response.body!.getReader();
    let received = 0;
    let chunks = 0;
    let tail = "";
    const decoder = new TextDecoder();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks++;
      const text = tail + decoder.decode(value, { stream: true });
      const blocks = text.split("\n\n");
      tail = blocks.pop()!;
      received += blocks.length;
      // A slow reader: yield to the producer between reads.
      if (chunks % 4 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    expect(sent).toBe(100_000);
    expect(received).toBe(100_000);
    expect(maxQueued).toBeLessThanOrEqual(highWaterMark);
    expect(chunks).toBeLessThan(100_000); // coalesced
  });

  it("streams messages a spec parser reads back", async () => {
    const response = sseResponse(undefined, async (stream) => {
      await stream.send({ event: "a", id: "1", data: "line 1\r\nline 2" });
      await stream.comment("between");
      await stream.send({ data: { json: true } });
    });
    const comments: string[] = [];
    const messages = [];
    for await (const m of readMessages(response.body!, (c) => comments.push(c))) messages.push(m);
    expect(messages).toEqual([
      { type: "a", data: "line 1\nline 2", lastEventId: "1" },
      { type: "message", data: '{"json":true}', lastEventId: "1" },
    ]);
    expect(comments).toEqual(["between"]);
  });
});

describe("sseHeaders", () => {
  it("sets the three event-stream headers", () => {
    expect(Object.fromEntries(sseHeaders())).toEqual({
      "cache-control": "no-cache, no-transform",
      "content-type": "text/event-stream; charset=utf-8",
      "x-accel-buffering": "no",
    });
  });
});
