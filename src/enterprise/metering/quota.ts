// Quota remaining for live figures and alerts: the effective limit from the plans service
// (overrides included) when wired, else the plan catalogue.
import { PLANS, isPlanId, type PlanLimits } from "../plans/catalog.js";

export function planLimitsFor(plan: string | null | undefined): PlanLimits {
  return isPlanId(plan) ? PLANS[plan].limits : PLANS.free.limits;
}

/** API calls left today, or null when unlimited. */
export function apiCallsRemaining(
  plan: string | null | undefined,
  callsToday: number,
  effectiveLimit?: number | null,
): { limit: number | null; remaining: number | null } {
  const limit = effectiveLimit !== undefined ? effectiveLimit : planLimitsFor(plan).apiCallsPerDay;
  return { limit, remaining: limit === null ? null : Math.max(0, limit - callsToday) };
}
