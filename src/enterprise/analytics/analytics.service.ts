// Reads over the metering roll-ups: time series, summaries, cost to date with a month-end
// forecast, CSV export, and the platform-wide (super-admin) views. All figures come from the
// control plane (flushed data: up to one flush interval behind the live stream).
import type { Knex } from "knex";
import { badInput } from "../../errors/app-error.js";
import { mergeInto, newHistogram, percentiles, quantile } from "../metering/histogram.js";
import { GB, PRICING, costLines, roundCents, totalCents, type CostLine } from "../metering/pricing.js";

export type Granularity = "MINUTE" | "HOUR" | "DAY";
const G: Record<Granularity, { code: "m" | "h" | "d"; ms: number; maxRangeMs: number }> = {
  MINUTE: { code: "m", ms: 60_000, maxRangeMs: 2 * 86_400_000 },
  HOUR: { code: "h", ms: 3_600_000, maxRangeMs: 93 * 86_400_000 },
  DAY: { code: "d", ms: 86_400_000, maxRangeMs: 800 * 86_400_000 },
};
const DAY_MS = 86_400_000;

export interface Range { from: Date; to: Date }

export interface UsagePoint {
  bucket: Date;
  calls: number;
  errors: number;
  errorRate: number;
  bytesOut: number;
  generations: number;
  executions: number;
  avgLatencyMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

interface Row {
  bucket: Date;
  organization_id: string;
  operation_name: string;
  operation_type: string;
  calls: string | number;
  errors: string | number;
  bytes_out: string | number;
  generations: string | number;
  executions: string | number;
  latency_sum_ms: number;
  latency_hist: Array<string | number>;
}

/** Validate a range and align it outward to whole buckets of the granularity. */
export function alignRange(range: Range, granularity: Granularity): Range {
  const { ms, maxRangeMs } = G[granularity];
  const from = range.from.getTime();
  const to = range.to.getTime();
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) throw badInput("range.from must be before range.to", "range");
  if (to - from > maxRangeMs) throw badInput(`A ${granularity.toLowerCase()} series spans at most ${Math.round(maxRangeMs / DAY_MS)} days`, "range");
  return { from: new Date(from - (from % ms)), to: new Date(Math.ceil(to / ms) * ms) };
}

/** The finest granularity whose retention and size limits cover the range (for summaries). */
export function granularityFor(range: Range): Granularity {
  const span = range.to.getTime() - range.from.getTime();
  const ageMs = Date.now() - range.from.getTime();
  if (span <= 6 * 3_600_000 && ageMs <= 47 * 3_600_000) return "MINUTE";
  if (span <= 93 * DAY_MS && ageMs <= 89 * DAY_MS) return "HOUR";
  return "DAY";
}

async function rows(db: Knex, orgId: string | null, range: Range, granularity: Granularity): Promise<Row[]> {
  const q = db.withSchema("control").table("usage_rollups")
    .select("bucket", "organization_id", "operation_name", "operation_type", "calls", "errors", "bytes_out", "generations", "executions", "latency_sum_ms", "latency_hist")
    .where("granularity", G[granularity].code).where("bucket", ">=", range.from).where("bucket", "<", range.to).orderBy("bucket");
  if (orgId !== null) q.where("organization_id", orgId); // null, and only null, means every organization (platform staff)
  return q;
}

interface Acc { calls: number; errors: number; bytesOut: number; generations: number; executions: number; latencySumMs: number; latencyCount: number; hist: Float64Array }
const newAcc = (): Acc => ({ calls: 0, errors: 0, bytesOut: 0, generations: 0, executions: 0, latencySumMs: 0, latencyCount: 0, hist: newHistogram() });
function add(acc: Acc, r: Row): Acc {
  acc.calls += Number(r.calls);
  acc.errors += Number(r.errors);
  acc.bytesOut += Number(r.bytes_out);
  acc.generations += Number(r.generations);
  acc.executions += Number(r.executions);
  acc.latencySumMs += r.latency_sum_ms;
  mergeInto(acc.hist, r.latency_hist);
  for (const v of r.latency_hist) acc.latencyCount += Number(v);
  return acc;
}
function stats(acc: Acc) {
  const p = percentiles(acc.hist);
  return {
    calls: acc.calls, errors: acc.errors, errorRate: acc.calls ? acc.errors / acc.calls : 0, bytesOut: acc.bytesOut,
    generations: acc.generations, executions: acc.executions,
    avgLatencyMs: acc.latencyCount ? Math.round((acc.latencySumMs / acc.latencyCount) * 1000) / 1000 : null,
    p50Ms: p.p50, p95Ms: p.p95, p99Ms: p.p99,
  };
}

export async function usageSeries(db: Knex, orgId: string, range: Range, granularity: Granularity): Promise<UsagePoint[]> {
  const r = alignRange(range, granularity);
  const byBucket = new Map<number, Acc>();
  for (const row of await rows(db, orgId, r, granularity)) {
    const t = new Date(row.bucket).getTime();
    add(byBucket.get(t) ?? byBucket.set(t, newAcc()).get(t)!, row);
  }
  return [...byBucket.entries()].sort((a, b) => a[0] - b[0]).map(([t, acc]) => ({ bucket: new Date(t), ...stats(acc) }));
}

