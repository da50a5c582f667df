// Resolves an organization's effective plan: the catalogue entry for its plan, with the
// organization's overrides on top. The plan name comes from the organization registry (5 s cache,
// invalidated when a super admin changes it); overrides are cached for the same bound.
import type { Knex } from "knex";
import type { OrganizationRegistry } from "../../tenancy/registry.js";
import type { Invalidation } from "./invalidation.js";
import { FEATURES, isPlanId, PLANS, type Feature, type Plan, type PlanLimits } from "./catalog.js";

export const LIMIT_NAMES = ["apiCallsPerDay", "generationsPerMonth", "storageBytes", "members", "requestsPerMinute", "costPerMinute"] as const satisfies ReadonlyArray<keyof PlanLimits>;

export interface PlanOverrides {
  /** A value replaces the plan's limit; null there means "unlimited"; absent means "the plan's". */
  limits: Partial<Record<keyof PlanLimits, number | null>>;
  featuresEnabled: Feature[];
  featuresDisabled: Feature[];
}

export interface EffectivePlan {
  organizationId: string;
  plan: Plan;
  limits: PlanLimits;
  features: ReadonlySet<Feature>;
  overrides: PlanOverrides;
}

const CACHE_TTL_MS = 5_000;
const EMPTY: PlanOverrides = { limits: {}, featuresEnabled: [], featuresDisabled: [] };

export function isFeature(v: unknown): v is Feature {
  return typeof v === "string" && Object.hasOwn(FEATURES, v);
}

export function effectivePlan(organizationId: string, planId: string, overrides: PlanOverrides): EffectivePlan {
  // An unknown plan name (data drift) gets the most restrictive plan rather than "unlimited".
  const plan = PLANS[isPlanId(planId) ? planId : "free"];
  const limits = { ...plan.limits };
  for (const name of LIMIT_NAMES) if (Object.hasOwn(overrides.limits, name)) limits[name] = overrides.limits[name] ?? null;
  const features = new Set<Feature>(plan.features);
  for (const f of overrides.featuresEnabled) features.add(f);
  for (const f of overrides.featuresDisabled) features.delete(f);
  return { organizationId, plan, limits, features, overrides };
}

export class PlanService {
  private cache = new Map<string, { at: number; overrides: PlanOverrides }>();

  constructor(private readonly db: Knex, private readonly registry: OrganizationRegistry, private readonly invalidation?: Invalidation) {
    invalidation?.on("organization", (id) => this.forget(id));
  }

  /** null when the organization does not exist. */
  async resolve(organizationId: string): Promise<EffectivePlan | null> {
    const org = await this.registry.get(organizationId);
    if (!org) return null;
    return effectivePlan(organizationId, org.plan, await this.overrides(organizationId));
  }

  async hasFeature(organizationId: string, feature: Feature): Promise<boolean> {
    return (await this.resolve(organizationId))?.features.has(feature) ?? false;
  }

  async overrides(organizationId: string): Promise<PlanOverrides> {
    const now = Date.now();
    const hit = this.cache.get(organizationId);
    if (hit && now - hit.at < CACHE_TTL_MS) return hit.overrides;
    const row = await this.db.withSchema("control").table("plan_overrides")
      .first("limits", "features_enabled", "features_disabled").where({ organization_id: organizationId });
    const overrides: PlanOverrides = row
      ? { limits: row.limits ?? {}, featuresEnabled: (row.features_enabled ?? []).filter(isFeature), featuresDisabled: (row.features_disabled ?? []).filter(isFeature) }
      : EMPTY;
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(organizationId, { at: now, overrides });
    return overrides;
  }

  async setOverrides(organizationId: string, o: PlanOverrides): Promise<void> {
    await this.db.withSchema("control").table("plan_overrides")
      .insert({ organization_id: organizationId, limits: JSON.stringify(o.limits), features_enabled: o.featuresEnabled, features_disabled: o.featuresDisabled })
      .onConflict("organization_id")
      .merge({ limits: JSON.stringify(o.limits), features_enabled: o.featuresEnabled, features_disabled: o.featuresDisabled, updated_at: this.db.fn.now() });
    this.invalidate(organizationId);
  }

  /** After a plan, override or status change: every replica re-reads the organization. */
  invalidate(organizationId: string): void {
    if (this.invalidation) this.invalidation.publish("organization", organizationId);
    else this.forget(organizationId);
  }

  private forget(organizationId: string): void {
    this.cache.delete(organizationId);
    this.registry.invalidate(organizationId);
  }
}
