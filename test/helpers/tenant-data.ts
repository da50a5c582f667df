// Direct, privileged access to a tenant's rows for isolation tests: seed extra rows, list every id
// a tenant owns, and snapshot everything a tenant has (to prove another tenant's calls changed nothing).
// Uses the admin pool, so it sees the truth regardless of what the runtime role can reach.
import { randomBytes } from "node:crypto";
import type { App } from "../../src/app.js";
import { quoteIdent } from "../../src/db/knex.js";
import type { OrgRole } from "../../src/permissions/matrix.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { createUser, type TestOrg } from "./factories.js";

const TABLES = ["workspaces", "projects", "items", "members"] as const;

export function schemaOf(orgId: string): string {
  return quoteIdent(tenantRef(orgId).schema);
}

export interface TenantIds {
  workspaces: Set<string>;
  projects: Set<string>;
  items: Set<string>;
  members: Set<string>;
  /** Every id above, in one set. */
  all: Set<string>;
}

export async function tenantIds(app: App, orgId: string): Promise<TenantIds> {
  const s = schemaOf(orgId);
  const db = app.services.db.admin;
  const col = async (sql: string) => new Set<string>((await db.raw(sql)).rows.map((r: { id: string }) => r.id));
  const ids = {
    workspaces: await col(`SELECT id FROM ${s}.workspaces`),
    projects: await col(`SELECT id FROM ${s}.projects`),
    items: await col(`SELECT id FROM ${s}.items`),
    members: await col(`SELECT user_id AS id FROM ${s}.members`),
  };
  return { ...ids, all: new Set([...ids.workspaces, ...ids.projects, ...ids.items, ...ids.members]) };
}

/** Every row of the tenant's tables and its control-plane memberships, in a stable order. */
export async function dumpTenant(app: App, orgId: string): Promise<Record<string, unknown[]>> {
  const s = schemaOf(orgId);
  const db = app.services.db.admin;
  const out: Record<string, unknown[]> = {};
  for (const t of TABLES) out[t] = (await db.raw(`SELECT * FROM ${s}.${t} ORDER BY ${t === "members" ? "user_id" : "id"}`)).rows;
  out.memberships = await db.withSchema("control").table("memberships").where({ organization_id: orgId }).orderBy("user_id");
  out.organization = await db.withSchema("control").table("organizations").where({ id: orgId });
  return out;
}

/** Insert items into a project of the tenant; returns their ids in order. */
export async function seedItems(app: App, orgId: string, projectId: string, titles: string[], creatorId: string | null = null): Promise<string[]> {
  const s = schemaOf(orgId);
  const ids: string[] = [];
  for (const title of titles) {
    const { rows: [r] } = await app.services.db.admin.raw(
      `INSERT INTO ${s}.items (project_id, title, tags, payload, creator_id) VALUES (?, ?, ARRAY['seed'], '{"seed":true}', ?) RETURNING id`,
      [projectId, title, creatorId],
    );
    ids.push(r.id);
  }
  return ids;
}

/** A new workspace, project in it and item in that: disposable targets for destructive calls. */
export async function freshObjects(app: App, orgId: string, label = "fresh"): Promise<{ workspaceId: string; projectId: string; itemId: string }> {
  const s = schemaOf(orgId);
  const db = app.services.db.admin;
  const { rows: [w] } = await db.raw(`INSERT INTO ${s}.workspaces (name) VALUES (?) RETURNING id`, [`${label} workspace`]);
  const { rows: [p] } = await db.raw(`INSERT INTO ${s}.projects (workspace_id, name) VALUES (?, ?) RETURNING id`, [w.id, `${label} project`]);
  const [itemId] = await seedItems(app, orgId, p.id, [`${label} item`]);
  return { workspaceId: w.id, projectId: p.id, itemId: itemId! };
}

/** A new user who is a member of the organization (control membership + tenant projection). */
export async function addMemberRow(app: App, org: Pick<TestOrg, "id" | "slug">, role: OrgRole): Promise<string> {
  const email = `extra-${randomBytes(4).toString("hex")}-${org.slug}@example.test`;
  const id = await createUser(app, email, `extra ${role} of ${org.slug}`);
  const db = app.services.db.admin;
  await db.withSchema("control").table("memberships").insert({ user_id: id, organization_id: org.id, role });
  await db.raw(`INSERT INTO ${schemaOf(org.id)}.members (user_id, email, display_name, role) VALUES (?, ?, ?, ?)`, [id, email, `extra ${role} of ${org.slug}`, role]);
  return id;
}