export async function summary(db: Knex, orgId: string | null, range: Range) {
  const granularity = granularityFor(range);
  const r = alignRange(range, granularity);
  const total = newAcc();
  const ops = new Map<string, Acc & { name: string; type: string }>();
  for (const row of await rows(db, orgId, r, granularity)) {
    add(total, row);
    const k = `${row.operation_name}\u0000${row.operation_type}`;
    add(ops.get(k) ?? ops.set(k, { ...newAcc(), name: row.operation_name, type: row.operation_type }).get(k)!, row);
  }
  const errQ = db.withSchema("control").table("usage_error_rollups").select("code").sum({ count: "count" })
    .where("granularity", G[granularity].code).where("bucket", ">=", r.from).where("bucket", "<", r.to).groupBy("code").orderBy("count", "desc");
  if (orgId !== null) errQ.where("organization_id", orgId);
  const usersQ = db.withSchema("control").table("usage_active_users").countDistinct({ n: "user_id" })
    .where("day", ">=", r.from.toISOString().slice(0, 10)).where("day", "<", nextDay(r.to));
  if (orgId !== null) usersQ.where("organization_id", orgId);
  const [errors, [users]] = await Promise.all([errQ, usersQ]);
  const topOperations = [...ops.values()].sort((a, b) => b.calls - a.calls).slice(0, 10)
    .map((o) => ({ name: o.name, type: o.type, ...stats(o) }));
  return {
    from: r.from, to: r.to, granularity,
    ...stats(total),
    topOperations,
    errorBreakdown: errors.map((e: { code: string; count: string }) => ({ code: e.code, count: Number(e.count) })),
    activeUsers: Number(users?.n ?? 0),
  };
}

function nextDay(d: Date): string {
  const ms = d.getTime();
  const end = ms % DAY_MS === 0 ? ms : ms - (ms % DAY_MS) + DAY_MS;
  return new Date(end).toISOString().slice(0, 10);
}

/** Active users per day in a range. */
export async function activeUsersPerDay(db: Knex, orgId: string, range: Range): Promise<Array<{ day: string; users: number }>> {
  const r = alignRange(range, "DAY");
  const out = await db.withSchema("control").table("usage_active_users").select("day").countDistinct({ n: "user_id" })
    .where("organization_id", orgId).where("day", ">=", r.from.toISOString().slice(0, 10)).where("day", "<", r.to.toISOString().slice(0, 10))
    .groupBy("day").orderBy("day");
  return out.map((x: { day: Date | string; n: string }) => ({ day: typeof x.day === "string" ? x.day : toDay(x.day), users: Number(x.n) }));
}
function toDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export interface CostReport {
  periodStart: Date;
  periodEnd: Date;
  asOf: Date;
  lines: CostLine[];
  totalCents: number;
  forecastLines: CostLine[];
  forecastTotalCents: number;
  storageBytes: number;
}

/** Parse "YYYY-MM" (default: the current UTC month) into [start, end). */
export function monthPeriod(month: string | null | undefined, now = new Date()): { start: Date; end: Date } {
  let y = now.getUTCFullYear();
  let m = now.getUTCMonth();
  if (month) {
    const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
    if (!match) throw badInput("month must look like 2026-01", "month");
    y = Number(match[1]);
    m = Number(match[2]) - 1;
  }
  return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
}

/**
 * Cost to date for a calendar month and its month-end forecast. Forecast (linear, from the recent
 * trend): each metered quantity grows at its average daily rate over the last 7 days of the period
 * to date (fewer at the start of a month, at least one day), so forecast = to date + rate × days
 * left. Storage is billed per GB-month: the latest measured size × the elapsed fraction of the month
 * to date, and × the whole month for the forecast.
 */
