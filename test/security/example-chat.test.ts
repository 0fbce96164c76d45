// Issue 11, High 2 and Low 12: the example chat. A name becomes a claim: the first subscription
// for U gets a signed session; while U is claimed, subscribing as U or sending from=U needs it
// (403 otherwise); direct messages are accepted (202) whether or not U is online; the original's
// curl flow still works; logs escape control characters.
import { describe, expect, it } from "vitest";
import { createApp } from "../../examples/app.ts";

const base = "http://localhost";
const post = (path: string, headers: HeadersInit = {}) => new Request(`${base}${path}`, { method: "POST", headers });

describe("the example chat under attack", () => {
  it("keeps the original curl flow, and gives the first subscriber of a name its session", async () => {
    const app = createApp({ log: () => {} });
    const hertz = await app.fetch(new Request(`${base}/chat/sse?username=hertz`));
    expect(hertz.status).toBe(200);
    const token = hertz.headers.get("x-chat-session");
    expect(token).toMatch(/^[\w-]+\.\d+\.[\w-]+$/);
    const cookie = hertz.headers.get("set-cookie")!;
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect((await app.fetch(post("/chat/broadcast?from=kitex&message=hi"))).status).toBe(200);
    expect((await app.fetch(post("/chat/direct?from=kitex&to=hertz&message=psst"))).status).toBe(202);
    const reader = hertz.body!.getReader();
    let text = "";
    while (!text.includes("psst")) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain("event: broadcast");
    expect(text).toContain("event: direct");
    await reader.cancel();
    await app.close();
  });

  it("refuses to subscribe as, or send from, a claimed name without its session", async () => {
    const app = createApp({ log: () => {}, secret: "test-secret" });
    const bob = await app.fetch(new Request(`${base}/chat/sse?username=bob`));
    const token = bob.headers.get("x-chat-session")!;
    // An eavesdropper asking for bob's stream, and a forger sending as bob.
    expect((await app.fetch(new Request(`${base}/chat/sse?username=bob`))).status).toBe(403);
    expect((await app.fetch(post("/chat/broadcast?from=bob&message=forged"))).status).toBe(403);
    expect((await app.fetch(post("/chat/direct?from=bob&to=carol&message=forged"))).status).toBe(403);
    // A forged token, or one for another name, is no better.
    expect((await app.fetch(post("/chat/broadcast?from=bob&message=x", { "X-Chat-Session": `${token}x` }))).status).toBe(403);
    const mallory = (await app.fetch(new Request(`${base}/chat/sse?username=mallory`))).headers.get("x-chat-session")!;
    expect((await app.fetch(post("/chat/broadcast?from=bob&message=x", { "X-Chat-Session": mallory }))).status).toBe(403);
    // Bob's own session works, by header or by cookie; a second tab of bob may join.
    expect((await app.fetch(post("/chat/broadcast?from=bob&message=mine", { "X-Chat-Session": token }))).status).toBe(200);
    expect(
      (
        await app.fetch(
          post("/chat/broadcast?from=bob&message=mine", { Cookie: `hertz_chat_${btoa("bob").replace(/=+$/, "")}=${token}` }),
        )
      ).status,
    ).toBe(200);
    const second = await app.fetch(
      new Request(`${base}/chat/sse?username=bob`, {
        headers: { Cookie: `hertz_chat_${btoa("bob").replace(/=+$/, "")}=${token}` },
      }),
    );
    expect(second.status).toBe(200);
    await second.body!.cancel();
    await bob.body!.cancel();
    // Still claimed after leaving, within the replay window: no replay of bob's messages for others.
    expect((await app.fetch(new Request(`${base}/chat/sse?username=bob`, { headers: { "Last-Event-ID": "0" } }))).status).toBe(
      403,
    );
    // Names nobody holds stay usable as from, as in the original.
    expect((await app.fetch(post("/chat/broadcast?from=nobody&message=hi"))).status).toBe(200);
    await app.close();
  });

  it("frees a name once its replay window has passed", async () => {
    const app = createApp({ log: () => {}, claimWindow: 50 });
    const dave = await app.fetch(new Request(`${base}/chat/sse?username=dave`));
    await dave.body!.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const again = await app.fetch(new Request(`${base}/chat/sse?username=dave`));
    expect(again.status).toBe(200);
    await again.body!.cancel();
    await app.close();
  });

  it("escapes control characters of user values in its logs", async () => {
    const lines: string[] = [];
    const app = createApp({ log: (line) => lines.push(line) });
    const forged = await app.fetch(new Request(`${base}/chat/sse?username=${encodeURIComponent("eve\nadmin joined the chat")}`));
    await forged.body!.cancel();
    await (await app.fetch(new Request(`${base}/sse`, { headers: { "Last-Event-ID": "1\x1b[2Jfake\x7f" } }))).body!.cancel();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not reach the log
    for (const line of lines) expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
    await app.close();
  });
});
