// Control-plane writes and reads for metering. writeBatch is the only writer of counters: one
// transaction inserts the flush key and adds the batch into the minute, hour and day roll-ups.
import type { Knex } from "knex";
import { mergeInto, newHistogram, toStored } from "./histogram.js";
import type { Aggregate, Batch } from "./meter.js";

const GRANULARITIES = [
  { g: "m", ms: 60_000 },
  { g: "h", ms: 3_600_000 },
  { g: "d", ms: 86_400_000 },
] as const;

export interface WriteHooks {
  /** test hook: fail after the counters are written, before commit (a crash mid-flush) */
  failBeforeCommit?: () => boolean;
}

/** Write a batch; returns false when its key was already applied (a replay: nothing is added). */
export async function writeBatch(db: Knex, batch: Batch, hooks: WriteHooks = {}): Promise<boolean> {
  // Merge per granularity first: one statement must not touch the same row twice.
  const rollups = new Map<string, Aggregate & { g: string; bucket: number }>();
  const errors = new Map<string, { g: string; organization_id: string; bucket: string; code: string; count: number }>();
  for (const { g, ms } of GRANULARITIES) {
    for (const a of batch.aggregates) {
      const bucket = a.minute - (a.minute % ms);
      const key = `${g}|${a.organizationId}|${bucket}|${a.operationName}|${a.operationType}`;
      const r = rollups.get(key);
      if (!r) rollups.set(key, { ...a, hist: mergeInto(newHistogram(), a.hist), g, bucket });
      else {
        r.calls += a.calls; r.errors += a.errors; r.bytesOut += a.bytesOut; r.generations += a.generations;
        r.executions += a.executions; r.latencySumMs += a.latencySumMs; mergeInto(r.hist, a.hist);
      }
    }
    for (const e of batch.errors) {
      const bucket = e.minute - (e.minute % ms);
      const key = `${g}|${e.organizationId}|${bucket}|${e.code}`;
      const r = errors.get(key);
      if (r) r.count += e.count;
      else errors.set(key, { g, organization_id: e.organizationId, bucket: new Date(bucket).toISOString(), code: e.code, count: e.count });
    }
  }
  const rows = [...rollups.values()].map((r) => ({
    g: r.g, organization_id: r.organizationId, bucket: new Date(r.bucket).toISOString(), operation_name: r.operationName,
    operation_type: r.operationType, calls: r.calls, errors: r.errors, bytes_out: r.bytesOut, generations: r.generations,
    executions: r.executions, latency_sum_ms: r.latencySumMs, latency_hist: toStored(r.hist),
  }));

  return db.transaction(async (trx) => {
    const claimed = await trx.raw(
      `INSERT INTO control.usage_flushes (instance_id, seq) VALUES (?, ?) ON CONFLICT DO NOTHING RETURNING seq`,
      [batch.instanceId, batch.seq],
    );
    if (claimed.rows.length === 0) return false;
    if (rows.length) {
      await trx.raw(
        `INSERT INTO control.usage_rollups AS t (granularity, organization_id, bucket, operation_name, operation_type, calls, errors,
           bytes_out, generations, executions, latency_sum_ms, latency_hist)
         SELECT r.g::"char", r.organization_id, r.bucket, r.operation_name, r.operation_type, r.calls, r.errors, r.bytes_out,
           r.generations, r.executions, r.latency_sum_ms, r.latency_hist
         FROM jsonb_to_recordset(?::jsonb) AS r(g text, organization_id uuid, bucket timestamptz, operation_name text,
           operation_type text, calls bigint, errors bigint, bytes_out bigint, generations bigint, executions bigint,
           latency_sum_ms double precision, latency_hist bigint[])
         ON CONFLICT (organization_id, granularity, bucket, operation_name, operation_type) DO UPDATE SET
           calls = t.calls + EXCLUDED.calls,
           errors = t.errors + EXCLUDED.errors,
           bytes_out = t.bytes_out + EXCLUDED.bytes_out,
           generations = t.generations + EXCLUDED.generations,
           executions = t.executions + EXCLUDED.executions,
           latency_sum_ms = t.latency_sum_ms + EXCLUDED.latency_sum_ms,
           latency_hist = ARRAY(
             SELECT coalesce(a, 0) + coalesce(b, 0)
             FROM unnest(t.latency_hist, EXCLUDED.latency_hist) WITH ORDINALITY AS u(a, b, i) ORDER BY i)`,
        [JSON.stringify(rows)],
      );
    }
    if (errors.size) {
      await trx.raw(
        `INSERT INTO control.usage_error_rollups AS t (granularity, organization_id, bucket, code, count)
         SELECT r.g::"char", r.organization_id, r.bucket, r.code, r.count
         FROM jsonb_to_recordset(?::jsonb) AS r(g text, organization_id uuid, bucket timestamptz, code text, count bigint)
         ON CONFLICT (organization_id, granularity, bucket, code) DO UPDATE SET count = t.count + EXCLUDED.count`,
        [JSON.stringify([...errors.values()])],
      );
    }
    if (batch.users.length) {
      await trx.raw(
        `INSERT INTO control.usage_active_users (organization_id, day, user_id)
         SELECT r.organization_id, r.day, r.user_id FROM jsonb_to_recordset(?::jsonb) AS r(organization_id uuid, day date, user_id uuid)
         ON CONFLICT DO NOTHING`,
        [JSON.stringify(batch.users.map((u) => ({ organization_id: u.organizationId, day: u.day, user_id: u.userId })))],
      );
    }
    if (hooks.failBeforeCommit?.()) throw new Error("simulated crash before commit");
    return true;
  });
}

