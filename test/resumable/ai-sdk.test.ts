// AI SDK's own client against the example's relay: DefaultChatTransport#sendMessages cut off
// mid-answer, then reconnectToStream; the text assembled equals the model's answer, once.
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AiChat } from "../../examples/ai/chat.ts";
import { MockUpstream, mockAnswer } from "../../examples/ai/mock-upstream.ts";

let chat: AiChat;
let server: ReturnType<typeof serve>;
let base: string;

beforeAll(async () => {
  chat = new AiChat({ mock: new MockUpstream({ interval: 10, words: 40 }), upstreamUrl: undefined });
  server = serve({ fetch: (request) => chat.fetch(request), port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await chat.close();
  (server as unknown as import("node:http").Server).closeAllConnections();
  server.close();
});

function userMessage(text: string): UIMessage {
  return { id: `u-${text.length}`, role: "user", parts: [{ type: "text", text }] };
}

/** Reads chunks until `stop(chunks)` holds or the stream ends. */
async function take(
  stream: ReadableStream<UIMessageChunk>,
  stop: (chunks: UIMessageChunk[]) => boolean,
): Promise<UIMessageChunk[]> {
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      if (stop(chunks)) break;
    }
  } finally {
    reader.releaseLock();
  }
  return chunks;
}

const text = (chunks: readonly UIMessageChunk[]): string =>
  chunks.map((chunk) => (chunk.type === "text-delta" ? chunk.delta : "")).join("");

describe("the AI example with AI SDK's DefaultChatTransport", () => {
  it("resumes a cut-off answer: the text assembled equals the full answer, once", async () => {
    const transport = new DefaultChatTransport<UIMessage>({ api: `${base}/api/chat` });
    const prompt = "What survives a reload?";
    const controller = new AbortController();
    const first = await transport.sendMessages({
      chatId: "sdk-1",
      messages: [userMessage(prompt)],
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: controller.signal,
    });
    const before = await take(first, (chunks) => chunks.filter((chunk) => chunk.type === "text-delta").length >= 5);
    expect(before[0]).toMatchObject({ type: "start" });
    controller.abort(); // the tab goes away mid-answer
    await first.cancel().catch(() => {});

    const resumed = await transport.reconnectToStream({ chatId: "sdk-1" });
    expect(resumed).not.toBeNull();
    // AI SDK's own assembly: the resumed stream replays from the first chunk (resumeStreamIsReplay).
    let message: UIMessage | undefined;
    for await (const snapshot of readUIMessageStream({ stream: resumed! })) message = snapshot;
    const assembled = message!.parts.map((part) => (part.type === "text" ? part.text : "")).join("");
    const answer = mockAnswer(prompt, 40);
    expect(assembled).toBe(answer);
    expect(answer.startsWith(text(before))).toBe(true);
    // The disconnect did not cancel the generation upstream.
    expect(chat.mock.stats).toMatchObject({ cancelled: 0 });
    // Finished: nothing to resume any more.
    expect(await transport.reconnectToStream({ chatId: "sdk-1" })).toBeNull();
  });

  it("resumes from a Last-Event-ID with exactly the rest", async () => {
    const prompt = "Only the rest, please";
    const response = await fetch(`${base}/api/chat`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "sdk-2", trigger: "submit-message", messages: [userMessage(prompt)] }),
    });
    expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");
    const { EventReader } = await import("./_events.ts");
    const reader = new EventReader(response);
    await reader.until(() => reader.messages.filter((m) => m.data.includes("text-delta")).length >= 3);
    const lastId = reader.lastEventId!;
    const seen = reader.data.slice();
    await reader.cancel();
    const transport = new DefaultChatTransport<UIMessage>({ api: `${base}/api/chat`, headers: { "Last-Event-ID": lastId } });
    const rest = await take((await transport.reconnectToStream({ chatId: "sdk-2" }))!, () => false);
    const before = seen.filter((data) => data !== "[DONE]").map((data) => JSON.parse(data) as UIMessageChunk);
    expect(text([...before, ...rest])).toBe(mockAnswer(prompt, 40));
    expect(rest.at(-1)).toMatchObject({ type: "finish" });
  });

  it("stops a generation: the upstream request is cancelled and readers get an abort chunk", async () => {
    const transport = new DefaultChatTransport<UIMessage>({ api: `${base}/api/chat` });
    const cancelled = chat.mock.stats.cancelled;
    const stream = await transport.sendMessages({
      chatId: "sdk-3",
      messages: [userMessage("Stop me")],
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: undefined,
    });
    const reading = take(stream, () => false);
    const stop = await fetch(`${base}/api/chat/sdk-3/stop`, { method: "POST" });
    expect(await stop.json()).toEqual({ stopped: true });
    const chunks = await reading;
    expect(chunks.at(-1)).toMatchObject({ type: "abort" });
    await chat.mock.until((stats) => stats.cancelled > cancelled);
    expect(await transport.reconnectToStream({ chatId: "sdk-3" })).toBeNull();
  });
});
