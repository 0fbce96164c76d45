// Issue 11, Medium 7: a response that fails to start leaks nothing. sseResponse() checks its
// headers and status before it creates the stream, so a refused call leaves no interval and no
// signal listener behind.
import { afterEach, describe, expect, it, vi } from "vitest";
import { sseResponse } from "../../src/core/response.ts";

afterEach(() => {
  vi.useRealTimers();
});

describe("sseResponse that cannot start", () => {
  it("leaves no timer and no listener after 2000 calls with a bad header or a null-body status", () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const request = new Request("http://localhost/", { signal: controller.signal });
    const add = vi.spyOn(request.signal, "addEventListener");
    for (let i = 0; i < 1000; i++) {
      expect(() => sseResponse(request, () => {}, { headers: { "X-Bad": "a\r\nb" } })).toThrow(TypeError);
      expect(() => sseResponse(request, () => {}, { status: 204 })).toThrow(RangeError);
    }
    expect(vi.getTimerCount()).toBe(0);
    expect(add).not.toHaveBeenCalled();
  });
});
