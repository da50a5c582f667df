import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ConnectionType } from "../../modules/common/connection.js";
import { PlanEnum } from "../../modules/organizations/organization.type.js";

@ObjectType({ description: "Limits of a plan; null means unlimited." })
export class PlanLimitsView {
  @Field(() => Int, { nullable: true, description: "GraphQL operations per UTC day." }) apiCallsPerDay!: number | null;
  @Field(() => Int, { nullable: true, description: "Item creations per calendar month (UTC)." }) generationsPerMonth!: number | null;
  @Field(() => Float, { nullable: true }) storageBytes!: number | null;
  @Field(() => Int, { nullable: true, description: "Seats." }) members!: number | null;
  @Field(() => Int, { nullable: true, description: "Requests per minute for the organization." }) requestsPerMinute!: number | null;
  @Field(() => Int, { nullable: true, description: "Query cost budget per minute." }) costPerMinute!: number | null;
}

@ObjectType({ description: "A plan from the catalogue." })
export class PlanDetails {
  @Field(() => PlanEnum) id!: PlanEnum;
  @Field(() => String) name!: string;
  @Field(() => Int, { nullable: true, description: "Monthly price in US cents; null: custom pricing." }) priceCentsPerMonth!: number | null;
  @Field(() => PlanLimitsView) limits!: PlanLimitsView;
  @Field(() => [String]) features!: string[];
}

export enum FeatureSourceEnum {
  PLAN = "PLAN",
  OVERRIDE = "OVERRIDE",
}
registerEnumType(FeatureSourceEnum, { name: "FeatureSource", description: "Where a feature's state comes from." });

@ObjectType({ description: "A feature flag resolved for the organization (plan plus overrides)." })
export class FeatureFlag {
  @Field(() => String) name!: string;
  @Field(() => String) description!: string;
  @Field(() => Boolean) enabled!: boolean;
  @Field(() => FeatureSourceEnum) source!: FeatureSourceEnum;
}

@ObjectType()
export class LimitOverride {
  @Field(() => String) name!: string;
  @Field(() => Float, { nullable: true, description: "null: unlimited." }) value!: number | null;
}

@ObjectType({ description: "An organization's plan, its overrides and the effective limits and features." })
export class OrganizationPlan {
  @Field(() => ID) organizationId!: string;
  @Field(() => PlanDetails) plan!: PlanDetails;
  @Field(() => PlanLimitsView, { description: "Plan limits with the overrides applied." }) limits!: PlanLimitsView;
  @Field(() => [String], { description: "Enabled features with the overrides applied." }) features!: string[];
  @Field(() => [LimitOverride]) limitOverrides!: LimitOverride[];
  @Field(() => [String]) featuresEnabled!: string[];
  @Field(() => [String]) featuresDisabled!: string[];
}

@ObjectType({ description: "Use of one quota in its current period." })
export class QuotaUsage {
  @Field(() => String, { description: "apiCallsPerDay, generationsPerMonth, storageBytes or members." }) quota!: string;
  @Field(() => Float) used!: number;
  @Field(() => Float, { nullable: true, description: "null: unlimited." }) limit!: number | null;
  @Field(() => Date, { nullable: true, description: "When the period ends; null for quotas without a period." }) resetsAt!: Date | null;
}

@ObjectType()
export class OrganizationUsage {
  @Field(() => ID) id!: string;
  @Field(() => ID) organizationId!: string;
  @Field(() => String) slug!: string;
  @Field(() => PlanEnum) plan!: PlanEnum;
  @Field(() => [QuotaUsage]) quotas!: QuotaUsage[];
}

export const OrganizationUsageConnection = ConnectionType(OrganizationUsage, "OrganizationUsage");

@InputType()
export class LimitOverrideInput {
  @Field(() => String, { description: "A limit name, e.g. requestsPerMinute." }) name!: string;
  @Field(() => Float, { nullable: true, description: "Omit or null: unlimited." }) value?: number | null;
}

@InputType({ description: "Replaces the organization's overrides as a whole." })
export class PlanOverridesInput {
  @Field(() => [LimitOverrideInput], { nullable: true }) limits?: LimitOverrideInput[] | null;
  @Field(() => [String], { nullable: true }) featuresEnabled?: string[] | null;
  @Field(() => [String], { nullable: true }) featuresDisabled?: string[] | null;
}
