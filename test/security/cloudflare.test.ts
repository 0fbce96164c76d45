// Adversarial tests of hertz-sse/cloudflare (issue 11, items 8 and 10), on the real workerd binary
// with the objects' storage on disk: topic names that would grow storage keys past their limit,
// a router that would create one object per query, objects that would keep their storage forever,
// and publisher ids repeated to make replay skip events.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type DurableObjectNamespaceLike, hubRouter } from "../../src/adapters/cloudflare/index.ts";
import { available } from "../_helpers/runtimes.ts";
import { type DurableObjectWorker, startDurableObjectWorker } from "../_helpers/workerd.ts";
import { Subscription } from "../adapters/cloudflare/subscription.ts";

/** A namespace double that records every object it is asked for. */
function recordingNamespace(names: string[]): DurableObjectNamespaceLike {
  return {
    idFromName: (name) => {
      names.push(name);
      return name;
    },
    get: () => ({ fetch: async () => new Response("from the object") }),
  };
}

describe("hubRouter", () => {
  it("refuses to route one object per topic without an allow-list or an onSubscribe check", () => {
    expect(() => hubRouter(recordingNamespace([]))).toThrow(
      new TypeError(
        'Cannot create the hub router: one object per topic needs an allow-list ("topics") or an "onSubscribe" check, or any query would create an object',
      ),
    );
  });

  it("reaches no object for a topic outside the allow-list, a refused subscription, a long topic or a publish", async () => {
    const names: string[] = [];
    const listed = hubRouter(recordingNamespace(names), { topics: ["news"] });
    const checked = hubRouter(recordingNamespace(names), {
      onSubscribe: (request) =>
        request.headers.get("authorization") === "yes" ? undefined : new Response("Forbidden", { status: 403 }),
    });
    const answers = [
      await listed(new Request("http://x/?topic=attacker-1")),
      await listed(new Request("http://x/?topic=news&topic=attacker-2")),
      await checked(new Request("http://x/?topic=attacker-3")),
      await checked(new Request(`http://x/?topic=${"x".repeat(257)}`, { headers: { authorization: "yes" } })),
      await listed(new Request("http://x/?topic=news", { method: "POST", body: "{}" })),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 404, 403, 400, 405]);
    expect(answers[4]!.headers.get("allow")).toBe("GET");
    expect(names).toEqual([]);
    expect(await (await listed(new Request("http://x/?topic=news"))).text()).toBe("from the object");
    expect(await (await checked(new Request("http://x/?topic=mine", { headers: { authorization: "yes" } }))).text()).toBe(
      "from the object",
    );
    expect(names).toEqual(["news", "mine"]);
  });
});

