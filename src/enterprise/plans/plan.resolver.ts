import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { PageArgs } from "../../modules/common/connection.js";
import * as plans from "./plan.service.js";
import { FeatureFlag, OrganizationPlan, OrganizationUsage, OrganizationUsageConnection, PlanDetails, PlanOverridesInput } from "./plan.type.js";

@Resolver()
export class PlanResolver {
  @Query(() => [PlanDetails], { description: "The plan catalogue." })
  plans() {
    return plans.listPlans();
  }

  @Query(() => OrganizationPlan, { description: "The current organization's plan, overrides and effective limits." })
  organizationPlan(@Ctx() ctx: RequestContext) {
    return plans.currentPlan(ctx);
  }

  @Query(() => [FeatureFlag], { description: "Every feature flag, resolved for the current organization." })
  features(@Ctx() ctx: RequestContext) {
    return plans.features(ctx);
  }

  @Query(() => FeatureFlag, { description: "One feature flag, resolved for the current organization." })
  feature(@Ctx() ctx: RequestContext, @Arg("name", () => String) name: string) {
    return plans.feature(ctx, name);
  }

  @Query(() => OrganizationUsage, { description: "The current organization's use of its quotas in the current period." })
  quotaUsage(@Ctx() ctx: RequestContext) {
    return plans.usage(ctx);
  }

  @Query(() => OrganizationUsageConnection, { description: "Quota use of every organization (platform staff)." })
  organizationsUsage(@Ctx() ctx: RequestContext, @Args(() => PageArgs) page: PageArgs) {
    return plans.organizationsUsage(ctx, page);
  }

  @Mutation(() => OrganizationPlan, { description: "Replace an organization's limit and feature overrides (platform staff). Applies at once." })
  setPlanOverrides(
    @Ctx() ctx: RequestContext,
    @Arg("organizationId", () => ID) organizationId: string,
    @Arg("input", () => PlanOverridesInput) input: PlanOverridesInput,
  ) {
    return plans.setPlanOverrides(ctx, organizationId, input);
  }
}
