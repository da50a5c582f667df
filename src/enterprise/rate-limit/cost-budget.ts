// The per-minute query-cost budget of an organization (plan `costPerMinute`): the requested cost
// is taken before execution; after execution the difference to the actual cost (connection nodes
// actually returned) is given back. The result is reported in `extensions.cost`.
import type { RequestContext } from "../../context/index.js";
import { AppError } from "../../errors/app-error.js";
import { LimiterUnavailableError } from "./store.js";

export type ThrottleStatus = "PASS" | "THROTTLED";

export interface CostExtension {
  requested: number;
  /** null until the operation ran */
  actual: number | null;
  maximum: number;
  /** remaining and resetInSeconds are null when the budget was not consulted (an operation dearer than the whole budget) */
  budget: { limit: number; remaining: number | null; resetInSeconds: number | null } | null;
  throttleStatus: ThrottleStatus;
}

interface Charged {
  organizationId: string;
  costPerMinute: number;
}

const charges = new WeakMap<CostExtension, Charged>();

/** Charge the requested cost; throws RATE_LIMITED (with the cost in extensions) when over budget. */
export async function chargeCost(ctx: RequestContext, requested: number, maximum: number): Promise<CostExtension> {
  const ext: CostExtension = { requested, actual: null, maximum, budget: null, throttleStatus: "PASS" };
  const services = ctx.services;
  const orgId = ctx.principal?.organizationId;
  if (!services.limits.enabled || !orgId) return ext;
  const costPerMinute = (await services.plans.resolve(orgId))?.limits.costPerMinute ?? null;
  if (costPerMinute === null) return ext;
  // Waiting cannot help an operation that costs more than the whole budget: not a retryable 429.
  if (requested > costPerMinute) {
    ext.throttleStatus = "THROTTLED";
    ext.budget = { limit: costPerMinute, remaining: null, resetInSeconds: null };
    throw new AppError("COST_LIMIT_EXCEEDED", `Query cost ${requested} exceeds your plan's budget of ${costPerMinute} per minute; request smaller pages`, { cost: ext });
  }
  let d;
  try {
    d = await services.limits.costBudget(orgId, costPerMinute, requested);
  } catch (err) {
    if (err instanceof LimiterUnavailableError) throw new AppError("SERVICE_UNAVAILABLE", "Rate limiting is unavailable; retry shortly");
    throw err;
  }
  ext.budget = { limit: costPerMinute, remaining: d.remaining, resetInSeconds: Math.ceil(d.resetMs / 1000) };
  if (!d.allowed) {
    ext.throttleStatus = "THROTTLED";
    const retryAfter = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    throw new AppError("RATE_LIMITED", `Query cost ${requested} exceeds the remaining budget of ${d.remaining} per minute`, { cost: ext, retryAfter });
  }
  charges.set(ext, { organizationId: orgId, costPerMinute });
  return ext;
}

/** Count connection nodes in a result: one per edge (or node in `nodes`), at least 1. */
export function actualCost(data: unknown): number {
  let n = 0;
  const walk = (v: unknown) => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if ((k === "edges" || k === "nodes") && Array.isArray(x)) n += x.length;
        walk(x);
      }
    }
  };
  walk(data);
  return Math.max(1, n);
}

/** After execution: record the actual cost and refund what was requested but not used. */
export async function settleCost(ctx: RequestContext, ext: CostExtension, data: unknown): Promise<void> {
  ext.actual = data == null ? 0 : actualCost(data);
  const charged = charges.get(ext);
  if (!charged) return;
  charges.delete(ext);
  const refund = ext.requested - ext.actual;
  if (refund <= 0 || !ext.budget || ext.budget.remaining === null) return;
  // Not awaited: the response does not wait for a round trip. Commands to one store apply in
  // order, so the caller's next charge already sees the refund.
  ext.budget = { ...ext.budget, remaining: Math.min(ext.budget.limit, ext.budget.remaining + refund) };
  ctx.services.limits.costBudget(charged.organizationId, charged.costPerMinute, -refund).catch(() => {
    /* the refund is a courtesy: a failed one leaves the budget conservatively charged */
  });
}
