// SIGTERM under load: readiness fails first, in-flight requests finish, the process exits 0 in time.
// Runs the real entry point (src/main.ts) as a child process.
import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/net.js";


let child: ChildProcess | undefined;
afterAll(() => {
  child?.kill("SIGKILL");
});

describe("graceful shutdown", () => {
  it("drains in-flight requests and exits 0 on SIGTERM", async () => {
    const port = await freePort();
    child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      // Not NODE_ENV=test: Apollo only installs its own signal handlers outside tests, and they must not race ours.
      env: { ...process.env, NODE_ENV: "development", PORT: String(port), HOST: "127.0.0.1", SEED_DEMO: "false", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child!.on("exit", (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;
    let ready = false;
    for (let i = 0; i < 400 && !ready; i++) {
      ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((r) => setTimeout(r, 50));
    }
    expect(ready, "the gateway never became ready").toBe(true);
    const body = JSON.stringify({ query: "{ __typename }" });
    const send = () => fetch(`${base}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body }).then((r) => r.status);
    // Requests already accepted when the signal arrives: the server has answered one on each
    // socket (keep-alive), so these reuse open connections rather than racing the listener's close.
    await Promise.all(Array.from({ length: 10 }, send));
    const inFlight = Array.from({ length: 10 }, send);
    await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGTERM");
    const statuses = await Promise.allSettled(inFlight);
    const answered = statuses.filter((s) => s.status === "fulfilled");
    expect(answered.length, "in-flight requests were cut off").toBeGreaterThan(0);
    for (const s of answered) expect(s.value).toBe(200);
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r("timeout"), 20_000))]);
    expect(code).toBe(0);
  }, 60_000);
});
