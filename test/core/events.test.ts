// The typed event map's own rules: what defineEvents refuses, how an issue is named, how the gate
// keeps typed writes in order, and that nothing is written for a refused event. (The same
// contract end to end, with zod, valibot and arktype over HTTP: test/client/typed-events.test.ts.)
import { describe, expect, it } from "vitest";
import { EventGate } from "../../src/core/_event-gate.ts";
import {
  checkEventsOption,
  checkMessage,
  checkTypedEvent,
  defineEvents,
  EventValidationError,
  isEventMap,
  type StandardSchemaV1,
} from "../../src/core/events.ts";

/** A hand-written Standard Schema: numbers only, synchronous or not. */
function numberSchema(async = false): StandardSchemaV1<number> {
  const check = (value: unknown): StandardSchemaV1.Result<number> =>
    typeof value === "number" ? { value } : { issues: [{ message: "Expected a number", path: [{ key: "n" }, 0, "a b"] }] };
  return {
    "~standard": {
      version: 1,
      vendor: "test",
      validate: (value) => (async ? Promise.resolve().then(() => check(value)) : check(value)),
    },
  };
}

describe("defineEvents", () => {
  it("refuses what is not a map of Standard Schemas, and names that cannot be sent", () => {
    expect(() => defineEvents(null as never)).toThrow(
      new TypeError("Cannot define events: expected an object of schemas, got null"),
    );
    expect(() => defineEvents({})).toThrow(new TypeError("Cannot define events: expected at least one event schema, got none"));
    expect(() => defineEvents({ price: { parse: () => 1 } as never })).toThrow(
      new TypeError(
        'Cannot define events: the schema of "price" is not a Standard Schema v1 (it has no "~standard.validate"), got an object',
      ),
    );
    expect(() => defineEvents({ "a\nb": numberSchema() })).toThrow(TypeError);
  });

  it("is recognised by the event options, and a plain object of schemas is not", () => {
    const events = defineEvents({ n: numberSchema() });
    expect(isEventMap(events)).toBe(true);
    expect(Object.isFrozen(events) && Object.isFrozen(events.schemas)).toBe(true);
    expect(checkEventsOption(events, "Cannot create SSEHub")).toBe(events);
    expect(checkEventsOption(undefined, "Cannot create SSEHub")).toBeUndefined();
    expect(() => checkEventsOption({ n: numberSchema() }, "Cannot create SSEHub")).toThrow(
      new TypeError('Cannot create SSEHub: "events" must be made by defineEvents(), got an object'),
    );
  });
});

describe("checkTypedEvent", () => {
  const events = defineEvents({ n: numberSchema(), message: numberSchema() });

  it("names the event and the path of the first issue, and counts the others", () => {
    const error = (() => {
      try {
        checkTypedEvent(events, { event: "n", data: "x" }, "Cannot publish event");
      } catch (e) {
        return e as EventValidationError;
      }
    })();
    expect(error?.message).toBe('Cannot publish event "n": invalid data at n[0]["a b"]: Expected a number');
    const many = new EventValidationError("Cannot send event", {
      kind: "invalid-data",
      event: "x",
      issues: [{ message: "one" }, { message: "two" }, { message: "three" }],
    });
    expect(many.message).toBe('Cannot send event "x": invalid data: one (and 2 more issues)');
  });

  it("does not look event names up the prototype chain", () => {
    expect(() => checkTypedEvent(events, { event: "toString", data: 1 })).toThrow(EventValidationError);
    expect(() => checkTypedEvent(events, { event: "__proto__", data: 1 })).toThrow(EventValidationError);
  });

  it("passes events with neither name nor data, and leaves malformed fields to validateEvent", () => {
    const control = { retry: 10, comment: "x" };
    expect(checkTypedEvent(events, control)).toBe(control);
    const odd = { event: 42 as never, data: 1 };
    expect(checkTypedEvent(events, odd)).toBe(odd);
  });

  it("refuses data that cannot be serialised as JSON with a SyntaxError", () => {
    const anything: StandardSchemaV1 = { "~standard": { version: 1, vendor: "test", validate: (value) => ({ value }) } };
    expect(() => checkTypedEvent(defineEvents({ x: anything }), { event: "x", data: 1n })).toThrow(SyntaxError);
  });
});

describe("checkMessage", () => {
  it("parses JSON, validates, and names non-JSON data", async () => {
    const events = defineEvents({ n: numberSchema(true) });
    expect(await checkMessage(events, { type: "n", data: "5", lastEventId: "1" })).toEqual({
      type: "n",
      data: 5,
      lastEventId: "1",
    });
    await expect(checkMessage(events, { type: "n", data: '"5"', lastEventId: "" })).rejects.toThrow(
      'Cannot accept event "n": invalid data at n[0]["a b"]',
    );
    expect(() => checkMessage(events, { type: "n", data: "{", lastEventId: "" })).toThrow(
      /^Cannot accept event "n": invalid data: not JSON/,
    );
  });
});

describe("EventGate", () => {
  it("writes at once while nothing is pending and the schema is synchronous", () => {
    const gate = new EventGate(defineEvents({ message: numberSchema() }));
    const written: unknown[] = [];
    expect(gate.pass({ data: 1 }, (event) => written.push(event.data))).toBe(1);
    expect(written).toEqual(["1"]);
    expect(() => gate.pass({ data: "x" }, (event) => written.push(event.data))).toThrow(EventValidationError);
    expect(written).toEqual(["1"]);
  });

  it("keeps call order across asynchronous and synchronous schemas, and failures in between", async () => {
    const gate = new EventGate(defineEvents({ slow: numberSchema(true), fast: numberSchema() }));
    const written: string[] = [];
    const write = (event: { event?: string; data?: unknown }) => written.push(`${event.event}:${event.data}`);
    const results = await Promise.allSettled([
      gate.pass({ event: "slow", data: 1 }, write),
      gate.pass({ event: "fast", data: 2 }, write),
      gate.pass({ event: "fast", data: "bad" }, write),
      gate.pass({ event: "slow", data: 3 }, write),
      gate.pass({ event: "fast", data: 4 }, write),
    ]);
    expect(written).toEqual(["slow:1", "fast:2", "slow:3", "fast:4"]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled", "fulfilled"]);
    // Nothing pending any more: synchronous again.
    expect(gate.pass({ event: "fast", data: 5 }, write)).toBe(5);
  });

  it("does not wait for a write to resolve before calling the next one", async () => {
    const gate = new EventGate(defineEvents({ slow: numberSchema(true) }));
    const called: number[] = [];
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = gate.pass({ event: "slow", data: 1 }, () => {
      called.push(1);
      return held; // A write waiting for room, say.
    });
    const second = gate.pass({ event: "slow", data: 2 }, () => called.push(2));
    await second;
    expect(called).toEqual([1, 2]);
    release();
    await first;
  });

  it("passNow: refuses an asynchronous schema, and declines while writes are pending", async () => {
    const gate = new EventGate(defineEvents({ slow: numberSchema(true), fast: numberSchema() }), "Cannot publish event");
    expect(() => gate.passNow({ event: "slow", data: 1 }, () => true, "publish()")).toThrow(
      new TypeError('Cannot publish event "slow": its schema validates asynchronously, use publish()'),
    );
    const pending = gate.pass({ event: "slow", data: 1 }, () => true);
    expect(gate.passNow({ event: "fast", data: 1 }, () => true)).toBeUndefined();
    await pending;
    expect(gate.passNow({ event: "fast", data: 1 }, () => true)).toBe(true);
  });
});
