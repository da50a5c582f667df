// The tenant iterator: brings every tenant schema up to the latest tenant migrations, a few tenants
// at a time, and reports instead of stopping at the first failure. Resumable (fromId / ids), limitable,
// abortable (stop scheduling, let in-flight tenants finish) and with a dry-run. Operator tooling:
// the report's error messages may carry SQL detail and must not be shown to API clients.
import type { Knex } from "knex";
import { tenantMigrations, type TenantMigration } from "../../migrations/tenant/index.js";
import { quoteIdent } from "../db/knex.js";
import { migrateTenant } from "./migrator.js";
import { CONTROL_SCHEMA, isUuid } from "./naming.js";
import { tenantRef } from "./scope.js";

/** Organizations whose schemas are migrated; "provisioning" rows are mid-transaction or leftovers. */
export const MIGRATABLE_STATUSES = ["active", "suspended"] as const;

export interface MigrateAllOptions {
  /** Tenants migrated at the same time (default 4). Give `admin` a pool of at least this many connections. */
  concurrency?: number;
  /** Resume: only tenants with id >= fromId (ids are processed in ascending order). */
  fromId?: string;
  /** Only these organization ids (still filtered by status and fromId, still in id order). */
  ids?: string[];
  /** At most this many tenants (after fromId / ids). */
  limit?: number;
  /** Report what would run; change nothing. */
  dryRun?: boolean;
  /** Don't trust control.organizations.schema_version: read each schema's schema_migrations. */
  verify?: boolean;
  /** Override the migration list (tests, benchmarks). Default: migrations/tenant/index.ts. */
  migrations?: TenantMigration[];
  /** On abort: no new tenant is started; in-flight tenants finish; the report carries nextFromId. */
  signal?: AbortSignal;
  onProgress?: (event: MigrateAllProgress) => void;
}

export type TenantOutcome = "migrated" | "upToDate" | "failed" | "pending";

export interface MigrateAllProgress {
  id: string;
  slug: string;
  outcome: TenantOutcome;
  /** Migrations applied (migrated) or that would be applied (pending, dry run). */
  migrations: string[];
  error?: string;
  durationMs: number;
  /** Tenants finished so far, and the total selected. */
  done: number;
  total: number;
}

export interface MigrateAllReport {
  /** Tenants selected by the options (before any abort). */
  total: number;
  migrated: number;
  upToDate: number;
  failed: Array<{ id: string; slug: string; error: string }>;
  /** Selected but not started because the run was aborted. */
  skipped: number;
  /** Dry run: tenants with pending migrations and what would be applied to each. */
  pending: Array<{ id: string; slug: string; migrations: string[] }>;
  /** Explicit `ids` that matched no migratable organization (unknown, or not active/suspended). */
  missingIds: string[];
  targetVersion: number;
  dryRun: boolean;
  verify: boolean;
  aborted: boolean;
  /** When aborted: the first tenant not started. Resume with fromId = nextFromId (inclusive). */
  nextFromId?: string;
  durationMs: number;
  /** Finished tenants (all outcomes) per second of wall time. */
  tenantsPerSecond: number;
}

interface TenantRow {
  id: string;
  slug: string;
  schemaVersion: number;
}

export async function migrateAllTenants(admin: Knex, opts: MigrateAllOptions = {}): Promise<MigrateAllReport> {
  const {
    concurrency = 4,
    fromId,
    ids,
    limit,
    dryRun = false,
    verify = false,
    migrations = tenantMigrations,
    signal,
    onProgress,
  } = opts;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error("concurrency must be a positive integer");
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) throw new Error("limit must be a non-negative integer");
  if (fromId !== undefined && !isUuid(fromId)) throw new Error("fromId must be an organization id (uuid)");
  const wanted = ids?.map((id) => {
    if (!isUuid(id)) throw new Error(`not an organization id: ${id}`);
    return id.toLowerCase();
  });

  const started = performance.now();
  const tenants = await selectTenants(admin, { fromId, ids: wanted, limit });
  const found = new Set(tenants.map((t) => t.id));
  const report: MigrateAllReport = {
    total: tenants.length,
    migrated: 0,
    upToDate: 0,
    failed: [],
    skipped: 0,
    pending: [],
    // Only meaningful when nothing else narrowed the selection.
    missingIds: wanted && fromId === undefined && limit === undefined ? [...new Set(wanted)].filter((id) => !found.has(id)) : [],
    targetVersion: migrations.length,
    dryRun,
    verify,
    aborted: false,
    durationMs: 0,
    tenantsPerSecond: 0,
  };

  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < tenants.length && !signal?.aborted) {
      const tenant = tenants[next++]!;
      const t0 = performance.now();
      let outcome: TenantOutcome;
      let names: string[] = [];
      let error: string | undefined;
      try {
        ({ outcome, names } = await migrateOne(admin, tenant, migrations, dryRun, verify));
      } catch (err) {
        outcome = "failed";
        error = describeError(err);
      }
      if (outcome === "migrated") report.migrated++;
      else if (outcome === "upToDate") report.upToDate++;
      else if (outcome === "pending") report.pending.push({ id: tenant.id, slug: tenant.slug, migrations: names });
      else report.failed.push({ id: tenant.id, slug: tenant.slug, error: error! });
      done++;
      onProgress?.({ id: tenant.id, slug: tenant.slug, outcome, migrations: names, error, durationMs: performance.now() - t0, done, total: tenants.length });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, tenants.length) }, worker));

  // Workers start tenants strictly in id order, so everything before `next` was started and has finished.
  if (next < tenants.length) {
    report.aborted = true;
    report.skipped = tenants.length - next;
    report.nextFromId = tenants[next]!.id;
  }
  report.failed.sort((a, b) => (a.id < b.id ? -1 : 1));
  report.pending.sort((a, b) => (a.id < b.id ? -1 : 1));
  report.durationMs = Math.round(performance.now() - started);
  report.tenantsPerSecond = done / Math.max((performance.now() - started) / 1000, 1e-6);
  return report;
}

