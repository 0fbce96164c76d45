// The demo page served at GET /: a live price chart and a chat, on the browser's native
// EventSource. Plain HTML and a small script, no build step and no chart library.
export const PAGE: string = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hertz-sse live demo</title>
<style>
  :root { --bg: #0f1419; --panel: #182029; --line: #2a3541; --text: #e6edf3; --muted: #8b98a5;
          --aapl: #4cc2ff; --amzn: #ffb347; --ok: #3fb950; --warn: #d29922; --bad: #f85149; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--text); }
  header { display: flex; align-items: baseline; gap: 16px; padding: 18px 24px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 20px; margin: 0; }
  header p { margin: 0; color: var(--muted); }
  main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(300px, 2fr); gap: 20px; padding: 20px 24px; }
  @media (max-width: 900px) { main { grid-template-columns: 1fr; } }
  section { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px; min-width: 0; }
  h2 { margin: 0 0 12px; font-size: 16px; display: flex; justify-content: space-between; align-items: center; gap: 8px; }
  .state { font-size: 12px; font-weight: 500; padding: 2px 8px; border-radius: 999px; border: 1px solid currentColor; white-space: nowrap; }
  .state.open { color: var(--ok); } .state.connecting { color: var(--warn); } .state.reconnecting { color: var(--bad); } .state.closed { color: var(--muted); }
  .tickers { display: flex; gap: 12px; margin-bottom: 12px; }
  .ticker { flex: 1; background: var(--bg); border-radius: 8px; padding: 10px 12px; border-left: 4px solid; }
  .ticker .sym { font-size: 12px; color: var(--muted); letter-spacing: .08em; }
  .ticker .px { font-size: 26px; font-variant-numeric: tabular-nums; }
  .ticker .chg { font-size: 13px; font-variant-numeric: tabular-nums; }
  .up { color: var(--ok); } .down { color: var(--bad); }
  canvas { width: 100%; height: 300px; display: block; background: var(--bg); border-radius: 8px; }
  .meta { color: var(--muted); font-size: 12px; margin-top: 8px; font-variant-numeric: tabular-nums; }
  form { display: flex; gap: 8px; margin-bottom: 10px; flex-wrap: wrap; }
  input, select, button { font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 7px 10px; }
  input { flex: 1; min-width: 100px; }
  button { background: #238636; border-color: #2ea043; cursor: pointer; }
  button:disabled { opacity: .5; cursor: default; }
  #messages { list-style: none; margin: 0; padding: 0; height: 300px; overflow-y: auto; background: var(--bg); border-radius: 8px; }
  #messages li { padding: 6px 10px; border-bottom: 1px solid var(--panel); }
  #messages li .who { font-weight: 600; } #messages li time { color: var(--muted); font-size: 12px; margin-left: 6px; }
  #messages li.direct { background: #1f2a37; } #messages li.direct .tag { color: var(--amzn); font-size: 12px; margin-left: 6px; }
  #messages li.system { color: var(--muted); font-style: italic; }
  code { background: var(--bg); padding: 1px 5px; border-radius: 4px; }
</style>
</head>
<body>
<header>
  <h1>hertz-sse live demo</h1>
  <p>Server-Sent Events through a hub with replay: <code>GET /price</code>, <code>GET /chat/sse</code></p>
</header>
<main>
  <section>
    <h2>Stock prices <span id="price-state" class="state connecting" data-testid="price-state">connecting</span></h2>
    <div class="tickers">
      <div class="ticker" style="border-color: var(--aapl)"><div class="sym">AAPL</div><div class="px" id="px-AAPL">—</div><div class="chg" id="chg-AAPL">&nbsp;</div></div>
      <div class="ticker" style="border-color: var(--amzn)"><div class="sym">AMZN</div><div class="px" id="px-AMZN">—</div><div class="chg" id="chg-AMZN">&nbsp;</div></div>
    </div>
    <canvas id="chart" width="900" height="300" aria-label="Price chart"></canvas>
    <div class="meta">Each line shows the change since this page opened. Last event id: <span id="price-last-id" data-testid="price-last-id">—</span> · events: <span id="price-count" data-testid="price-count">0</span></div>
  </section>
  <section>
    <h2>Chat <span id="chat-state" class="state closed" data-testid="chat-state">not joined</span></h2>
    <form id="join">
      <input id="username" placeholder="Your name" required maxlength="32" autocomplete="off">
      <button id="join-button">Join</button>
    </form>
    <form id="send">
      <select id="to" aria-label="Recipient"><option value="">Everyone</option></select>
      <input id="message" placeholder="Message" required autocomplete="off" disabled>
      <button id="send-button" disabled>Send</button>
    </form>
    <ul id="messages" data-testid="messages"></ul>
  </section>
  <section id="ai-chat" data-testid="ai-chat"></section>
  <script src="/api/chat/panel.js" defer></script>
</main>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const SYMBOLS = ["AAPL", "AMZN"];
const COLORS = { AAPL: getComputedStyle(document.documentElement).getPropertyValue("--aapl").trim(), AMZN: getComputedStyle(document.documentElement).getPropertyValue("--amzn").trim() };
const MAX_POINTS = 120;
const series = { AAPL: [], AMZN: [] };
const first = {};
window.demo = { prices: 0, lastPriceId: "", messages: [], priceState: "connecting", chatState: "closed", opens: 0 };

function setState(el, state, lastId) {
  el.className = "state " + state;
  el.textContent = state === "reconnecting" ? "reconnecting" + (lastId ? " from id " + lastId : "") : state;
}

// --- prices ---------------------------------------------------------------------------------
const prices = new EventSource("/price");
prices.onopen = () => { window.demo.priceState = "open"; window.demo.opens++; setState($("price-state"), "open"); };
prices.onerror = () => {
  const state = prices.readyState === EventSource.CLOSED ? "closed" : "reconnecting";
  window.demo.priceState = state;
  setState($("price-state"), state, window.demo.lastPriceId);
};
for (const symbol of SYMBOLS) {
  prices.addEventListener(symbol, (event) => {
    const price = Number(event.data);
    if (!Number.isFinite(price)) return;
    if (first[symbol] === undefined) first[symbol] = price;
    const list = series[symbol];
    list.push({ t: Number(event.lastEventId) || Date.now(), price });
    if (list.length > MAX_POINTS) list.shift();
    window.demo.prices++;
    window.demo.lastPriceId = event.lastEventId;
    $("price-last-id").textContent = event.lastEventId;
    $("price-count").textContent = String(window.demo.prices);
    const change = ((price - first[symbol]) / first[symbol]) * 100;
    $("px-" + symbol).textContent = price.toFixed(2);
    const chg = $("chg-" + symbol);
    chg.textContent = (change >= 0 ? "+" : "") + change.toFixed(2) + "%";
    chg.className = "chg " + (change >= 0 ? "up" : "down");
    scheduleDraw();
  });
}

let drawPending = false;
function scheduleDraw() { if (!drawPending) { drawPending = true; requestAnimationFrame(draw); } }
function draw() {
  drawPending = false;
  const canvas = $("chart");
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth, height = canvas.clientHeight;
  if (canvas.width !== width * ratio) { canvas.width = width * ratio; canvas.height = height * ratio; }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  const pad = { l: 52, r: 12, t: 12, b: 22 };
  const points = SYMBOLS.flatMap((s) => series[s].map((p) => ({ t: p.t, v: (p.price - first[s]) / first[s] * 100 })));
  if (points.length === 0) return;
  let tMin = Math.min(...points.map((p) => p.t)), tMax = Math.max(...points.map((p) => p.t));
  let vMin = Math.min(...points.map((p) => p.v)), vMax = Math.max(...points.map((p) => p.v));
  if (tMax - tMin < 10000) tMin = tMax - 10000;
  const span = Math.max(vMax - vMin, 0.2); vMin -= span * 0.1; vMax += span * 0.1;
  const x = (t) => pad.l + (t - tMin) / (tMax - tMin) * (width - pad.l - pad.r);
  const y = (v) => pad.t + (vMax - v) / (vMax - vMin) * (height - pad.t - pad.b);
  ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#8b98a5"; ctx.strokeStyle = "#2a3541"; ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = vMin + (vMax - vMin) * i / 4, yy = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.l, yy); ctx.lineTo(width - pad.r, yy); ctx.stroke();
    ctx.fillText((v >= 0 ? "+" : "") + v.toFixed(2) + "%", 4, yy + 4);
  }
  ctx.fillText(new Date(tMax).toLocaleTimeString(), width - pad.r - 60, height - 6);
  for (const s of SYMBOLS) {
    const list = series[s]; if (list.length === 0) continue;
    ctx.strokeStyle = COLORS[s]; ctx.lineWidth = 2; ctx.beginPath();
    list.forEach((p, i) => { const v = (p.price - first[s]) / first[s] * 100; i ? ctx.lineTo(x(p.t), y(v)) : ctx.moveTo(x(p.t), y(v)); });
    ctx.stroke();
    const last = list[list.length - 1];
    ctx.fillStyle = COLORS[s]; ctx.beginPath(); ctx.arc(x(last.t), y((last.price - first[s]) / first[s] * 100), 3.5, 0, Math.PI * 2); ctx.fill();
  }
}
window.addEventListener("resize", scheduleDraw);

