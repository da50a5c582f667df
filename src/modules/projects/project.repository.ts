import type { Knex } from "knex";
import type { CursorKey } from "../common/connection.js";
import { countRows, listNewestFirst } from "../common/keyset.js";

export interface ProjectRow {
  id: string;
  workspaceId: string;
  name: string;
  description: string | null;
  createdAt: Date;
  updatedAt: Date;
}

const COLUMNS = ["id", "workspace_id as workspaceId", "name", "description", "created_at as createdAt", "updated_at as updatedAt"];

export async function projectsByIds(trx: Knex.Transaction, ids: readonly string[]): Promise<ProjectRow[]> {
  return trx("projects").select(COLUMNS).whereIn("id", ids as string[]);
}

export async function getProject(trx: Knex.Transaction, id: string): Promise<ProjectRow | null> {
  return ((await trx("projects").first(COLUMNS).where({ id })) ?? null) as ProjectRow | null;
}

export function listProjects(trx: Knex.Transaction, o: { workspaceId?: string; first: number; after: CursorKey | null }) {
  return listNewestFirst<ProjectRow>(trx, "projects", COLUMNS, { where: o.workspaceId ? { workspace_id: o.workspaceId } : undefined, first: o.first, after: o.after });
}

export function countProjects(trx: Knex.Transaction, workspaceId?: string) {
  return countRows(trx, "projects", workspaceId ? { workspace_id: workspaceId } : undefined);
}

export async function insertProject(trx: Knex.Transaction, v: { workspaceId: string; name: string; description: string | null }): Promise<ProjectRow> {
  const [row] = await trx("projects").insert({ workspace_id: v.workspaceId, name: v.name, description: v.description }).returning(COLUMNS);
  return row as ProjectRow;
}

export async function updateProject(trx: Knex.Transaction, id: string, patch: { name?: string; description?: string | null }): Promise<ProjectRow | null> {
  const [row] = await trx("projects").where({ id }).update({ ...patch, updated_at: trx.fn.now() }).returning(COLUMNS);
  return (row ?? null) as ProjectRow | null;
}

export async function deleteProject(trx: Knex.Transaction, id: string): Promise<boolean> {
  return (await trx("projects").where({ id }).delete()) > 0;
}
