import { Arg, Args, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import type { OrgRole } from "../../permissions/matrix.js";
import { checkPageSize, decodeCursor, PageArgs, toPage } from "../common/connection.js";
import * as repo from "./member.repository.js";
import * as members from "./member.service.js";
import { AddMemberInput, Member, MemberConnection, OrgRoleEnum } from "./member.type.js";

@Resolver(() => Member)
export class MemberResolver {
  @Query(() => MemberConnection, { description: "Members of the current organization." })
  async members(@Ctx() ctx: RequestContext, @Args(() => PageArgs) page: PageArgs) {
    const first = checkPageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = await ctx.inTenant((trx) => repo.listMembers(trx, { first, after }));
    return toPage(rows, first, () => ctx.inTenant((t) => repo.countMembers(t)));
  }

  @Mutation(() => Member, { description: "Add a user (created if new) to the current organization." })
  addMember(@Ctx() ctx: RequestContext, @Arg("input", () => AddMemberInput) input: AddMemberInput) {
    return members.addMember(ctx, input);
  }

  @Mutation(() => Member)
  updateMemberRole(@Ctx() ctx: RequestContext, @Arg("userId", () => ID) userId: string, @Arg("role", () => OrgRoleEnum) role: OrgRoleEnum) {
    return members.updateMemberRole(ctx, userId, role as OrgRole);
  }

  @Mutation(() => ID, { description: "Remove a member; returns the user's id. Their access ends at their next token refresh." })
  removeMember(@Ctx() ctx: RequestContext, @Arg("userId", () => ID) userId: string) {
    return members.removeMember(ctx, userId);
  }
}
