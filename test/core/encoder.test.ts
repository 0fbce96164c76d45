import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EventStreamEncoderStream, encodeComment, encodeEvent, serializeData } from "../../src/core/encoder.ts";
import type { SSEEvent } from "../../src/core/event.ts";
import { parseEventStream } from "../_helpers/spec-parser.ts";

describe("encodeEvent writes the WHATWG event-stream grammar", () => {
  const cases: [string, SSEEvent, string][] = [
    ["data only", { data: "hello" }, "data: hello\n\n"],
    ["empty data dispatches an empty message", { data: "" }, "data: \n\n"],
    [
      "every field, in order",
      { comment: "c", event: "e", data: "d", id: "7", retry: 1000 },
      ": c\nevent: e\ndata: d\nid: 7\nretry: 1000\n\n",
    ],
    ["LF splits data lines", { data: "a\nb" }, "data: a\ndata: b\n\n"],
    ["CR splits data lines", { data: "a\rb" }, "data: a\ndata: b\n\n"],
    ["CRLF splits data lines once", { data: "a\r\nb" }, "data: a\ndata: b\n\n"],
    ["LF CR is two line breaks", { data: "a\n\rb" }, "data: a\ndata: \ndata: b\n\n"],
    ["trailing line break keeps an empty last line", { data: "a\n" }, "data: a\ndata: \n\n"],
    ["leading space in data survives the separator space", { data: " padded" }, "data:  padded\n\n"],
    ["colons in data are left alone", { data: "a: b" }, "data: a: b\n\n"],
    ["numeric id", { id: 42, data: "x" }, "data: x\nid: 42\n\n"],
    ["empty id resets the client's last id", { id: "" }, "id: \n\n"],
    ["id alone", { id: "5" }, "id: 5\n\n"],
    ["retry alone", { retry: 0 }, "retry: 0\n\n"],
    ["empty event resets the type", { event: "", data: "x" }, "event: \ndata: x\n\n"],
    ["multi-line comment", { comment: "one\r\ntwo\rthree" }, ": one\n: two\n: three\n\n"],
    ["JSON data", { data: { a: [1, "two"], b: null } }, 'data: {"a":[1,"two"],"b":null}\n\n'],
    ["JSON null", { data: null }, "data: null\n\n"],
    ["JSON number", { data: 3.5 }, "data: 3.5\n\n"],
    ["JSON string with a line break stays one line", { data: ["a\nb"] }, 'data: ["a\\nb"]\n\n'],
    ["unicode untouched", { data: "héllo 🌍 \u2028 \u0085 \v \f" }, "data: héllo 🌍 \u2028 \u0085 \v \f\n\n"],
    ["NUL in data is data", { data: "a\0b" }, "data: a\0b\n\n"],
  ];
  it.each(cases)("%s", (_name, event, wire) => {
    expect(encodeEvent(event)).toBe(wire);
  });

  it("uses a custom serializer for non-string data", () => {
    const serialize = (value: unknown) => `<${String((value as { n: number }).n)}>\nend`;
    expect(encodeEvent({ data: { n: 1 } }, { serialize })).toBe("data: <1>\ndata: end\n\n");
    expect(encodeEvent({ data: "plain" }, { serialize })).toBe("data: plain\n\n");
  });
});

