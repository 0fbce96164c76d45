// The routes every framework app serves, written once. Each app imports hertz-sse from its own
// node_modules (the package as packed from this checkout) and passes it in, so this file has no
// imports and every bundler sees it the same way.
//
//   GET  /sse?count=N&interval=MS  an sseResponse() stream: an "open" event, then N events MS apart
//                                  (data: the sender's Date.now()), or with N = 0 silence until the
//                                  client leaves; keep-alive every second; &cache-control=V sets the
//                                  response's Cache-Control as a user might (without no-transform)
//   GET  /hub?topic=T              a hub subscription (Last-Event-ID honoured); topics starting
//                                  with "private" are refused by onSubscribe with a 403;
//                                  &bounded=1 uses a second hub whose subscriptions end after
//                                  BOUNDED_DURATION (maxDuration), as under a platform time limit
//   POST /publish?topic=T          publishes the request body as a "message" event, answers its id
//                                  (&bounded=1: to the bounded hub)
//   GET  /debug                    what is alive on the server, as JSON

/** Milliseconds of silence before a keep-alive comment: short, so a write notices a dead client soon. */
export const KEEP_ALIVE = 1000;

/** The `maxDuration` of `/sse?maxDuration=1` and of the bounded hub: a platform's hard limit, shortened. */
export const BOUNDED_DURATION = 2000;

/**
 * The routes of this process, made once: frameworks that bundle each route on its own (Next.js)
 * may load this module more than once, and every route must see the same hub and counters.
 *
 * @param {{ sseResponse: Function, SSEHub: new (options: object) => any }} hertz
 * @param {{ runtime?: string }} [options]
 */
export function routes(hertz, options) {
  globalThis.__hertzFrameworkRoutes ??= createRoutes(hertz, options);
  return globalThis.__hertzFrameworkRoutes;
}

/**
 * @param {{ sseResponse: Function, SSEHub: new (options: object) => any }} hertz
 * @param {{ runtime?: string }} [options]
 */
export function createRoutes(hertz, options = {}) {
  const { sseResponse, SSEHub } = hertz;
  const state = {
    runtime: options.runtime ?? "node",
    streams: 0,
    opened: 0,
    cleanups: 0,
    subscribed: 0,
    unsubscribed: 0,
    errors: 0,
    /** The last disconnects noticed: when, and whether request.signal had aborted by then. */
    disconnects: [],
  };
  // Whatever the library (or the framework) logs as an error is counted here and still printed.
  const consoleError = console.error.bind(console);
  console.error = (...args) => {
    state.errors++;
    consoleError(...args);
  };

  const hub = new SSEHub({
    keepAlive: KEEP_ALIVE,
    retry: 1000,
    onSubscribe: (_request, topics) => {
      if (topics.some((topic) => topic.startsWith("private"))) return new Response("Forbidden topic\n", { status: 403 });
      state.subscribed++;
    },
    onUnsubscribe: () => {
      state.unsubscribed++;
    },
  });

  // Subscriptions end cleanly a little before BOUNDED_DURATION, after `retry:`, keeping the last id.
  const boundedHub = new SSEHub({ keepAlive: KEEP_ALIVE, retry: 1000, maxDuration: BOUNDED_DURATION });
  const hubFor = (request) => (new URL(request.url).searchParams.has("bounded") ? boundedHub : hub);

  function sse(request) {
    const url = new URL(request.url);
    const count = Number(url.searchParams.get("count") ?? 0);
    const interval = Number(url.searchParams.get("interval") ?? 100);
    const cacheControl = url.searchParams.get("cache-control");
    return sseResponse(
      request,
      async (stream) => {
        const id = ++state.opened;
        state.streams++;
        let cleanups = 0;
        stream.signal.addEventListener("abort", () => {
          cleanups++;
          state.cleanups++;
          state.streams--;
          state.disconnects.push({ id, at: Date.now(), requestSignal: request.signal.aborted, cleanups });
          if (state.disconnects.length > 500) state.disconnects.shift();
        });
        await stream.send({ event: "open", data: String(Date.now()) });
        if (count === 0) {
          await new Promise((resolve) => stream.signal.addEventListener("abort", resolve, { once: true }));
          return;
        }
        for (let i = 1; i <= count && !stream.signal.aborted; i++) {
          await sleep(interval, stream.signal);
          await stream.send({ id: String(i), data: String(Date.now()) });
        }
      },
      {
        keepAlive: KEEP_ALIVE,
        maxDuration: url.searchParams.has("maxDuration") ? BOUNDED_DURATION : false,
        headers: cacheControl === null ? undefined : { "cache-control": cacheControl },
      },
    );
  }

  function subscribe(request) {
    return hubFor(request).subscribe(request);
  }

  async function publish(request) {
    const topic = new URL(request.url).searchParams.get("topic") ?? undefined;
    const id = await hubFor(request).publish({ event: "message", data: await request.text() }, { topic });
    return new Response(id, { headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  function debug() {
    const resources = globalThis.process?.getActiveResourcesInfo?.();
    const body = {
      ...state,
      hubSize: hub.size + boundedHub.size,
      timers: Array.isArray(resources) ? resources.filter((name) => name === "Timeout").length : null,
    };
    return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", "cache-control": "no-store" } });
  }

  /** One entry for frameworks that route every request through one function. */
  function handle(request) {
    const { pathname } = new URL(request.url);
    if (pathname === "/sse") return sse(request);
    if (pathname === "/hub") return subscribe(request);
    if (pathname === "/publish" && request.method === "POST") return publish(request);
    if (pathname === "/debug") return debug();
    return new Response("Not found\n", { status: 404 });
  }

  return { sse, subscribe, publish, debug, handle, hub, state };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
