import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import type { Granularity, TenantOrder } from "./analytics.service.js";

export enum GranularityEnum { MINUTE = "MINUTE", HOUR = "HOUR", DAY = "DAY" }
registerEnumType(GranularityEnum, { name: "UsageGranularity", description: "Roll-up size of a usage series." });
export enum TenantOrderEnum { CALLS = "CALLS", ERRORS = "ERRORS", COST = "COST" }
registerEnumType(TenantOrderEnum, { name: "TenantUsageOrder" });
export enum AlertKindEnum { QUOTA = "QUOTA", ERROR_RATE = "ERROR_RATE", LATENCY_P95 = "LATENCY_P95" }
registerEnumType(AlertKindEnum, { name: "AlertKind" });
export enum AlertSeverityEnum { WARNING = "WARNING", ERROR = "ERROR" }
registerEnumType(AlertSeverityEnum, { name: "AlertSeverity" });
export enum CostMetricEnum { API_CALLS = "API_CALLS", GENERATIONS = "GENERATIONS", STORAGE = "STORAGE", EXECUTIONS = "EXECUTIONS" }
registerEnumType(CostMetricEnum, { name: "CostMetric" });

export const asGranularity = (g: GranularityEnum) => g as Granularity;
export const asTenantOrder = (o: TenantOrderEnum) => o as TenantOrder;

@InputType({ description: "A time range [from, to), aligned outward to whole buckets." })
export class TimeRangeInput {
  @Field(() => Date) from!: Date;
  @Field(() => Date) to!: Date;
}

@ObjectType({ description: "Usage in one bucket of a series." })
export class UsagePoint {
  @Field(() => Date) bucket!: Date;
  @Field(() => Float) calls!: number;
  @Field(() => Float) errors!: number;
  @Field(() => Float, { description: "errors / calls (0..1)" }) errorRate!: number;
  @Field(() => Float) bytesOut!: number;
  @Field(() => Float, { description: "Billable item creations" }) generations!: number;
  @Field(() => Float) executions!: number;
  @Field(() => Float, { nullable: true }) avgLatencyMs!: number | null;
  @Field(() => Float, { nullable: true }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => Float, { nullable: true }) p99Ms!: number | null;
}

@ObjectType()
export class OperationUsage {
  @Field(() => String) name!: string;
  @Field(() => String, { description: "query, mutation, subscription or unknown (failed before parsing)" }) type!: string;
  @Field(() => Float) calls!: number;
  @Field(() => Float) errors!: number;
  @Field(() => Float) errorRate!: number;
  @Field(() => Float, { nullable: true }) avgLatencyMs!: number | null;
  @Field(() => Float, { nullable: true }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => Float, { nullable: true }) p99Ms!: number | null;
}

@ObjectType()
export class ErrorCount {
  @Field(() => String) code!: string;
  @Field(() => Float) count!: number;
}

@ObjectType()
export class AnalyticsSummary {
  @Field(() => Date) from!: Date;
  @Field(() => Date) to!: Date;
  @Field(() => GranularityEnum, { description: "Roll-up the summary was computed from (the range is aligned to it)" }) granularity!: GranularityEnum;
  @Field(() => Float) calls!: number;
  @Field(() => Float) errors!: number;
  @Field(() => Float) errorRate!: number;
  @Field(() => Float) bytesOut!: number;
  @Field(() => Float) generations!: number;
  @Field(() => Float) executions!: number;
  @Field(() => Float, { nullable: true }) avgLatencyMs!: number | null;
  @Field(() => Float, { nullable: true }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => Float, { nullable: true }) p99Ms!: number | null;
  @Field(() => [OperationUsage], { description: "Top 10 operations by calls" }) topOperations!: OperationUsage[];
  @Field(() => [ErrorCount]) errorBreakdown!: ErrorCount[];
  @Field(() => Int, { description: "Distinct users who made at least one call on the days of the range" }) activeUsers!: number;
}

@ObjectType()
export class DailyActiveUsers {
  @Field(() => String) day!: string;
  @Field(() => Int) users!: number;
}

@ObjectType()
export class CostLineItem {
  @Field(() => CostMetricEnum) metric!: CostMetricEnum;
  @Field(() => Float) quantity!: number;
  @Field(() => Float) unitPriceCents!: number;
  @Field(() => Float) amountCents!: number;
}

