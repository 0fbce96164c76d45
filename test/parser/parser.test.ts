import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { encodeEvent } from "../../src/core/encoder.ts";
import type { SSEEvent, SSEMessage } from "../../src/core/event.ts";
import { createParser, DEFAULT_MAX_EVENT_SIZE, type ParserOptions } from "../../src/parser/create-parser.ts";
import { ParseError } from "../../src/parser/parse-error.ts";
import { EventStreamParserStream } from "../../src/parser/parser-stream.ts";
import { cutAt } from "../_helpers/cut.ts";
import { parseEventStream } from "../_helpers/spec-parser.ts";

interface Output {
  messages: SSEMessage[];
  retries: number[];
  comments: string[];
  errors: string[];
  lastEventId: string;
}

/** Feeds `chunks` to a fresh parser, ends it, and returns everything it reported. */
function run(chunks: (string | Uint8Array)[], options: ParserOptions = {}): Output {
  const out: Output = { messages: [], retries: [], comments: [], errors: [], lastEventId: "" };
  const parser = createParser({
    ...options,
    onEvent: (message) => out.messages.push(message),
    onRetry: (retry) => out.retries.push(retry),
    onComment: (comment) => out.comments.push(comment),
    onError: (error) => out.errors.push(error.type),
  });
  for (const chunk of chunks) parser.feed(chunk);
  out.lastEventId = parser.lastEventId;
  parser.end();
  expect(parser.lastEventId).toBe(out.lastEventId); // end() keeps the last event id.
  return out;
}

/** Lone surrogates replaced by U+FFFD, as UTF-8 encoding does (`String#toWellFormed`, ES2024). */
const wellFormed = (text: string): string => (text as unknown as { toWellFormed(): string }).toWellFormed();
const utf8 = (text: string) => new TextEncoder().encode(text);
const message = (data: string, type = "message", lastEventId = ""): SSEMessage => ({ type, data, lastEventId });

type Expected = Partial<Output> & { messages: SSEMessage[] };

