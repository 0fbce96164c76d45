// The "chat with a model" part of the example app: a relay from an OpenAI-compatible model to
// the browser as resumable streams, speaking AI SDK's UI message stream protocol, so that
// `useChat({ resume: true })` works against it unchanged.
//
//   POST /api/chat                 AI SDK's DefaultChatTransport body ({ id, messages, trigger,
//                                  messageId }): starts a generation for chat `id` and answers
//                                  with its stream (409 while one runs for that chat)
//   GET  /api/chat/:id/stream      resumes it: from Last-Event-ID, else from its first frame;
//                                  204 when there is nothing to resume
//   POST /api/chat/:id/stop        stops it, wherever it runs; every reader gets an `abort` chunk
//   GET  /api/chat/panel.js        the demo page's chat panel
//   POST /v1/chat/completions      the mock model (see mock-upstream.ts); GET /v1/mock/stats
//
// Environment: UPSTREAM_URL (an OpenAI-compatible base URL such as https://api.openai.com/v1;
// default: the mock, in process), UPSTREAM_API_KEY, UPSTREAM_MODEL, and REDIS_URL (the streams
// then live in Redis, so that several instances share generations).
//
// The server side writes the protocol's few JSON chunks itself, typed with the `ai` package's
// `UIMessageChunk`: the `ai` package's runtime pulls in Node-only modules (@vercel/oidc needs fs,
// os, path) that a Worker bundle cannot resolve, and this module runs on all four runtimes. The
// tests read these streams with AI SDK's own DefaultChatTransport.
import type { UIMessageChunk } from "ai";
import type { SSEEvent } from "../../src/core/event.ts";
import type { Backplane } from "../../src/hub/index.ts";
import { EventStreamParserStream } from "../../src/parser/index.ts";
import { ResumableStreams } from "../../src/resumable/index.ts";
import { MockUpstream } from "./mock-upstream.ts";
import { AI_PANEL_SCRIPT } from "./panel.ts";

export interface AiChatOptions {
  /** Where the streams live. @default {REDIS_URL's Redis, else memory} */
  backplane?: Backplane;
  /** An OpenAI-compatible base URL. @default {env UPSTREAM_URL, else the in-process mock} */
  upstreamUrl?: string;
  /** @default {env UPSTREAM_API_KEY} */
  upstreamApiKey?: string;
  /** @default {env UPSTREAM_MODEL, else "gpt-4o-mini"} */
  model?: string;
  /** The mock model. @default {a MockUpstream with env MOCK_INTERVAL ms between tokens} */
  mock?: MockUpstream;
  /** Milliseconds between producer heartbeats. @default {env HEARTBEAT, else 5000} */
  heartbeat?: number;
  /** Workers: keeps a generation alive after its request (ctx.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
}

/** The header that tells AI SDK's client it reads a UI message stream. */
const UI_STREAM_HEADERS = { "x-vercel-ai-ui-message-stream": "v1" };

// Chat ids name streams: a real app checks here that the caller owns the chat (ids from
// DefaultChatTransport are random, and act as capabilities in this demo).
const CHAT_ID = /^[A-Za-z0-9_-]{1,100}$/;

interface UIMessageLike {
  role?: string;
  content?: string;
  parts?: { type?: string; text?: string }[];
}

const ui = (chunk: UIMessageChunk | "[DONE]"): SSEEvent => ({ data: chunk === "[DONE]" ? chunk : JSON.stringify(chunk) });

function env(name: string): string | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: { env: { get(n: string): string | undefined } };
  };
  try {
    return g.process?.env?.[name] ?? g.Deno?.env.get(name);
  } catch {
    return undefined; // Deno without --allow-env
  }
}

const json = (status: number, body: unknown) => Response.json(body, { status });

export class AiChat {
  readonly mock: MockUpstream;
  readonly streams: ResumableStreams;
  readonly #upstreamUrl: string | undefined;
  readonly #apiKey: string | undefined;
  readonly #model: string;

  constructor(options: AiChatOptions = {}) {
    this.mock = options.mock ?? new MockUpstream({ interval: Number(env("MOCK_INTERVAL") ?? 50) });
    this.#upstreamUrl = options.upstreamUrl ?? env("UPSTREAM_URL");
    this.#apiKey = options.upstreamApiKey ?? env("UPSTREAM_API_KEY");
    this.#model = options.model ?? env("UPSTREAM_MODEL") ?? "gpt-4o-mini";
    this.streams = new ResumableStreams({
      backplane: options.backplane,
      prefix: "ai-chat:",
      heartbeat: options.heartbeat ?? Number(env("HEARTBEAT") ?? 5_000),
      waitUntil: options.waitUntil,
      // The terminal frames as UI message chunks: what useChat shows on a failure and a stop.
      frame: {
        failure: () => ui({ type: "error", errorText: "The model failed to answer" }),
        stop: () => ui({ type: "abort" }),
        done: () => ui("[DONE]"),
      },
    });
  }

