// Provisioning under concurrency: distinct slugs in parallel all succeed (roles and schemas are
// cluster/database catalog writes that must not conflict), and the same slug twice yields one org.
import "reflect-metadata";
import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/index.js";
import { createKnex } from "../../src/db/knex.js";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { LATEST_TENANT_VERSION } from "../../src/tenancy/migrator.js";
import { uniqueSlug } from "../helpers/factories.js";

let admin: Knex;
let appRole: string;

beforeAll(async () => {
  const config = loadConfig({ ...process.env, NODE_ENV: "test" });
  appRole = config.database.appRole;
  // One connection per concurrent call, so the calls really overlap in the database.
  admin = createKnex({ url: config.database.adminUrl!, poolMax: 8, applicationName: "enclave-test-provisioning" });
});
afterAll(async () => admin?.destroy());

async function tenantExists(id: string): Promise<{ schema: boolean; role: boolean; member: boolean }> {
  const t = tenantRef(id);
  const { rows: [r] } = await admin.raw(
    `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?) AS schema,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ?) AS role,
            pg_has_role(?, ?, 'MEMBER') AS member`,
    [t.schema, t.role, appRole, t.role],
  );
  return r;
}

describe("provisionOrganization under concurrency", () => {
  it("provisions 8 organizations with distinct slugs in parallel", async () => {
    const slugs = Array.from({ length: 8 }, () => uniqueSlug("par"));
    const results = await Promise.all(slugs.map((slug) => provisionOrganization(admin, { slug, name: slug }, { appRole })));
    expect(results.map((r) => r.created)).toEqual(Array(8).fill(true));
    expect(results.map((r) => r.organization.slug)).toEqual(slugs);
    expect(new Set(results.map((r) => r.organization.id)).size).toBe(8);
    for (const { organization } of results) {
      expect(organization).toMatchObject({ status: "active", schemaVersion: LATEST_TENANT_VERSION });
      expect(await tenantExists(organization.id)).toEqual({ schema: true, role: true, member: true });
    }
  });

  it("yields one organization when the same slug is provisioned twice at once", async () => {
    const slug = uniqueSlug("same");
    const [a, b] = await Promise.all([
      provisionOrganization(admin, { slug, name: "first" }, { appRole }),
      provisionOrganization(admin, { slug, name: "second" }, { appRole }),
    ]);
    expect([a!.created, b!.created].sort()).toEqual([false, true]);
    expect(a!.organization.id).toBe(b!.organization.id);
    const rows = await admin.withSchema("control").table("organizations").where({ slug }).select("id");
    expect(rows).toHaveLength(1);
    // The loser's transaction rolled back: only the winner's schema and role exist.
    const { rows: [{ n }] } = await admin.raw(
      `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' AND nspname NOT IN (SELECT schema_name FROM control.organizations)`,
    );
    expect(n).toBe(0);
  });
});