describe("encodeEvent refuses what would corrupt the stream", () => {
  const cases: [string, unknown, ErrorConstructor, RegExp][] = [
    ["event with LF (injection)", { event: "x\ndata: y" }, TypeError, /"event" must not contain CR or LF/],
    ["event with CR", { event: "x\ry", data: "" }, TypeError, /"event"/],
    ["id with LF", { id: "1\ndata: y" }, TypeError, /"id" must not contain CR, LF or NUL/],
    ["id with CR", { id: "1\r" }, TypeError, /"id"/],
    ["id with NUL", { id: "a\0b" }, TypeError, /NUL/],
    ["id NaN", { id: Number.NaN }, RangeError, /finite/],
    ["id Infinity", { id: Number.POSITIVE_INFINITY }, RangeError, /finite/],
    ["id object", { id: {} }, TypeError, /"id" must be a string or a number/],
    ["retry string with injection", { retry: "1\ndata: y" }, TypeError, /"retry" must be a number/],
    ["retry NaN", { retry: Number.NaN }, RangeError, /non-negative integer/],
    ["retry negative", { retry: -1 }, RangeError, /non-negative integer, got -1/],
    ["retry fractional", { retry: 1.5 }, RangeError, /non-negative integer, got 1.5/],
    ["retry Infinity", { retry: Number.POSITIVE_INFINITY }, RangeError, /non-negative integer/],
    ["event number", { event: 1 }, TypeError, /"event" must be a string/],
    ["comment number", { comment: 1 }, TypeError, /"comment" must be a string/],
    ["nothing to send", {}, TypeError, /none of data, event, id, retry or comment/],
    ["not an object", "data: x", TypeError, /expected an object/],
    [
      "circular data",
      (() => {
        const a: Record<string, unknown> = {};
        a.self = a;
        return { data: a };
      })(),
      SyntaxError,
      /Cannot serialise data/,
    ],
    ["BigInt data", { data: 1n }, SyntaxError, /Cannot serialise data/],
    ["data JSON cannot express", { data: () => 1 }, SyntaxError, /JSON.stringify returned nothing/],
  ];
  it.each(cases)("%s", (_name, event, type, message) => {
    let thrown: unknown;
    try {
      encodeEvent(event as SSEEvent);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(type);
    expect((thrown as Error).message).toMatch(message);
    expect((thrown as Error).message).toMatch(/^Cannot [a-z]/);
    expect((thrown as Error).message).not.toMatch(/\.$/);
  });
});

describe("serializeData", () => {
  it("passes strings through and serialises the rest", () => {
    expect(serializeData("a\nb")).toBe("a\nb");
    expect(serializeData({ a: 1 })).toBe('{"a":1}');
    expect(serializeData(2, (v) => `<${String(v)}>`)).toBe("<2>");
    expect(() => serializeData(1n)).toThrow(SyntaxError);
    expect(() => serializeData({}, () => 1 as unknown as string)).toThrow(/"serialize" must return a string/);
  });
});

describe("encodeComment", () => {
  it("writes one comment line per line", () => {
    expect(encodeComment("ping")).toBe(": ping\n\n");
    expect(encodeComment("a\nb")).toBe(": a\n: b\n\n");
    expect(encodeComment()).toBe(": \n\n");
  });
});

// Strings mixing the characters that matter to the wire format.
const tricky = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom("\r", "\n", "\r\n", "\0", ":", " ", "\uFEFF", "\u2028", "\u0085") },
    { weight: 4, arbitrary: fc.string({ unit: "grapheme", maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom("\uD800", "\uDFFF", "😀", "\uD83D") },
  ),
  maxLength: 40,
});
const normalize = (s: string) => s.replace(/\r\n|\r|\n/g, "\n");
const wellFormed = (s: string) => new TextDecoder("utf-8", { ignoreBOM: true }).decode(new TextEncoder().encode(s));

describe("encoder → spec parser round trip", () => {
  it("reads back exactly what was sent, with line breaks as LF", () => {
    fc.assert(
      fc.property(
        tricky,
        tricky.filter((s) => !/[\r\n]/.test(s)),
        tricky.filter((s) => !/[\r\n\0]/.test(s)),
        tricky,
        (data, event, id, comment) => {
          const wire = wellFormed(encodeEvent({ data, event, id, comment }));
          const parsed = parseEventStream(wire);
          expect(parsed.messages).toEqual([
            {
              type: event === "" ? "message" : wellFormed(event),
              data: wellFormed(normalize(data)),
              lastEventId: wellFormed(id),
            },
          ]);
          expect(parsed.comments).toEqual(wellFormed(normalize(comment)).split("\n"));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("refuses every event or id that would not round-trip", () => {
    fc.assert(
      fc.property(
        tricky.filter((s) => /[\r\n]/.test(s)),
        (bad) => {
          expect(() => encodeEvent({ event: bad, data: "x" })).toThrow(TypeError);
          expect(() => encodeEvent({ id: bad, data: "x" })).toThrow(TypeError);
        },
      ),
    );
  });

  it("keeps a sequence of events apart", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ data: tricky, id: fc.nat().map(String) }), { maxLength: 20 }), (events) => {
        const wire = wellFormed(events.map((e) => encodeEvent(e)).join(""));
        const parsed = parseEventStream(wire);
        expect(parsed.messages.map((m) => m.data)).toEqual(events.map((e) => wellFormed(normalize(e.data))));
        expect(parsed.messages.map((m) => m.lastEventId)).toEqual(events.map((e) => e.id));
      }),
    );
  });
});

describe("EventStreamEncoderStream", () => {
  it("turns a stream of events into event-stream bytes", async () => {
    const events: SSEEvent[] = [{ data: "a" }, { event: "b", data: { c: 1 } }, { comment: "done" }];
    const body = new Response(
      new ReadableStream<SSEEvent>({
        start(controller) {
          for (const event of events) controller.enqueue(event);
          controller.close();
        },
      }).pipeThrough(new EventStreamEncoderStream()),
    );
    expect(await body.text()).toBe('data: a\n\nevent: b\ndata: {"c":1}\n\n: done\n\n');
  });

  it("errors the stream on an invalid event, writing none of it", async () => {
    const chunks: string[] = [];
    const readable = new ReadableStream<SSEEvent>({
      start(controller) {
        controller.enqueue({ data: "ok" });
        controller.enqueue({ event: "bad\n", data: "never" });
        controller.close();
      },
    }).pipeThrough(new EventStreamEncoderStream());
    const reader = readable.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).getReader();
    await expect(
      (async () => {
        while (true) {
          const { value, done } = await reader.read();
          if (done) return;
          chunks.push(value);
        }
      })(),
    ).rejects.toThrow(TypeError);
    expect(chunks.join("")).toBe("data: ok\n\n");
  });
});