async function migrateOne(
  admin: Knex,
  tenant: TenantRow,
  migrations: TenantMigration[],
  dryRun: boolean,
  verify: boolean,
): Promise<{ outcome: TenantOutcome; names: string[] }> {
  let pending: string[];
  if (verify) {
    const applied = await appliedMigrations(admin, tenant.id);
    pending = migrations.map((m) => m.name).filter((n) => !applied.has(n));
    // The control-plane mirror must match too, or later non-verify runs would skip or redo work.
    if (pending.length === 0 && tenant.schemaVersion === applied.size) return { outcome: "upToDate", names: [] };
  } else {
    // schema_version counts applied migrations; at or past the list's length there is nothing to do.
    if (tenant.schemaVersion >= migrations.length) return { outcome: "upToDate", names: [] };
    pending = migrations.slice(tenant.schemaVersion).map((m) => m.name);
  }
  if (dryRun) return pending.length ? { outcome: "pending", names: pending } : { outcome: "upToDate", names: [] };
  // migrateTenant re-reads schema_migrations under a lock, so another migrator racing us is harmless.
  const applied = await migrateTenant(admin, tenantRef(tenant.id), migrations);
  return applied.length ? { outcome: "migrated", names: applied } : { outcome: "upToDate", names: [] };
}

/** Names recorded in a tenant's schema_migrations (empty when the table does not exist yet). */
async function appliedMigrations(admin: Knex, orgId: string): Promise<Set<string>> {
  const schema = tenantRef(orgId).schema;
  try {
    const { rows } = await admin.raw(`SELECT name FROM ${quoteIdent(schema)}.schema_migrations`);
    return new Set(rows.map((r: { name: string }) => r.name));
  } catch (err) {
    if ((err as { code?: string }).code === "42P01") return new Set(); // undefined_table
    throw err;
  }
}

async function selectTenants(admin: Knex, sel: { fromId?: string; ids?: string[]; limit?: number }): Promise<TenantRow[]> {
  const q = admin.withSchema(CONTROL_SCHEMA).table("organizations")
    .select("id", "slug", "schema_version as schemaVersion")
    .whereIn("status", [...MIGRATABLE_STATUSES])
    .orderBy("id");
  if (sel.fromId) q.where("id", ">=", sel.fromId);
  // One array parameter, not one bind per id: resumed runs can list more ids than a query may bind.
  if (sel.ids) q.whereRaw("id = ANY(?::uuid[])", [sel.ids]);
  if (sel.limit !== undefined) q.limit(sel.limit);
  return (await q) as TenantRow[];
}

/**
 * The ids an earlier report left to do: its failed tenants, plus (if it was aborted) the tenants it
 * had selected but not started. `selection` is the earlier run's options, as recorded with the report.
 */
export async function resumeIds(
  admin: Knex,
  previous: Pick<MigrateAllReport, "failed" | "aborted" | "nextFromId" | "skipped">,
  selection: { ids?: string[]; limit?: number } = {},
): Promise<string[]> {
  const out = new Set(previous.failed.map((f) => f.id));
  if (previous.aborted && previous.nextFromId) {
    // Same filter as the earlier run, from where it stopped; with a limit, only what it had left.
    const rest = await selectTenants(admin, {
      fromId: previous.nextFromId,
      ids: selection.ids,
      limit: selection.limit !== undefined ? previous.skipped : undefined,
    });
    for (const t of rest) out.add(t.id);
  }
  return [...out].sort();
}

/**
 * One line per failure: PostgreSQL's message and SQLSTATE first, then the statement (knex prefixes
 * its message with the whole SQL, which for a migration is pages long), whitespace-collapsed and cut.
 */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, detail } = err as { code?: unknown; detail?: unknown };
  let message = err.message;
  let sql = "";
  const cut = message.lastIndexOf(" - ");
  if (typeof code === "string" && cut > 0) {
    sql = message.slice(0, cut).replace(/\s+/g, " ").trim();
    message = message.slice(cut + 3);
  }
  let out = typeof code === "string" && !message.includes(code) ? `${message} (${code})` : message;
  if (typeof detail === "string" && detail) out += `: ${detail}`;
  if (sql) out += ` — while running: ${sql.length > 300 ? `${sql.slice(0, 300)}…` : sql}`;
  return out;
}
