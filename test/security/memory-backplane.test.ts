// Adversarial tests of the in-memory backplane (issue 11, item 10): a publisher id repeated in a
// topic, or reused in another topic, must not make replay skip events.
import { describe, expect, it } from "vitest";
import type { BackplaneHistory } from "../../src/hub/backplane.ts";
import { MemoryBackplane } from "../../src/hub/memory-backplane.ts";

function dataOf(history: BackplaneHistory): string[] {
  if (history.gone) throw new Error("expected entries, got gone");
  return history.entries.map((entry) => entry.event.data ?? "");
}

describe("MemoryBackplane publisher ids", () => {
  it("refuses an id already retained in the topic, so a client resuming after it misses nothing", () => {
    const backplane = new MemoryBackplane();
    const seen: string[] = [];
    backplane.subscribe("t", (entry) => seen.push(entry.event.data ?? ""));
    backplane.publish("t", { data: "1", id: "same" });
    backplane.publish("t", { data: "2" });
    expect(() => backplane.publish("t", { data: "3", id: "same" })).toThrow(
      new TypeError('Cannot publish: the id "same" is already in use in topic "t"'),
    );
    // Nothing of the refused publish happened: no delivery, no entry, no sequence number.
    expect(seen).toEqual(["1", "2"]);
    expect(dataOf(backplane.history(["t"], "same"))).toEqual(["2"]);
    expect(backplane.publish("t", { data: "4" })).toMatch(/-3$/);
  });

  it("does not let the same id in another topic hide the events after it", () => {
    const backplane = new MemoryBackplane();
    backplane.publish("x", { data: "x1", id: "shared-id" });
    backplane.publish("x", { data: "x2" });
    expect(backplane.publish("y", { data: "y1", id: "shared-id" })).toBe("shared-id");
    backplane.publish("x", { data: "x3" });
    expect(dataOf(backplane.history(["x"], "shared-id"))).toEqual(["x2", "x3"]);
    expect(dataOf(backplane.history(["y"], "shared-id"))).toEqual([]);
    // Both topics at once: replay starts after the older copy, so nothing is skipped.
    expect(dataOf(backplane.history(["x", "y"], "shared-id"))).toEqual(["x2", "y1", "x3"]);
  });

  it("accepts an id again once the entry that had it is no longer retained", () => {
    const backplane = new MemoryBackplane({ maxEvents: 1 });
    backplane.publish("t", { data: "1", id: "again" });
    backplane.publish("t", { data: "2" });
    expect(backplane.publish("t", { data: "3", id: "again" })).toBe("again");
    expect(dataOf(backplane.history(["t"], "again"))).toEqual([]);
  });
});
