// Metering: counts match the requests made, a replayed or crashed flush never double counts,
// percentiles stay within the histogram's documented error, cost and CSV follow the price list.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, type TestOrg, type TestUser } from "../helpers/factories.js";
import { RELATIVE_ERROR, bucketOf, newHistogram, quantile } from "../../src/enterprise/metering/histogram.js";
import { Meter } from "../../src/enterprise/metering/meter.js";
import { writeBatch } from "../../src/enterprise/metering/store.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let root: TestUser;

const range = () => ({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() });
const SUMMARY = `query Summary($r: TimeRangeInput!) { analyticsSummary(range: $r) {
  calls errors generations activeUsers p50Ms p95Ms p99Ms
  topOperations { name type calls errors } errorBreakdown { code count } } }`;

beforeAll(async () => {
  t = await startTestApp({ METERING_FLUSH_INTERVAL_MS: "60000" });
  [org, other] = await Promise.all([createOrg(t.app, "meter"), createOrg(t.app, "meterb")]);
  root = await createSuperAdmin(t.app);
});
afterAll(async () => t?.close());

async function summary(o: TestOrg) {
  await t.app.services.metering.flush();
  const res = await t.gql(SUMMARY, { r: range() }, o.users.ANALYST.token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.analyticsSummary;
}

describe("metering", () => {
  it("counts every operation of the organization by name, type and error code", async () => {
    const dev = org.users.DEVELOPER.token;
    for (let i = 0; i < 7; i++) {
      const r = await t.gql(`query Ws { workspaces(first: 5) { edges { cursor } } }`, {}, dev);
      expect(r.body.errors).toBeUndefined();
    }
    for (let i = 0; i < 3; i++) {
      const r = await t.gql(`mutation Make($p: ID!) { createItem(input: { projectId: $p, title: "x" }) { id } }`, { p: org.projectId }, dev);
      expect(r.body.errors).toBeUndefined();
    }
    const bad = await t.gql(`query Missing { item(id: "00000000-0000-0000-0000-000000000000") { id } }`, {}, dev);
    expect(codes(bad)).toEqual(["NOT_FOUND"]);
    const denied = await t.gql(`mutation Nope { renameOrganization(name: "zz") { id } }`, {}, dev);
    expect(codes(denied)[0]).toBeTruthy();
    // the other organization's traffic must not show up here
    await t.gql(`query Ws { workspaces(first: 5) { edges { cursor } } }`, {}, other.users.DEVELOPER.token);

    const s = await summary(org);
    expect(s.calls).toBe(12);
    expect(s.errors).toBe(2);
    expect(s.generations).toBe(3);
    expect(s.activeUsers).toBe(1);
    const ops = Object.fromEntries(s.topOperations.map((o: any) => [`${o.type}:${o.name}`, o]));
    expect(ops["query:Ws"]).toMatchObject({ calls: 7, errors: 0 });
    expect(ops["mutation:Make"]).toMatchObject({ calls: 3, errors: 0 });
    expect(ops["query:Missing"]).toMatchObject({ calls: 1, errors: 1 });
    expect(s.errorBreakdown.find((e: any) => e.code === "NOT_FOUND")?.count).toBe(1);
    expect(s.p50Ms).toBeGreaterThan(0);
    expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);

    // The summary query itself was metered too (analyst), and shows up after the next flush.
    const again = await summary(org);
    expect(again.calls).toBe(13);
    expect(again.activeUsers).toBe(2);
    const b = await summary(other);
    expect(b.calls).toBe(1);
  });

  it("hour and day roll-ups hold the same counts as the minutes", async () => {
    const q = `query U($r: TimeRangeInput!, $g: UsageGranularity!) { usage(range: $r, granularity: $g) { bucket calls generations } }`;
    const sums: number[] = [];
    for (const g of ["MINUTE", "HOUR", "DAY"]) {
      const res = await t.gql(q, { r: range(), g }, org.users.ANALYST.token);
      expect(res.body.errors).toBeUndefined();
      sums.push(res.body.data.usage.reduce((s: number, p: any) => s + p.calls, 0));
    }
    expect(new Set(sums).size).toBe(1);
    expect(sums[0]).toBeGreaterThanOrEqual(14);
  });

  it("a replayed batch and a flush that crashed before commit never double count", async () => {
    const db = t.app.services.db.app;
    const meter = new Meter();
    const orgId = other.id;
    const before = (await summary(other)).calls;
    for (let i = 0; i < 5; i++) meter.record({ organizationId: orgId, userId: null, operationName: "Replay", operationType: "query", latencyMs: 3, errorCodes: [], bytesOut: 10 });
    const batch = meter.seal()!;
    // crash mid-flush: everything written, then the transaction dies
    await expect(writeBatch(db, batch, { failBeforeCommit: () => true })).rejects.toThrow(/simulated crash/);
    expect((await summary(other)).calls).toBe(before + 1); // +1: the previous summary query
    expect(await writeBatch(db, batch)).toBe(true); // the retry applies it once
    expect(await writeBatch(db, batch)).toBe(false); // a replay is a no-op
    const after = await summary(other);
    expect(after.calls).toBe(before + 2 + 5);
    // A restarted process has a new instance id: its seq 1 is a different key and counts.
    const restarted = new Meter();
    restarted.record({ organizationId: orgId, userId: null, operationName: "Replay", operationType: "query", latencyMs: 3, errorCodes: [], bytesOut: 10 });
    expect(await writeBatch(db, restarted.seal()!)).toBe(true);
    expect((await summary(other)).calls).toBe(before + 3 + 6);
  });

  it("the service keeps a failed batch and writes it exactly once later", async () => {
    const m = t.app.services.metering;
    const before = (await summary(other)).calls;
    await t.gql(`query Ws { workspaces(first: 5) { edges { cursor } } }`, {}, other.users.DEVELOPER.token);
    await new Promise((r) => setTimeout(r, 50)); // the 'finish' event
    let fail = true;
    m.writeHooks = { failBeforeCommit: () => fail };
    await m.flush();
    expect(m.meter.pending.length).toBe(1);
    fail = false;
    m.writeHooks = {};
    const s = await summary(other); // flushes the kept batch, then the summary query's own
    expect(m.meter.pending.length).toBe(0);
    expect(s.calls).toBe(before + 2);
  });

  it("percentiles are within the histogram's relative error", () => {
    const values: number[] = [];
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20_000; i++) values.push(Math.exp(rnd() * 9 - 2)); // 0.13 ms .. 1100 ms, log-uniform
    const h = newHistogram();
    for (const v of values) h[bucketOf(v)]! += 1;
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.95, 0.99, 0.999]) {
      const exact = values[Math.ceil(q * values.length) - 1]!;
      const est = quantile(h, q)!;
      expect(Math.abs(est - exact) / exact).toBeLessThanOrEqual(RELATIVE_ERROR + 1e-3);
    }
  });

  it("cost follows the price list, exports CSV, and needs analytics:read", async () => {
    const cost = await t.gql(`{ usageCost { totalCents forecastTotalCents lines { metric quantity amountCents } } }`, {}, org.users.ANALYST.token);
    expect(cost.body.errors).toBeUndefined();
    const lines = Object.fromEntries(cost.body.data.usageCost.lines.map((l: any) => [l.metric, l]));
    expect(lines.GENERATIONS).toMatchObject({ quantity: 3, amountCents: 150 });
    expect(lines.API_CALLS.amountCents).toBeCloseTo(lines.API_CALLS.quantity * 0.01, 5);
    expect(cost.body.data.usageCost.forecastTotalCents).toBeGreaterThanOrEqual(cost.body.data.usageCost.totalCents);

    const csv = await t.gql(`query($r: TimeRangeInput!) { usageExport(range: $r, granularity: HOUR) }`, { r: range() }, org.users.ANALYST.token);
    const rows = csv.body.data.usageExport.trim().split("\r\n");
    expect(rows[0]).toMatch(/^bucket,operation_name,operation_type,calls,/);
    expect(rows.some((r: string) => r.includes(",Make,mutation,3,0,0,") && r.endsWith(",150.03"))).toBe(true);

    const denied = await t.gql(`{ usageCost { totalCents } }`, {}, org.users.DEVELOPER.token);
    expect(codes(denied)).toEqual(["FORBIDDEN"]);
    const platform = await t.gql(`query($r: TimeRangeInput!) { topTenants(range: $r) { slug calls } }`, { r: range() }, org.users.ADMIN.token);
    expect(codes(platform)).toEqual(["FORBIDDEN"]);
  });

  it("platform staff see every tenant ranked", async () => {
    const res = await t.gql(`query($r: TimeRangeInput!) { topTenants(range: $r, orderBy: COST, first: 100) { slug calls costCents } }`, { r: range() }, root.token);
    expect(res.body.errors).toBeUndefined();
    const top = res.body.data.topTenants as Array<{ slug: string; costCents: number }>;
    const slugs = top.map((x) => x.slug);
    // Other test files' tenants share the database and may outrank ours: check the ranking itself.
    expect(top.map((x) => x.costCents)).toEqual([...top.map((x) => x.costCents)].sort((a, b) => b - a));
    expect(slugs).toContain(org.slug);
    if (slugs.includes(other.slug)) expect(slugs.indexOf(org.slug)).toBeLessThan(slugs.indexOf(other.slug)); // 3 generations cost more
  });

  it("graceful shutdown writes what was not flushed yet (last test: stops metering)", async () => {
    const before = (await summary(other)).calls;
    for (let i = 0; i < 4; i++) await t.gql(`query Ws { workspaces(first: 5) { edges { cursor } } }`, {}, other.users.DEVELOPER.token);
    await new Promise((r) => setTimeout(r, 50));
    expect(t.app.services.metering.meter.unflushed.get(other.id)?.calls).toBe(5); // 4 + the summary query
    await t.app.services.metering.stop();
    const { rows } = await t.app.services.db.admin.raw(
      `SELECT sum(calls)::int AS n FROM control.usage_rollups WHERE organization_id = ? AND granularity = 'd'`, [other.id]);
    expect(rows[0].n).toBe(before + 1 + 4);
  });
});
