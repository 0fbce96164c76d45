// Adversarial tests for the parser's bound (issue 11, item 11): a server that sends an event type
// and an id as large as the data must not make the parser hold three times maxEventSize.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SSEMessage } from "../../src/core/event.ts";
import { createParser } from "../../src/parser/create-parser.ts";
import type { ParseError } from "../../src/parser/parse-error.ts";
import { cutAt } from "../_helpers/cut.ts";

const MAX = 1000;

function parse(chunks: string[], maxEventSize = MAX): { messages: SSEMessage[]; errors: ParseError[]; lastEventId: string } {
  const messages: SSEMessage[] = [];
  const errors: ParseError[] = [];
  const parser = createParser({ maxEventSize, onEvent: (m) => messages.push(m), onError: (e) => errors.push(e) });
  for (const chunk of chunks) parser.feed(chunk);
  return { messages, errors, lastEventId: parser.lastEventId };
}

describe("the parser's maxEventSize covers the event type and the id", () => {
  it("drops an event whose type, id and data are each within the bound but together beyond it", () => {
    const third = "x".repeat(400);
    const input = `event: ${third}\nid: ${third}\ndata: ${third}\n\ndata: after\n\n`;
    const { messages, errors, lastEventId } = parse([input]);
    expect(errors.map((e) => e.kind)).toEqual(["max-event-size-exceeded"]);
    expect(messages).toEqual([{ type: "message", data: "after", lastEventId: "" }]);
    expect(lastEventId).toBe(""); // The dropped block's id is not committed.
  });

  it("counts a large id set in the block against the data that follows", () => {
    const { messages, errors } = parse([`id: ${"i".repeat(600)}\ndata: ${"d".repeat(450)}\n\n`]);
    expect(errors).toHaveLength(1);
    expect(messages).toEqual([]);
  });

  it("counts a large event type against a line that is still arriving, one character at a time", () => {
    const chunks = [`event: ${"t".repeat(900)}\n`, "data: "];
    for (let i = 0; i < 200; i++) chunks.push("y"); // The line alone stays far below the bound.
    chunks.push("\n\n");
    const { messages, errors } = parse(chunks);
    expect(errors).toHaveLength(1); // Reported once, as soon as type plus line pass the bound.
    expect(messages).toEqual([]);
  });

  it("does not count a committed id against the next events", () => {
    const id = "i".repeat(900);
    const { messages, errors } = parse([`id: ${id}\n\n`, `data: ${"d".repeat(900)}\n\n`]);
    expect(errors).toEqual([]);
    expect(messages).toEqual([{ type: "message", data: "d".repeat(900), lastEventId: id }]);
  });

  it("replaces a repeated event type rather than adding it up", () => {
    const type = "t".repeat(300);
    const input = `event: ${type}\nevent: ${type}\nevent: ${type}\nevent: ${type}\ndata: x\n\n`;
    expect(parse([input]).messages).toEqual([{ type, data: "x", lastEventId: "" }]);
  });

  it("decides the same whatever the chunking", () => {
    const field = fc.constantFrom("event: ", "id: ", "data: ");
    const line = fc.tuple(field, fc.nat(60)).map(([name, n]) => `${name}${"v".repeat(n)}\n`);
    const block = fc.array(line, { maxLength: 5 }).map((lines) => `${lines.join("")}\n`);
    fc.assert(
      fc.property(fc.array(block, { maxLength: 6 }), fc.array(fc.nat(500), { maxLength: 8 }), (blocks, points) => {
        const input = blocks.join("");
        expect(parse(cutAt(input, points), 100)).toEqual(parse([input], 100));
      }),
      { numRuns: 500 },
    );
  });
});