export interface Baseline {
  plan: string;
  callsToday: number;
  callsMonth: number;
  generationsMonth: number;
  executionsMonth: number;
  storageBytes: number;
  /** stored alert threshold overrides (jsonb) */
  thresholds: unknown;
  /** the effective daily call limit with overrides, when the plans service is wired (null: unlimited) */
  apiCallsPerDay?: number | null;
}

export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}
export function dayStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}

/** Flushed figures of the current day and month per organization (all replicas), plus plan and storage. */
export async function loadBaselines(db: Knex, orgIds: string[], now = new Date()): Promise<Map<string, Baseline>> {
  const out = new Map<string, Baseline>();
  if (!orgIds.length) return out;
  const { rows } = await db.raw(
    `SELECT o.id::text AS id, o.plan,
       coalesce((SELECT sum(calls) FROM control.usage_rollups r WHERE r.organization_id = o.id AND r.granularity = 'd' AND r.bucket = ?), 0)::float8 AS calls_today,
       coalesce(m.calls, 0)::float8 AS calls_month, coalesce(m.generations, 0)::float8 AS generations_month,
       coalesce(m.executions, 0)::float8 AS executions_month,
       coalesce((SELECT bytes FROM control.usage_storage s WHERE s.organization_id = o.id ORDER BY measured_at DESC LIMIT 1), 0)::float8 AS storage_bytes,
       (SELECT thresholds FROM control.alert_settings a WHERE a.organization_id = o.id) AS thresholds
     FROM control.organizations o
     LEFT JOIN LATERAL (
       SELECT sum(calls) AS calls, sum(generations) AS generations, sum(executions) AS executions
       FROM control.usage_rollups r WHERE r.organization_id = o.id AND r.granularity = 'd' AND r.bucket >= ?
     ) m ON true
     WHERE o.id = ANY(?::uuid[])`,
    [dayStart(now).toISOString(), monthStart(now).toISOString(), orgIds],
  );
  for (const r of rows) {
    out.set(r.id, {
      plan: r.plan, callsToday: r.calls_today, callsMonth: r.calls_month, generationsMonth: r.generations_month,
      executionsMonth: r.executions_month, storageBytes: r.storage_bytes, thresholds: r.thresholds,
    });
  }
  return out;
}

/** Measure every active organization's schema size (tables with their indexes and TOAST). Admin connection. */
export async function measureStorage(admin: Knex): Promise<number> {
  return admin.transaction(async (trx) => {
    const { rows: [lock] } = await trx.raw(`SELECT pg_try_advisory_xact_lock(?) AS ok`, [0x656e6d73]);
    if (!lock.ok) return 0; // another replica is measuring
    const res = await trx.raw(
      `INSERT INTO control.usage_storage (organization_id, measured_at, bytes)
       SELECT o.id, now(), coalesce((
         SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = o.schema_name AND c.relkind IN ('r', 'm', 'p')), 0)
       FROM control.organizations o WHERE o.status = 'active'`,
    );
    return res.rowCount ?? 0;
  });
}

export interface Retention { minuteHours: number; hourDays: number; dayDays: number }

export async function applyRetention(db: Knex, r: Retention): Promise<void> {
  await db.raw(
    `DELETE FROM control.usage_rollups WHERE (granularity = 'm' AND bucket < now() - make_interval(hours => ?))
       OR (granularity = 'h' AND bucket < now() - make_interval(days => ?)) OR (granularity = 'd' AND bucket < now() - make_interval(days => ?))`,
    [r.minuteHours, r.hourDays, r.dayDays],
  );
  await db.raw(
    `DELETE FROM control.usage_error_rollups WHERE (granularity = 'm' AND bucket < now() - make_interval(hours => ?))
       OR (granularity = 'h' AND bucket < now() - make_interval(days => ?)) OR (granularity = 'd' AND bucket < now() - make_interval(days => ?))`,
    [r.minuteHours, r.hourDays, r.dayDays],
  );
  await db.raw(`DELETE FROM control.usage_active_users WHERE day < current_date - ?::int`, [r.dayDays]);
  await db.raw(`DELETE FROM control.usage_storage WHERE measured_at < now() - make_interval(days => ?)`, [r.dayDays]);
  await db.raw(`DELETE FROM control.usage_flushes WHERE flushed_at < now() - interval '7 days'`);
}
