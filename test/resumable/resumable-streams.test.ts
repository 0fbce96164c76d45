import { afterEach, describe, expect, it, vi } from "vitest";
import { MemoryBackplane } from "../../src/hub/index.ts";
import { ResumableStreams, type ResumableStreamsOptions } from "../../src/resumable/index.ts";
import { EventReader, ManualSource, request } from "./_events.ts";

const created: ResumableStreams[] = [];
function make(options: ResumableStreamsOptions = {}): ResumableStreams {
  const streams = new ResumableStreams({ onError: () => {}, ...options });
  created.push(streams);
  return streams;
}
afterEach(async () => {
  await Promise.all(created.splice(0).map((streams) => streams.close()));
});

async function read(streams: ResumableStreams, id: string, lastEventId?: string): Promise<EventReader> {
  const reader = new EventReader(await streams.subscribe(request(id, lastEventId), id));
  await reader.ended;
  return reader;
}

describe("ResumableStreams in memory", () => {
  it("replays a running stream from its first frame, then follows it live to its end", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("a", source.start);
    source.push("one", "two");
    const first = new EventReader(await streams.subscribe(request("a"), "a"));
    await first.until(() => first.data.length === 2);
    source.push("three");
    await first.until(() => first.data.length === 3);
    const second = new EventReader(await streams.subscribe(request("a"), "a"));
    await second.until(() => second.data.length === 3);
    source.push("four");
    source.end();
    await Promise.all([first.ended, second.ended]);
    expect(first.data).toEqual(["one", "two", "three", "four"]);
    expect(second.data).toEqual(["one", "two", "three", "four"]);
    expect(second.messages.map((m) => m.lastEventId)).toEqual(first.messages.map((m) => m.lastEventId));
    expect(new Set(first.messages.map((m) => m.lastEventId)).size).toBe(4);
    expect(await streams.status("a")).toBe("done");
  });

  it("replays a generation that ended before its starter subscribed when asked for the first frame", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("fast", source.start);
    source.push("all", "at", "once");
    source.end();
    await vi.waitFor(async () => expect(await streams.status("fast")).toBe("done"));
    // The request that started it (the POST of a chat) asks for the first frame explicitly.
    const starter = new EventReader(await streams.subscribe(request("fast"), "fast", { lastEventId: "" }));
    await starter.ended;
    expect(starter.data).toEqual(["all", "at", "once"]);
    // A reconnect without Last-Event-ID still finds nothing to resume.
    expect((await streams.subscribe(request("fast"), "fast")).status).toBe(204);
  });

  it("resumes after Last-Event-ID with exactly the remaining frames, while frames keep arriving", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("b", source.start);
    source.push("1", "2", "3");
    const first = new EventReader(await streams.subscribe(request("b"), "b"));
    await first.until(() => first.data.length === 2);
    const resumeFrom = first.messages[1]!.lastEventId;
    await first.cancel();
    const resumed = new EventReader(await streams.subscribe(request("b", resumeFrom), "b"));
    source.push("4");
    source.push("5");
    source.end();
    await resumed.ended;
    expect(resumed.data).toEqual(["3", "4", "5"]);
    expect(source.aborted).toBe(false);
  });

  it("answers 204 when there is nothing to resume, and the rest to an earlier id", async () => {
    const streams = make();
    expect((await streams.subscribe(request("nobody"), "nobody")).status).toBe(204);
    expect((await streams.subscribe(request("nobody", "1-1"), "nobody")).status).toBe(204);
    const source = new ManualSource();
    await streams.start("c", source.start);
    const whole = new EventReader(await streams.subscribe(request("c"), "c"));
    source.push("x", "y", "z");
    source.end();
    await whole.ended;
    const ids = whole.messages.map((m) => m.lastEventId);
    expect(whole.data).toEqual(["x", "y", "z"]);
    expect(await streams.status("c")).toBe("done");
    expect((await streams.subscribe(request("c"), "c")).status).toBe(204);
    expect((await streams.subscribe(request("c", ids[2]), "c")).status).toBe(204);
    expect((await read(streams, "c", ids[0])).data).toEqual(["y", "z"]);
    expect((await streams.subscribe(request("c", "999999-1"), "c")).status).toBe(204);
  });

  it("ends every subscriber with the stop frame and aborts the source's signal on stop()", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("d", source.start);
    source.push("a");
    const readers = [
      new EventReader(await streams.subscribe(request("d"), "d")),
      new EventReader(await streams.subscribe(request("d"), "d")),
    ];
    await Promise.all(readers.map((r) => r.until(() => r.data.length === 1)));
    expect(await streams.stop("d", "user")).toBe(true);
    await Promise.all(readers.map((r) => r.ended));
    expect(source.aborted).toBe(true);
    for (const reader of readers) {
      expect(reader.messages.at(-1)).toMatchObject({ type: "stop", data: '{"reason":"user"}' });
    }
    expect(await streams.status("d")).toBe("stopped");
    expect(await streams.stop("d")).toBe(false);
    // The stop frame is the last frame: resuming from it has nothing left.
    expect((await streams.subscribe(request("d", readers[0]!.lastEventId), "d")).status).toBe(204);
  });

  it("stops a producer from another instance sharing the backplane", async () => {
    const backplane = new MemoryBackplane();
    const a = make({ backplane });
    const b = make({ backplane });
    const source = new ManualSource();
    await a.start("e", source.start);
    const reader = new EventReader(await b.subscribe(request("e"), "e"));
    expect(await b.stop("e")).toBe(true);
    await reader.ended;
    expect(source.aborted).toBe(true);
    expect(reader.messages).toMatchObject([{ type: "stop", data: "{}" }]);
    expect(await a.status("e")).toBe("stopped");
  });

  it("ends with a failure frame that never carries the error's message", async () => {
    const errors: unknown[] = [];
    const streams = make({ onError: (error) => errors.push(error) });
    const source = new ManualSource();
    await streams.start("f", source.start);
    source.push("a");
    const reader = new EventReader(await streams.subscribe(request("f"), "f"));
    source.fail(new Error("secret upstream detail"));
    await reader.ended;
    expect(reader.data[0]).toBe("a");
    expect(reader.messages[1]).toMatchObject({ type: "error", data: '{"reason":"error"}' });
    expect(errors).toHaveLength(1);
    expect(await streams.status("f")).toBe("failed");
  });

  it("uses the terminal frames given to start(), or none", async () => {
    const streams = make({ frame: { stop: () => undefined } });
    await streams.start("g", new ManualSource(), {
      frame: { failure: () => ({ data: { type: "error", errorText: "failed" } }) },
    });
    const reader = new EventReader(await streams.subscribe(request("g"), "g"));
    await streams.stop("g");
    await reader.ended;
    expect(reader.messages).toEqual([]);
    const source = new ManualSource();
    await streams.start("h", source.start, { frame: { failure: () => ({ data: { type: "error", errorText: "failed" } }) } });
    const failing = new EventReader(await streams.subscribe(request("h"), "h"));
    source.push("x");
    source.fail(new Error("boom"));
    await failing.ended;
    expect(failing.data).toEqual(["x", '{"type":"error","errorText":"failed"}']);
  });

  it("fails a stream past maxFrames or maxBytes", async () => {
    const streams = make({ maxFrames: 3 });
    const source = new ManualSource();
    await streams.start("i", source.start);
    const reader = new EventReader(await streams.subscribe(request("i"), "i"));
    source.push("1", "2", "3", "4", "5");
    await reader.ended;
    expect(reader.data).toEqual(["1", "2", "3", '{"reason":"limit"}']);
    expect(source.aborted).toBe(true);

    const bytes = make({ maxBytes: 10 });
    await bytes.start("j", ["12345", "6789é"]);
    await vi.waitFor(async () => expect(await bytes.status("j")).toBe("failed"));
  });

  it("sends a comment as its first byte and keep-alives during silences", async () => {
    const streams = make({ keepAlive: 50 });
    const source = new ManualSource();
    await streams.start("k", source.start);
    const reader = new EventReader(await streams.subscribe(request("k"), "k"));
    await reader.until(() => reader.comments.length >= 3, "three comments");
    expect(reader.first?.startsWith(":")).toBe(true);
    expect(reader.messages).toEqual([]);
    source.end();
    await reader.ended;
  });

  it("relays an upstream Response: event and data kept, ids replaced", async () => {
    const streams = make();
    const upstream = new Response("event: token\ndata: he\nid: 7\n\ndata: llo\n\n: comment\ndata: [DONE]\n\n", {
      headers: { "content-type": "text/event-stream" },
    });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await streams.start("l", async () => {
      await held;
      return upstream;
    });
    const reader = new EventReader(await streams.subscribe(request("l"), "l"));
    release();
    await reader.ended;
    expect(reader.messages.map((m) => [m.type, m.data])).toEqual([
      ["token", "he"],
      ["message", "llo"],
      ["message", "[DONE]"],
    ]);
    expect(reader.messages[0]!.lastEventId).not.toBe("7");
  });

  it("fails a stream whose upstream answers an error status", async () => {
    const streams = make();
    await streams.start("m", new Response("nope", { status: 500 }));
    await vi.waitFor(async () => expect(await streams.status("m")).toBe("failed"));
  });

  it("declares a stream whose producer went silent failed within three heartbeats", async () => {
    const backplane = new MemoryBackplane();
    const streams = make({ backplane, heartbeat: 100 });
    // A producer on "another instance" that dies after its first heartbeat: only its entries exist.
    backplane.publish("resumable:n:head", { comment: "hertz:head", data: String(Date.now()) });
    backplane.publish("resumable:n", { comment: `hertz:beat ${Date.now()}` });
    backplane.publish("resumable:n", { data: "partial" });
    const started = Date.now();
    const reader = new EventReader(await streams.subscribe(request("n"), "n"));
    await reader.ended;
    expect(Date.now() - started).toBeLessThan(300 + 100);
    expect(reader.messages.map((m) => [m.type, m.data])).toEqual([
      ["message", "partial"],
      ["error", '{"reason":"lost"}'],
    ]);
    expect(await streams.status("n")).toBe("failed");
  });

  it("reports an unnoticed dead producer as failed in status()", async () => {
    const backplane = new MemoryBackplane();
    const streams = make({ backplane, heartbeat: 20 });
    backplane.publish("resumable:o:head", { comment: "hertz:head", data: "0" });
    backplane.publish("resumable:o", { comment: `hertz:beat ${Date.now() - 1000}` });
    expect(await streams.status("o")).toBe("failed");
  });

  it("forgets a stream once retention has passed since its end", async () => {
    const streams = make({ retention: 30 });
    const source = new ManualSource();
    await streams.start("p", source.start);
    const reader = new EventReader(await streams.subscribe(request("p"), "p"));
    source.push("a", "b");
    source.end();
    await reader.ended;
    const id = reader.messages[0]!.lastEventId;
    await vi.waitFor(async () => expect(await streams.status("p")).toBeUndefined());
    expect((await streams.subscribe(request("p", id), "p")).status).toBe(204);
  });

  it("starts a new generation of an ended stream, and refuses to start an active one twice", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("q", source.start);
    await expect(streams.start("q", [])).rejects.toThrow(TypeError);
    await expect(make({ backplane: undefined }).start("q", [])).resolves.toBeUndefined(); // separate memory
    source.push("old");
    source.end();
    await vi.waitFor(async () => expect(await streams.status("q")).toBe("done"));
    const next = new ManualSource();
    await streams.start("q", next.start);
    next.push("new");
    const reader = new EventReader(await streams.subscribe(request("q"), "q"));
    await reader.until(() => reader.data.length === 1);
    expect(reader.data).toEqual(["new"]);
    next.end();
    await reader.ended;
  });

  it("keeps producing after every client has gone", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("r", source.start);
    const controller = new AbortController();
    const reader = new EventReader(await streams.subscribe(request("r", undefined, controller.signal), "r"));
    source.push("1");
    await reader.until(() => reader.data.length === 1);
    await reader.cancel();
    controller.abort();
    source.push("2");
    source.end();
    await vi.waitFor(async () => expect(await streams.status("r")).toBe("done"));
    expect(source.aborted).toBe(false);
    expect((await read(streams, "r", reader.lastEventId)).data).toEqual(["2"]);
  });

  it("delivers every frame once, in order, to a reader that lags while frames keep coming", async () => {
    const streams = make();
    const source = new ManualSource();
    await streams.start("s", source.start);
    const expected = Array.from({ length: 3000 }, (_, i) => `frame ${i}`);
    source.push(...expected.slice(0, 1000));
    const response = await streams.subscribe(request("s"), "s");
    // Nothing is read while 2 000 more frames are produced.
    source.push(...expected.slice(1000));
    source.end();
    await vi.waitFor(async () => expect(await streams.status("s")).toBe("done"));
    const reader = new EventReader(response);
    await reader.ended;
    expect(reader.data).toEqual(expected);
  });

  it("ends at the first terminal frame when several were published, and answers 204 after any of them", async () => {
    const backplane = new MemoryBackplane();
    const streams = make({ backplane, heartbeat: 1000 });
    backplane.publish("resumable:t:head", { comment: "hertz:head", data: String(Date.now()) });
    backplane.publish("resumable:t", { comment: `hertz:beat ${Date.now()}` });
    const frame = backplane.publish("resumable:t", { data: "a" });
    // Two instances that noticed the same silence at once.
    const first = backplane.publish("resumable:t", { comment: `hertz:end failed ${Date.now()}`, event: "error", data: "1" });
    const second = backplane.publish("resumable:t", { comment: `hertz:end failed ${Date.now()}`, event: "error", data: "2" });
    expect((await read(streams, "t", frame)).messages).toMatchObject([{ type: "error", data: "1" }]);
    expect((await streams.subscribe(request("t", first), "t")).status).toBe(204);
    expect((await streams.subscribe(request("t", second), "t")).status).toBe(204);
    expect(await streams.status("t")).toBe("failed");
  });

  it("checks its options and arguments", async () => {
    expect(() => new ResumableStreams({ heartbeat: 0 })).toThrow(RangeError);
    expect(() => new ResumableStreams({ prefix: "" })).toThrow(TypeError);
    const streams = make();
    await expect(streams.start("", [])).rejects.toThrow(TypeError);
    await expect(streams.subscribe(request("x"), "")).rejects.toThrow(TypeError);
  });
});
