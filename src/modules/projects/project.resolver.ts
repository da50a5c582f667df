import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { notFound } from "../../errors/app-error.js";
import { parseId } from "../../tenancy/naming.js";
import { checkPageSize, decodeCursor, PageArgs, toPage } from "../common/connection.js";
import { namedPatch, namedValues } from "../common/named.service.js";
import { ItemFilter, ItemOrder } from "../items/item.input.js";
import { listProjectItems } from "../items/item.service.js";
import { ItemConnection } from "../items/item.type.js";
import { getWorkspace } from "../workspaces/workspace.repository.js";
import { Workspace } from "../workspaces/workspace.type.js";
import * as repo from "./project.repository.js";
import { CreateProjectInput, Project, ProjectConnection, UpdateProjectInput } from "./project.type.js";

@Resolver(() => Project)
export class ProjectResolver {
  @Query(() => ProjectConnection, { description: "Projects of the organization, optionally of one workspace." })
  async projects(
    @Ctx() ctx: RequestContext,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("workspaceId", () => ID, { nullable: true }) workspaceIdInput?: string,
  ) {
    const workspaceId = workspaceIdInput != null ? parseId(workspaceIdInput, "workspaceId") : undefined;
    const first = checkPageSize(page.first);
    const after = decodeCursor(page.after);
    return ctx.inTenant(async (trx) => {
      const rows = await repo.listProjects(trx, { workspaceId, first, after });
      if (workspaceId && rows.length === 0 && !(await getWorkspace(trx, workspaceId))) throw notFound("Workspace");
      return toPage(rows, first, () => ctx.inTenant((t) => repo.countProjects(t, workspaceId)));
    });
  }

  @Query(() => Project)
  async project(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    const p = await ctx.loaders.project.load(parseId(id));
    if (!p) throw notFound("Project");
    return p;
  }

  @Mutation(() => Project)
  async createProject(@Ctx() ctx: RequestContext, @Arg("input", () => CreateProjectInput) input: CreateProjectInput) {
    const workspaceId = parseId(input.workspaceId, "workspaceId");
    const values = namedValues(input);
    return ctx.inTenant(async (trx) => {
      if (!(await getWorkspace(trx, workspaceId))) throw notFound("Workspace");
      return repo.insertProject(trx, { workspaceId, ...values });
    });
  }

  @Mutation(() => Project)
  async updateProject(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string, @Arg("input", () => UpdateProjectInput) input: UpdateProjectInput) {
    const pid = parseId(id);
    const patch = namedPatch(input);
    const p = await ctx.inTenant((trx) => repo.updateProject(trx, pid, patch));
    if (!p) throw notFound("Project");
    return p;
  }

  @Mutation(() => ID, { description: "Delete a project and its items; returns its id." })
  async deleteProject(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    const pid = parseId(id);
    if (!(await ctx.inTenant((trx) => repo.deleteProject(trx, pid)))) throw notFound("Project");
    return pid;
  }

  @FieldResolver(() => Workspace)
  async workspace(@Root() project: Project, @Ctx() ctx: RequestContext) {
    const w = await ctx.loaders.workspace.load(project.workspaceId);
    if (!w) throw notFound("Workspace");
    return w;
  }

  @FieldResolver(() => ItemConnection)
  items(
    @Root() project: Project,
    @Ctx() ctx: RequestContext,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => ItemFilter, { nullable: true }) filter?: ItemFilter,
    @Arg("orderBy", () => ItemOrder, { nullable: true }) orderBy?: ItemOrder,
  ) {
    return listProjectItems(ctx, project.id, { ...page, filter, orderBy }, { knownProject: true });
  }
}
