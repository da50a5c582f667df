// Quotas enforced where the work happens: item creations per month (a durable counter bumped in
// the creating transaction, so a rolled-back creation is not counted), storage (the tenant schema's
// size, cached), seats (memberships, checked under a lock on the organization row) and API calls
// per day (counted by the rate limiter's store). Exceeding one is QUOTA_EXCEEDED with the quota,
// its limit and when it resets.
import type { Knex } from "knex";
import type { Config } from "../../config/index.js";
import type { RequestContext } from "../../context/index.js";
import { AppError } from "../../errors/app-error.js";
import { withControlStatements } from "../../tenancy/scope.js";
import type { PlanLimits } from "./catalog.js";
import type { PlanService } from "./plans.service.js";

export type QuotaName = "apiCallsPerDay" | "generationsPerMonth" | "storageBytes" | "members";

export function quotaExceeded(quota: QuotaName, limit: number, resetsAt: Date | null): AppError {
  const retryAfter = resetsAt ? Math.max(1, Math.ceil((resetsAt.getTime() - Date.now()) / 1000)) : undefined;
  return new AppError("QUOTA_EXCEEDED", `Quota ${quota} of ${limit} is used up${resetsAt ? `; it resets at ${resetsAt.toISOString()}` : ""}`, {
    quota, limit, resetsAt: resetsAt?.toISOString() ?? null, ...(retryAfter ? { retryAfter } : {}),
  });
}

export function monthStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

export function nextMonthStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}

const STORAGE_TTL_MS = 60_000;

export class QuotaService {
  private storage = new Map<string, { at: number; bytes: number }>();

  constructor(private readonly db: Knex, private readonly plans: PlanService, private readonly config: Config) {}

  private async limits(organizationId: string): Promise<PlanLimits | null> {
    if (!this.config.limits.quotasEnabled) return null;
    return (await this.plans.resolve(organizationId))?.limits ?? null;
  }

  /**
   * Before creating an item, inside the creating tenant transaction: check storage, then count one
   * generation. The counter lives in the control plane, so the transaction steps out of the tenant
   * role for one statement and back in (withControlStatements, transaction-local); the row lock serialises
   * concurrent creations of one organization until commit.
   */
  async consumeGeneration(ctx: RequestContext, trx: Knex.Transaction): Promise<void> {
    const tenant = ctx.requireTenant();
    const limits = await this.limits(tenant.id);
    if (!limits) return;
    if (limits.storageBytes !== null && (await this.storageBytes(tenant.schema, tenant.id)) >= limits.storageBytes)
      throw quotaExceeded("storageBytes", limits.storageBytes, null);
    const limit = limits.generationsPerMonth;
    if (limit !== null && limit <= 0) throw quotaExceeded("generationsPerMonth", limit, nextMonthStart());
    await withControlStatements(trx, tenant, async () => {
      const { rows } = await trx.raw(
        `INSERT INTO control.quota_counters AS q (organization_id, quota, period_start, used) VALUES (?, 'generationsPerMonth', ?, 1)
         ON CONFLICT (organization_id, quota, period_start) DO UPDATE SET used = q.used + 1
         WHERE ?::bigint IS NULL OR q.used < ?::bigint
         RETURNING used`,
        [tenant.id, monthStart().toISOString().slice(0, 10), limit, limit],
      );
      if (rows.length === 0) throw quotaExceeded("generationsPerMonth", limit!, nextMonthStart());
    });
  }

  /** Seats: call inside the transaction that inserts the membership, with control-plane statements allowed (withControlStatements). */
  async checkSeats(trx: Knex.Transaction, organizationId: string): Promise<void> {
    const limits = await this.limits(organizationId);
    if (!limits || limits.members === null) return;
    await trx.withSchema("control").table("organizations").first("id").where({ id: organizationId }).forUpdate();
    const row = await trx.withSchema("control").table("memberships").where({ organization_id: organizationId }).count({ n: "*" }).first();
    if (Number(row?.n ?? 0) >= limits.members) throw quotaExceeded("members", limits.members, null);
  }

  async generationsUsed(organizationId: string): Promise<number> {
    const row = await this.db.withSchema("control").table("quota_counters").first("used")
      .where({ organization_id: organizationId, quota: "generationsPerMonth", period_start: monthStart().toISOString().slice(0, 10) });
    return Number(row?.used ?? 0);
  }

  async membersUsed(organizationId: string): Promise<number> {
    const row = await this.db.withSchema("control").table("memberships").where({ organization_id: organizationId }).count({ n: "*" }).first();
    return Number(row?.n ?? 0);
  }

  /** Total size of the tenant schema's relations (tables, indexes, TOAST), cached for a minute. */
  async storageBytes(schema: string, organizationId: string, fresh = false): Promise<number> {
    const now = Date.now();
    const hit = this.storage.get(organizationId);
    if (!fresh && hit && now - hit.at < STORAGE_TTL_MS) return hit.bytes;
    const { rows } = await this.db.raw(
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint AS bytes
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ? AND c.relkind IN ('r', 'm', 'p')`,
      [schema],
    );
    const bytes = Number(rows[0]?.bytes ?? 0);
    if (this.storage.size > 100_000) this.storage.clear();
    this.storage.set(organizationId, { at: now, bytes });
    return bytes;
  }
}
