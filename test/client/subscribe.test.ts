// subscribe() against a real server: @hono/node-server on port 0, with handlers built from this
// repository's sseResponse. A few cases use an injected fetch where a server cannot be made to
// fail on cue (refused connections, backoff arithmetic, backpressure).
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientError, ConnectionError, ResponseError, RetryLimitError } from "../../src/client/errors.ts";
import type { FetchLike } from "../../src/client/fetch-like.ts";
import { subscribe } from "../../src/client/subscribe.ts";
import type { RetryInfo } from "../../src/client/subscribe-options.ts";
import type { SSEEvent, SSEMessage } from "../../src/core/event.ts";
import { encodeByteString, getLastEventId } from "../../src/core/last-event-id.ts";
import { sseResponse } from "../../src/core/response.ts";
import type { SSEStream } from "../../src/core/stream.ts";
import { ParseError } from "../../src/parser/parse-error.ts";

type Handler = (request: Request) => Response | Promise<Response>;
const routes = new Map<string, Handler>();
let server: ReturnType<typeof serve>;
let origin = "";

/** Serves `handler` at a fresh path and returns its URL. */
let routeCount = 0;
function route(handler: Handler): string {
  const path = `/r${++routeCount}`;
  routes.set(path, handler);
  return `${origin}${path}`;
}

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve(
      {
        port: 0,
        hostname: "127.0.0.1",
        fetch: (request) => {
          const handler = routes.get(new URL(request.url).pathname);
          return handler ? handler(request) : new Response("not found", { status: 404 });
        },
      },
      (info) => {
        origin = `http://127.0.0.1:${info.port}`;
        resolve();
      },
    );
  });
});