@ObjectType()
export class PriceItem {
  @Field(() => CostMetricEnum) metric!: CostMetricEnum;
  @Field(() => String) description!: string;
  @Field(() => String) unit!: string;
  @Field(() => Float) unitPriceCents!: number;
}

@ObjectType({ description: "Cost of a calendar month (UTC) to date, and its month-end forecast from the recent trend." })
export class CostReport {
  @Field(() => Date) periodStart!: Date;
  @Field(() => Date) periodEnd!: Date;
  @Field(() => Date) asOf!: Date;
  @Field(() => [CostLineItem]) lines!: CostLineItem[];
  @Field(() => Float) totalCents!: number;
  @Field(() => [CostLineItem]) forecastLines!: CostLineItem[];
  @Field(() => Float) forecastTotalCents!: number;
  @Field(() => Float) storageBytes!: number;
}

@ObjectType()
export class TenantUsage {
  @Field(() => ID) organizationId!: string;
  @Field(() => String) slug!: string;
  @Field(() => String) name!: string;
  @Field(() => String) plan!: string;
  @Field(() => Float) calls!: number;
  @Field(() => Float) errors!: number;
  @Field(() => Float) errorRate!: number;
  @Field(() => Float) generations!: number;
  @Field(() => Float) executions!: number;
  @Field(() => Float) costCents!: number;
}

@ObjectType({ description: "Live figures of your organization; pushed every second while there is traffic." })
export class UsageUpdate {
  @Field(() => ID) organizationId!: string;
  @Field(() => ID, { description: "The gateway replica that measured this second" }) replicaId!: string;
  @Field(() => Date) at!: Date;
  @Field(() => Int) windowSeconds!: number;
  @Field(() => Int) calls!: number;
  @Field(() => Int) errors!: number;
  @Field(() => Float) errorRate!: number;
  @Field(() => Float, { nullable: true }) p50Ms!: number | null;
  @Field(() => Float, { nullable: true }) p95Ms!: number | null;
  @Field(() => Float, { nullable: true }) p99Ms!: number | null;
  @Field(() => Float) bytesOut!: number;
  @Field(() => Float) callsToday!: number;
  @Field(() => Float, { nullable: true, description: "null: unlimited" }) apiCallsPerDay!: number | null;
  @Field(() => Float, { nullable: true, description: "API calls left today; null: unlimited" }) quotaRemaining!: number | null;
  @Field(() => Float) generationsThisMonth!: number;
  @Field(() => Float) costToDateCents!: number;
}

@ObjectType({ description: "Current totals of your organization (the same figures usageUpdated carries)." })
export class UsageTotals {
  @Field(() => Float) callsToday!: number;
  @Field(() => Float, { nullable: true }) apiCallsPerDay!: number | null;
  @Field(() => Float, { nullable: true }) quotaRemaining!: number | null;
  @Field(() => Float) generationsThisMonth!: number;
  @Field(() => Float) costToDateCents!: number;
}

@ObjectType()
export class Alert {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => AlertKindEnum) kind!: AlertKindEnum;
  @Field(() => AlertSeverityEnum) severity!: AlertSeverityEnum;
  @Field(() => String) message!: string;
  @Field(() => Float) value!: number;
  @Field(() => Float) threshold!: number;
  @Field(() => Date) at!: Date;
}

@ObjectType({ description: "Alert thresholds of an organization (defaults from the product notes)." })
export class AlertThresholds {
  @Field(() => Float) quotaWarningPercent!: number;
  @Field(() => Float) quotaErrorPercent!: number;
  @Field(() => Float) errorRatePercent!: number;
  @Field(() => Float) p95WarningMs!: number;
  @Field(() => Float) p95ErrorMs!: number;
  @Field(() => Int) minCalls!: number;
}

@InputType()
export class AlertThresholdsInput {
  @Field(() => Float, { nullable: true }) quotaWarningPercent?: number;
  @Field(() => Float, { nullable: true }) quotaErrorPercent?: number;
  @Field(() => Float, { nullable: true }) errorRatePercent?: number;
  @Field(() => Float, { nullable: true }) p95WarningMs?: number;
  @Field(() => Float, { nullable: true }) p95ErrorMs?: number;
  @Field(() => Int, { nullable: true }) minCalls?: number;
}
