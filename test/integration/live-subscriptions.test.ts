// Live subscriptions over graphql-ws: usageUpdated / alertRaised are permission-checked at
// subscribe time and isolated per organization; platform staff see every organization; a socket
// closes with 4403 when its session is revoked or its token expires; per-organization caps;
// slow subscribers are bounded.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, TEST_PASSWORD, type TestOrg, type TestUser } from "../helpers/factories.js";
import { connectWs, sleep, waitUntil, type WsConn } from "../helpers/live-ws.js";
import { createEnclavePubSub } from "../../src/db/pubsub.js";
import { LiveHub } from "../../src/enterprise/metering/live.js";
import { createLogger } from "../../src/observability/logger.js";
import WebSocket from "ws";

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
let c: TestOrg;
let d: TestOrg;
let root: TestUser;
const conns: WsConn[] = [];
const open = (token?: string) => {
  const w = connectWs(t.url, token);
  conns.push(w);
  return w;
};

const USAGE = `subscription { usageUpdated { organizationId replicaId calls errors p95Ms callsToday quotaRemaining apiCallsPerDay costToDateCents } }`;
const ALERTS = `subscription { alertRaised { organizationId kind severity value threshold message } }`;
const ITEMS = `subscription($p: ID!) { itemChanged(projectId: $p) { kind item { title } } }`;

beforeAll(async () => {
  t = await startTestApp({ MAX_SUBSCRIPTIONS_PER_ORG: "4", MAX_SOCKETS_PER_ORG: "6", METERING_FLUSH_INTERVAL_MS: "1000" });
  [a, b, c, d] = await Promise.all([createOrg(t.app, "livea"), createOrg(t.app, "liveb"), createOrg(t.app, "livec"), createOrg(t.app, "lived")]);
  root = await createSuperAdmin(t.app);
});
afterAll(async () => {
  await Promise.all(conns.map((w) => w.dispose().catch(() => undefined)));
  await t?.close();
});

/** Calls for ~ms milliseconds as the organization's developer; errors=true makes them fail (NOT_FOUND). */
async function traffic(o: TestOrg, ms: number, errors = false) {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) {
    await t.gql(errors ? `query Bad { item(id: "00000000-0000-0000-0000-000000000000") { id } }` : `query Ws { workspaces(first: 1) { edges { cursor } } }`, {}, o.users.DEVELOPER.token);
    n++;
    await sleep(20);
  }
  return n;
}

