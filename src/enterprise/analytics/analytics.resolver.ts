// Usage analytics, cost and live usage over GraphQL. Permissions are in ROOT_FIELD_RULES
// (analytics:read for the caller's organization, platform:manage across organizations); every
// organization-scoped field and subscription reads the organization from the credential only.
import { Arg, Ctx, Int, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { badInput } from "../../errors/app-error.js";
import { DEFAULT_THRESHOLDS, effectiveThresholds, thresholdsSchema } from "../metering/alerts.js";
import type { AlertPayload, UsageTickPayload } from "../metering/events.js";
import { PRICING } from "../metering/pricing.js";
import * as analytics from "./analytics.service.js";
import { withControlStatements } from "../../tenancy/scope.js";
import { enrichAudit } from "../audit/recorder.js";
import {
  Alert, AlertThresholds, AlertThresholdsInput, AnalyticsSummary, CostReport, DailyActiveUsers, GranularityEnum, PriceItem,
  TenantOrderEnum, TenantUsage, TimeRangeInput, UsagePoint, UsageTotals, UsageUpdate, asGranularity, asTenantOrder,
} from "./analytics.types.js";

const USAGE_QUEUE = 4; // usage figures coalesce: a slow subscriber keeps only the latest few
const ALERT_QUEUE = 100;

function liveSubscribe(channel: "USAGE_UPDATED" | "ALERT_RAISED", platform: boolean) {
  return ({ context }: { context: unknown }) => {
    const ctx = context as RequestContext;
    const topic = platform ? "all" : ctx.requireTenant().id;
    return ctx.services.metering.hub.subscribe(channel, topic, {
      socket: ctx.socket,
      maxQueue: channel === "USAGE_UPDATED" ? USAGE_QUEUE : ALERT_QUEUE,
    });
  };
}

const toUsage = (p: UsageTickPayload): UsageUpdate => ({ ...p, at: new Date(p.at) }) as unknown as UsageUpdate;
const toAlert = (p: AlertPayload): Alert => ({ ...p, at: new Date(p.at) }) as unknown as Alert;

@Resolver()
export class AnalyticsResolver {
  @Query(() => [UsagePoint], { description: "Your organization's usage as a time series." })
  usage(
    @Ctx() ctx: RequestContext,
    @Arg("range", () => TimeRangeInput) range: TimeRangeInput,
    @Arg("granularity", () => GranularityEnum) granularity: GranularityEnum,
  ) {
    return analytics.usageSeries(ctx.services.db.control, ctx.requireTenant().id, range, asGranularity(granularity));
  }

  @Query(() => AnalyticsSummary, { description: "Totals, error rate, latency percentiles, top operations, errors by code and active users." })
  analyticsSummary(@Ctx() ctx: RequestContext, @Arg("range", () => TimeRangeInput) range: TimeRangeInput) {
    return analytics.summary(ctx.services.db.control, ctx.requireTenant().id, range);
  }

  @Query(() => [DailyActiveUsers], { description: "Distinct active users per UTC day." })
  activeUsers(@Ctx() ctx: RequestContext, @Arg("range", () => TimeRangeInput) range: TimeRangeInput) {
    return analytics.activeUsersPerDay(ctx.services.db.control, ctx.requireTenant().id, range);
  }

  @Query(() => CostReport, { description: "Cost of a month to date (default: the current UTC month) and its month-end forecast." })
  usageCost(@Ctx() ctx: RequestContext, @Arg("month", () => String, { nullable: true, description: "YYYY-MM" }) month?: string) {
    return analytics.costReport(ctx.services.db.control, ctx.requireTenant().id, month);
  }

  @Query(() => String, { description: "Usage and cost per bucket and operation as CSV." })
  usageExport(
    @Ctx() ctx: RequestContext,
    @Arg("range", () => TimeRangeInput) range: TimeRangeInput,
    @Arg("granularity", () => GranularityEnum, { defaultValue: GranularityEnum.DAY }) granularity: GranularityEnum,
  ) {
    return analytics.usageCsv(ctx.services.db.control, ctx.requireTenant().id, range, asGranularity(granularity));
  }

  @Query(() => UsageTotals, { description: "Live totals: calls today, quota remaining, cost to date." })
  currentUsage(@Ctx() ctx: RequestContext) {
    return ctx.services.metering.liveTotals(ctx.requireTenant().id);
  }

  @Query(() => [PriceItem], { description: "The price list." })
  pricing() {
    return Object.values(PRICING);
  }

  @Query(() => AlertThresholds)
  async alertThresholds(@Ctx() ctx: RequestContext) {
    const row = await ctx.services.db.control.withSchema("control").table("alert_settings").first("thresholds")
      .where({ organization_id: ctx.requireTenant().id });
    return effectiveThresholds(row?.thresholds);
  }

  @Mutation(() => AlertThresholds, { description: "Change your organization's alert thresholds (omitted fields keep their value; null resets to the default)." })
  async updateAlertThresholds(@Ctx() ctx: RequestContext, @Arg("input", () => AlertThresholdsInput) input: AlertThresholdsInput) {
    const tenant = ctx.requireTenant();
    const orgId = tenant.id;
    // In the request's tenant transaction: the change and its audit event commit together.
    const { before, full } = await ctx.inTenant((trx) => withControlStatements(trx, tenant, async () => {
      const row = await trx.withSchema("control").table("alert_settings").first("thresholds").where({ organization_id: orgId }).forUpdate();
      const merged: Record<string, unknown> = { ...(row?.thresholds ?? {}) };
      for (const [k, v] of Object.entries(input)) {
        if (v === undefined) continue;
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      const parsed = thresholdsSchema.partial().safeParse(merged);
      if (!parsed.success) throw badInput(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "), "input");
      const full = { ...DEFAULT_THRESHOLDS, ...parsed.data };
      if (full.quotaWarningPercent > full.quotaErrorPercent || full.p95WarningMs > full.p95ErrorMs)
        throw badInput("warning thresholds must not exceed error thresholds", "input");
      await trx.raw(
        `INSERT INTO control.alert_settings (organization_id, thresholds) VALUES (?, ?::jsonb)
         ON CONFLICT (organization_id) DO UPDATE SET thresholds = EXCLUDED.thresholds, updated_at = now()`,
        [orgId, JSON.stringify(parsed.data)],
      );
      return { before: effectiveThresholds(row?.thresholds), full };
    }));
    enrichAudit({ resourceType: "Organization", resourceId: orgId, before, after: full });
    ctx.afterCommit(() => ctx.services.metering.invalidate(orgId));
    return full;
  }

  @Query(() => AnalyticsSummary, { description: "Platform staff: the summary across every organization." })
  platformAnalyticsSummary(@Ctx() ctx: RequestContext, @Arg("range", () => TimeRangeInput) range: TimeRangeInput) {
    return analytics.summary(ctx.services.db.control, null, range);
  }

  @Query(() => [TenantUsage], { description: "Platform staff: organizations ranked by calls, errors or cost over a range." })
  topTenants(
    @Ctx() ctx: RequestContext,
    @Arg("range", () => TimeRangeInput) range: TimeRangeInput,
    @Arg("orderBy", () => TenantOrderEnum, { defaultValue: TenantOrderEnum.CALLS }) orderBy: TenantOrderEnum,
    @Arg("first", () => Int, { defaultValue: 10 }) first: number,
  ) {
    return analytics.topTenants(ctx.services.db.control, range, asTenantOrder(orderBy), first);
  }

  @Subscription(() => UsageUpdate, {
    description: "Your organization's live figures, every second while there is traffic (one event per measuring replica).",
    subscribe: liveSubscribe("USAGE_UPDATED", false),
  })
  usageUpdated(@Root() p: UsageTickPayload): UsageUpdate {
    return toUsage(p);
  }

  @Subscription(() => Alert, { description: "Threshold alerts of your organization.", subscribe: liveSubscribe("ALERT_RAISED", false) })
  alertRaised(@Root() p: AlertPayload): Alert {
    return toAlert(p);
  }

  @Subscription(() => UsageUpdate, { description: "Platform staff: every organization's live figures.", subscribe: liveSubscribe("USAGE_UPDATED", true) })
  platformUsageUpdated(@Root() p: UsageTickPayload): UsageUpdate {
    return toUsage(p);
  }

  @Subscription(() => Alert, { description: "Platform staff: every organization's alerts.", subscribe: liveSubscribe("ALERT_RAISED", true) })
  platformAlertRaised(@Root() p: AlertPayload): Alert {
    return toAlert(p);
  }
}
