// Item use cases: input bounds, existence checks and change events. Runs in the caller's tenant scope.
import type { RequestContext } from "../../context/index.js";
import { badInput, notFound } from "../../errors/app-error.js";
import { parseId } from "../../tenancy/naming.js";
import { checkPageSize, decodeCursor, toPage } from "../common/connection.js";
import * as v from "../common/validation.js";
import { getProject } from "../projects/project.repository.js";
import { itemTopic, type ItemChangeKind } from "./item.events.js";
import type { CreateItemInput, ItemFilter, ItemOrder, UpdateItemInput } from "./item.input.js";
import * as repo from "./item.repository.js";

export const MAX_TITLE = 500;

function filterValues(f: ItemFilter | null | undefined): repo.ItemFilterValues {
  return {
    status: f?.status ?? null,
    tag: f?.tag != null ? v.text(f.tag, "filter.tag", v.MAX_TAG_LENGTH) : null,
    search: f?.search != null ? v.text(f.search, "filter.search", 200) : null,
  };
}

export async function listProjectItems(
  ctx: RequestContext,
  projectIdInput: string,
  args: { first: number; after?: string | null; filter?: ItemFilter | null; orderBy?: ItemOrder | null },
  { knownProject = false } = {},
) {
  const projectId = parseId(projectIdInput, "projectId");
  const first = checkPageSize(args.first);
  const filter = filterValues(args.filter);
  const sort = (args.orderBy?.field ?? "created_at") as repo.ItemSortColumn;
  const after = decodeCursor(args.after, sort === "title" ? "text" : "timestamp");
  const descending = (args.orderBy?.direction ?? "desc") === "desc";
  return ctx.inTenant(async (trx) => {
    const rows = await repo.listItems(trx, { projectId, filter, sort, descending, first, after });
    // An empty page must still distinguish "no items" from "no such project" (or another tenant's).
    if (rows.length === 0 && !knownProject && !(await getProject(trx, projectId))) throw notFound("Project");
    return toPage(rows, first, () => ctx.inTenant((t) => repo.countItems(t, projectId, filter)));
  });
}

export async function getItem(ctx: RequestContext, idInput: string) {
  const id = parseId(idInput);
  const item = await ctx.inTenant((trx) => repo.getItem(trx, id));
  if (!item) throw notFound("Item");
  return item;
}

function publish(ctx: RequestContext, kind: ItemChangeKind, item: repo.ItemRow) {
  const orgId = ctx.requireTenant().id;
  ctx.afterCommit(() => ctx.services.pubsub.publish("ITEM_CHANGED", itemTopic(orgId, item.projectId), { kind, item }));
}

export async function createItem(ctx: RequestContext, input: CreateItemInput) {
  const projectId = parseId(input.projectId, "projectId");
  const values = {
    projectId,
    title: v.text(input.title, "title", MAX_TITLE),
    status: (input.status ?? "open") as repo.ItemStatus,
    tags: v.tags(input.tags ?? []),
    payload: v.payload(input.payload ?? {}),
    creatorId: ctx.principal?.userId ?? null,
  };
  const item = await ctx.inTenant(async (trx) => {
    if (!(await getProject(trx, projectId))) throw notFound("Project");
    await ctx.services.quotas.consumeGeneration(ctx, trx);
    return repo.insertItem(trx, values);
  });
  publish(ctx, "CREATED", item);
  return item;
}

export async function updateItem(ctx: RequestContext, idInput: string, input: UpdateItemInput) {
  const id = parseId(idInput);
  const patch: Parameters<typeof repo.updateItem>[2] = {};
  if (input.title != null) patch.title = v.text(input.title, "title", MAX_TITLE);
  if (input.status != null) patch.status = input.status as repo.ItemStatus;
  if (input.tags != null) patch.tags = v.tags(input.tags);
  if (input.payload != null) patch.payload = v.payload(input.payload);
  if (Object.keys(patch).length === 0) throw badInput("nothing to update");
  const item = await ctx.inTenant((trx) => repo.updateItem(trx, id, patch));
  if (!item) throw notFound("Item");
  publish(ctx, "UPDATED", item);
  return item;
}

export async function deleteItem(ctx: RequestContext, idInput: string) {
  const id = parseId(idInput);
  const item = await ctx.inTenant((trx) => repo.deleteItem(trx, id));
  if (!item) throw notFound("Item");
  publish(ctx, "DELETED", item);
  return item.id;
}
