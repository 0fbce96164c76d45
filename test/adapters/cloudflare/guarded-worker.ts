// The Worker test/security/cloudflare.test.ts runs on workerd: hub objects with a small log that
// expires quickly, reached through hubRouter with an allow-list for subscriptions and through the
// object's own protocol for publishes, plus routes that show what the tests check: every storage
// key of an object, and how many objects this isolate has constructed.
import {
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
  hubRouter,
  SSEHubObject,
} from "../../../src/adapters/cloudflare/index.ts";

interface Env {
  HUB: DurableObjectNamespaceLike;
}

let constructed = 0;

/** Keeps 3 events per topic for 1.5 s, so that evictions and the idle alarm come quickly. */
export class GuardedHub extends SSEHubObject<Env> {
  constructor(state: DurableObjectStateLike, env: Env) {
    super(state, env, { hub: { keepAlive: 200 }, replay: { maxEvents: 3, maxAge: 1500 } });
    constructed++;
  }

  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === "/keys") {
      const storage = this.state.storage as unknown as { list(): Promise<Map<string, unknown>> };
      return Response.json([...(await storage.list()).keys()]);
    }
    return super.fetch(request);
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__ready") return new Response("ok");
    if (url.pathname === "/constructed") return Response.json({ constructed });
    const object = url.searchParams.get("object");
    // POST /?object=o&topic=t publishes to topic t of object o; GET /keys?object=o lists its storage.
    if (object !== null) return env.HUB.get(env.HUB.idFromName(object)).fetch(request);
    return hubRouter(env.HUB, { topics: ["news", "sport"] })(request);
  },
};
