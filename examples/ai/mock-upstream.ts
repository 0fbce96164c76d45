// A mock OpenAI-compatible model, served by the example itself so that the chat needs no network
// and no key: `POST /v1/chat/completions` with `stream: true` answers `chat.completion.chunk`
// frames, one token about every `interval` ms, then `data: [DONE]`. It counts the requests it
// served and those cancelled before their end (the client went away, or a stop aborted the
// fetch), which `GET /v1/mock/stats` reports: the demo page shows the count going up on Stop.

export interface MockUpstreamOptions {
  /** Milliseconds between tokens. @default {50} */
  interval?: number;
  /** How many words an answer has. @default {60} */
  words?: number;
}

export interface MockStats {
  /** Streaming requests received. */
  requests: number;
  /** Of those, cancelled before the last token. */
  cancelled: number;
  /** Of those, streamed to the end. */
  completed: number;
}

interface OpenAIMessage {
  role: string;
  content: string;
}

const WORDS =
  "Server-Sent Events keep one response open and write each token as it comes, so a reload or a lost instance need not lose the answer when the frames live on a backplane that any instance can read from the id the browser last saw".split(
    " ",
  );

/** The answer the mock gives to `prompt`: deterministic, so tests can compare it whole. */
export function mockAnswer(prompt: string, words = 60): string {
  const out: string[] = [`You said "${prompt.slice(0, 40)}".`];
  for (let i = 0; out.length < words; i++) out.push(WORDS[i % WORDS.length]!);
  return out.join(" ");
}

/** The tokens of an answer: words, each but the first with its leading space. */
export function mockTokens(answer: string): string[] {
  return answer.split(" ").map((word, i) => (i === 0 ? word : ` ${word}`));
}

export class MockUpstream {
  readonly stats: MockStats = { requests: 0, cancelled: 0, completed: 0 };
  readonly #interval: number;
  readonly #words: number;
  readonly #waiters = new Set<() => void>();

  constructor(options: MockUpstreamOptions = {}) {
    this.#interval = options.interval ?? 50;
    this.#words = options.words ?? 60;
  }

  /** Resolves once `test(stats)` holds: for tests that wait for a cancel to be observed. */
  until(test: (stats: MockStats) => boolean): Promise<void> {
    if (test(this.stats)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!test(this.stats)) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  /** Serves `POST /v1/chat/completions` and `GET /v1/mock/stats`; anything else is 404. */
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method === "GET" && url.pathname === "/v1/mock/stats") return Response.json(this.stats);
    if (request.method !== "POST" || url.pathname !== "/v1/chat/completions") return new Response("Not Found", { status: 404 });
    let body: { model?: string; stream?: boolean; messages?: OpenAIMessage[] };
    try {
      body = await request.json();
    } catch {
      return Response.json({ error: { message: "invalid JSON" } }, { status: 400 });
    }
    const prompt = [...(body.messages ?? [])].reverse().find((m) => m.role === "user")?.content ?? "";
    const tokens = mockTokens(mockAnswer(prompt, this.#words));
    const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
    const model = body.model ?? "mock-1";
    const chunk = (delta: Record<string, string>, finish: string | null) =>
      `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    if (body.stream !== true) {
      return Response.json({
        id,
        object: "chat.completion",
        model,
        choices: [{ index: 0, message: { role: "assistant", content: tokens.join("") }, finish_reason: "stop" }],
      });
    }
    this.#count("requests");
    const encoder = new TextEncoder();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let ended = false;
    const cancel = () => {
      if (ended) return;
      ended = true;
      clearTimeout(timer);
      this.#count("cancelled");
    };
    request.signal?.addEventListener("abort", cancel, { once: true });
    let next = 0;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => {
        controller.enqueue(encoder.encode(chunk({ role: "assistant", content: "" }, null)));
        const tick = () => {
          if (ended) return;
          if (next < tokens.length) {
            controller.enqueue(encoder.encode(chunk({ content: tokens[next++]! }, null)));
            timer = setTimeout(tick, this.#interval);
            return;
          }
          ended = true;
          controller.enqueue(encoder.encode(`${chunk({}, "stop")}data: [DONE]\n\n`));
          controller.close();
          this.#count("completed");
        };
        timer = setTimeout(tick, this.#interval);
      },
      cancel,
    });
    return new Response(stream, { headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" } });
  }

  #count(key: keyof MockStats): void {
    this.stats[key]++;
    for (const waiter of [...this.#waiters]) waiter();
  }
}
