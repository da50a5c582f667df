// Quota remaining for live figures and alerts. Today it reads the plan catalogue; once plan
// overrides exist (plans service), point planLimitsFor at it — nothing else needs to change.
import { PLANS, isPlanId, type PlanLimits } from "../plans/catalog.js";

export function planLimitsFor(plan: string | null | undefined): PlanLimits {
  return isPlanId(plan) ? PLANS[plan].limits : PLANS.free.limits;
}

/** API calls left today, or null when unlimited. */
export function apiCallsRemaining(plan: string | null | undefined, callsToday: number): { limit: number | null; remaining: number | null } {
  const limit = planLimitsFor(plan).apiCallsPerDay;
  return { limit, remaining: limit === null ? null : Math.max(0, limit - callsToday) };
}
