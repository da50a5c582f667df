// Child process of scripts/bench/subscribers.ts: N WebSocket subscribers (graphql-transport-ws,
// raw `ws` to keep the client light), each on its own connection, subscribed to usageUpdated.
// Measures delivery latency = receive time − the event's `at` (stamped when the gateway publishes).
import WebSocket from "ws";
import { bucketOf, newHistogram, quantile } from "../../src/enterprise/metering/histogram.js";

interface Start { type: "start"; url: string; tokens: string[]; n: number; batch: number }
let hist = newHistogram();
let received = 0;
let maxMs = 0;
let acked = 0;
let subscribed = 0;
let closed = 0;
let errors = 0;
const sockets: WebSocket[] = [];
const QUERY = "subscription { usageUpdated { at calls errors p95Ms quotaRemaining costToDateCents } }";
const send = (m: unknown) => process.send!(m);

function open(url: string, token: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, "graphql-transport-ws");
    sockets.push(ws);
    let done = false;
    const finish = () => { if (!done) { done = true; resolve(); } };
    ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${token}` } })));
    ws.on("message", (raw) => {
      const msg = JSON.parse(raw.toString());
      if (msg.type === "connection_ack") {
        acked++;
        ws.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: QUERY } }));
        subscribed++;
        finish();
      } else if (msg.type === "next") {
        const at = msg.payload?.data?.usageUpdated?.at;
        if (!at) { errors++; return; }
        const ms = Date.now() - Date.parse(at);
        hist[bucketOf(Math.max(ms, 0.06))]! += 1;
        if (ms > maxMs) maxMs = ms;
        received++;
      } else if (msg.type === "error") errors++;
      else if (msg.type === "ping") ws.send(JSON.stringify({ type: "pong" }));
    });
    ws.on("close", () => { closed++; finish(); });
    ws.on("error", () => { errors++; finish(); });
  });
}

process.on("message", async (m: Start | { type: string }) => {
  if (m.type === "start") {
    const s = m as Start;
    for (let i = 0; i < s.n; i += s.batch) {
      await Promise.all(Array.from({ length: Math.min(s.batch, s.n - i) }, (_, j) => open(s.url.replace(/^http/, "ws"), s.tokens[(i + j) % s.tokens.length]!)));
    }
    send({ type: "connected", acked, subscribed, closed, errors });
  } else if (m.type === "reset") {
    hist = newHistogram(); received = 0; maxMs = 0;
    send({ type: "reset" });
  } else if (m.type === "report") {
    send({ type: "report", received, p50: quantile(hist, 0.5), p99: quantile(hist, 0.99), max: maxMs, acked, closed, errors });
  } else if (m.type === "stop") {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
send({ type: "alive" });
