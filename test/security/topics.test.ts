// Issue 11, High 2 and Low 9 (hub side): topics are bounded capabilities. A client cannot create
// topics without bound (maxTopics: 503 past it), nor name one longer than maxTopicLength bytes,
// and only GET subscribes (405 with Allow: GET).
import { describe, expect, it } from "vitest";
import { SSEHub } from "../../src/hub/index.ts";

describe("topic bounds", () => {
  it("answers 503 to a subscription that would create topics past maxTopics, and accepts live ones", async () => {
    const hub = new SSEHub({ keepAlive: false, maxTopics: 3 });
    const open = [];
    for (const topic of ["a", "b", "c"]) open.push(await hub.subscribe(new Request(`http://localhost/sse?topic=${topic}`)));
    const refused = await hub.subscribe(new Request("http://localhost/sse?topic=d"));
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).not.toBeNull();
    expect(hub.topics()).not.toContain("d");
    const again = await hub.subscribe(new Request("http://localhost/sse?topic=a"));
    expect(again.status).toBe(200);
    await open[0]!.body!.cancel();
    await again.body!.cancel();
    expect((await hub.subscribe(new Request("http://localhost/sse?topic=d"))).status).toBe(200);
    await hub.close();
  });

  it("refuses topics longer than maxTopicLength bytes, in the query and in publish()", async () => {
    const hub = new SSEHub({ keepAlive: false });
    const long = "é".repeat(200); // 200 characters, 400 bytes
    expect((await hub.subscribe(new Request(`http://localhost/sse?topic=${encodeURIComponent(long)}`))).status).toBe(400);
    await expect(hub.publish({ data: "x" }, { topic: long })).rejects.toThrow(RangeError);
    expect(() => hub.tryPublish({ data: "x" }, { topic: long })).toThrow(RangeError);
    await hub.close();
  });

  it("subscribes only with GET: HEAD and POST get 405 with Allow: GET, and nothing is subscribed", async () => {
    const hub = new SSEHub({ keepAlive: false });
    for (const method of ["HEAD", "POST", "PUT"]) {
      const response = await hub.subscribe(new Request("http://localhost/sse", { method }));
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET");
    }
    expect(hub.size).toBe(0);
    await hub.close();
  });
});
