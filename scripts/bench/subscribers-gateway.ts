// Child process of scripts/bench/subscribers.ts: one gateway process, controlled over IPC.
import "reflect-metadata";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config/index.js";

const app = await buildApp(loadConfig(process.env));
const url = await app.start(0, "127.0.0.1");
const send = (m: unknown) => process.send!(m);
send({ type: "ready", url });
process.on("message", async (m: { type: string }) => {
  if (m.type === "mem") {
    for (let i = 0; i < 3; i++) (globalThis as { gc?: () => void }).gc?.();
    const mu = process.memoryUsage();
    send({
      type: "mem", rss: mu.rss, heapUsed: mu.heapUsed,
      subscribers: app.services.metering.hub.subscriberCount(), delivered: app.services.metering.hub.delivered, connections: app.services.metering.connections.size,
    });
  } else if (m.type === "metering") {
    app.services.metering.enabled = (m as unknown as { enabled: boolean }).enabled;
    send({ type: "metering" });
  } else if (m.type === "stop") {
    await app.stop();
    send({ type: "stopped" });
    process.exit(0);
  }
});
