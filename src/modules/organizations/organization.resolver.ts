import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { PageArgs } from "../common/connection.js";
import * as orgs from "./organization.service.js";
import { CreateOrganizationInput, Organization, OrganizationConnection, UpdateOrganizationInput } from "./organization.type.js";

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => Organization, { description: "The organization you are acting in." })
  organization(@Ctx() ctx: RequestContext) {
    return orgs.currentOrganization(ctx);
  }

  @Query(() => OrganizationConnection, { description: "Every organization on the platform (platform staff)." })
  organizations(@Ctx() ctx: RequestContext, @Args(() => PageArgs) page: PageArgs) {
    return orgs.listOrganizations(ctx, page);
  }

  @Mutation(() => Organization, { description: "Create and provision an organization (platform staff)." })
  createOrganization(@Ctx() ctx: RequestContext, @Arg("input", () => CreateOrganizationInput) input: CreateOrganizationInput) {
    return orgs.createOrganization(ctx, input);
  }

  @Mutation(() => Organization, { description: "Change any organization's name, plan or status (platform staff)." })
  updateOrganization(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string, @Arg("input", () => UpdateOrganizationInput) input: UpdateOrganizationInput) {
    return orgs.updateOrganization(ctx, id, input);
  }

  @Mutation(() => Organization, { description: "Rename the organization you are acting in." })
  renameOrganization(@Ctx() ctx: RequestContext, @Arg("name", () => String) name: string) {
    return orgs.renameCurrentOrganization(ctx, name);
  }
}