// Each case is written from the text of the WHATWG "parse an event stream" and "interpret an event
// stream" sections; the quoted rule is the case's name.
const cases: [string, string, Expected][] = [
  // Line ends.
  ["a blank line dispatches the event", "data: hello\n\n", { messages: [message("hello")] }],
  ["CRLF ends a line", "data: a\r\n\r\n", { messages: [message("a")] }],
  ["a lone CR ends a line", "data: a\r\r", { messages: [message("a")] }],
  ["LF, CR and CRLF mix", "data: a\r\ndata: b\rdata: c\n\r\n", { messages: [message("a\nb\nc")] }],
  ["LF CR is two line ends", "data: a\n\rdata: b\n\n", { messages: [message("a"), message("b")] }],
  ["CR CR LF is a line end and a blank line", "data: a\r\r\n", { messages: [message("a")] }],
  ["several blank lines dispatch once", "\n\n\r\ndata: x\n\n\n\r\r", { messages: [message("x")] }],
  [
    "U+2028, NEL, VT and FF are not line ends",
    "data: a\u2028b\u0085c\vd\fe\n\n",
    { messages: [message("a\u2028b\u0085c\vd\fe")] },
  ],
  // Fields and values.
  ["one space after the colon is removed", "data: x\n\n", { messages: [message("x")] }],
  ["only one space is removed", "data:  two\n\n", { messages: [message(" two")] }],
  ["no space after the colon", "data:x\n\n", { messages: [message("x")] }],
  ["a tab after the colon is kept", "data:\tx\n\n", { messages: [message("\tx")] }],
  ["the field ends at the first colon", "data::x: y\n\n", { messages: [message(":x: y")] }],
  ["data: alone dispatches empty data", "data:\n\n", { messages: [message("")] }],
  ["data with a space alone dispatches empty data", "data: \n\n", { messages: [message("")] }],
  ["a field without colon has an empty value", "data\n\n", { messages: [message("")] }],
  ["data lines are joined by LF", "data: a\ndata: b\n\n", { messages: [message("a\nb")] }],
  ["only the last LF of the data buffer is removed", "data\ndata\n\n", { messages: [message("\n")] }],
  ["data may contain NUL", "data: a\0b\n\n", { messages: [message("a\0b")] }],
  ["field names are case-sensitive", "Data: x\nDATA: y\n\n", { messages: [] }],
  ["a leading space is part of the field name", " data: x\n\n", { messages: [] }],
  ["unknown fields are ignored", "foo: bar\ndata: x\nbaz\n\n", { messages: [message("x")] }],
  ["a field name alone that is not a field is ignored", "retryx\ndata: x\n\n", { messages: [message("x")] }],
  // Event types.
  ["event sets the type", "event: add\ndata: 1\n\n", { messages: [message("1", "add")] }],
  ["an empty event resets the type", "event: add\nevent:\ndata: 1\n\n", { messages: [message("1")] }],
  ["a field 'event' without colon resets the type", "event: add\nevent\ndata: 1\n\n", { messages: [message("1")] }],
  ["the type resets after dispatch", "event: a\ndata: 1\n\ndata: 2\n\n", { messages: [message("1", "a"), message("2")] }],
  ["a block without data resets the type", "event: a\n\ndata: x\n\n", { messages: [message("x")] }],
  ["the type keeps spaces beyond the first", "event:  spaced \ndata: x\n\n", { messages: [message("x", " spaced ")] }],
  ["the last event line of a block wins", "event: a\nevent: b\ndata: x\n\n", { messages: [message("x", "b")] }],
  // Ids.
  ["id sets the message's lastEventId", "id: 1\ndata: x\n\n", { messages: [message("x", "message", "1")], lastEventId: "1" }],
  [
    "id after data in the same block applies",
    "data: x\nid: 7\n\n",
    { messages: [message("x", "message", "7")], lastEventId: "7" },
  ],
  [
    "the id persists across events",
    "id: 1\ndata: a\n\ndata: b\n\n",
    { messages: [message("a", "message", "1"), message("b", "message", "1")], lastEventId: "1" },
  ],
  ["a block without data commits its id", "id: 5\n\n", { messages: [], lastEventId: "5" }],
  ["an uncommitted id is not the last event id", "id: 5\n", { messages: [], lastEventId: "" }],
  [
    "an id containing NUL is ignored",
    "id: 1\n\nid: a\0b\ndata: x\n\n",
    { messages: [message("x", "message", "1")], lastEventId: "1" },
  ],
  ["an empty id resets the last event id", "id: 1\n\nid\ndata: x\n\n", { messages: [message("x")], lastEventId: "" }],
  ["an id may hold any other character", "id: é 🎉:x\n\n", { messages: [], lastEventId: "é 🎉:x" }],
  // Retry.
  ["retry is reported when its line is read", "retry: 1000\n", { messages: [], retries: [1000] }],
  [
    "retry must be digits only",
    "retry: 10a\nretry: -1\nretry: 1.5\nretry: +1\nretry: 1e3\nretry:  100\nretry:\nretry\n\n",
    { messages: [], retries: [] },
  ],
  [
    "retry accepts leading zeros and large values",
    "retry: 0\nretry: 007\nretry: 99999999999999999999\n",
    { messages: [], retries: [0, 7, 1e20] },
  ],
  ["retry does not dispatch or change the event", "data: x\nretry: 5\n\n", { messages: [message("x")], retries: [5] }],
  // Comments.
  ["a line starting with a colon is a comment", ": hello\ndata: x\n\n", { messages: [message("x")], comments: ["hello"] }],
  ["a comment without space, and an empty one", ":raw\n:\n:  two\n", { messages: [], comments: ["raw", "", " two"] }],
  ["a comment does not end a block", "data: a\n: c\ndata: b\n\n", { messages: [message("a\nb")], comments: ["c"] }],
  // Stream boundaries.
  ["one leading BOM is dropped", "\uFEFFdata: x\n\n", { messages: [message("x")] }],
  ["a second BOM is part of the first line", "\uFEFF\uFEFFdata: x\n\n", { messages: [] }],
  ["a BOM later in the stream is data", "data: \uFEFFx\n\n", { messages: [message("\uFEFFx")] }],
  ["the unterminated final block is discarded", "data: x\n\ndata: y\n", { messages: [message("x")] }],
  ["an unterminated final line is discarded", "data: x\n\ndata: y", { messages: [message("x")] }],
  ["a final CR ends the line, not the block", "data: x\r", { messages: [] }],
  ["an empty stream", "", { messages: [] }],
];