export async function costReport(db: Knex, orgId: string, month?: string | null, now = new Date()): Promise<CostReport> {
  const { start, end } = monthPeriod(month, now);
  const asOf = new Date(Math.min(Math.max(now.getTime(), start.getTime()), end.getTime()));
  const q = await db.withSchema("control").table("usage_rollups").select("bucket")
    .sum({ calls: "calls", generations: "generations", executions: "executions" })
    .where({ organization_id: orgId, granularity: "d" }).where("bucket", ">=", start).where("bucket", "<", end).groupBy("bucket");
  const days = q.map((r: { bucket: Date; calls: string; generations: string; executions: string }) => ({
    t: new Date(r.bucket).getTime(), calls: Number(r.calls), generations: Number(r.generations), executions: Number(r.executions),
  }));
  const sum = (k: "calls" | "generations" | "executions", from = 0) => days.filter((d) => d.t >= from).reduce((s, d) => s + d[k], 0);
  const [storage] = await db.withSchema("control").table("usage_storage").select("bytes")
    .where("organization_id", orgId).where("measured_at", "<", end).orderBy("measured_at", "desc").limit(1);
  const storageBytes = Number(storage?.bytes ?? 0);
  const monthMs = end.getTime() - start.getTime();
  const elapsedMs = asOf.getTime() - start.getTime();
  const toDate = {
    calls: sum("calls"), generations: sum("generations"), executions: sum("executions"),
    storageGbMonths: (storageBytes / GB) * (elapsedMs / monthMs),
  };
  const trendDays = Math.max(1, Math.min(7, elapsedMs / DAY_MS));
  const trendFrom = asOf.getTime() - trendDays * DAY_MS;
  const leftDays = (end.getTime() - asOf.getTime()) / DAY_MS;
  // Day buckets in the trend window (the current day's bucket counts as the part of it elapsed).
  const trendFromBucket = trendFrom - (trendFrom % DAY_MS);
  const rate = (k: "calls" | "generations" | "executions") => sum(k, trendFromBucket) / trendDays;
  const forecast = {
    calls: toDate.calls + rate("calls") * leftDays,
    generations: toDate.generations + rate("generations") * leftDays,
    executions: toDate.executions + rate("executions") * leftDays,
    storageGbMonths: storageBytes / GB,
  };
  const round = (lines: CostLine[]) => lines.map((l) => ({ ...l, quantity: Math.round(l.quantity * 1e6) / 1e6, amountCents: roundCents(l.amountCents) }));
  return {
    periodStart: start, periodEnd: end, asOf,
    lines: round(costLines(toDate)), totalCents: roundCents(totalCents(toDate)),
    forecastLines: round(costLines(forecast)), forecastTotalCents: roundCents(totalCents(forecast)),
    storageBytes,
  };
}

const CSV_HEADER = ["bucket", "operation_name", "operation_type", "calls", "errors", "error_rate", "bytes_out", "generations", "executions",
  "avg_latency_ms", "p50_ms", "p95_ms", "p99_ms", "cost_cents"];

/** Usage and cost per bucket and operation, as CSV (RFC 4180). Storage is billed per month, not per row. */
export async function usageCsv(db: Knex, orgId: string, range: Range, granularity: Granularity): Promise<string> {
  const r = alignRange(range, granularity);
  const lines = [CSV_HEADER.join(",")];
  for (const row of await rows(db, orgId, r, granularity)) {
    const s = stats(add(newAcc(), row));
    const cost = s.calls * PRICING.API_CALLS.unitPriceCents + s.generations * PRICING.GENERATIONS.unitPriceCents + s.executions * PRICING.EXECUTIONS.unitPriceCents;
    lines.push([
      new Date(row.bucket).toISOString(), row.operation_name, row.operation_type, s.calls, s.errors, round4(s.errorRate), s.bytesOut,
      s.generations, s.executions, s.avgLatencyMs ?? "", s.p50Ms ?? "", s.p95Ms ?? "", s.p99Ms ?? "", roundCents(cost),
    ].map(csvCell).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

function round4(v: number) {
  return Math.round(v * 10_000) / 10_000;
}

export function csvCell(v: unknown): string {
  let s = String(v);
  // Spreadsheet formula injection: a cell starting with = + - @ is neutralised.
  if (/^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export type TenantOrder = "CALLS" | "ERRORS" | "COST";

/** Platform view: every organization's usage and cost over a range, top first. */
export async function topTenants(db: Knex, range: Range, orderBy: TenantOrder, first: number) {
  if (first < 1 || first > 100) throw badInput("first must be between 1 and 100", "first");
  const granularity = granularityFor(range);
  const r = alignRange(range, granularity);
  const { rows: out } = await db.raw(
    `SELECT o.id::text AS id, o.slug, o.name, o.plan, u.calls, u.errors, u.generations, u.executions,
       coalesce((SELECT bytes FROM control.usage_storage s WHERE s.organization_id = o.id ORDER BY measured_at DESC LIMIT 1), 0)::float8 AS storage_bytes
     FROM (SELECT organization_id, sum(calls)::float8 AS calls, sum(errors)::float8 AS errors, sum(generations)::float8 AS generations,
             sum(executions)::float8 AS executions
           FROM control.usage_rollups WHERE granularity = ? AND bucket >= ? AND bucket < ? GROUP BY organization_id) u
     JOIN control.organizations o ON o.id = u.organization_id`,
    [G[granularity].code, r.from, r.to],
  );
  const spanMonths = (r.to.getTime() - r.from.getTime()) / (30 * DAY_MS);
  const tenants = out.map((t: { id: string; slug: string; name: string; plan: string; calls: number; errors: number; generations: number; executions: number; storage_bytes: number }) => ({
    organizationId: t.id, slug: t.slug, name: t.name, plan: t.plan, calls: t.calls, errors: t.errors,
    errorRate: t.calls ? t.errors / t.calls : 0, generations: t.generations, executions: t.executions,
    costCents: roundCents(totalCents({ calls: t.calls, generations: t.generations, executions: t.executions, storageGbMonths: (t.storage_bytes / GB) * spanMonths })),
  }));
  const key = orderBy === "CALLS" ? "calls" : orderBy === "ERRORS" ? "errors" : "costCents";
  return tenants.sort((a: Record<string, number>, b: Record<string, number>) => b[key]! - a[key]!).slice(0, first);
}

export { quantile };