describe("live subscriptions", () => {
  it("usageUpdated and alertRaised reach only the subscriber's organization; itemChanged too", async () => {
    // alerts fire quickly with low thresholds
    for (const o of [a, b]) {
      const r = await t.gql(`mutation { updateAlertThresholds(input: { errorRatePercent: 1, minCalls: 3 }) { errorRatePercent } }`, {}, o.users.ADMIN.token);
      expect(r.body.errors).toBeUndefined();
    }
    const wa = open(a.users.ANALYST.token);
    const wb = open(b.users.ANALYST.token);
    const ua = wa.subscribe(USAGE, {}, (d) => d.usageUpdated);
    // results are shared per event and document: another selection gets its own shape
    const narrow = wb.subscribe(`subscription { usageUpdated { calls organizationId } }`, {}, (d) => d.usageUpdated);
    const ub = wb.subscribe(USAGE, {}, (d) => d.usageUpdated);
    const aa = wa.subscribe(ALERTS, {}, (d) => d.alertRaised);
    const ab = wb.subscribe(ALERTS, {}, (d) => d.alertRaised);
    await sleep(300);
    await Promise.all([traffic(a, 1500, true), traffic(b, 1500, true)]);
    await Promise.all([ua.waitFor(1), ub.waitFor(1), aa.waitFor(1), ab.waitFor(1)]);
    await sleep(1200);
    expect(ua.events.every((e) => e.organizationId === a.id)).toBe(true);
    expect(ub.events.every((e) => e.organizationId === b.id)).toBe(true);
    expect(narrow.events.length).toBeGreaterThan(0);
    expect(narrow.events.every((e) => e.organizationId === b.id && Object.keys(e).sort().join() === "calls,organizationId")).toBe(true);
    narrow.stop();
    expect(aa.events.every((e) => e.organizationId === a.id)).toBe(true);
    expect(ab.events.every((e) => e.organizationId === b.id)).toBe(true);
    expect(aa.events.some((e) => e.kind === "ERROR_RATE" && e.severity === "ERROR")).toBe(true);
    const e = ua.events.at(-1);
    expect(e.calls).toBeGreaterThan(0);
    expect(e.errors).toBeGreaterThan(0);
    expect(e.apiCallsPerDay).toBe(1000); // free plan
    expect(e.quotaRemaining).toBe(1000 - e.callsToday);
    expect(e.costToDateCents).toBeGreaterThan(0);
    // the sum of per-second calls equals the calls counted (one replica)
    for (const s of [ua, ub, aa, ab]) s.stop();

    const ia = wa.subscribe(ITEMS, { p: a.projectId }, (d) => d.itemChanged);
    const ib = wb.subscribe(ITEMS, { p: a.projectId }, (d) => d.itemChanged); // B names A's project
    expect((await ib.waitForError()).extensions.code).toBe("NOT_FOUND");
    await sleep(200);
    await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "b-only" }) { id } }`, { p: b.projectId }, b.users.DEVELOPER.token);
    await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "a-only" }) { id } }`, { p: a.projectId }, a.users.DEVELOPER.token);
    await ia.waitFor(1);
    await sleep(200);
    expect(ia.events.map((x) => x.item.title)).toEqual(["a-only"]);
    ia.stop();
  });

  it("checks permissions at subscribe time; platform staff see every organization", async () => {
    const dev = open(a.users.DEVELOPER.token).subscribe(USAGE);
    expect((await dev.waitForError()).extensions.code).toBe("FORBIDDEN");
    const anon = open().subscribe(ALERTS);
    expect((await anon.waitForError()).extensions.code).toBe("UNAUTHENTICATED");
    const notStaff = open(a.users.ADMIN.token).subscribe(`subscription { platformUsageUpdated { organizationId } }`);
    expect((await notStaff.waitForError()).extensions.code).toBe("FORBIDDEN");
    // refused subscriptions hold no slot of the organization's cap
    await waitUntil(() => t.app.services.metering.connections.openSubscriptions(a.id) === 0, 3_000, "no open subscriptions");

    const staff = open(root.token).subscribe(`subscription { platformUsageUpdated { organizationId calls } }`, {}, (d) => d.platformUsageUpdated);
    await sleep(300);
    await Promise.all([traffic(a, 1200), traffic(b, 1200)]);
    await waitUntil(() => new Set(staff.events.map((e) => e.organizationId)).size >= 2, 5_000, "both organizations");
    const orgs = new Set(staff.events.map((e) => e.organizationId));
    expect(orgs.has(a.id) && orgs.has(b.id)).toBe(true);
    staff.stop();
  });

  it("closes the socket with 4403 when the session is revoked (logout)", async () => {
    const login = await t.gql(`mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }`, {
      i: { email: a.users.ANALYST.email, password: TEST_PASSWORD },
    });
    expect(login.body.errors).toBeUndefined();
    const { accessToken, refreshToken } = login.body.data.login;
    const w = open(accessToken);
    const s = w.subscribe(USAGE);
    await sleep(300);
    expect(s.errors).toEqual([]);
    const out = await t.gql(`mutation($r: String!) { logout(refreshToken: $r) }`, { r: refreshToken });
    expect(out.body.data.logout).toBe(true);
    const closed = await Promise.race([w.closed, sleep(5_000).then(() => null)]);
    expect(closed?.code).toBe(4403);
  });

  it("closes the socket with 4403 when refresh-token reuse revokes the login", async () => {
    const login = await t.gql(`mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }`, {
      i: { email: a.users.ANALYST.email, password: TEST_PASSWORD },
    });
    const { accessToken, refreshToken } = login.body.data.login;
    const w = open(accessToken);
    const s = w.subscribe(ALERTS);
    await sleep(300);
    expect(s.errors).toEqual([]);
    const refresh = `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`;
    expect((await t.gql(refresh, { r: refreshToken })).body.errors).toBeUndefined();
    expect(codes(await t.gql(refresh, { r: refreshToken }))).toEqual(["UNAUTHENTICATED"]); // reuse
    const closed = await Promise.race([w.closed, sleep(5_000).then(() => null)]);
    expect(closed?.code).toBe(4403);
  });

  it("closes a socket that never sends connection_init (4408) or sends a bad token (4403)", async () => {
    const closeCode = (send?: object) => new Promise<number>((resolve) => {
      const ws = new WebSocket(t.url.replace(/^http/, "ws"), "graphql-transport-ws");
      if (send) ws.on("open", () => ws.send(JSON.stringify(send)));
      ws.on("close", (code) => resolve(code));
    });
    const [silent, forged] = await Promise.all([
      closeCode(),
      closeCode({ type: "connection_init", payload: { authorization: "Bearer not-a-token" } }),
    ]);
    expect(silent).toBe(4408);
    expect(forged).toBe(4403);
  });

  it("closes the socket with 4403 when the access token expires", async () => {
    const u = a.users.ANALYST;
    const short = t.app.services.tokens.signAccess({ sub: u.id, sid: crypto.randomUUID(), org: a.id, role: "ANALYST" }, 1);
    const w = open(short);
    w.subscribe(USAGE);
    const closed = await Promise.race([w.closed, sleep(5_000).then(() => null)]);
    expect(closed?.code).toBe(4403);
  });

  it("caps open subscriptions per organization", async () => {
    const w1 = open(c.users.ANALYST.token);
    const w2 = open(c.users.ADMIN.token);
    const subs = [w1.subscribe(USAGE), w1.subscribe(ALERTS), w2.subscribe(USAGE), w2.subscribe(`subscription { usageUpdated { calls } }`)];
    await sleep(300);
    const fifth = w2.subscribe(ALERTS);
    expect((await fifth.waitForError()).extensions.code).toBe("RATE_LIMITED");
    // another organization is not affected
    const other = open(b.users.ANALYST.token).subscribe(USAGE);
    await sleep(300);
    expect(other.errors).toEqual([]);
    other.stop();
    // closing a connection frees its slots
    for (const s of subs) s.stop();
    await w1.dispose();
    await sleep(300);
    const again = w2.subscribe(ALERTS);
    await sleep(300);
    expect(again.errors).toEqual([]);
    expect(t.app.services.metering.connections.openSubscriptions(c.id)).toBeLessThanOrEqual(4);
  });

  it("caps open sockets per organization (4429)", async () => {
    const ws = Array.from({ length: 6 }, () => open(d.users.ANALYST.token));
    let closedEarly = 0;
    for (const w of ws) void w.closed.then(() => closedEarly++);
    await sleep(500);
    expect(closedEarly).toBe(0);
    const seventh = open(d.users.ADMIN.token);
    const closed = await Promise.race([seventh.closed, sleep(5_000).then(() => null)]);
    expect(closed?.code).toBe(4429);
    await ws[0]!.dispose();
    await sleep(300);
    const again = open(d.users.ADMIN.token);
    const s = again.subscribe(ALERTS);
    await sleep(500);
    expect(s.errors).toEqual([]);
  });

  it("a slow subscriber's queue stays bounded and keeps the latest events", async () => {
    const pubsub = createEnclavePubSub();
    const hub = new LiveHub(pubsub, createLogger({ logLevel: "silent" }));
    const slow = hub.subscribe("USAGE_UPDATED", "org-x", { maxQueue: 4 });
    const fast = hub.subscribe("USAGE_UPDATED", "org-x", { maxQueue: 4 });
    const got: number[] = [];
    const consumer = (async () => { for await (const e of fast) { got.push(e.calls); if (got.length === 1000) break; } })();
    for (let i = 1; i <= 1000; i++) {
      pubsub.publish("USAGE_UPDATED", "org-x", { calls: i } as never);
      if (i % 50 === 0) await sleep(0);
    }
    await consumer;
    expect(got.length).toBe(1000);
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) seen.push(((await slow.next()).value as { calls: number }).calls);
    expect(seen).toEqual([997, 998, 999, 1000]);
    await slow.return!();
    expect(hub.subscriberCount()).toBe(0);
  });
});