function expectOutput(actual: Output, expected: Expected): void {
  expect(actual.messages).toEqual(expected.messages);
  expect(actual.retries).toEqual(expected.retries ?? []);
  expect(actual.comments).toEqual(expected.comments ?? []);
  expect(actual.errors).toEqual([]);
  expect(actual.lastEventId).toBe(expected.lastEventId ?? expected.messages.at(-1)?.lastEventId ?? "");
}

describe("createParser follows the WHATWG event-stream rules", () => {
  describe.each(cases)("%s", (_name, input, expected) => {
    it("as one string and as one Uint8Array", () => {
      expectOutput(run([input]), expected);
      expectOutput(run([utf8(input)]), expected);
    });

    it("split in two at every position, as text and as bytes", () => {
      for (let i = 0; i <= input.length; i++) expectOutput(run(cutAt(input, [i])), expected);
      const bytes = utf8(input);
      for (let i = 0; i <= bytes.length; i++) expectOutput(run(cutAt(bytes, [i])), expected);
    });

    it("split one character or byte at a time", () => {
      expectOutput(run([...input]), expected);
      expectOutput(run([...utf8(input)].map((b) => Uint8Array.of(b))), expected);
    });

    it("split at random points, mixing text and bytes", () => {
      fc.assert(
        fc.property(
          fc.array(fc.nat(input.length), { maxLength: 8 }),
          fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
          (points, asBytes) => {
            // Cut the text at character boundaries (not inside a surrogate pair), so that a piece
            // may be sent as bytes without changing the stream.
            const safe = points.filter((p) => !(input.charCodeAt(p - 1) >= 0xd800 && input.charCodeAt(p - 1) <= 0xdbff));
            const chunks = cutAt(input, safe).map((piece, i) => (asBytes[i] ? utf8(piece) : piece));
            expectOutput(run(chunks), expected);
          },
        ),
        { numRuns: 50 },
      );
    });
  });
});