describe.skipIf(!available("workerd"))("hub objects on workerd, under attack", () => {
  let worker: DurableObjectWorker;
  let base: string;
  const open: Subscription[] = [];
  const subscribe = async (path: string, lastEventId?: string): Promise<Subscription> => {
    const subscription = await Subscription.open(
      `${base}${path}`,
      lastEventId === undefined ? {} : { "Last-Event-ID": lastEventId },
    );
    open.push(subscription);
    return subscription;
  };
  const publish = (object: string, topic: string, event: object): Promise<Response> =>
    fetch(`${base}/?object=${object}&topic=${encodeURIComponent(topic)}`, { method: "POST", body: JSON.stringify(event) });
  const publishOk = async (object: string, topic: string, event: object): Promise<string> => {
    const response = await publish(object, topic, event);
    expect(response.status, await response.clone().text()).toBe(200);
    return ((await response.json()) as { id: string }).id;
  };
  const keys = async (object: string): Promise<string[]> =>
    (await fetch(`${base}/keys?object=${object}`)).json() as Promise<string[]>;
  const constructed = async (): Promise<number> =>
    ((await (await fetch(`${base}/constructed`)).json()) as { constructed: number }).constructed;

  beforeAll(async () => {
    worker = await startDurableObjectWorker("test/adapters/cloudflare/guarded-worker.ts", {
      name: "cloudflare-security",
      className: "GuardedHub",
      binding: "HUB",
    });
    base = worker.server.url;
  });
  afterEach(() => {
    for (const subscription of open.splice(0)) subscription.close();
  });
  afterAll(async () => {
    await worker?.stop();
  });

  it("refuses a topic longer than 256 bytes on publish and subscribe, and the object's other subscribers keep their stream", async () => {
    const victim = await subscribe("/?object=shared&topic=victim");
    const long = "é".repeat(1500); // 3000 bytes: past the 2 KiB storage key limit if it were in a key
    for (let i = 0; i < 6; i++) {
      const response = await publish("shared", long, { data: String(i) });
      expect([response.status, await response.text()]).toEqual([
        400,
        'Cannot publish: "topic" must be at most 256 bytes, got 3000 bytes',
      ]);
    }
    const refused = await fetch(`${base}/?object=shared&topic=${encodeURIComponent(long)}`);
    expect([refused.status, await refused.text()]).toEqual([400, "Invalid topic: it must be at most 256 bytes, got 3000"]);
    const id = await publishOk("shared", "victim", { data: "still here" });
    expect(await victim.count(1)).toEqual([{ type: "message", data: "still here", lastEventId: id }]);
  });

  it("keys eviction markers by a hash, so that no storage key grows with the topic name", async () => {
    const topic = `t${"x".repeat(255)}`; // 256 bytes, the longest accepted
    for (let i = 0; i < 6; i++) await publishOk("markers", topic, { data: String(i) });
    const deadline = Date.now() + 5000;
    let stored = await keys("markers");
    while (!stored.some((key) => key.startsWith("hertz-sse:t:")) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      stored = await keys("markers");
    }
    expect(stored.filter((key) => key.startsWith("hertz-sse:t:"))).toEqual([expect.stringMatching(/^hertz-sse:t:[0-9a-f]{32}$/)]);
    expect(Math.max(...stored.map((key) => key.length))).toBeLessThanOrEqual(64);
  });

  it("creates no object for a topic outside hubRouter's allow-list", async () => {
    const before = await constructed();
    for (let i = 0; i < 20; i++) expect((await fetch(`${base}/?topic=attacker-${i}`)).status).toBe(404);
    expect(await constructed()).toBe(before);
    const sport = await subscribe("/?topic=sport");
    expect(sport.ended).toBe(false);
    expect(await constructed()).toBe(before + 1);
  });

  it("deletes an idle object's storage with an alarm once its events have expired", async () => {
    await publishOk("idle", "news", { data: "soon gone" });
    expect(await keys("idle")).toContain("hertz-sse:meta");
    // maxAge is 1.5 s: the alarm fires then, on a machine of any speed well within 10 s.
    const deadline = Date.now() + 10_000;
    let stored = await keys("idle");
    while (stored.length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      stored = await keys("idle");
    }
    expect(stored).toEqual([]);
  });

  it("refuses a repeated publisher id in a topic, so a client resuming after it misses nothing", async () => {
    const first = await publishOk("ids", "dup", { data: "1", id: "same" });
    await publishOk("ids", "dup", { data: "2" });
    const repeat = await publish("ids", "dup", { data: "3", id: "same" });
    expect([repeat.status, await repeat.text()]).toEqual([400, 'Cannot publish: the id "same" is already in use in topic "dup"']);
    const resumed = await subscribe("/?object=ids&topic=dup", first);
    expect((await resumed.count(1)).map((message) => message.data)).toEqual(["2"]);
  });

  it("keeps ids apart per topic: the same publisher id in another topic does not hide events", async () => {
    const mine = await publishOk("ids", "x", { data: "x1", id: "shared-id" });
    await publishOk("ids", "x", { data: "x2" });
    expect(await publishOk("ids", "y", { data: "y1", id: "shared-id" })).toBe(mine);
    await publishOk("ids", "x", { data: "x3" });
    const resumed = await subscribe("/?object=ids&topic=x", mine);
    expect((await resumed.count(2)).map((message) => message.data)).toEqual(["x2", "x3"]);
  });
});
