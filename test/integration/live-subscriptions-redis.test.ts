// Two gateways sharing the machine's Redis (REDIS_URL, default redis://127.0.0.1:6379): a
// subscriber connected to gateway A receives what gateway B measured, exactly once, and a session
// revoked through B closes the socket open on A.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, TEST_PASSWORD, type TestOrg } from "../helpers/factories.js";
import { connectWs, sleep, waitUntil, type WsConn } from "../helpers/live-ws.js";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
let gwA: TestApp;
let gwB: TestApp;
let org: TestOrg;
const conns: WsConn[] = [];

beforeAll(async () => {
  // a channel prefix of its own: concurrent runs on the same Redis never see each other's events
  const env = { REDIS_URL, PUBSUB_PREFIX: `enclave-test-${randomBytes(4).toString("hex")}:`, METERING_FLUSH_INTERVAL_MS: "1000" };
  gwA = await startTestApp(env);
  gwB = await startTestApp(env);
  org = await createOrg(gwA.app, "redis");
});
afterAll(async () => {
  await Promise.all(conns.map((w) => w.dispose().catch(() => undefined)));
  await gwA?.close();
  await gwB?.close();
});

describe("two gateways sharing Redis", () => {
  it("delivers B's measurements to A's subscribers exactly once", async () => {
    expect(gwA.app.services.pubsub.distributed).toBe(true);
    const w = connectWs(gwA.url, org.users.ANALYST.token);
    conns.push(w);
    const sub = w.subscribe(`subscription { usageUpdated { organizationId replicaId at calls } }`, {}, (d) => d.usageUpdated);
    const staff = w.subscribe(`subscription { alertRaised { kind } }`); // a second subscription on the same socket
    await sleep(500);
    let made = 0;
    const end = Date.now() + 2_500;
    while (Date.now() < end) {
      const r = await gwB.gql(`query Ws { workspaces(first: 1) { edges { cursor } } }`, {}, org.users.DEVELOPER.token);
      expect(r.body.errors).toBeUndefined();
      made++;
      await sleep(25);
    }
    const bId = gwB.app.services.metering.replicaId;
    const fromB = () => sub.events.filter((e) => e.replicaId === bId);
    // every call B served is reported in exactly one of B's per-second events
    await waitUntil(() => fromB().reduce((s, e) => s + e.calls, 0) >= made, 6_000, "B's figures");
    await sleep(1_500); // any duplicate would have arrived by now
    const events = fromB();
    expect(events.reduce((s, e) => s + e.calls, 0)).toBe(made);
    expect(new Set(events.map((e) => e.at)).size).toBe(events.length);
    expect(events.every((e) => e.organizationId === org.id)).toBe(true);
    expect(staff.errors).toEqual([]);
  });

  it("itemChanged crosses replicas with its dates intact", async () => {
    const w = connectWs(gwA.url, org.users.ANALYST.token);
    conns.push(w);
    const sub = w.subscribe(`subscription($p: ID!) { itemChanged(projectId: $p) { kind item { title createdAt } } }`, { p: org.projectId }, (d) => d.itemChanged);
    await sleep(300);
    const r = await gwB.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "via B" }) { createdAt } }`, { p: org.projectId }, org.users.DEVELOPER.token);
    await sub.waitFor(1);
    await sleep(300);
    expect(sub.events).toEqual([{ kind: "CREATED", item: { title: "via B", createdAt: r.body.data.createItem.createdAt } }]);
  });

  it("a session revoked through B closes the socket open on A (4403)", async () => {
    const login = await gwB.gql(`mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }`, {
      i: { email: org.users.ANALYST.email, password: TEST_PASSWORD },
    });
    const { accessToken, refreshToken } = login.body.data.login;
    const w = connectWs(gwA.url, accessToken);
    conns.push(w);
    w.subscribe(`subscription { usageUpdated { calls } }`);
    await sleep(300);
    await gwB.gql(`mutation($r: String!) { logout(refreshToken: $r) }`, { r: refreshToken });
    const closed = await Promise.race([w.closed, sleep(5_000).then(() => null)]);
    expect(closed?.code).toBe(4403);
  });
});