  /** Answers the routes above; 404 for anything else. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith("/v1/")) return this.mock.fetch(request);
    if (path === "/api/chat/panel.js" && request.method === "GET") {
      return new Response(AI_PANEL_SCRIPT, { headers: { "content-type": "text/javascript; charset=utf-8" } });
    }
    if (path === "/api/chat" && request.method === "POST") return this.#chat(request);
    const match = /^\/api\/chat\/([^/]+)\/(stream|stop)$/.exec(path);
    if (match === null) return new Response("Not Found\n", { status: 404 });
    const id = decodeURIComponent(match[1]!);
    if (!CHAT_ID.test(id)) return json(400, { error: "invalid chat id" });
    if (match[2] === "stream" && request.method === "GET")
      return this.streams.subscribe(request, id, { headers: UI_STREAM_HEADERS });
    if (match[2] === "stop" && request.method === "POST") return json(200, { stopped: await this.streams.stop(id, "user") });
    return new Response("Method Not Allowed\n", { status: 405 });
  }

  async #chat(request: Request): Promise<Response> {
    let body: { id?: unknown; messages?: unknown; messageId?: unknown };
    try {
      body = await request.json();
    } catch {
      return json(400, { error: "expected a JSON body" });
    }
    const id = body.id;
    if (typeof id !== "string" || !CHAT_ID.test(id)) return json(400, { error: "invalid chat id" });
    if (!Array.isArray(body.messages)) return json(400, { error: "expected messages" });
    const messages = (body.messages as UIMessageLike[]).map((message) => ({
      role: message.role === "assistant" || message.role === "system" ? message.role : "user",
      content:
        message.content ??
        (message.parts ?? [])
          .filter((part) => part.type === "text")
          .map((part) => part.text ?? "")
          .join(""),
    }));
    const messageId = typeof body.messageId === "string" ? body.messageId : `msg-${crypto.randomUUID()}`;
    try {
      await this.streams.start(id, (signal) => this.#generate(messages, messageId, signal));
    } catch (error) {
      if (error instanceof TypeError && /already active/.test(error.message))
        return json(409, { error: "a generation is running for this chat" });
      throw error;
    }
    // The generation runs detached: this response is one reader among others, and its
    // disconnect does not stop the model. The request has no Last-Event-ID: from the first frame.
    return this.streams.subscribe(request, id, { headers: UI_STREAM_HEADERS, lastEventId: "" });
  }

  /** The upstream request, made with the stream's signal, relayed as UI message chunks. */
  async *#generate(
    messages: { role: string; content: string }[],
    messageId: string,
    signal: AbortSignal,
  ): AsyncGenerator<SSEEvent> {
    const init: RequestInit = {
      method: "POST",
      headers: { "content-type": "application/json", ...(this.#apiKey ? { authorization: `Bearer ${this.#apiKey}` } : {}) },
      body: JSON.stringify({ model: this.#model, stream: true, messages }),
      signal,
    };
    const response =
      this.#upstreamUrl === undefined
        ? await this.mock.fetch(new Request("http://mock.invalid/v1/chat/completions", init))
        : await fetch(`${this.#upstreamUrl.replace(/\/$/, "")}/chat/completions`, init);
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`The upstream answered ${response.status}`);
    }
    yield ui({ type: "start", messageId });
    yield ui({ type: "text-start", id: "text-1" });
    // The project's parser, bounded: an upstream event over 1 MiB fails the generation.
    const reader = response.body.pipeThrough(new EventStreamParserStream({ maxEventSize: 1 << 20 })).getReader();
    try {
      for (;;) {
        const { done, value: message } = await reader.read();
        if (done || message.data === "[DONE]") break;
        const chunk = JSON.parse(message.data) as { choices?: { delta?: { content?: string } }[] };
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) yield ui({ type: "text-delta", id: "text-1", delta });
      }
    } finally {
      // A stop ends this generator early: cancelling the reader cancels the upstream body.
      reader.cancel().catch(() => {});
    }
    yield ui({ type: "text-end", id: "text-1" });
    yield ui({ type: "finish" });
  }

  close(): Promise<void> {
    return this.streams.close();
  }
}

/**
 * A RedisBackplane from REDIS_URL, or undefined when it is not set. Its default bounds hold whole
 * answers (10 000 frames at most, plus heartbeats, kept an hour); a hub passes its replay bounds.
 * ioredis is imported only when REDIS_URL is set, under a computed name, so that a Worker bundle
 * (no REDIS_URL there) does not pull it in.
 */
export async function backplaneFromEnv(
  prefix: string,
  bounds: { maxEvents?: number; maxAge?: number } = {},
): Promise<Backplane | undefined> {
  const url = env("REDIS_URL");
  if (!url) return undefined;
  const name = "ioredis";
  const { Redis } = (await import(name)) as typeof import("ioredis");
  const { RedisBackplane } = await import("../../src/redis/index.ts");
  const redis = new Redis(url, { enableOfflineQueue: false, autoResendUnfulfilledCommands: false, commandTimeout: 2_000 });
  await new Promise<void>((resolve, reject) => {
    redis.once("ready", () => resolve());
    redis.once("error", reject);
  });
  return new RedisBackplane({ redis, prefix, maxEvents: bounds.maxEvents ?? 20_000, maxAge: bounds.maxAge ?? 3_600_000 });
}

let shared: Promise<AiChat> | undefined;

/** The process's AiChat, made from the environment on first use: what the example app delegates to. */
export function aiChat(): Promise<AiChat> {
  shared ??= backplaneFromEnv("sse:ai:").then((backplane) => new AiChat({ backplane }));
  return shared;
}
