// Members live in two places by design: control.memberships is the registry used for login and
// authorization; the tenant's own `members` table is a projection so tenant queries (an item's
// creator) never leave the tenant scope. Both are written in one transaction.
import type { Knex } from "knex";
import type { OrgRole } from "../../permissions/matrix.js";
import type { CursorKey } from "../common/connection.js";
import { countRows, listNewestFirst } from "../common/keyset.js";

export interface MemberRow {
  id: string;
  email: string;
  displayName: string;
  role: OrgRole;
  createdAt: Date;
}

const COLUMNS = ["user_id as id", "email", "display_name as displayName", "role", "created_at as createdAt"];

export async function membersByIds(trx: Knex.Transaction, ids: readonly string[]): Promise<MemberRow[]> {
  return trx("members").select(COLUMNS).whereIn("user_id", ids as string[]);
}

export function listMembers(trx: Knex.Transaction, o: { first: number; after: CursorKey | null }) {
  return listNewestFirst<MemberRow>(trx, "members", COLUMNS, { ...o, idColumn: "user_id" });
}

export function countMembers(trx: Knex.Transaction) {
  return countRows(trx, "members");
}

/** Tenant projection: insert or refresh one member (inside the tenant scope). */
export async function upsertMemberProjection(trx: Knex.Transaction, m: { id: string; email: string; displayName: string; role: OrgRole }) {
  await trx("members")
    .insert({ user_id: m.id, email: m.email, display_name: m.displayName, role: m.role })
    .onConflict("user_id")
    .merge({ email: m.email, display_name: m.displayName, role: m.role, updated_at: trx.fn.now() });
}

export async function setMemberProjectionRole(trx: Knex.Transaction, userId: string, role: OrgRole): Promise<MemberRow | null> {
  const [row] = await trx("members").where({ user_id: userId }).update({ role, updated_at: trx.fn.now() }).returning(COLUMNS);
  return (row ?? null) as MemberRow | null;
}

export async function deleteMemberProjection(trx: Knex.Transaction, userId: string) {
  await trx("members").where({ user_id: userId }).delete();
}

// ---- control plane (schema-qualified; runs before the transaction enters the tenant scope) ----

const memberships = (trx: Knex.Transaction) => trx.withSchema("control").table("memberships");

export async function findUserByEmail(trx: Knex.Transaction, email: string) {
  return trx.withSchema("control").table("users").first("id", "email", "display_name as displayName").where({ email });
}

export async function insertUser(trx: Knex.Transaction, v: { email: string; displayName: string; passwordHash: string | null }) {
  const [row] = await trx.withSchema("control").table("users")
    .insert({ email: v.email, display_name: v.displayName, password_hash: v.passwordHash })
    .returning(["id", "email", "display_name as displayName"]);
  return row as { id: string; email: string; displayName: string };
}

export async function getMembership(trx: Knex.Transaction, orgId: string, userId: string) {
  return memberships(trx).first("role").where({ organization_id: orgId, user_id: userId }).forUpdate();
}

export async function insertMembership(trx: Knex.Transaction, orgId: string, userId: string, role: OrgRole) {
  await memberships(trx).insert({ organization_id: orgId, user_id: userId, role });
}

export async function setMembershipRole(trx: Knex.Transaction, orgId: string, userId: string, role: OrgRole) {
  await memberships(trx).where({ organization_id: orgId, user_id: userId }).update({ role });
}

export async function deleteMembership(trx: Knex.Transaction, orgId: string, userId: string) {
  await memberships(trx).where({ organization_id: orgId, user_id: userId }).delete();
}

/** Lock the organization's admin memberships (in user_id order) and count them (guards removing the last admin). */
export async function countAdminsForUpdate(trx: Knex.Transaction, orgId: string): Promise<number> {
  const rows = await memberships(trx).select("user_id").where({ organization_id: orgId, role: "ADMIN" }).orderBy("user_id").forUpdate();
  return rows.length;
}
