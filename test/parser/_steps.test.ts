// The parser's three steps on their own: the UTF-8 decoder, the line splitter and the event
// interpreter (createParser wires them together; test/parser/parser.test.ts tests the whole).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SSEMessage } from "../../src/core/event.ts";
import { _EventInterpreter } from "../../src/parser/_event-interpreter.ts";
import { _LineSplitter } from "../../src/parser/_line-splitter.ts";
import { _Utf8Decoder } from "../../src/parser/_utf8-decoder.ts";
import { createParser } from "../../src/parser/create-parser.ts";
import { cutAt } from "../_helpers/cut.ts";

function decodeAll(chunks: Uint8Array[]): string {
  let text = "";
  const decoder = new _Utf8Decoder((piece) => {
    text += piece;
  });
  for (const chunk of chunks) decoder.decode(chunk);
  return text + decoder.flush();
}

/** A sink that takes each line of the LF-ended text it is given, and keeps the unterminated rest. */
function sink(out: string[], partial: (length: number) => boolean = () => true) {
  return {
    lines(s: string, start: number): number {
      let pos = start;
      for (let end = s.indexOf("\n", pos); end !== -1; end = s.indexOf("\n", pos)) {
        out.push(s.slice(pos, end));
        pos = end + 1;
      }
      return pos;
    },
    partial,
  };
}

function lines(texts: string[]): string[] {
  const out: string[] = [];
  const splitter = new _LineSplitter(sink(out));
  for (const text of texts) splitter.split(text, 0);
  return out;
}

describe("_Utf8Decoder", () => {
  it("decodes any bytes in any chunks exactly as one streaming TextDecoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 8 }), (bytes, points) => {
        expect(decodeAll(cutAt(bytes, points))).toBe(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("decodes short runs of lead, continuation and ASCII bytes in any chunks exactly as one streaming TextDecoder", () => {
    // Uniform random bytes rarely put a lead byte before a continuation byte it does not allow;
    // these do, in a few dozen bytes.
    const byte = fc.oneof(
      fc.integer({ min: 0x80, max: 0xbf }),
      fc.integer({ min: 0xc0, max: 0xff }),
      fc.integer({ min: 0, max: 0x7f }),
    );
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), fc.array(fc.nat(40), { maxLength: 8 }), (values, points) => {
        const bytes = Uint8Array.from(values);
        expect(decodeAll(cutAt(bytes, points))).toBe(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("passes on the errors a streaming decoder finds in bytes that only look like a character's continuation", () => {
    // F4 allows only 80-8F next: F4 90 is two errors, found by the streaming decoder while this
    // decoder's count of continuation bytes still waits for the rest (a counterexample fast-check found).
    const bytes = Uint8Array.from([0, 0, 0, 0, 0, 0xc0, 0xf4, 0x90]);
    const expected = new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes);
    expect(expected.endsWith("\ufffd\ufffd\ufffd")).toBe(true);
    expect(decodeAll([bytes.subarray(0, 6), bytes.subarray(6, 7), bytes.subarray(7)])).toBe(expected);
  });

  it("hands a character completed by a chunk over as a text of its own", () => {
    const pieces: string[] = [];
    const decoder = new _Utf8Decoder((piece) => void pieces.push(piece));
    // Mostly ASCII, so that the next chunk goes to the fast (non-streaming) decoder, which is given
    // whole characters only; the streaming one joins the halves itself.
    const bytes = new TextEncoder().encode(`${"x".repeat(100)}é and more`);
    decoder.decode(bytes.subarray(0, 101));
    decoder.decode(bytes.subarray(101));
    expect(pieces).toEqual(["x".repeat(100), "é", " and more"]);
  });
});

describe("_LineSplitter", () => {
  it("ends lines at LF, CR and CRLF, also when a CRLF is split between chunks", () => {
    expect(lines(["a\nb\rc\r\nd\r", "\ne\n"])).toEqual(["a", "b", "c", "d", "e"]);
    expect(lines(["a\r\r\nb\r", "\r", "\n", "\nc\r"])).toEqual(["a", "", "b", "", "", "c"]);
  });

  it("joins a line spread over several chunks into one flat line", () => {
    expect(lines(["da", "ta: x", "yz", "\n"])).toEqual(["data: xyz"]);
  });

  it("drops a line the sink refuses, and goes on after its end", () => {
    const out: string[] = [];
    const splitter = new _LineSplitter(sink(out, (length) => length < 5));
    for (const text of ["ok\nabc", "defgh", "ij\nnext\n"]) splitter.split(text, 0);
    expect(out).toEqual(["ok", "next"]);
  });
});

describe("_EventInterpreter", () => {
  it("interprets fields and dispatches on a blank line", () => {
    const messages: SSEMessage[] = [];
    const retries: number[] = [];
    const interpreter = new _EventInterpreter(
      { onEvent: (m) => void messages.push(m), onRetry: (r) => void retries.push(r), onComment: undefined, onError: () => {} },
      100,
      "",
    );
    const text = "event: e\ndata: a\ndata\nid: 7\nretry: 30\nretry: x\n\ndata: rest";
    expect(interpreter.lines(text, 0)).toBe(text.indexOf("data: rest"));
    expect(messages).toEqual([{ type: "e", data: "a\n", lastEventId: "7" }]);
    expect(retries).toEqual([30]);
    expect(interpreter.lastEventId).toBe("7");
  });
});

describe("createParser with a reset from a callback", () => {
  it("drops the rest of a chunk even when the chunk completes a character first", () => {
    const messages: SSEMessage[] = [];
    const errors: string[] = [];
    // The line "data: xxxxxé" passes maxEventSize only when the é completed by the second chunk
    // arrives; onError resets, and what follows in that chunk must not be parsed. The blank lines
    // first make the first chunk ASCII, so that the second goes to the non-streaming decoder.
    const parser = createParser({
      maxEventSize: 11,
      onEvent: (m) => void messages.push(m),
      onError: (e) => {
        errors.push(e.type);
        parser.reset();
      },
    });
    const bytes = new TextEncoder().encode(`${"\n".repeat(100)}data: xxxxxé\n\ndata: next\n\n`);
    const cut = bytes.indexOf(0xc3) + 1;
    parser.feed(bytes.subarray(0, cut));
    parser.feed(bytes.subarray(cut));
    expect(errors).toEqual(["max-event-size-exceeded"]);
    expect(messages).toEqual([]);
  });
});
