import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { notFound } from "../../errors/app-error.js";
import { parseId } from "../../tenancy/naming.js";
import { PageArgs } from "../common/connection.js";
import { Member } from "../members/member.type.js";
import { getProject } from "../projects/project.repository.js";
import { Project } from "../projects/project.type.js";
import { itemTopic, type ItemChangedPayload } from "./item.events.js";
import { CreateItemInput, ItemFilter, ItemOrder, UpdateItemInput } from "./item.input.js";
import * as items from "./item.service.js";
import { Item, ItemChangedEvent, ItemConnection } from "./item.type.js";

@Resolver(() => Item)
export class ItemResolver {
  @Query(() => ItemConnection, { description: "Items of a project, newest first by default." })
  items(
    @Ctx() ctx: RequestContext,
    @Arg("projectId", () => ID) projectId: string,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => ItemFilter, { nullable: true }) filter?: ItemFilter,
    @Arg("orderBy", () => ItemOrder, { nullable: true }) orderBy?: ItemOrder,
  ) {
    return items.listProjectItems(ctx, projectId, { ...page, filter, orderBy });
  }

  @Query(() => Item)
  item(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    return items.getItem(ctx, id);
  }

  @Mutation(() => Item)
  createItem(@Ctx() ctx: RequestContext, @Arg("input", () => CreateItemInput) input: CreateItemInput) {
    return items.createItem(ctx, input);
  }

  @Mutation(() => Item)
  updateItem(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string, @Arg("input", () => UpdateItemInput) input: UpdateItemInput) {
    return items.updateItem(ctx, id, input);
  }

  @Mutation(() => ID, { description: "Delete an item; returns its id." })
  deleteItem(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    return items.deleteItem(ctx, id);
  }

  @Subscription(() => ItemChangedEvent, {
    description: "Changes to the items of one project of your organization.",
    subscribe: async ({ args, context }) => {
      const ctx = context as RequestContext;
      const projectId = parseId(args.projectId as string, "projectId");
      const orgId = ctx.requireTenant().id;
      if (!(await ctx.inTenant((trx) => getProject(trx, projectId)))) throw notFound("Project");
      return ctx.services.pubsub.subscribe("ITEM_CHANGED", itemTopic(orgId, projectId));
    },
  })
  itemChanged(@Arg("projectId", () => ID) _projectId: string, @Root() payload: ItemChangedPayload): ItemChangedEvent {
    return payload as unknown as ItemChangedEvent;
  }

  @FieldResolver(() => Project)
  async project(@Root() item: Item, @Ctx() ctx: RequestContext) {
    const p = await ctx.loaders.project.load(item.projectId);
    if (!p) throw notFound("Project");
    return p;
  }

  @FieldResolver(() => Member, { nullable: true, description: "Who created the item; null if they have left." })
  creator(@Root() item: Item, @Ctx() ctx: RequestContext) {
    return item.creatorId ? ctx.loaders.member.load(item.creatorId) : null;
  }
}