describe("createParser decodes UTF-8 itself", () => {
  const text = "event: ünï\ndata: é 日本 🎉 \u{10FFFF}\nid: ☃\n\n";
  const bytes = utf8(text);
  const expected = [message("é 日本 🎉 \u{10FFFF}", "ünï", "☃")];

  it("joins multi-byte characters split across chunks, at every byte", () => {
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= Math.min(bytes.length, i + 5); j++) {
        expect(run(cutAt(bytes, [i, j])).messages).toEqual(expected);
      }
    }
  });

  it("turns invalid bytes into U+FFFD, like TextDecoder", () => {
    const d = [0x64, 0x61, 0x74, 0x61, 0x3a]; // "data:"
    const samples: [number[], string][] = [
      [[...d, 0xff, 0x0a, 0x0a], "\uFFFD"],
      [[...d, 0xc3, 0x0a, 0x0a], "\uFFFD"], // Truncated 2-byte character before LF.
      [[...d, 0xe2, 0x82, 0x0a, 0x0a], "\uFFFD"], // Truncated 3-byte character: one U+FFFD.
      [[...d, 0xe0, 0x80, 0x0a, 0x0a], "\uFFFD\uFFFD"], // Overlong: two.
      [[...d, 0xed, 0xa0, 0x80, 0x0a, 0x0a], "\uFFFD\uFFFD\uFFFD"], // An encoded surrogate.
      [[...d, 0xf4, 0x90, 0x80, 0x80, 0x0a, 0x0a], "\uFFFD\uFFFD\uFFFD\uFFFD"], // Beyond U+10FFFF.
      [[...d, 0x80, 0x41, 0x0a, 0x0a], "\uFFFDA"],
      [[...d, 0xf0, 0x9f, 0x41, 0x0a, 0x0a], "\uFFFDA"],
    ];
    for (const [input, data] of samples) {
      const bytes = Uint8Array.from(input);
      for (let i = 0; i <= bytes.length; i++) {
        expect(run(cutAt(bytes, [i])).messages, `${input} cut at ${i}`).toEqual([message(data)]);
        expect(run(cutAt(bytes, [i, i + 1, i + 2])).messages).toEqual([message(data)]);
      }
    }
  });

  it("decodes random bytes exactly as one TextDecoder over the whole stream would", () => {
    const byte = fc.oneof(
      { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
      { weight: 2, arbitrary: fc.constantFrom(0x0a, 0x0d, 0x3a, 0x20, 0xef, 0xbb, 0xbf) },
      { weight: 2, arbitrary: fc.constantFrom(0x64, 0x61, 0x74, 0x69, 0x65, 0x76, 0x6e) },
    );
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 60 }), fc.array(fc.nat(60), { maxLength: 6 }), (values, points) => {
        const bytes = Uint8Array.from(values);
        const expected = parseEventStream(decoder.decode(bytes));
        const actual = run(cutAt(bytes, points));
        expect(actual.messages).toEqual(expected.messages);
        expect(actual.retries).toEqual(expected.retries);
        expect(actual.comments).toEqual(expected.comments);
        expect(actual.lastEventId).toBe(expected.lastEventId);
      }),
      { numRuns: 500 },
    );
  });

  it("decodes long runs of ASCII, CJK, emoji and invalid bytes the same in any chunk size", () => {
    // The parser picks a decoding strategy per chunk from what the previous chunk held; every
    // switch between them must leave the text unchanged.
    const parts: number[] = [];
    const ascii = [...utf8("data: plain ascii text, quite a lot of it\n")];
    const cjk = [...utf8("data: 日本語のテキストです。中文文本。한국어 텍스트\n")];
    const emoji = [...utf8("data: 🎉🚀 ünïcödé ✓\n")];
    const invalid = [0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0xc3, 0x28, 0xe2, 0x82, 0xf0, 0x9f, 0x0a];
    for (let i = 0; i < 400; i++) {
      const kind = [ascii, ascii, cjk, emoji, invalid][(i * 7) % 5]!;
      for (let r = 0; r < (i % 13) + 1; r++) parts.push(...kind);
      if (i % 3 === 0) parts.push(0x0a);
    }
    const bytes = Uint8Array.from(parts);
    const expected = parseEventStream(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes));
    expect(expected.messages.length).toBeGreaterThan(100);
    for (const size of [1, 2, 3, 5, 64, 1000, 2048, 2049, 4096, 10_000, 65_536]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      expect(run(chunks).messages, `chunks of ${size}`).toEqual(expected.messages);
    }
  });

  it("decodes random mixes of text kinds, chunk sizes and string chunks like one TextDecoder", () => {
    const segment = fc.oneof(
      fc.constantFrom("data: ", "\n", "\n\n", "id: ", "event: x\n").map(utf8),
      fc.integer({ min: 1, max: 3000 }).map((n) => utf8("ascii text ".repeat(n).slice(0, n))),
      fc.integer({ min: 1, max: 1000 }).map((n) => utf8("日本語のテキスト".repeat(n).slice(0, n))),
      fc.integer({ min: 1, max: 300 }).map((n) => utf8("🎉é".repeat(n))),
      fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xf0, 0x9f, 0x8e), Uint8Array.of(0xc3)),
    );
    const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 25 }),
        fc.array(fc.nat(40_000), { maxLength: 12 }),
        fc.array(fc.boolean(), { minLength: 13, maxLength: 13 }),
        (segments, points, asText) => {
          const bytes = new Uint8Array(segments.reduce((n, s) => n + s.length, 0));
          let offset = 0;
          for (const s of segments) {
            bytes.set(s, offset);
            offset += s.length;
          }
          const expected = parseEventStream(decoder.decode(bytes));
          // A piece may go as text when both its ends are before a byte that is not a continuation
          // byte (where splitting cannot change what a decoder outputs).
          const boundary = (p: number) => p === 0 || p === bytes.length || (bytes[p]! & 0xc0) !== 0x80;
          const pieces = cutAt(bytes, points);
          let at = 0;
          const chunks = pieces.map((piece, i) => {
            const text = asText[i] && boundary(at) && boundary(at + piece.length);
            at += piece.length;
            return text ? decoder.decode(piece) : piece;
          });
          const actual = run(chunks);
          expect(actual.messages).toEqual(expected.messages);
          expect(actual.lastEventId).toBe(expected.lastEventId);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("forgets a held partial character on a string chunk and on reset()", () => {
    // Dense non-ASCII text makes the parser decode the next chunks with a streaming decoder,
    // which then holds the first two bytes of "日" (E6 97 A5) at the end of the second chunk.
    const dense = utf8(`data: ${"日本語".repeat(400)}`);
    const held = Uint8Array.of(...utf8("日本"), 0xe6, 0x97);
    const stray = Uint8Array.of(0xa5, 0x0a, 0x0a); // The third byte of "日", now a stray byte.
    const viaString = run([dense, held, "|", stray]);
    expect(viaString.messages).toEqual([message(`${"日本語".repeat(400)}日本\uFFFD|\uFFFD`)]);

    const messages: SSEMessage[] = [];
    const parser = createParser({ onEvent: (m) => messages.push(m) });
    parser.feed(dense);
    parser.feed(held);
    parser.reset();
    parser.feed(utf8("data: "));
    parser.feed(utf8("日本語".repeat(400)));
    parser.feed(stray);
    expect(messages).toEqual([message(`${"日本語".repeat(400)}\uFFFD`)]);
  });

  it("drops one leading BOM whichever way it arrives", () => {
    const bom = [0xef, 0xbb, 0xbf];
    const body = [...utf8("data: x\n\n")];
    const expected = [message("x")];
    expect(
      run([Uint8Array.from(bom.slice(0, 1)), Uint8Array.from(bom.slice(1, 2)), Uint8Array.from([...bom.slice(2), ...body])])
        .messages,
    ).toEqual(expected);
    expect(run([Uint8Array.from(bom), "data: x\n\n"]).messages).toEqual(expected);
    expect(run(["", Uint8Array.of(), "\uFEFF", Uint8Array.from(body)]).messages).toEqual(expected);
    // Two BOMs: the second one makes the first field "\uFEFFdata", which is ignored.
    expect(run([Uint8Array.from(bom), Uint8Array.from(bom), Uint8Array.from(body)]).messages).toEqual([]);
    expect(run(["\uFEFF", "\uFEFF", "data: x\n\n"]).messages).toEqual([]);
  });

  it("ends a character left incomplete when a string arrives", () => {
    expect(run([Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0xc3), "\n\n"]).messages).toEqual([message("\uFFFD")]);
  });
});

