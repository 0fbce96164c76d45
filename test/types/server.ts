// Type tests of the typed server (compiled by tsc, not run): a wrong event name, a wrong payload
// and a missing field are compile errors for SSEStream#send, sseResponse's handler and onError,
// SSEHub#publish/tryPublish and the Hono helper; untyped code is unchanged; a typed stream still
// fits where an untyped one is expected. Zod 4, Valibot 1 and ArkType 2 alike.
import type { Context } from "hono";
import { sse, sseHandler } from "../../src/adapters/hono.ts";
import type { SSEEvent } from "../../src/core/event.ts";
import { sseResponse } from "../../src/core/response.ts";
import { SSEStream } from "../../src/core/stream.ts";
import { SSEHub } from "../../src/hub/hub.ts";
import { arktypeEvents, valibotEvents, zodEvents } from "../client/_schemas.ts";
import { assertType, type Equal } from "./_assert.ts";

declare const request: Request;
declare const c: Context;

// --- sseResponse: the handler's stream is typed by `events` --------------------------------
sseResponse(
  request,
  async (stream) => {
    await stream.send({ event: "price", data: { symbol: "AAPL", price: 189.5 } });
    await stream.send({ data: "the message key: no name needed" });
    await stream.send({ retry: 1000 });
    // @ts-expect-error: a wrong event name
    await stream.send({ event: "weather", data: { sky: "blue" } });
    // @ts-expect-error: a wrong payload
    await stream.send({ event: "price", data: { symbol: "AAPL", price: "189.5" } });
    // @ts-expect-error: a missing field
    await stream.send({ event: "chat", data: { from: "ann" } });
  },
  {
    events: zodEvents,
    onError: async (_error, stream) => {
      await stream.send({ event: "chat", data: { from: "server", text: "sorry" } });
      // @ts-expect-error: onError's stream is typed too
      await stream.send({ event: "oops", data: 1 });
    },
  },
);

for (const events of [valibotEvents, arktypeEvents] as const) void events; // (the same below, per library)
sseResponse(
  request,
  async (stream) => {
    await stream.send({ event: "chat", data: { from: "ann", text: "hi" } });
    // @ts-expect-error: a wrong payload (valibot)
    await stream.send({ event: "chat", data: { from: "ann", text: 1 } });
  },
  { events: valibotEvents },
);
sseResponse(
  request,
  async (stream) => {
    await stream.send({ event: "price", data: { symbol: "AAPL", price: 1 } });
    // @ts-expect-error: a wrong event name (arktype)
    await stream.send({ event: "prices", data: { symbol: "AAPL", price: 1 } });
  },
  { events: arktypeEvents },
);

// Untyped: any SSEEvent, as before.
sseResponse(request, async (stream) => {
  assertType<Equal<Parameters<typeof stream.send>[0], SSEEvent>>();
  await stream.send({ event: "anything", data: { at: 1 }, id: 7 });
});

// --- SSEStream ------------------------------------------------------------------------------
const typedStream = new SSEStream({ events: zodEvents });
void typedStream.send({ event: "chat", data: { from: "ann", text: "hi" } });
// @ts-expect-error: a wrong payload
void typedStream.send({ event: "chat", data: "hi" });
// A typed stream fits where an untyped one is expected (helpers that take any SSEStream).
const anyStream: SSEStream = typedStream;
void anyStream;
assertType<Equal<Parameters<SSEStream["send"]>[0], SSEEvent>>();

// --- SSEHub ---------------------------------------------------------------------------------
const hub = new SSEHub({ events: zodEvents });
void hub.publish({ event: "chat", data: { from: "ann", text: "hi" } }, { topic: "chat" });
void hub.tryPublish({ event: "price", data: { symbol: "AAPL", price: 1 } });
// @ts-expect-error: a wrong event name
void hub.publish({ event: "weather", data: {} });
// @ts-expect-error: a missing field
void hub.tryPublish({ event: "price", data: { symbol: "AAPL" } });
const plainHub = new SSEHub();
void plainHub.publish({ event: "anything", data: [1, 2, 3] });

// --- Hono -----------------------------------------------------------------------------------
sse(
  c,
  async (stream, ctx) => {
    void ctx.req.url;
    await stream.send({ event: "price", data: { symbol: "AAPL", price: 1 } });
    // @ts-expect-error: a wrong event name
    await stream.send({ event: "weather", data: {} });
  },
  { events: zodEvents },
);
sseHandler(
  async (stream) => {
    // @ts-expect-error: a wrong payload
    await stream.send({ event: "chat", data: { from: 1, text: "hi" } });
  },
  { events: zodEvents },
);
sse(c, async (stream) => {
  await stream.send({ event: "untyped", data: "fine" });
});

// --- errorEvent is typed by `events` too ------------------------------------------------------
sseResponse(request, async () => {}, {
  events: zodEvents,
  errorEvent: { event: "chat", data: { from: "server", text: "failed" } },
});
sseResponse(request, async () => {}, { events: zodEvents, errorEvent: () => ({ data: "failed" }) });
// @ts-expect-error: an errorEvent not in the map
sseResponse(request, async () => {}, { events: zodEvents, errorEvent: { event: "error", data: "failed" } });
sseResponse(request, async () => {}, { errorEvent: { event: "error", data: "untyped: anything" } });
