// The fetch handler every runtime test serves: the same code on Node, Deno, Bun and workerd.
// Only web globals and the library's own sources are used here.
import { SSEHub } from "../../src/hub/index.ts";
import { getLastEventId, sseResponse } from "../../src/index.ts";

interface ChannelStatus {
  sent: number;
  closed: boolean;
  handlerReturned: boolean;
}

const channels = new Map<string, ChannelStatus>();
// Created on first use: Workers allow no timers (the hub's keep-alive) in the global scope.
let hub: SSEHub | undefined;
const getHub = () => (hub ??= new SSEHub({ keepAlive: 1000 }));
// A hub with small bounds, for the cut-off tests (test/security/cut-off.test.ts): a client that
// stops reading is cut once 256 KiB wait for it, or after 1 s without a read.
let cutHub: SSEHub | undefined;
const getCutHub = () =>
  (cutHub ??= new SSEHub({ keepAlive: 250, drainTimeout: 1000, maxQueuedBytes: 256 * 1024, replay: { maxEvents: 16 } }));
const cutStreams = new Map<string, { sent: number; ended: boolean }>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function handle(request: Request): Response | Promise<Response> {
  const url = new URL(request.url);
  const param = (name: string, fallback: string) => url.searchParams.get(name) ?? fallback;
  switch (url.pathname) {
    case "/ticks": {
      // n events, one every `interval` ms, then the handler returns and the stream ends.
      const n = Number(param("n", "5"));
      const interval = Number(param("interval", "100"));
      return sseResponse(
        request,
        async (stream) => {
          for (let i = 1; i <= n && !stream.signal.aborted; i++) {
            await stream.send({ event: "tick", id: i, data: JSON.stringify({ i }) });
            if (i < n) await sleep(interval);
          }
        },
        { keepAlive: false, headers: { "X-Runtime-Test": "yes" } },
      );
    }
    case "/forever": {
      // Streams until the client goes away; /status tells whether the server saw it leave.
      const channel = param("ch", "default");
      const status: ChannelStatus = { sent: 0, closed: false, handlerReturned: false };
      channels.set(channel, status);
      return sseResponse(
        request,
        async (stream) => {
          stream.closed.then(() => {
            status.closed = true;
          });
          while (!stream.signal.aborted) {
            if (await stream.send({ data: `event ${status.sent + 1}` })) status.sent++;
            await sleep(20);
          }
          status.handlerReturned = true;
        },
        { keepAlive: false },
      );
    }
    case "/hub":
      return getHub().subscribe(request);
    case "/hub/publish":
      return getHub()
        .publish({ event: param("event", "message"), data: param("data", "") }, { topic: param("topic", "default") })
        .then((id) => Response.json({ id }));
    case "/hub/count":
      return Response.json({ size: getHub().size, topic: getHub().count(param("topic", "default")) });
    case "/counter": {
      // Resumable: continues after the Last-Event-ID it is sent, three events per connection,
      // then ends the stream so the client reconnects.
      const after = Number(getLastEventId(request) ?? "0");
      const retry = url.searchParams.get("retry");
      return sseResponse(request, async (stream) => {
        if (retry !== null) await stream.send({ retry: Number(retry) });
        for (let n = after + 1; n <= after + 3; n++) await stream.send({ event: "count", id: n, data: String(n) });
      });
    }
    case "/code":
      return new Response(null, { status: Number(param("code", "204")) });
    case "/wrong-type":
      return new Response("data: not an event stream\n\n", { headers: { "content-type": "text/plain" } });
    case "/echo":
      return (async () => {
        const body = await request.json();
        return sseResponse(request, async (stream) => {
          await stream.send({
            event: "echo",
            data: { method: request.method, authorization: request.headers.get("authorization"), body },
          });
        });
      })();
    case "/cut/hub": {
      // Subscribes, then floods its own topic from this request (workerd lets a request write only
      // its own streams) with 16 events of `size` bytes every 10 ms, until the subscription ends.
      const cut = getCutHub();
      const topic = param("topic", "flood");
      const response = cut.subscribe(request, { topics: topic }) as Response;
      const data = "x".repeat(Number(param("size", "16000")));
      const timer = setInterval(() => {
        if (cut.count(topic) === 0) clearInterval(timer);
        else for (let i = 0; i < 16; i++) cut.tryPublish({ data }, { topic });
      }, 10);
      return response;
    }
    case "/cut/count":
      return Response.json({
        count: getCutHub().count(param("topic", "flood")),
        stream: cutStreams.get(param("ch", "default")) ?? null,
      });
    case "/cut/stream": {
      // A producer that awaits its sends, to a client that may stop reading.
      const status = { sent: 0, ended: false };
      cutStreams.set(param("ch", "default"), status);
      const data = "y".repeat(Number(param("size", "32000")));
      return sseResponse(
        request,
        async (stream) => {
          while (await stream.send({ data })) status.sent++;
          status.ended = true;
        },
        { keepAlive: false, drainTimeout: 1000, maxQueuedBytes: 256 * 1024 },
      );
    }
    case "/status":
      return Response.json(channels.get(param("ch", "default")) ?? null);
    case "/keepalive":
      // Sends nothing itself: the client must see keep-alive comments.
      return sseResponse(request, (stream) => stream.closed, { keepAlive: Number(param("every", "50")) });
    case "/quiet": {
      // One event, a silence longer than an idle timeout, then a second event.
      const silence = Number(param("silence", "1500"));
      return sseResponse(
        request,
        async (stream) => {
          await stream.send({ data: "before" });
          await sleep(silence);
          await stream.send({ data: "after" });
        },
        { keepAlive: false },
      );
    }
    case "/last-event-id":
      return sseResponse(request, async (stream) => {
        await stream.send({ event: "echo", data: getLastEventId(request) ?? "(none)" });
      });
    case "/fail":
      return sseResponse(
        request,
        async (stream) => {
          await stream.send({ data: "first" });
          throw new Error("secret internal detail");
        },
        { onError: () => {}, errorEvent: { event: "error", data: "something went wrong" } },
      );
    default:
      return new Response("not found", { status: 404 });
  }
}

export default { fetch: handle };
