// The example app as a Cloudflare module Worker. `npm run example:cloudflare` serves it with
// workerd from npm (no account needed); `wrangler deploy` from this folder publishes it.
//
// A Worker's requests may land in different isolates, and even in one isolate a response stream
// can only be written from the request that created it. So the app (its hub and price ticker)
// lives in one Durable Object, which every request is forwarded to: all subscribers share it.
import { type App, createApp } from "../app.ts";

interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export interface Env {
  DEMO: DurableObjectNamespaceLike;
}

/** The Durable Object that hosts the example app. */
export class DemoHub {
  readonly #app: App = createApp();
  fetch(request: Request): Promise<Response> {
    return this.#app.fetch(request);
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    // The quickstart stream needs no shared state: serve it right here.
    if (url.pathname === "/sse" || url.pathname === "/") return createApp().fetch(request);
    return env.DEMO.get(env.DEMO.idFromName("demo")).fetch(request);
  },
};
