// Newest-first keyset listing shared by the simple tenant tables (workspaces, projects, members).
import type { Knex } from "knex";
import type { CursorKey } from "./connection.js";

export async function listNewestFirst<T>(
  trx: Knex.Transaction,
  table: string,
  columns: string[],
  o: { where?: Record<string, unknown>; first: number; after: CursorKey | null; idColumn?: string },
): Promise<Array<T & { _k: string }>> {
  const id = o.idColumn ?? "id";
  const q = trx(table).select(columns).select(trx.raw(`created_at::text as "_k"`));
  if (o.where) q.where(o.where);
  if (o.after) q.whereRaw(`(created_at, ??) < (?::timestamptz, ?::uuid)`, [id, o.after[0], o.after[1]]);
  return q.orderBy([{ column: "created_at", order: "desc" }, { column: id, order: "desc" }]).limit(o.first + 1);
}

export async function countRows(trx: Knex.Transaction, table: string, where?: Record<string, unknown>): Promise<number> {
  const q = trx(table);
  if (where) q.where(where);
  const row = await q.count({ n: "*" }).first();
  return Number(row?.n ?? 0);
}
