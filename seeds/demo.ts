// Demo data for development: a platform super admin, two organizations with one user per role,
// and a workspace with projects and items in each. Idempotent: safe to run at every start.
import type { Knex } from "knex";
import { hashPassword } from "../src/auth/passwords.js";
import { quoteIdent } from "../src/db/knex.js";
import type { OrgRole } from "../src/permissions/matrix.js";
import { provisionOrganization } from "../src/tenancy/provisioning.js";
import { tenantRef } from "../src/tenancy/scope.js";

export const DEMO_PASSWORD = "enclave-demo-password";

export interface DemoSummary {
  password: string;
  users: Array<{ email: string; role: string; organization: string | null }>;
  organizations: Array<{ id: string; slug: string }>;
}

const ORGS = [
  { slug: "acme", name: "Acme Corporation", plan: "professional" },
  { slug: "globex", name: "Globex Industries", plan: "starter" },
];
const ROLES: OrgRole[] = ["ADMIN", "DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"];
const STATUSES = ["open", "done", "archived"] as const;

export async function seedDemo(admin: Knex, appRole: string): Promise<DemoSummary> {
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const summary: DemoSummary = { password: DEMO_PASSWORD, users: [], organizations: [] };
  const upsertUser = async (email: string, displayName: string, superAdmin = false): Promise<string> => {
    const [row] = await admin.withSchema("control").table("users")
      .insert({ email, display_name: displayName, password_hash: passwordHash, is_super_admin: superAdmin })
      .onConflict("email").merge(["display_name"]).returning("id");
    return row.id;
  };

  await upsertUser("superadmin@enclave.dev", "Platform Admin", true);
  summary.users.push({ email: "superadmin@enclave.dev", role: "SUPER_ADMIN", organization: null });

  for (const o of ORGS) {
    const { organization } = await provisionOrganization(admin, o, { appRole });
    summary.organizations.push({ id: organization.id, slug: organization.slug });
    const t = tenantRef(organization.id);
    const schema = quoteIdent(t.schema);
    await admin.transaction(async (trx) => {
      const creators: string[] = [];
      for (const role of ROLES) {
        const email = `${role.toLowerCase().replace("_", "-")}@${o.slug}.test`;
        const displayName = `${o.name.split(" ")[0]} ${role.charAt(0) + role.slice(1).toLowerCase().replace("_", " ")}`;
        const userId = await upsertUser(email, displayName);
        creators.push(userId);
        await trx.withSchema("control").table("memberships")
          .insert({ user_id: userId, organization_id: organization.id, role }).onConflict(["user_id", "organization_id"]).ignore();
        await trx.raw(`INSERT INTO ${schema}.members (user_id, email, display_name, role) VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO NOTHING`, [userId, email, displayName, role]);
        summary.users.push({ email, role, organization: o.slug });
      }
      const { rows } = await trx.raw(`SELECT count(*)::int AS n FROM ${schema}.workspaces`);
      if (rows[0].n > 0) return;
      const { rows: [ws] } = await trx.raw(`INSERT INTO ${schema}.workspaces (name, description) VALUES (?, ?) RETURNING id`, [`${o.name.split(" ")[0]} HQ`, "Demo workspace"]);
      for (const [pi, project] of ["Website relaunch", "Mobile app", "Data platform"].entries()) {
        const { rows: [p] } = await trx.raw(`INSERT INTO ${schema}.projects (workspace_id, name) VALUES (?, ?) RETURNING id`, [ws.id, project]);
        for (let i = 1; i <= 8; i++) {
          await trx.raw(
            `INSERT INTO ${schema}.items (project_id, title, status, tags, payload, creator_id, created_at)
             VALUES (?, ?, ?, ?, ?, ?, now() - make_interval(mins => ?))`,
            [p.id, `${project}: task ${i}`, STATUSES[i % 3], [`p${pi + 1}`, i % 2 ? "frontend" : "backend"], { estimate: i, priority: i % 4 }, creators[i % creators.length], 60 - i],
          );
        }
      }
    });
  }
  return summary;
}