describe("createParser across chunk boundaries", () => {
  it("dispatches on a CR at the end of a chunk without waiting for the next one", () => {
    const messages: SSEMessage[] = [];
    const parser = createParser({ onEvent: (m) => messages.push(m) });
    parser.feed("data: a\r\r");
    expect(messages).toEqual([message("a")]);
    // The LF that follows is the second half of the CRLF, not another (blank) line end.
    parser.feed("\ndata: b\r");
    parser.feed("\n");
    expect(messages).toEqual([message("a")]);
    parser.feed("\r\n");
    expect(messages).toEqual([message("a"), message("b")]);
  });

  it("removes the space after the colon when it arrives in the next chunk", () => {
    expect(run(["data:", " x\n\n"]).messages).toEqual([message("x")]);
    expect(run(["data:", "  x\n\n"]).messages).toEqual([message(" x")]);
    expect(run(["id:", " 1\n\n"]).lastEventId).toBe("1");
    expect(run([":", " c\n"]).comments).toEqual(["c"]);
  });

  it("reports retry as soon as its line ends, before the block does", () => {
    const retries: number[] = [];
    const parser = createParser({ onRetry: (r) => retries.push(r) });
    parser.feed("data: x\nretry: 25");
    expect(retries).toEqual([]);
    parser.feed("\n");
    expect(retries).toEqual([25]);
  });

  it("starts from the lastEventId option and keeps it across reset()", () => {
    const messages: SSEMessage[] = [];
    const parser = createParser({ lastEventId: "41", onEvent: (m) => messages.push(m) });
    expect(parser.lastEventId).toBe("41");
    parser.feed("data: a\n\nid: 42\ndata: b\n\nid: 43\n");
    parser.reset(); // The uncommitted "43" is dropped with the rest of the block.
    parser.feed("data: c\n\n");
    expect(messages).toEqual([message("a", "message", "41"), message("b", "message", "42"), message("c", "message", "42")]);
    expect(parser.lastEventId).toBe("42");
  });

  it("starts over after reset(): partial line, block, BOM and CR state", () => {
    const messages: SSEMessage[] = [];
    const parser = createParser({ onEvent: (m) => messages.push(m) });
    parser.feed("\uFEFFevent: x\ndata: partial\ndata: li");
    parser.feed(Uint8Array.of(0xe2, 0x82)); // Half a character.
    parser.reset();
    parser.feed(Uint8Array.of(0xef, 0xbb, 0xbf)); // A new stream's BOM.
    parser.feed("data: fresh\r");
    parser.reset();
    parser.feed("\n"); // After a reset a leading LF is a blank line, not the end of a CRLF.
    parser.feed("data: y\n\n");
    expect(messages).toEqual([message("y")]);
  });

  it("stops parsing the chunk when a callback calls reset()", () => {
    const messages: SSEMessage[] = [];
    const parser = createParser({
      onEvent: (m) => {
        messages.push(m);
        if (m.data === "stop") parser.reset();
      },
    });
    parser.feed("data: stop\n\ndata: dropped\n\n");
    parser.feed("data: next\n\n");
    expect(messages.map((m) => m.data)).toEqual(["stop", "next"]);
  });

  it("refuses chunks that are neither bytes nor text, and bad options", () => {
    const parser = createParser();
    expect(() => parser.feed(42 as never)).toThrow(
      new TypeError("Cannot feed parser: expected a Uint8Array or a string, got number"),
    );
    expect(() => createParser({ onEvent: "no" as never })).toThrow(TypeError);
    expect(() => createParser({ maxEventSize: 0 })).toThrow(RangeError);
    expect(() => createParser({ maxEventSize: Number.NaN })).toThrow(RangeError);
    expect(() => createParser({ lastEventId: 1 as never })).toThrow(TypeError);
  });
});

