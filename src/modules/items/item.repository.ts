// SQL for items. Every function runs inside a tenant-scoped transaction: table names are
// unqualified and resolve through the transaction-local search_path.
import type { Knex } from "knex";
import type { CursorKey } from "../common/connection.js";

export type ItemStatus = "open" | "done" | "archived";

export interface ItemRow {
  id: string;
  projectId: string;
  title: string;
  status: ItemStatus;
  tags: string[];
  payload: Record<string, unknown>;
  creatorId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ItemFilterValues {
  status?: ItemStatus | null;
  tag?: string | null;
  search?: string | null;
}

export type ItemSortColumn = "created_at" | "updated_at" | "title";

const COLUMNS = [
  "id", "project_id as projectId", "title", "status", "tags", "payload",
  "creator_id as creatorId", "created_at as createdAt", "updated_at as updatedAt",
];

function applyFilter(q: Knex.QueryBuilder, f: ItemFilterValues): Knex.QueryBuilder {
  if (f.status) q.where("status", f.status);
  if (f.tag) q.whereRaw("tags @> ARRAY[?]::text[]", [f.tag]);
  if (f.search) q.whereRaw("title ILIKE ? ESCAPE '\\'", [`%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`]);
  return q;
}

export async function listItems(
  trx: Knex.Transaction,
  o: { projectId: string; filter: ItemFilterValues; sort: ItemSortColumn; descending: boolean; first: number; after: CursorKey | null },
): Promise<Array<ItemRow & { _k: string }>> {
  const dir = o.descending ? "desc" : "asc";
  const q = trx("items").select(COLUMNS).select(trx.raw(`??::text as "_k"`, [o.sort])).where("project_id", o.projectId);
  applyFilter(q, o.filter);
  if (o.after) {
    const cast = o.sort === "title" ? "text" : "timestamptz";
    q.whereRaw(`(??, id) ${o.descending ? "<" : ">"} (?::${cast}, ?::uuid)`, [o.sort, o.after[0], o.after[1]]);
  }
  return q.orderBy([{ column: o.sort, order: dir }, { column: "id", order: dir }]).limit(o.first + 1);
}

export async function countItems(trx: Knex.Transaction, projectId: string, filter: ItemFilterValues): Promise<number> {
  const row = await applyFilter(trx("items").where("project_id", projectId), filter).count({ n: "*" }).first();
  return Number(row?.n ?? 0);
}

export async function getItem(trx: Knex.Transaction, id: string): Promise<ItemRow | null> {
  return ((await trx("items").first(COLUMNS).where({ id })) ?? null) as ItemRow | null;
}

export async function insertItem(
  trx: Knex.Transaction,
  v: { projectId: string; title: string; status: ItemStatus; tags: string[]; payload: Record<string, unknown>; creatorId: string | null },
): Promise<ItemRow> {
  const [row] = await trx("items")
    .insert({ project_id: v.projectId, title: v.title, status: v.status, tags: v.tags, payload: v.payload, creator_id: v.creatorId })
    .returning(COLUMNS);
  return row as ItemRow;
}

export async function updateItem(
  trx: Knex.Transaction,
  id: string,
  patch: Partial<Pick<ItemRow, "title" | "status" | "tags" | "payload">>,
): Promise<ItemRow | null> {
  const [row] = await trx("items").where({ id }).update({ ...patch, updated_at: trx.fn.now() }).returning(COLUMNS);
  return (row ?? null) as ItemRow | null;
}

export async function deleteItem(trx: Knex.Transaction, id: string): Promise<ItemRow | null> {
  const [row] = await trx("items").where({ id }).delete().returning(COLUMNS);
  return (row ?? null) as ItemRow | null;
}
