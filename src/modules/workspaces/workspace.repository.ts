import type { Knex } from "knex";
import type { CursorKey } from "../common/connection.js";
import { countRows, listNewestFirst } from "../common/keyset.js";

export interface WorkspaceRow {
  id: string;
  name: string;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = ["id", "name", "description", "created_at as createdAt", "updated_at as updatedAt"];

export async function workspacesByIds(trx: Knex.Transaction, ids: readonly string[]): Promise<WorkspaceRow[]> {
  return trx("workspaces").select(COLUMNS).whereIn("id", ids as string[]);
}

export async function getWorkspace(trx: Knex.Transaction, id: string): Promise<WorkspaceRow | null> {
  return ((await trx("workspaces").first(COLUMNS).where({ id })) ?? null) as WorkspaceRow | null;
}

export function listWorkspaces(trx: Knex.Transaction, o: { first: number; after: CursorKey | null }) {
  return listNewestFirst<WorkspaceRow>(trx, "workspaces", COLUMNS, o);
}

export function countWorkspaces(trx: Knex.Transaction) {
  return countRows(trx, "workspaces");
}

export async function insertWorkspace(trx: Knex.Transaction, v: { name: string; description: string | null }): Promise<WorkspaceRow> {
  const [row] = await trx("workspaces").insert(v).returning(COLUMNS);
  return row as WorkspaceRow;
}

export async function updateWorkspace(trx: Knex.Transaction, id: string, patch: { name?: string; description?: string | null }): Promise<WorkspaceRow | null> {
  const [row] = await trx("workspaces").where({ id }).update({ ...patch, updated_at: trx.fn.now() }).returning(COLUMNS);
  return (row ?? null) as WorkspaceRow | null;
}

export async function deleteWorkspace(trx: Knex.Transaction, id: string): Promise<boolean> {
  return (await trx("workspaces").where({ id }).delete()) > 0;
}