afterAll(async () => {
  (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
});

/** A promise with its resolve function, to await what a server or callback sees. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Resolves once `n` values have been pushed to the returned array. */
function counter<T>(n: number): { values: T[]; push: (value: T) => void; reached: Promise<T[]> } {
  const values: T[] = [];
  const done = deferred<T[]>();
  return {
    values,
    push(value) {
      values.push(value);
      if (values.length === n) done.resolve(values);
    },
    reached: done.promise,
  };
}

const sse = (request: Request, events: SSEEvent[], options: { retry?: number; hold?: boolean } = {}) =>
  sseResponse(
    request,
    async (stream) => {
      for (const event of events) await stream.send(event);
      if (options.hold) await new Promise((resolve) => stream.signal.addEventListener("abort", resolve));
    },
    { keepAlive: false, retry: options.retry },
  );

const fast = { retry: 10, backoff: { jitter: 0 } };

async function collect(iterable: AsyncIterable<SSEMessage>, limit = Number.POSITIVE_INFINITY): Promise<SSEMessage[]> {
  const out: SSEMessage[] = [];
  for await (const message of iterable) {
    out.push(message);
    if (out.length >= limit) break;
  }
  return out;
}

describe("subscribe reconnects as EventSource does", () => {
  it("resumes with Last-Event-ID after the server closes the stream, and gets the missed events", async () => {
    // A log of events with non-ASCII ids; each connection sends what follows its Last-Event-ID,
    // two at most, then ends the response, as a server restarting would.
    const log: SSEEvent[] = ["évt-1", "évt-2", "évt-3", "日本-4", "🎉-5"].map((id, i) => ({
      id,
      event: "tick",
      data: `n${i + 1}`,
    }));
    const seen: { raw: string | null; decoded: string | undefined; accept: string | null; cacheControl: string | null }[] = [];
    const url = route((request) => {
      seen.push({
        raw: request.headers.get("last-event-id"),
        decoded: getLastEventId(request),
        accept: request.headers.get("accept"),
        cacheControl: request.headers.get("cache-control"),
      });
      const after = getLastEventId(request);
      const start = after === undefined ? 0 : log.findIndex((e) => e.id === after) + 1;
      return sse(request, log.slice(start, start + 2));
    });
    const subscription = subscribe(url, fast);
    const messages = await collect(subscription, 5);
    expect(messages).toEqual(log.map((e) => ({ type: "tick", data: e.data, lastEventId: e.id })));
    expect(seen.map((s) => s.decoded)).toEqual([undefined, "évt-2", "日本-4"]);
    // On the wire the id is UTF-8, one character per byte, as browsers send it.
    expect(seen[1]!.raw).toBe(encodeByteString("évt-2"));
    expect(seen.every((s) => s.accept === "text/event-stream" && s.cacheControl === "no-cache")).toBe(true);
    expect(subscription.lastEventId).toBe("🎉-5");
    expect(subscription.readyState).toBe("closed"); // Leaving the loop closed it.
    expect(subscription.error).toBeUndefined();
  });

  it("sends the lastEventId option from the first request on", async () => {
    const ids = counter<string | undefined>(1);
    const url = route((request) => {
      ids.push(getLastEventId(request));
      return sse(request, [{ data: "x" }]);
    });
    const messages = await collect(subscribe(url, { ...fast, lastEventId: "ünïcode 7" }), 1);
    expect(await ids.reached).toEqual(["ünïcode 7"]);
    expect(messages).toEqual([{ type: "message", data: "x", lastEventId: "ünïcode 7" }]);
  });

  it("waits the reconnection time that the server's retry: sets", async () => {
    let connections = 0;
    const times: number[] = [];
    const url = route((request) => {
      times.push(performance.now());
      return sse(request, [{ data: `c${++connections}` }], { retry: 150 });
    });
    const retries: RetryInfo[] = [];
    const messages = await collect(
      subscribe(url, { retry: 60_000, backoff: { jitter: 0 }, onRetry: (info) => retries.push(info) }),
      2,
    );
    expect(messages.map((m) => m.data)).toEqual(["c1", "c2"]);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ attempt: 1, delay: 150 });
    expect(ConnectionError.is(retries[0]!.error) && retries[0]!.error.kind).toBe("end");
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(140);
  });

  it("ends normally on 204, without reconnecting", async () => {
    let requests = 0;
    const url = route(() => {
      requests++;
      return new Response(null, { status: 204 });
    });
    const subscription = subscribe(url, fast);
    expect(await collect(subscription)).toEqual([]);
    expect(requests).toBe(1);
    expect(subscription.readyState).toBe("closed");
    expect(subscription.error).toBeUndefined();
  });

  it("fails on 500 with a ResponseError carrying the unread response, without reconnecting", async () => {
    let requests = 0;
    const url = route(() => {
      requests++;
      return new Response('{"error":"overloaded"}', { status: 500, headers: { "content-type": "application/json" } });
    });
    const errors: unknown[] = [];
    const subscription = subscribe(url, { ...fast, onError: (error) => void errors.push(error) });
    const failure = await collect(subscription).catch((error: unknown) => error);
    expect(ResponseError.is(failure)).toBe(true);
    const error = failure as ResponseError;
    expect(error).toBeInstanceOf(ResponseError);
    expect(error).toBeInstanceOf(ClientError);
    expect(error.status).toBe(500);
    expect(error.message).toBe("Cannot open event stream: expected status 200, got 500");
    expect(await (error.response as Response).json()).toEqual({ error: "overloaded" });
    expect(errors).toEqual([error]);
    expect(subscription.error).toBe(error);
    expect(requests).toBe(1);
  });

  it("fails on a wrong content type, and accepts the right one in any case with parameters", async () => {
    const wrong = route(() => new Response("data: x\n\n", { headers: { "content-type": "text/plain" } }));
    const failure = await collect(subscribe(wrong, fast)).catch((error: unknown) => error);
    expect(ResponseError.is(failure) && failure.message).toBe(
      'Cannot open event stream: expected content type "text/event-stream", got "text/plain"',
    );

    // (@hono/node-server adds a content type when there is none: a fetch double can leave it out.)
    const missing: FetchLike = () => Promise.resolve({ status: 200, headers: new Headers(), body: null });
    expect(
      ((await collect(subscribe("http://example.test/", { ...fast, fetch: missing })).catch((error: unknown) => error)) as Error)
        .message,
    ).toBe('Cannot open event stream: expected content type "text/event-stream", got none');

    const odd = route(() => new Response("data: x\n\n", { headers: { "content-type": " Text/Event-Stream ; charset=UTF-8" } }));
    expect(await collect(subscribe(odd, fast), 1)).toEqual([{ type: "message", data: "x", lastEventId: "" }]);
  });

  it("retries a refused response when shouldRetry says so, with backoff", async () => {
    let requests = 0;
    const url = route((request) =>
      ++requests < 3 ? new Response("busy", { status: 503 }) : sse(request, [{ data: "finally" }]),
    );
    const retries: number[] = [];
    const messages = await collect(
      subscribe(url, {
        ...fast,
        shouldRetry: (error) => ResponseError.is(error) && error.status === 503,
        onRetry: (info) => retries.push(info.delay),
      }),
      1,
    );
    expect(messages.map((m) => m.data)).toEqual(["finally"]);
    expect(retries).toEqual([10, 20]);
  });

  it("streams a POST with a JSON body and an Authorization header", async () => {
    const url = route(async (request) => {
      if (request.method !== "POST" || request.headers.get("authorization") !== "Bearer s3cret") {
        return new Response("unauthorized", { status: 401 });
      }
      const { prompt } = (await request.json()) as { prompt: string };
      return sse(request, [
        ...prompt.split(" ").map((word) => ({ event: "token", data: JSON.stringify({ word }) })),
        { data: "[DONE]" },
      ]);
    });
    const tokens: string[] = [];
    const subscription = subscribe(url, {
      headers: { Authorization: "Bearer s3cret", "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "hello brave new world" }),
      backoff: { maxAttempts: 0 }, // An answer cannot be resumed: the stream's end is the end.
    });
    for await (const message of subscription) {
      if (message.data === "[DONE]") continue;
      tokens.push((JSON.parse(message.data) as { word: string }).word);
    }
    expect(tokens).toEqual(["hello", "brave", "new", "world"]);
    expect(subscription.error).toBeUndefined();
  });

  it("reports a dropped connection to onError before reconnecting", async () => {
    let connections = 0;
    const url = route((request) => sse(request, [{ id: String(++connections), data: "x" }]));
    const errors: unknown[] = [];
    const messages = await collect(subscribe(url, { ...fast, onError: (error) => void errors.push(error) }), 3);
    expect(messages.map((m) => m.lastEventId)).toEqual(["1", "2", "3"]);
    expect(errors).toHaveLength(2);
    expect(errors.every((e) => ConnectionError.is(e) && e.kind === "end")).toBe(true);
  });

  it("ends with the error when shouldRetry returns false, and with what it throws", async () => {
    const url = route((request) => sse(request, [{ data: "x" }]));
    const infos: RetryInfo[] = [];
    const stopped = subscribe(url, {
      ...fast,
      shouldRetry: async (_error, info) => {
        infos.push(info);
        return false;
      },
    });
    const failure = await collect(stopped).catch((error: unknown) => error);
    expect(ConnectionError.is(failure) && failure.message).toBe("Cannot read event stream: the server ended the response");

    const thrown = new Error("stop here");
    expect(infos).toEqual([{ attempt: 1, delay: 100, error: failure, lastEventId: "" }]);
    const refused = subscribe(url, {
      ...fast,
      shouldRetry: () => {
        throw thrown;
      },
    });
    await expect(collect(refused)).rejects.toBe(thrown);
  });

  it("only reports to onError: what it returns or throws changes nothing", async () => {
    const url = route((request) =>
      request.headers.get("last-event-id") ? new Response("gone", { status: 410 }) : sse(request, [{ id: "1", data: "x" }]),
    );
    const reported: unknown[] = [];
    const subscription = subscribe(url, {
      ...fast,
      onError: (error) => {
        reported.push(error);
        if (ConnectionError.is(error)) return false; // Used to stop the subscription: no more.
        throw new Error("ignored, and logged");
      },
    });
    const failure = await collect(subscription).catch((error: unknown) => error);
    expect(ResponseError.is(failure) && failure.status).toBe(410);
    expect(reported.map((e) => (e as { kind?: string }).kind)).toEqual(["end", "response"]);
  });
});

