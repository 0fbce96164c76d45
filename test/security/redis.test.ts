import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BackplaneEntry, SSEHub } from "../../src/hub/index.ts";
import { RedisBackplane, RedisBackplaneError } from "../../src/redis/index.ts";
import { RedisServer, redisRequirement } from "../_helpers/redis.ts";

const requirement = redisRequirement();

/** Finding 4 of the security review: on Redis, topic names were key names. */
describe.skipIf(requirement === "skip")("Redis backplane: topics cannot reach other keys", () => {
  if (requirement === "fail") {
    it("runs against a real redis-server, which CI must provide", () => {
      throw new Error("redis-server is not installed");
    });
    return;
  }
  let server: RedisServer;
  const clients: Redis[] = [];
  const client = (): Redis => {
    const redis = new Redis(server.url, { lazyConnect: false });
    clients.push(redis);
    return redis;
  };

  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    for (const redis of clients) redis.disconnect();
    await server.stop();
  });

  it("keeps a public hub under 'sse:' out of an admin hub under 'sse:admin:', whatever the topic", async () => {
    const admin = new RedisBackplane({ redis: client(), prefix: "sse:admin:" });
    const errors: unknown[] = [];
    const publicPlane = new RedisBackplane({ redis: client(), prefix: "sse:", onError: (error) => errors.push(error) });
    const adminHub = new SSEHub({ backplane: admin, keepAlive: false });
    const publicHub = new SSEHub({ backplane: publicPlane, keepAlive: false });
    try {
      const before = await publicHub.publish({ data: "public" }, { topic: "news" });
      const secret = await adminHub.publish({ data: "secret" }, { topic: "audit" });
      // The attacker's topics name the admin hub's stream and its clock, on the old layout.
      for (const topic of ["admin:audit", "admin:", "admin:s:audit", "admin:c:", "s:admin:audit"]) {
        const history = await publicPlane.history([topic], before);
        const entries = history.gone ? [] : history.entries;
        expect(
          entries.map((entry) => entry.event.data),
          topic,
        ).not.toContain("secret");
      }
      // Subscribing to them (the old reader's XREAD then failed with WRONGTYPE on every retry)
      // leaves every other topic of the instance live.
      const live: BackplaneEntry[] = [];
      await publicPlane.subscribe("admin:", () => {}).ready;
      await publicPlane.subscribe("admin:audit", (entry) => live.push(entry)).ready;
      await publicPlane.subscribe("news", (entry) => live.push(entry)).ready;
      await adminHub.publish({ data: "secret 2" }, { topic: "audit" });
      const news = await publicHub.publish({ data: "hello" }, { topic: "news" });
      while (!live.some((entry) => entry.id === news)) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(live.map((entry) => entry.event.data)).toEqual(["hello"]);
      expect(errors).toEqual([]);
      expect(secret).toMatch(/^\d+-\d+$/);
    } finally {
      await adminHub.close();
      await publicHub.close();
    }
  });

  it("costs a topic whose key holds something else that topic only", async () => {
    const errors: unknown[] = [];
    const plane = new RedisBackplane({ redis: client(), prefix: "iso:", onError: (error) => errors.push(error) });
    try {
      const live: BackplaneEntry[] = [];
      await plane.subscribe("good", (entry) => live.push(entry)).ready;
      // Some other code writes a string where the topic's stream lives.
      await client().call("SET", "iso:s:bad", "not a stream");
      await plane.subscribe("bad", () => {}).ready;
      await expect(plane.publish("bad", { data: "x" })).rejects.toThrow(/^Cannot publish: Redis refused the command: WRONGTYPE/);
      const ids: string[] = [];
      for (let n = 0; n < 3; n++) ids.push(await plane.publish("good", { data: String(n) }));
      while (live.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(live.map((entry) => entry.id)).toEqual(ids);
      const report = errors.find((error) => RedisBackplaneError.is(error) && error.kind === "refused") as Error;
      expect(report.message).toMatch(/^Cannot read events of topic "bad": its key "iso:s:bad" holds a string, not a stream/);
    } finally {
      await plane.close();
    }
  });

  it("encodes topics one-to-one and bounds their length in bytes", async () => {
    const plane = new RedisBackplane({ redis: client(), prefix: "enc:", maxTopicBytes: 16 });
    try {
      const first = await plane.publish("w", { data: "0" });
      const a = await plane.publish("a:b", { data: "1" });
      await plane.publish("a%3Ab", { data: "2" });
      const history = await plane.history(["a:b"], first);
      expect(history.gone ? [] : history.entries.map((entry) => entry.id)).toEqual([a]);
      expect(() => plane.publish("é".repeat(9), { data: "x" })).toThrow(RangeError);
      expect(() => plane.publish("é".repeat(9), { data: "x" })).toThrow(
        'Cannot publish: "topic" must be at most 16 bytes, got 18 bytes',
      );
      expect(() => plane.subscribe("\uD800", () => {})).toThrow(TypeError);
      expect(await client().call("EXISTS", "enc:s:a%3Ab", "enc:s:a%253Ab")).toBe(2);
    } finally {
      await plane.close();
    }
  });
});
