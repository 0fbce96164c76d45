import { describe, expect, it } from "vitest";
import { decodeByteString, encodeByteString, getLastEventId } from "../../src/core/last-event-id.ts";

const request = (headers: Record<string, string> = {}, url = "http://localhost/sse") => new Request(url, { headers });

describe("getLastEventId", () => {
  it("reads the Last-Event-ID header", () => {
    expect(getLastEventId(request({ "Last-Event-ID": "42" }))).toBe("42");
    expect(getLastEventId(request({ "last-event-id": "" }))).toBe("");
  });

  it("returns undefined without one", () => {
    expect(getLastEventId(request())).toBeUndefined();
  });

  it("decodes a UTF-8 id that Headers hands over one character per byte", () => {
    for (const id of ["é", "価格-42", "🌍 event", "mixed ascii ✓"]) {
      expect(getLastEventId(request({ "Last-Event-ID": encodeByteString(id) }))).toBe(id);
    }
  });

  it("leaves a Latin-1 value that is not UTF-8 as it came", () => {
    expect(getLastEventId(request({ "Last-Event-ID": "caf\u00e9" }))).toBe("caf\u00e9");
  });

  it("falls back to a query parameter only when asked", () => {
    const req = request({}, "http://localhost/sse?lastEventId=%E2%9C%93-7");
    expect(getLastEventId(req)).toBeUndefined();
    expect(getLastEventId(req, { query: "lastEventId" })).toBe("✓-7");
    const both = request({ "Last-Event-ID": "header" }, "http://localhost/sse?lastEventId=query");
    expect(getLastEventId(both, { query: "lastEventId" })).toBe("header");
  });
});

describe("encodeByteString / decodeByteString", () => {
  it("round-trip any id", () => {
    for (const id of ["", "plain", "é", "\u{1F30D}", "a\u0080b"]) expect(decodeByteString(encodeByteString(id))).toBe(id);
  });

  it("produce a value Headers accepts", () => {
    const headers = new Headers({ "Last-Event-ID": encodeByteString("価格") });
    expect(decodeByteString(headers.get("last-event-id")!)).toBe("価格");
  });
});
