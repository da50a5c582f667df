// Plan, feature and usage use cases behind the GraphQL fields.
import type { RequestContext } from "../../context/index.js";
import { badInput, notFound } from "../../errors/app-error.js";
import { checkPageSize, decodeCursor, toPage } from "../../modules/common/connection.js";
import type { PlanEnum } from "../../modules/organizations/organization.type.js";
import { parseId } from "../../tenancy/naming.js";
import { ORG_COLUMNS, type OrganizationRecord } from "../../tenancy/registry.js";
import { tenantRef } from "../../tenancy/scope.js";
import { nextUtcMidnight } from "../rate-limit/limiter.js";
import { FEATURES, PLAN_IDS, PLANS, type Feature, type Plan } from "./catalog.js";
import { isFeature, LIMIT_NAMES, type EffectivePlan, type PlanOverrides } from "./plans.service.js";
import { nextMonthStart } from "./quotas.js";
import { FeatureSourceEnum, type FeatureFlag, type OrganizationPlan, type OrganizationUsage, type PlanDetails, type PlanOverridesInput, type QuotaUsage } from "./plan.type.js";

const toDetails = (p: Plan): PlanDetails => ({ id: p.id as PlanEnum, name: p.name, priceCentsPerMonth: p.priceCentsPerMonth, limits: { ...p.limits }, features: [...p.features] });

export const listPlans = (): PlanDetails[] => PLAN_IDS.map((id) => toDetails(PLANS[id]));

async function effective(ctx: RequestContext, orgId: string): Promise<EffectivePlan> {
  const plan = await ctx.services.plans.resolve(orgId);
  if (!plan) throw notFound("Organization");
  return plan;
}

function toOrganizationPlan(e: EffectivePlan): OrganizationPlan {
  return {
    organizationId: e.organizationId,
    plan: toDetails(e.plan),
    limits: { ...e.limits },
    features: [...e.features].sort(),
    limitOverrides: Object.entries(e.overrides.limits).map(([name, value]) => ({ name, value: value ?? null })),
    featuresEnabled: e.overrides.featuresEnabled,
    featuresDisabled: e.overrides.featuresDisabled,
  };
}

export async function currentPlan(ctx: RequestContext): Promise<OrganizationPlan> {
  return toOrganizationPlan(await effective(ctx, ctx.requireTenant().id));
}

function flag(e: EffectivePlan, name: Feature): FeatureFlag {
  const overridden = e.overrides.featuresEnabled.includes(name) || e.overrides.featuresDisabled.includes(name);
  return { name, description: FEATURES[name], enabled: e.features.has(name), source: overridden ? FeatureSourceEnum.OVERRIDE : FeatureSourceEnum.PLAN };
}

export async function features(ctx: RequestContext): Promise<FeatureFlag[]> {
  const e = await effective(ctx, ctx.requireTenant().id);
  return (Object.keys(FEATURES) as Feature[]).map((f) => flag(e, f));
}

export async function feature(ctx: RequestContext, name: string): Promise<FeatureFlag> {
  if (!isFeature(name)) throw badInput(`unknown feature; known: ${Object.keys(FEATURES).join(", ")}`, "name");
  return flag(await effective(ctx, ctx.requireTenant().id), name);
}

async function usageOf(ctx: RequestContext, org: Pick<OrganizationRecord, "id" | "slug" | "plan">): Promise<OrganizationUsage> {
  const e = await effective(ctx, org.id);
  const s = ctx.services;
  const [calls, generations, storage, members] = await Promise.all([
    s.limits.dailyCalls(org.id).catch(() => 0),
    s.quotas.generationsUsed(org.id),
    s.quotas.storageBytes(tenantRef(org.id).schema, org.id),
    s.quotas.membersUsed(org.id),
  ]);
  const quotas: QuotaUsage[] = [
    { quota: "apiCallsPerDay", used: calls, limit: e.limits.apiCallsPerDay, resetsAt: nextUtcMidnight() },
    { quota: "generationsPerMonth", used: generations, limit: e.limits.generationsPerMonth, resetsAt: nextMonthStart() },
    { quota: "storageBytes", used: storage, limit: e.limits.storageBytes, resetsAt: null },
    { quota: "members", used: members, limit: e.limits.members, resetsAt: null },
  ];
  return { id: org.id, organizationId: org.id, slug: org.slug, plan: e.plan.id as PlanEnum, quotas };
}

export async function usage(ctx: RequestContext): Promise<OrganizationUsage> {
  const org = await ctx.services.registry.get(ctx.requireTenant().id);
  if (!org) throw notFound("Organization");
  return usageOf(ctx, org);
}

/** Every organization's usage (platform staff), newest organizations first. */
export async function organizationsUsage(ctx: RequestContext, args: { first: number; after?: string | null }) {
  const first = checkPageSize(args.first);
  const after = decodeCursor(args.after);
  const db = ctx.services.db.control;
  const q = db.withSchema("control").table("organizations").select(ORG_COLUMNS).select(db.raw(`created_at::text as "_k"`)).where("status", "<>", "provisioning");
  if (after) q.whereRaw(`(created_at, id) < (?::timestamptz, ?::uuid)`, [after[0], after[1]]);
  const rows = (await q.orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }]).limit(first + 1)) as Array<OrganizationRecord & { _k: string }>;
  const usages = await Promise.all(rows.map(async (r) => ({ ...(await usageOf(ctx, r)), _k: r._k })));
  return toPage(usages, first, async () => Number((await db.withSchema("control").table("organizations").where("status", "<>", "provisioning").count({ n: "*" }).first())?.n ?? 0));
}

export async function setPlanOverrides(ctx: RequestContext, orgIdInput: string, input: PlanOverridesInput): Promise<OrganizationPlan> {
  const orgId = parseId(orgIdInput, "organizationId");
  if (!(await ctx.services.registry.get(orgId))) throw notFound("Organization");
  const overrides: PlanOverrides = { limits: {}, featuresEnabled: [], featuresDisabled: [] };
  for (const l of input.limits ?? []) {
    if (!(LIMIT_NAMES as readonly string[]).includes(l.name)) throw badInput(`unknown limit ${String(l.name).slice(0, 40)}; known: ${LIMIT_NAMES.join(", ")}`, "limits");
    const value = l.value ?? null;
    if (value !== null && (!Number.isInteger(value) || value < 0)) throw badInput(`${l.name} must be a non-negative integer or null`, "limits");
    overrides.limits[l.name as (typeof LIMIT_NAMES)[number]] = value;
  }
  for (const [list, field] of [[input.featuresEnabled, "featuresEnabled"], [input.featuresDisabled, "featuresDisabled"]] as const) {
    for (const f of list ?? []) {
      if (!isFeature(f)) throw badInput(`unknown feature ${String(f).slice(0, 40)}`, field);
      overrides[field].push(f);
    }
  }
  if (overrides.featuresEnabled.some((f) => overrides.featuresDisabled.includes(f))) throw badInput("a feature cannot be both enabled and disabled", "featuresEnabled");
  await ctx.services.plans.setOverrides(orgId, overrides);
  return toOrganizationPlan(await effective(ctx, orgId));
}
