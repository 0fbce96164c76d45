// The Worker the Cloudflare tests run on workerd: a hub object per topic behind hubRouter (every
// topic but "forbidden:…" allowed), the "chat" object hosting several topics, a publish route that
// uses publishTo from the Worker, and the objects' own protocol reached directly for publishes.
import {
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
  hubRouter,
  publishTo,
  SSEHubObject,
} from "../../../src/adapters/cloudflare/index.ts";

interface Env {
  HUB: DurableObjectNamespaceLike;
}

/** The library's object with short keep-alives and a small log, plus two routes for the tests. */
export class TestHub extends SSEHubObject<Env> {
  constructor(state: DurableObjectStateLike, env: Env) {
    super(state, env, { hub: { keepAlive: 200 }, replay: { maxEvents: 5 } });
  }

  override fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/count") {
      const topic = url.searchParams.get("topic") ?? "default";
      return Promise.resolve(Response.json({ size: this.hub.size, count: this.hub.count(topic) }));
    }
    if (url.pathname === "/evict") {
      // Resets the object as an eviction would: the next request gets a new instance.
      (this.state as { abort?: (reason?: string) => void }).abort?.("evicted by the test");
    }
    return super.fetch(request);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__ready") return new Response("ok");
    if (url.pathname === "/worker-publish") {
      const topic = url.searchParams.get("topic") ?? "";
      const objectName = url.searchParams.get("object") ?? undefined;
      try {
        const id = await publishTo(
          env.HUB,
          topic,
          { event: url.searchParams.get("event") ?? undefined, data: JSON.parse(url.searchParams.get("json") ?? "null") },
          { objectName },
        );
        return Response.json({ id });
      } catch (error) {
        return Response.json({ name: (error as Error).name, message: (error as Error).message }, { status: 400 });
      }
    }
    if (request.method !== "GET") {
      // The object's own protocol (POST publishes), which hubRouter does not forward.
      const name = url.pathname.startsWith("/chat") ? "chat" : (url.searchParams.get("topic") ?? "default");
      return env.HUB.get(env.HUB.idFromName(name)).fetch(request);
    }
    if (url.pathname.startsWith("/chat")) return hubRouter(env.HUB, { objectName: () => "chat" })(request);
    return hubRouter(env.HUB, { topics: (topic) => !topic.startsWith("forbidden:") })(request);
  },
};
