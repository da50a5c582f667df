// Test data built through the real provisioning code: an organization with one user per role,
// a workspace and a project. Tokens are issued by the app's own TokenService.
import { randomBytes } from "node:crypto";
import type { App } from "../../src/app.js";
import { hashPassword } from "../../src/auth/passwords.js";
import { quoteIdent } from "../../src/db/knex.js";
import { ORG_ROLES, type OrgRole } from "../../src/permissions/matrix.js";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { tenantRef } from "../../src/tenancy/scope.js";

export const TEST_PASSWORD = "correct horse battery staple";
let passwordHash: Promise<string> | undefined;

export interface TestUser {
  id: string;
  email: string;
  token: string;
}

export interface TestOrg {
  id: string;
  slug: string;
  users: Record<OrgRole, TestUser>;
  workspaceId: string;
  projectId: string;
}

export function uniqueSlug(prefix = "org"): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export async function createUser(app: App, email: string, displayName: string, superAdmin = false): Promise<string> {
  passwordHash ??= hashPassword(TEST_PASSWORD);
  const [row] = await app.services.db.admin.withSchema("control").table("users")
    .insert({ email, display_name: displayName, password_hash: await passwordHash, is_super_admin: superAdmin })
    .returning("id");
  return row.id;
}

/**
 * An access token backed by a live login, as `login` would issue it: a refresh-session family
 * (whose refresh token nobody knows) with the token's `sid`. switchOrganization refuses tokens
 * whose login has ended or never existed.
 */
export async function issueToken(app: App, claims: { sub: string; org?: string; role?: OrgRole; sa?: boolean }): Promise<string> {
  const sid = crypto.randomUUID();
  await app.services.db.admin.withSchema("control").table("refresh_sessions").insert({
    family_id: sid,
    user_id: claims.sub,
    organization_id: claims.org ?? null,
    token_hash: randomBytes(32),
    expires_at: new Date(Date.now() + 86_400_000),
  });
  return app.services.tokens.signAccess({ ...claims, sid });
}

export async function createSuperAdmin(app: App): Promise<TestUser> {
  const email = `root-${randomBytes(4).toString("hex")}@platform.test`;
  const id = await createUser(app, email, "Root", true);
  return { id, email, token: await issueToken(app, { sub: id, sa: true }) };
}

export async function createOrg(app: App, prefix = "org"): Promise<TestOrg> {
  const admin = app.services.db.admin;
  const slug = uniqueSlug(prefix);
  const { organization } = await provisionOrganization(admin, { slug, name: `Org ${slug}` }, { appRole: app.services.config.database.appRole });
  const schema = quoteIdent(tenantRef(organization.id).schema);
  const users = {} as Record<OrgRole, TestUser>;
  for (const role of ORG_ROLES) {
    const email = `${role.toLowerCase()}-${slug}@example.test`;
    const id = await createUser(app, email, `${role} of ${slug}`);
    await admin.withSchema("control").table("memberships").insert({ user_id: id, organization_id: organization.id, role });
    await admin.raw(`INSERT INTO ${schema}.members (user_id, email, display_name, role) VALUES (?, ?, ?, ?)`, [id, email, `${role} of ${slug}`, role]);
    users[role] = { id, email, token: await issueToken(app, { sub: id, org: organization.id, role }) };
  }
  const { rows: [ws] } = await admin.raw(`INSERT INTO ${schema}.workspaces (name) VALUES ('Main') RETURNING id`);
  const { rows: [p] } = await admin.raw(`INSERT INTO ${schema}.projects (workspace_id, name) VALUES (?, 'Alpha') RETURNING id`, [ws.id]);
  return { id: organization.id, slug, users, workspaceId: ws.id, projectId: p.id };
}
