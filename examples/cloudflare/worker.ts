// The example app as a Cloudflare module Worker. `npm run example:cloudflare` serves it with
// workerd from npm (no account needed); `wrangler deploy` from this folder publishes it.
//
// A Worker's requests may land in different isolates, and a response stream can only be written
// from the request that created it, so prices and chat meet in one Durable Object: DemoHub, the
// library's SSEHubObject running the shared app on its hub. Every price and chat request is
// forwarded to it, so one request's publish reaches every stream, and the hub's replay log lives
// in the object's storage, so Last-Event-ID replay survives the object being evicted.

import {
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
  SSEHubObject,
} from "../../src/adapters/cloudflare/index.ts";
import { APP_HUB_OPTIONS, type App, createApp } from "../app.ts";

export interface Env {
  DEMO: DurableObjectNamespaceLike;
  /** Signs chat sessions (`wrangler secret put CHAT_SECRET`); a random key per object without it. */
  CHAT_SECRET?: string;
}

/** The Durable Object that hosts the example app's hub and price ticker. */
export class DemoHub extends SSEHubObject<Env> {
  readonly #app: App;

  constructor(state: DurableObjectStateLike, env: Env) {
    // The same hub options and replay bounds as the app's in-memory hub on the other runtimes
    // (without them, a price of 179.30 went out as 179.3 here).
    super(state, env, { hub: APP_HUB_OPTIONS, replay: { maxEvents: 600, maxAge: 5 * 60_000 } });
    this.#app = createApp({ hub: this.hub, secret: env.CHAT_SECRET });
  }

  // The app's routes (/price, /chat/...) instead of the object's GET/POST protocol.
  override fetch(request: Request): Promise<Response> {
    return this.#app.fetch(request);
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    // The demo page and the quickstart stream need no shared state: serve them right here.
    if (url.pathname === "/sse" || url.pathname === "/") return createApp().fetch(request);
    // Everything else is the app's (GET and POST routes, each checking its own input): one object.
    return env.DEMO.get(env.DEMO.idFromName("demo")).fetch(request);
  },
};