describe("subscribe stops at once when told to", () => {
  it("closes the server-side stream when the loop is left", async () => {
    const serverClosed = deferred();
    const url = route((request) =>
      sseResponse(
        request,
        async (stream: SSEStream) => {
          stream.signal.addEventListener("abort", () => serverClosed.resolve());
          for (let i = 0; !stream.signal.aborted; i++) await stream.send({ data: String(i) });
        },
        { keepAlive: false },
      ),
    );
    const subscription = subscribe(url, fast);
    let count = 0;
    for await (const _ of subscription) {
      if (++count === 3) break;
    }
    await serverClosed.promise;
    expect(subscription.readyState).toBe("closed");
    await subscription.closed;
  });

  it("stops on abort mid-stream: the loop throws the reason, nothing is delivered after it", async () => {
    const serverClosed = deferred();
    const url = route((request) => {
      request.signal.addEventListener("abort", () => serverClosed.resolve());
      return sse(request, [{ data: "1" }, { data: "2" }, { data: "3" }], { hold: true });
    });
    const controller = new AbortController();
    const subscription = subscribe(url, { ...fast, signal: controller.signal });
    const received: string[] = [];
    const reason = new Error("user navigated away");
    const failure = await (async () => {
      for await (const message of subscription) {
        received.push(message.data);
        if (received.length === 1) controller.abort(reason);
      }
    })().catch((error: unknown) => error);
    expect(failure).toBe(reason);
    expect(received).toEqual(["1"]); // "2" and "3" had arrived, but are not delivered.
    await serverClosed.promise;
    await subscription.closed;
    expect(subscription.error).toBe(reason);
  });

  it("stops callbacks on abort and rejects nothing when nobody iterates", async () => {
    const url = route((request) => sse(request, [{ data: "1" }, { data: "2" }], { hold: true }));
    const controller = new AbortController();
    const received: string[] = [];
    const subscription = subscribe(url, {
      ...fast,
      signal: controller.signal,
      onMessage: (message) => {
        received.push(message.data);
        controller.abort();
      },
    });
    await subscription.closed;
    expect(received).toEqual(["1"]);
    expect((subscription.error as Error).name).toBe("AbortError");
  });

  it("never fetches when the signal is already aborted", async () => {
    let calls = 0;
    const fetch: FetchLike = () => {
      calls++;
      return Promise.reject(new Error("unreachable"));
    };
    const subscription = subscribe("http://127.0.0.1:9/", { fetch, signal: AbortSignal.abort() });
    await expect(collect(subscription)).rejects.toMatchObject({ name: "AbortError" });
    expect(calls).toBe(0);
  });

  it("close() ends the loop normally and drops what was not taken", async () => {
    const url = route((request) => sse(request, [{ data: "1" }, { data: "2" }], { hold: true }));
    const subscription = subscribe(url, fast);
    const received: string[] = [];
    for await (const message of subscription) {
      received.push(message.data);
      subscription.close();
    }
    expect(received).toEqual(["1"]);
    expect(subscription.error).toBeUndefined();
  });
});