describe("createParser agrees with the reference parser", () => {
  // Streams made of the pieces where parsers go wrong, compared with the character-at-a-time
  // reference parser in test/helpers, whole and re-chunked at random.
  const piece = fc.oneof(
    fc.constantFrom("\n", "\r", "\r\n", "\n\n", ":", " ", "  ", "\0", "\uFEFF", "é", "🎉", "\u2028", "\u0085"),
    fc.constantFrom("data", "data:", "data: ", "event:", "event: ", "id:", "id: ", "retry:", "retry: ", "event", "id", "retry"),
    fc.constantFrom("0", "12", "x", "abc"),
    fc.string({ maxLength: 4 }),
  );
  it("on random streams", () => {
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 40 }),
        fc.array(fc.nat(200), { maxLength: 8 }),
        fc.boolean(),
        (pieces, points, asBytes) => {
          const text = wellFormed(pieces.join(""));
          const expected = parseEventStream(text);
          const input = asBytes ? utf8(text) : text;
          const actual = run(cutAt(input, points));
          expect(actual.messages).toEqual(expected.messages);
          expect(actual.retries).toEqual(expected.retries);
          expect(actual.comments).toEqual(expected.comments);
          expect(actual.lastEventId).toBe(expected.lastEventId);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("encodeEvent → createParser round trip", () => {
  const text = fc.string({ unit: "binary", maxLength: 30 });
  const tricky = fc
    .array(fc.oneof(text, fc.constantFrom("\r", "\n", "\r\n", "\0", ":", " ", "\uD800", "\uDC00", "\uFEFF")), { maxLength: 8 })
    .map((p) => p.join(""));
  const noBreak = tricky.map((s) => s.replace(/[\r\n]/g, ""));
  const event: fc.Arbitrary<SSEEvent> = fc.record(
    {
      data: tricky,
      event: noBreak,
      id: noBreak.map((s) => s.replace(/\0/g, "")),
      retry: fc.nat(),
      comment: tricky,
    },
    { requiredKeys: ["data"] },
  );

  it("gives back every event, with line breaks as LF and lone surrogates as U+FFFD", () => {
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(2000), { maxLength: 10 }),
        (events, points) => {
          const wire = utf8(events.map((e) => encodeEvent(e)).join(""));
          const actual = run(cutAt(wire, points));
          let lastEventId = "";
          const expected = events.map((e) => {
            if (e.id !== undefined) lastEventId = wellFormed(String(e.id));
            return {
              type: e.event ? wellFormed(e.event) : "message",
              data: wellFormed((e.data as string).replace(/\r\n|\r/g, "\n")),
              lastEventId,
            };
          });
          expect(actual.messages).toEqual(expected);
          expect(actual.retries).toEqual(events.filter((e) => e.retry !== undefined).map((e) => e.retry));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("createParser takes linear time", () => {
  /** Counts the characters the parser's string and array work touches while `fn` runs. */
  function work(fn: () => void): number {
    let total = 0;
    const { indexOf, slice } = String.prototype;
    const { join } = Array.prototype;
    const spies = [
      vi.spyOn(String.prototype, "indexOf").mockImplementation(function (this: string, search: string, from?: number) {
        const at = indexOf.call(this, search, from);
        total += (at === -1 ? this.length : at + 1) - (from ?? 0);
        return at;
      }),
      vi.spyOn(String.prototype, "slice").mockImplementation(function (this: string, start?: number, end?: number) {
        const result = slice.call(this, start, end);
        total += result.length;
        return result;
      }),
      vi.spyOn(Array.prototype, "join").mockImplementation(function (this: unknown[], separator?: string) {
        const result = join.call(this, separator);
        total += result.length;
        return result;
      }),
    ];
    try {
      fn();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return total;
  }

  it("parses one line spread over 10 000 chunks with work proportional to its length", () => {
    const chunks = 10_000;
    const piece = "abcdefghij"; // 100 000 characters in all.
    let received: SSEMessage[] = [];
    const total = work(() => {
      const parser = createParser({ onEvent: (m) => received.push(m) });
      parser.feed("data: ");
      for (let i = 0; i < chunks; i++) parser.feed(piece);
      parser.feed("\n\n");
    });
    expect(received).toHaveLength(1);
    expect(received[0]!.data.length).toBe(chunks * piece.length);
    // Linear work is a few passes over the 100 000 characters; re-scanning the growing line on
    // every chunk would be about chunks² × piece / 2 = 500 000 000.
    expect(total).toBeLessThan(10 * chunks * piece.length);

    // And the same shape as bytes, a character split across every pair of chunks.
    received = [];
    const bytesTotal = work(() => {
      const parser = createParser({ onEvent: (m) => received.push(m) });
      const encoded = utf8(`data: ${"é".repeat(chunks)}\n\n`);
      for (let i = 0; i < encoded.length; i += 3) parser.feed(encoded.subarray(i, i + 3));
    });
    expect(received[0]!.data).toBe("é".repeat(chunks));
    expect(bytesTotal).toBeLessThan(20 * chunks);
  });

  it("parses many colon-less lines in one chunk linearly", () => {
    const lines = 20_000;
    const total = work(() => createParser().feed(`${"x".repeat(10)}\n`.repeat(lines)));
    expect(total).toBeLessThan(10 * lines * 11);
  });
});

describe("createParser bounds memory with maxEventSize", () => {
  it("defaults to 16 Mi characters", () => {
    expect(DEFAULT_MAX_EVENT_SIZE).toBe(16 * 1024 * 1024);
  });

  it("drops an oversized event, does not commit its id, and resumes after its blank line", () => {
    const out = run(["id: 1\ndata: ok\n\n", "id: 2\ndata: 012345\ndata: more\nid: 3\nretry: 9\n\n", "data: next\n\n"], {
      maxEventSize: 12,
    });
    expect(out.errors).toEqual(["max-event-size-exceeded"]);
    expect(out.messages).toEqual([message("ok", "message", "1"), message("next", "message", "1")]);
    expect(out.retries).toEqual([]); // The rest of the oversized block is skipped, retry included.
    expect(out.lastEventId).toBe("1");
  });

  it("counts the data joined by LF plus the line being read", () => {
    // "data: 01234" is 11 characters; then 5 characters of data plus "data: 5678" (10) is 15.
    expect(run(["data: 01234\ndata: 5678\n\n"], { maxEventSize: 15 }).messages).toEqual([message("01234\n5678")]);
    expect(run(["data: 01234\ndata: 56789\n\n"], { maxEventSize: 15 }).errors).toEqual(["max-event-size-exceeded"]);
    expect(run(["event: long-name\ndata: x\n\n"], { maxEventSize: 15 }).errors).toEqual(["max-event-size-exceeded"]);
  });

  it("decides the same whatever the chunking", () => {
    const piece = fc.constantFrom(
      "data: ",
      "data: abc",
      "x".repeat(7),
      "\n",
      "\r",
      "\r\n",
      "\n\n",
      "id: 1",
      "id: 2",
      ": c",
      "retry: 5",
      "event: e",
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat(300), { maxLength: 10 }),
        (pieces, max, points) => {
          const input = pieces.join("");
          expect(run(cutAt(input, points), { maxEventSize: max })).toEqual(run([input], { maxEventSize: max }));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("counts a line that is not terminated yet, however it is chunked", () => {
    const errors: ParseError[] = [];
    const messages: SSEMessage[] = [];
    const parser = createParser({ maxEventSize: 100, onError: (e) => errors.push(e), onEvent: (m) => messages.push(m) });
    parser.feed("data: ");
    for (let i = 0; i < 1000; i++) parser.feed("x"); // Reported once, not for every chunk.
    expect(errors).toHaveLength(1);
    expect(ParseError.is(errors[0])).toBe(true);
    expect(errors[0]).toBeInstanceOf(ParseError);
    expect(errors[0]!.message).toBe("Cannot parse event: it exceeds the maximum size of 100 characters");
    parser.feed("\r");
    parser.feed("\ndata: still skipped\r\n"); // The LF after the CR is not a blank line.
    parser.feed("\r\ndata: back\n\n");
    expect(messages).toEqual([message("back")]);
  });

  it("finds the blank line that ends the skipping however the line ends are chunked", () => {
    // The oversized block ends in CR | LF CR LF: the LF after the chunk's final CR is half of a
    // CRLF, then CR LF is the blank line.
    const input = "data: 0123456789\r\ndata: more\r\n\r\ndata: ok\r\n\r\n";
    for (let i = 0; i <= input.length; i++) {
      for (const j of [i + 1, i + 2, i + 7]) {
        const out = run(cutAt(input, [i, j]), { maxEventSize: 8 });
        expect(out.messages, `cut at ${i}, ${j}`).toEqual([message("ok")]);
        expect(out.errors).toEqual(["max-event-size-exceeded"]);
      }
    }
  });

  it("stops skipping on reset()", () => {
    const messages: SSEMessage[] = [];
    const parser = createParser({ maxEventSize: 10, onEvent: (m) => messages.push(m) });
    parser.feed("data: too long\ndata: x\n");
    parser.reset();
    parser.feed("data: ok\n\n");
    expect(messages).toEqual([message("ok")]);
  });

  it("can be turned off with Infinity", () => {
    expect(run([`data: ${"x".repeat(100_000)}\n\n`], { maxEventSize: Number.POSITIVE_INFINITY }).messages[0]!.data).toHaveLength(
      100_000,
    );
  });
});

describe("EventStreamParserStream", () => {
  const body = (text: string, chunkSize = 3) => {
    const bytes = utf8(text);
    return new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += chunkSize) controller.enqueue(bytes.slice(i, i + chunkSize));
        controller.close();
      },
    });
  };
  const collect = async <T>(stream: ReadableStream<T>) => {
    const out: T[] = [];
    for await (const item of stream as unknown as AsyncIterable<T>) out.push(item);
    return out;
  };

  it("turns bytes into messages and discards the unterminated end", async () => {
    const messages = await collect(
      body("\uFEFFevent: a\ndata: é🎉\nid: 1\n\ndata: 2\n\ndata: cut").pipeThrough(new EventStreamParserStream()),
    );
    expect(messages).toEqual([message("é🎉", "a", "1"), message("2", "message", "1")]);
  });

  it("accepts text and passes retry and comments to its callbacks", async () => {
    const seen: unknown[] = [];
    const text = new ReadableStream<string>({
      start(controller) {
        controller.enqueue(": hi\nretry: 50\n");
        controller.enqueue("data: x\n\n");
        controller.close();
      },
    });
    const messages = await collect(
      text.pipeThrough(
        new EventStreamParserStream({ onRetry: (r) => seen.push(r), onComment: (c) => seen.push(c), lastEventId: "9" }),
      ),
    );
    expect(messages).toEqual([message("x", "message", "9")]);
    expect(seen).toEqual(["hi", 50]);
  });

  it("errors with a ParseError for an oversized event, unless onError is given", async () => {
    const input = "data: 1\n\ndata: far too long\ndata: x\n\ndata: 2\n\n";
    const failed = collect(body(input).pipeThrough(new EventStreamParserStream({ maxEventSize: 8 })));
    await expect(failed).rejects.toSatisfy((error) => ParseError.is(error) && error.type === "max-event-size-exceeded");

    const errors: ParseError[] = [];
    const messages = await collect(
      body(input).pipeThrough(new EventStreamParserStream({ maxEventSize: 8, onError: (e) => errors.push(e) })),
    );
    expect(messages.map((m) => m.data)).toEqual(["1", "2"]);
    expect(errors.map((e) => e.type)).toEqual(["max-event-size-exceeded"]);
  });
});
