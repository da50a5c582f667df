// Analytics over data with known values: cost to date and the month-end forecast, storage measured
// from the tenant schema, alert threshold settings, range validation.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, type TestOrg } from "../helpers/factories.js";
import { costReport } from "../../src/enterprise/analytics/analytics.service.js";
import { Meter } from "../../src/enterprise/metering/meter.js";
import { writeBatch } from "../../src/enterprise/metering/store.js";

let t: TestApp;
let org: TestOrg;
const GB = 1024 ** 3;

beforeAll(async () => {
  t = await startTestApp({ METERING_FLUSH_INTERVAL_MS: "60000" });
  org = await createOrg(t.app, "analytics");
  // October 2026, days 1..10: 100 calls and 2 generations a day; 2 GB of storage measured on the 5th.
  const meter = new Meter();
  for (let day = 1; day <= 10; day++) {
    const at = Date.UTC(2026, 9, day, 12);
    for (let i = 0; i < 100; i++) {
      meter.record({ organizationId: org.id, userId: org.users.DEVELOPER.id, operationName: i < 2 ? "Make" : "List", operationType: i < 2 ? "mutation" : "query",
        latencyMs: 10, errorCodes: [], bytesOut: 100, generations: i < 2 ? 1 : 0, at });
    }
  }
  await writeBatch(t.app.services.db.app, meter.seal()!);
  await t.app.services.db.admin.raw(`INSERT INTO control.usage_storage (organization_id, measured_at, bytes) VALUES (?, ?, ?)`,
    [org.id, new Date(Date.UTC(2026, 9, 5)), 2 * GB]);
});
afterAll(async () => t?.close());

describe("analytics", () => {
  it("forecasts the month end linearly from the last 7 days", async () => {
    const r = await costReport(t.app.services.db.app, org.id, "2026-10", new Date(Date.UTC(2026, 9, 11)));
    const lines = Object.fromEntries(r.lines.map((l) => [l.metric, l]));
    expect(lines.API_CALLS!.quantity).toBe(1000);
    expect(lines.API_CALLS!.amountCents).toBe(10);
    expect(lines.GENERATIONS).toMatchObject({ quantity: 20, amountCents: 1000 });
    expect(lines.STORAGE!.quantity).toBeCloseTo(2 * (10 / 31), 5);
    const f = Object.fromEntries(r.forecastLines.map((l) => [l.metric, l]));
    expect(f.API_CALLS!.quantity).toBeCloseTo(1000 + 100 * 21, 6);
    expect(f.GENERATIONS!.quantity).toBeCloseTo(20 + 2 * 21, 6);
    expect(f.STORAGE!.quantity).toBe(2);
    expect(r.forecastTotalCents).toBeCloseTo(31 + 62 * 50 + 20, 2);
  });

  it("a past month's forecast is its total, through the API", async () => {
    const res = await t.gql(`{ usageCost(month: "2026-10") { totalCents forecastTotalCents lines { metric quantity } } }`, {}, org.users.ANALYST.token);
    expect(res.body.errors).toBeUndefined();
    const total = 10 + 1000 + 2 * 10; // calls + generations + 2 GB for the whole month
    expect(res.body.data.usageCost.totalCents).toBeCloseTo(total, 2);
    expect(res.body.data.usageCost.forecastTotalCents).toBeCloseTo(total, 2);
    const bad = await t.gql(`{ usageCost(month: "2026-13") { totalCents } }`, {}, org.users.ANALYST.token);
    expect(codes(bad)).toEqual(["BAD_USER_INPUT"]);
  });

  it("series by day, active users per day, and range limits", async () => {
    const r = { from: "2026-10-01T00:00:00Z", to: "2026-10-11T00:00:00Z" };
    const res = await t.gql(`query($r: TimeRangeInput!) { usage(range: $r, granularity: DAY) { bucket calls generations p95Ms } activeUsers(range: $r) { day users } }`, { r }, org.users.ANALYST.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.usage).toHaveLength(10);
    expect(res.body.data.usage[0]).toMatchObject({ bucket: "2026-10-01T00:00:00.000Z", calls: 100, generations: 2 });
    expect(res.body.data.usage[0].p95Ms).toBeCloseTo(10, -1);
    expect(res.body.data.activeUsers).toHaveLength(10);
    expect(res.body.data.activeUsers[0]).toEqual({ day: "2026-10-01", users: 1 });
    const tooLong = await t.gql(`query($r: TimeRangeInput!) { usage(range: $r, granularity: MINUTE) { calls } }`, { r }, org.users.ANALYST.token);
    expect(codes(tooLong)).toEqual(["BAD_USER_INPUT"]);
    const backwards = await t.gql(`query($r: TimeRangeInput!) { usage(range: $r, granularity: DAY) { calls } }`, { r: { from: r.to, to: r.from } }, org.users.ANALYST.token);
    expect(codes(backwards)).toEqual(["BAD_USER_INPUT"]);
  });

  it("measures storage from the tenant schema", async () => {
    await t.app.services.metering.measureStorage(); // (or the start-up measurement already did)
    const { rows } = await t.app.services.db.admin.raw(
      `SELECT bytes FROM control.usage_storage WHERE organization_id = ? ORDER BY measured_at DESC LIMIT 1`, [org.id]);
    expect(Number(rows[0].bytes)).toBeGreaterThan(8192); // tables and indexes of a fresh tenant
    expect(Number(rows[0].bytes)).toBeLessThan(2 * GB);
  });

  it("alert thresholds: defaults, per-organization overrides, validation and permissions", async () => {
    const q = `{ alertThresholds { quotaWarningPercent quotaErrorPercent errorRatePercent p95WarningMs p95ErrorMs minCalls } }`;
    const d = await t.gql(q, {}, org.users.ANALYST.token);
    expect(d.body.data.alertThresholds).toEqual({ quotaWarningPercent: 80, quotaErrorPercent: 100, errorRatePercent: 5, p95WarningMs: 500, p95ErrorMs: 1000, minCalls: 20 });
    const m = `mutation($i: AlertThresholdsInput!) { updateAlertThresholds(input: $i) { p95WarningMs p95ErrorMs } }`;
    const ok = await t.gql(m, { i: { p95WarningMs: 250 } }, org.users.ADMIN.token);
    expect(ok.body.data.updateAlertThresholds).toEqual({ p95WarningMs: 250, p95ErrorMs: 1000 });
    const inverted = await t.gql(m, { i: { p95WarningMs: 2000 } }, org.users.ADMIN.token);
    expect(codes(inverted)).toEqual(["BAD_USER_INPUT"]);
    const denied = await t.gql(m, { i: { p95WarningMs: 100 } }, org.users.ANALYST.token);
    expect(codes(denied)).toEqual(["FORBIDDEN"]);
    const reset = await t.gql(m, { i: { p95WarningMs: null } }, org.users.ADMIN.token);
    expect(reset.body.data.updateAlertThresholds.p95WarningMs).toBe(500);
  });
});