describe("subscribe delivers to callbacks", () => {
  it("calls onOpen with the response, then onMessage in order, awaiting each", async () => {
    const url = route((request) => sse(request, [{ data: "a" }, { data: "b" }, { data: "c" }], { hold: true }));
    const log: string[] = [];
    const done = deferred();
    const subscription = subscribe(url, {
      ...fast,
      onOpen: (response) => void log.push(`open ${response.status}`),
      onMessage: async (message) => {
        log.push(`start ${message.data}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`end ${message.data}`);
        if (message.data === "c") done.resolve();
      },
    });
    await done.promise;
    subscription.close();
    expect(log).toEqual(["open 200", "start a", "end a", "start b", "end b", "start c", "end c"]);
    // With onMessage, iteration yields nothing and ends with the subscription.
    expect(await collect(subscription)).toEqual([]);
  });

  it("lets onOpen refuse a response: the error ends the subscription", async () => {
    let requests = 0;
    const url = route((request) => {
      requests++;
      return sse(request, [{ data: "never seen" }], { hold: true });
    });
    const refusal = new TypeError("wrong server version");
    const subscription = subscribe(url, {
      ...fast,
      onOpen: async (response) => {
        await Promise.resolve();
        if (response.headers.get("x-version") !== "2") throw refusal;
      },
    });
    await expect(collect(subscription)).rejects.toBe(refusal);
    expect(requests).toBe(1);
  });
});

describe("subscribe decodes and bounds messages", () => {
  it("decodes base64 data", async () => {
    const encoded = btoa(String.fromCharCode(...new TextEncoder().encode("héllo\nwörld")));
    const url = route((request) => sse(request, [{ data: encoded.slice(0, 6) + "\n" + encoded.slice(6) }]));
    expect(await collect(subscribe(url, { ...fast, decode: "base64" }), 1)).toEqual([
      { type: "message", data: "héllo\nwörld", lastEventId: "" },
    ]);
  });

  it("ends with a SyntaxError on data that is not base64, unless onInvalid skips it", async () => {
    const url = route((request) => sse(request, [{ data: "not base64!" }, { data: btoa("ok") }], { hold: true }));
    const failure = await collect(subscribe(url, { ...fast, decode: "base64" })).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SyntaxError);
    expect((failure as Error).message).toBe('Cannot decode message data: it is not base64, got "not base64!"');

    const reported: unknown[] = [];
    const skipped = await collect(
      subscribe(url, { ...fast, decode: "base64", onInvalid: "skip", onError: (e) => reported.push(e) }),
      1,
    );
    expect(skipped.map((m) => m.data)).toEqual(["ok"]);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(SyntaxError);
    const passed = await collect(subscribe(url, { ...fast, decode: "base64", onInvalid: "pass" }), 2);
    expect(passed.map((m) => m.data)).toEqual(["not base64!", "ok"]);
  });

  it("applies a decode function", async () => {
    const url = route((request) => sse(request, [{ data: "abc" }]));
    expect((await collect(subscribe(url, { ...fast, decode: (d) => d.toUpperCase() }), 1))[0]!.data).toBe("ABC");
  });

  it("ends with a ParseError on an oversized event, unless onInvalid skips it", async () => {
    const url = route((request) => sse(request, [{ data: "x".repeat(1000) }, { data: "small" }], { hold: true }));
    const failure = await collect(subscribe(url, { ...fast, maxEventSize: 100 })).catch((error: unknown) => error);
    expect(ParseError.is(failure) && failure.type).toBe("max-event-size-exceeded");
    const skipped = await collect(subscribe(url, { ...fast, maxEventSize: 100, onInvalid: "pass" }), 1);
    expect(skipped.map((m) => m.data)).toEqual(["small"]);
  });
});

describe("subscribe backs off while reconnections fail", () => {
  const refused: FetchLike = () => Promise.reject(new TypeError("fetch failed"));

  it("grows the delay by the factor up to the cap, then gives up with a RetryLimitError", async () => {
    const retries: RetryInfo[] = [];
    const subscription = subscribe("http://127.0.0.1:9/", {
      fetch: refused,
      retry: 2,
      backoff: { factor: 3, maxDelay: 25, jitter: 0, maxAttempts: 4 },
      onRetry: (info) => retries.push(info),
    });
    const failure = await collect(subscription).catch((error: unknown) => error);
    expect(retries.map((r) => [r.attempt, r.delay])).toEqual([
      [1, 2],
      [2, 6],
      [3, 18],
      [4, 25],
    ]);
    expect(RetryLimitError.is(failure)).toBe(true);
    const error = failure as RetryLimitError;
    expect(error.attempts).toBe(4);
    expect(error.message).toBe("Cannot reconnect to event stream: gave up after 4 attempts");
    expect(ConnectionError.is(error.cause) && error.cause.kind).toBe("fetch");
    expect((error.cause as Error).message).toBe("Cannot connect to event stream: fetch failed");
  });

  it("grows from 1 ms when the reconnection time is 0, so failures never busy-loop", async () => {
    const delays: number[] = [];
    await collect(
      subscribe("http://127.0.0.1:9/", {
        fetch: refused,
        retry: 0,
        backoff: { jitter: 0, maxAttempts: 4 },
        onRetry: (info) => delays.push(info.delay),
      }),
    ).catch(() => {});
    expect(delays).toEqual([0, 2, 4, 8]);
  });

  it("adds jitter on top: delays between the delay and (1 + jitter) × delay", async () => {
    const delays: number[] = [];
    await collect(
      subscribe("http://127.0.0.1:9/", {
        fetch: refused,
        retry: 1,
        backoff: { factor: 2, jitter: 0.5, maxAttempts: 5 },
        onRetry: (info) => delays.push(info.delay),
      }),
    ).catch(() => {});
    expect(delays).toHaveLength(5);
    delays.forEach((delay, i) => {
      expect(delay).toBeGreaterThanOrEqual(2 ** i);
      expect(delay).toBeLessThanOrEqual(Math.ceil(2 ** i * 1.5));
    });
  });

  it("goes back to the reconnection time once a connection opens, and waits at least 100 ms after one", async () => {
    // fail, fail, open and end, fail, then a stream that stays open.
    const script = ["fail", "fail", "end", "fail", "hold"];
    let call = 0;
    const body = (hold: boolean) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`data: ${call}\n\n`));
          if (!hold) controller.close();
        },
      });
    const fetch: FetchLike = () => {
      const step = script[call++];
      if (step === "fail") return Promise.reject(new TypeError("fetch failed"));
      return Promise.resolve(new Response(body(step === "hold"), { headers: { "content-type": "text/event-stream" } }));
    };
    const delays: number[] = [];
    const messages = await collect(
      subscribe("http://example.test/", { fetch, retry: 10, backoff: { jitter: 0 }, onRetry: (i) => delays.push(i.delay) }),
      2,
    );
    expect(messages.map((m) => m.data)).toEqual(["3", "5"]);
    expect(delays).toEqual([10, 20, 100, 20]);
  });

  it("with maxAttempts 0, ends with the connection's error instead of retrying", async () => {
    const failure = await collect(subscribe("http://127.0.0.1:9/", { fetch: refused, backoff: { maxAttempts: 0 } })).catch(
      (error: unknown) => error,
    );
    expect(ConnectionError.is(failure) && failure.kind).toBe("fetch");
  });
});

describe("subscribe as an iterable", () => {
  it("pauses reading while messages wait for the loop (backpressure)", async () => {
    let pulls = 0;
    const fetch: FetchLike = () =>
      Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                pulls++;
                controller.enqueue(new TextEncoder().encode(`data: ${pulls}\n\n`));
              },
            },
            { highWaterMark: 0 },
          ),
          { headers: { "content-type": "text/event-stream" } },
        ),
      );
    const subscription = subscribe("http://example.test/", { fetch });
    // Nothing to await here: this checks that reading stops by itself.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const paused = pulls;
    expect(paused).toBeGreaterThan(0);
    expect(paused).toBeLessThanOrEqual(40);
    const messages = await collect(subscription, paused + 5);
    expect(messages.map((m) => m.data)).toEqual(Array.from({ length: paused + 5 }, (_, i) => String(i + 1)));
    expect(pulls).toBeGreaterThan(paused);
  });

  it("answers next() calls made before earlier ones settle, in order", async () => {
    const url = route((request) => sse(request, [{ data: "a" }, { data: "b" }], { hold: true }));
    const subscription = subscribe(url, fast);
    const iterator = subscription[Symbol.asyncIterator]();
    const [a, b] = await Promise.all([iterator.next(), iterator.next()]);
    expect([a.value?.data, b.value?.data]).toEqual(["a", "b"]);
    const pending = iterator.next();
    subscription.close();
    expect(await pending).toEqual({ done: true, value: undefined });
  });

  it("can be iterated once", () => {
    const subscription = subscribe("http://127.0.0.1:9/", { fetch: () => new Promise(() => {}) });
    subscription[Symbol.asyncIterator]();
    expect(() => subscription[Symbol.asyncIterator]()).toThrow(
      new TypeError("Cannot iterate subscription: it is already being iterated"),
    );
    subscription.close();
  });

  it("refuses bad options with TypeError and RangeError", () => {
    const fetch: FetchLike = () => new Promise(() => {});
    expect(() => subscribe(42 as never)).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, retry: -1 })).toThrow(
      new RangeError('Cannot subscribe: "retry" must be a number at least 0, got -1'),
    );
    expect(() => subscribe("http://x/", { fetch, backoff: { jitter: 2 } })).toThrow(RangeError);
    expect(() => subscribe("http://x/", { fetch, backoff: { factor: 0.5 } })).toThrow(RangeError);
    expect(() => subscribe("http://x/", { fetch, decode: "hex" as never })).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, onMessage: "x" as never })).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, headers: { "bad header": "x" } })).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, lastEventId: "a\nb" })).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, method: "GET", body: "{}" })).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, maxEventSize: 0 })).toThrow(RangeError);
    expect(() => subscribe("http://x/", { fetch, shouldRetry: true as never })).toThrow(TypeError);
    expect(() => subscribe("http://x/", { fetch, onInvalid: "ignore" as never })).toThrow(
      new TypeError('Cannot subscribe: "onInvalid" must be "throw", "skip" or "pass", got "ignore"'),
    );
    expect(() => subscribe("http://x/", { fetch, events: {} as never })).toThrow(
      new TypeError('Cannot subscribe: "events" must be made by defineEvents(), got an object'),
    );
  });
});
