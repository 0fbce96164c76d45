// The demo page's "chat with a model" panel: a script (served at GET /api/chat/panel.js) that
// fills the page's <section id="ai-chat">. Tokens appear as they stream; reloading mid-answer
// continues the same answer exactly once (the browser's native EventSource resumes the stream:
// a new one replays it from its first frame, and the `start` chunk resets the text); Stop stops
// the generation on the server, and the mock model's count of cancelled requests goes up.
//
// State for tests: window.aiChat = { state, text, opens }.
export const AI_PANEL_SCRIPT: string = /* js */ `"use strict";
(() => {
  const root = document.getElementById("ai-chat");
  if (!root) return;
  root.innerHTML = \`
    <h2>Chat with a model <span id="ai-state" class="state closed" data-testid="ai-state">idle</span></h2>
    <form id="ai-form">
      <input id="ai-input" placeholder="Ask the (mock) model something" required autocomplete="off">
      <button id="ai-send">Send</button>
      <button id="ai-stop" type="button" disabled>Stop</button>
    </form>
    <div id="ai-question" class="meta" data-testid="ai-question"></div>
    <div id="ai-answer" data-testid="ai-answer" style="white-space: pre-wrap; min-height: 4em; background: var(--bg); border-radius: 8px; padding: 10px 12px;"></div>
    <div class="meta">Reload mid-answer: it continues, once. Upstream requests cancelled: <span id="ai-cancelled" data-testid="ai-cancelled">0</span></div>\`;
  const $ = (id) => document.getElementById(id);
  const state = (window.aiChat = { state: "idle", text: "", opens: 0 });
  const KEY = "hertz-ai-chat";
  const saved = JSON.parse(localStorage.getItem(KEY) || "null") || { id: "chat-" + crypto.randomUUID(), question: "", answer: "" };
  const save = () => localStorage.setItem(KEY, JSON.stringify(saved));
  let source;

  function show(next) {
    state.state = next;
    $("ai-state").className = "state " + (next === "streaming" ? "open" : next === "connecting" ? "connecting" : "closed");
    $("ai-state").textContent = next;
    $("ai-stop").disabled = next !== "streaming" && next !== "connecting";
    $("ai-send").disabled = next === "streaming" || next === "connecting";
  }
  function render() {
    $("ai-question").textContent = saved.question ? "You: " + saved.question : "";
    $("ai-answer").textContent = state.text;
  }
  async function stats() {
    const response = await fetch("/v1/mock/stats");
    if (response.ok) $("ai-cancelled").textContent = String((await response.json()).cancelled);
  }
  function end(next) {
    source?.close();
    source = undefined;
    saved.answer = state.text;
    save();
    show(next);
    stats();
  }

  // Follows chat saved.id's stream. A new EventSource sends no Last-Event-ID, so the server
  // replays from the first frame; its own reconnections send the last id and get the rest.
  function follow() {
    source?.close();
    show("connecting");
    source = new EventSource("/api/chat/" + encodeURIComponent(saved.id) + "/stream");
    source.onopen = () => { state.opens++; show("streaming"); };
    source.onmessage = (event) => {
      if (event.data === "[DONE]") return end("done");
      const chunk = JSON.parse(event.data);
      if (chunk.type === "start") state.text = "";
      else if (chunk.type === "text-delta") state.text += chunk.delta;
      else if (chunk.type === "finish") state.finished = true;
      else if (chunk.type === "abort") return end("stopped");
      else if (chunk.type === "error") { state.text += "\\n[" + chunk.errorText + "]"; render(); return end("failed"); }
      render();
    };
    // A 204 (nothing to resume) closes the EventSource: what a finished or unknown chat gets.
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) end(state.state === "connecting" ? "idle" : "done");
    };
  }

  $("ai-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = $("ai-input").value.trim();
    if (!text) return;
    $("ai-input").value = "";
    saved.question = text;
    saved.answer = "";
    save();
    state.text = "";
    render();
    show("connecting");
    // AI SDK's DefaultChatTransport body. The response is the stream too; the page reads it
    // through EventSource instead (the same code as after a reload), so the POST is let go at
    // once: that disconnect does not stop the generation.
    const controller = new AbortController();
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: saved.id, trigger: "submit-message", messages: [{ id: "m-" + Date.now(), role: "user", parts: [{ type: "text", text }] }] }),
      signal: controller.signal,
    });
    controller.abort();
    if (response.status === 409) return show("streaming");
    follow();
  });
  $("ai-stop").addEventListener("click", async () => {
    await fetch("/api/chat/" + encodeURIComponent(saved.id) + "/stop", { method: "POST" });
    await stats();
  });

  state.text = saved.answer || "";
  render();
  show("idle");
  stats();
  // After a reload: resume what may still be running (a 204 leaves the saved answer shown).
  if (saved.question) follow();
})();
`;
