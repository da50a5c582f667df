import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { notFound } from "../../errors/app-error.js";
import { parseId } from "../../tenancy/naming.js";
import { checkPageSize, decodeCursor, PageArgs, toPage } from "../common/connection.js";
import { namedPatch, namedValues } from "../common/named.service.js";
import { countProjects, listProjects } from "../projects/project.repository.js";
import { ProjectConnection } from "../projects/project.type.js";
import * as repo from "./workspace.repository.js";
import { CreateWorkspaceInput, UpdateWorkspaceInput, Workspace, WorkspaceConnection } from "./workspace.type.js";

@Resolver(() => Workspace)
export class WorkspaceResolver {
  @Query(() => WorkspaceConnection)
  async workspaces(@Ctx() ctx: RequestContext, @Args(() => PageArgs) page: PageArgs) {
    const first = checkPageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = await ctx.inTenant((trx) => repo.listWorkspaces(trx, { first, after }));
    return toPage(rows, first, () => ctx.inTenant((t) => repo.countWorkspaces(t)));
  }

  @Query(() => Workspace)
  async workspace(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    const w = await ctx.loaders.workspace.load(parseId(id));
    if (!w) throw notFound("Workspace");
    return w;
  }

  @Mutation(() => Workspace)
  createWorkspace(@Ctx() ctx: RequestContext, @Arg("input", () => CreateWorkspaceInput) input: CreateWorkspaceInput) {
    const values = namedValues(input);
    return ctx.inTenant((trx) => repo.insertWorkspace(trx, values));
  }

  @Mutation(() => Workspace)
  async updateWorkspace(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string, @Arg("input", () => UpdateWorkspaceInput) input: UpdateWorkspaceInput) {
    const wid = parseId(id);
    const patch = namedPatch(input);
    const w = await ctx.inTenant((trx) => repo.updateWorkspace(trx, wid, patch));
    if (!w) throw notFound("Workspace");
    return w;
  }

  @Mutation(() => ID, { description: "Delete a workspace with its projects and items; returns its id." })
  async deleteWorkspace(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    const wid = parseId(id);
    if (!(await ctx.inTenant((trx) => repo.deleteWorkspace(trx, wid)))) throw notFound("Workspace");
    return wid;
  }

  @FieldResolver(() => ProjectConnection)
  async projects(@Root() workspace: Workspace, @Ctx() ctx: RequestContext, @Args(() => PageArgs) page: PageArgs) {
    const first = checkPageSize(page.first);
    const after = decodeCursor(page.after);
    const rows = await ctx.inTenant((trx) => listProjects(trx, { workspaceId: workspace.id, first, after }));
    return toPage(rows, first, () => ctx.inTenant((t) => countProjects(t, workspace.id)));
  }
}
