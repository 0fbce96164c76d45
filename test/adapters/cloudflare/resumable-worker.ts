// The Worker test/adapters/cloudflare-resumable.test.ts runs on workerd: one ResumableStreamObject
// per stream id, whose producer emits a numbered token every 25 ms (as many as the starting
// request asks for), and a status route for the tests.
import {
  type DurableObjectNamespaceLike,
  type DurableObjectStateLike,
  ResumableStreamObject,
} from "../../../src/adapters/cloudflare/index.ts";

interface Env {
  STREAMS: DurableObjectNamespaceLike;
}

export class TestStream extends ResumableStreamObject<Env> {
  constructor(state: DurableObjectStateLike, env: Env) {
    super(state, env, { streams: { heartbeat: 500, keepAlive: 1000 }, aliveEvery: 1000 });
  }

  override async produce(request: Request): Promise<(signal: AbortSignal) => AsyncIterable<string>> {
    const count = Number(((await request.json()) as { tokens: number }).tokens);
    return async function* tokens(signal: AbortSignal): AsyncGenerator<string> {
      for (let i = 1; i <= count; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        if (signal.aborted) return;
        yield `token-${i}`;
      }
    };
  }

  override async fetch(request: Request): Promise<Response> {
    if (new URL(request.url).pathname === "/status")
      return Response.json({ status: (await this.streams.status("stream")) ?? null });
    return super.fetch(request);
  }
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/__ready") return Promise.resolve(new Response("ok"));
    const id = url.searchParams.get("stream") ?? "";
    if (!/^[\w-]{1,64}$/.test(id)) return Promise.resolve(new Response("Bad stream id", { status: 400 }));
    return env.STREAMS.get(env.STREAMS.idFromName(id)).fetch(request);
  },
};