// --- chat -----------------------------------------------------------------------------------
let chat = null, me = "";
function addMessage(kind, who, text, time, tag) {
  const li = document.createElement("li");
  li.className = kind;
  if (kind === "system") li.textContent = text;
  else {
    const name = document.createElement("span"); name.className = "who"; name.textContent = who + ": ";
    li.append(name, document.createTextNode(text));
    if (tag) { const t = document.createElement("span"); t.className = "tag"; t.textContent = tag; li.append(t); }
    if (time) { const tm = document.createElement("time"); tm.textContent = new Date(time).toLocaleTimeString(); li.append(tm); }
  }
  const list = $("messages"); list.append(li); list.scrollTop = list.scrollHeight;
}
function remember(name) {
  if (!name || name === me || [...$("to").options].some((o) => o.value === name)) return;
  const option = document.createElement("option"); option.value = name; option.textContent = "Only " + name; $("to").append(option);
}
function onChat(event) {
  const msg = JSON.parse(event.data);
  window.demo.messages.push({ type: event.type, ...msg });
  remember(msg.From);
  const tag = msg.Type === "direct" ? (msg.From === me ? "→ " + msg.To : "direct") : "";
  addMessage(msg.Type === "direct" ? "direct" : "", msg.From, msg.Message, msg.Timestamp, tag);
}
$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  me = $("username").value.trim(); if (!me) return;
  chat?.close();
  chat = new EventSource("/chat/sse?username=" + encodeURIComponent(me));
  setState($("chat-state"), "connecting");
  chat.onopen = () => { window.demo.chatState = "open"; setState($("chat-state"), "open"); addMessage("system", "", "Joined as " + me); };
  chat.onerror = () => { const s = chat.readyState === EventSource.CLOSED ? "closed" : "reconnecting"; window.demo.chatState = s; setState($("chat-state"), s); };
  chat.addEventListener("broadcast", onChat);
  chat.addEventListener("direct", onChat);
  $("message").disabled = false; $("send-button").disabled = false; $("join-button").textContent = "Rejoin";
  $("message").focus();
});
$("send").addEventListener("submit", async (e) => {
  e.preventDefault();
  const message = $("message").value.trim(), to = $("to").value; if (!message || !me) return;
  const params = new URLSearchParams({ from: me, message });
  if (to) params.set("to", to);
  const response = await fetch((to ? "/chat/direct?" : "/chat/broadcast?") + params, { method: "POST" });
  if (!response.ok) addMessage("system", "", "Not sent: " + (await response.text()));
  else if (to) addMessage("direct", me, message, new Date().toISOString(), "→ " + to);
  $("message").value = "";
});
</script>
</body>
</html>
`;
