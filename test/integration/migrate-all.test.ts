// migrateAllTenants against real tenant schemas: pending → migrated → up to date, one tenant's
// failure isolated and rolled back, abort + resume. Every run is restricted to this file's own
// organizations (`ids`), because other test files share the database.
import "reflect-metadata";
import type { Knex } from "knex";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tenantMigrations, type TenantMigration } from "../../migrations/tenant/index.js";
import { loadConfig } from "../../src/config/index.js";
import { createKnex } from "../../src/db/knex.js";
import { migrateAllTenants, resumeIds, type MigrateAllProgress } from "../../src/tenancy/migrate-all.js";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { uniqueSlug } from "../helpers/factories.js";

let admin: Knex;
let appRole: string;

// Append-only, like the real list: schema_version counts applied migrations.
const addPriority: TenantMigration = {
  name: "900_test_items_priority",
  async up({ trx }) {
    await trx.raw(`ALTER TABLE items ADD COLUMN priority integer NOT NULL DEFAULT 0`);
    await trx.raw(`CREATE INDEX items_priority_idx ON items (priority)`);
  },
};
let victimSchema = "";
const failsForVictim: TenantMigration = {
  name: "901_test_fails_for_one",
  async up({ trx, schema }) {
    await trx.raw(`ALTER TABLE items ADD COLUMN note text`);
    if (schema === victimSchema) throw new Error("synthetic failure for one tenant");
  },
};
const addLabel: TenantMigration = {
  name: "902_test_items_label",
  async up({ trx }) {
    await trx.raw(`ALTER TABLE items ADD COLUMN label text`);
  },
};
const V2 = [...tenantMigrations, addPriority];
const V3 = [...V2, failsForVictim];
const V4 = [...V3, addLabel];

async function provisionMany(n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const { organization } = await provisionOrganization(admin, { slug: uniqueSlug(prefix), name: prefix }, { appRole });
    ids.push(organization.id);
  }
  return ids.sort();
}

async function columns(orgId: string): Promise<string[]> {
  const { rows } = await admin.raw(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = 'items' ORDER BY column_name`,
    [tenantRef(orgId).schema],
  );
  return rows.map((r: { column_name: string }) => r.column_name);
}

async function versions(ids: string[]): Promise<Record<string, number>> {
  const rows = await admin.withSchema("control").table("organizations").select("id", "schema_version").whereIn("id", ids);
  return Object.fromEntries(rows.map((r: { id: string; schema_version: number }) => [r.id, r.schema_version]));
}

async function applied(orgId: string): Promise<string[]> {
  const { rows } = await admin.raw(`SELECT name FROM "${tenantRef(orgId).schema}".schema_migrations ORDER BY name`);
  return rows.map((r: { name: string }) => r.name);
}

beforeAll(async () => {
  const config = loadConfig({ ...process.env, NODE_ENV: "test" });
  appRole = config.database.appRole;
  admin = createKnex({ url: config.database.adminUrl!, poolMax: 3, applicationName: "enclave-test-migrate-all" });
});
afterAll(async () => admin?.destroy());

describe("migrateAllTenants", () => {
  let orgs: string[];

  it("migrates every selected tenant, then finds them all up to date", async () => {
    // The real list this file builds on (the versions below count it): the domain and the audit trail.
    expect(tenantMigrations.map((m) => m.name)).toEqual(["001_domain", "002_audit"]);
    orgs = await provisionMany(4, "mig");
    const events: MigrateAllProgress[] = [];
    const first = await migrateAllTenants(admin, { ids: orgs, migrations: V2, concurrency: 2, onProgress: (e) => events.push(e) });
    expect(first).toMatchObject({ total: 4, migrated: 4, upToDate: 0, failed: [], skipped: 0, aborted: false, targetVersion: 3 });
    expect(first.nextFromId).toBeUndefined();
    expect(events.map((e) => e.outcome)).toEqual(["migrated", "migrated", "migrated", "migrated"]);
    expect(events.every((e) => e.migrations.join() === "900_test_items_priority")).toBe(true);
    expect(events.at(-1)).toMatchObject({ done: 4, total: 4 });
    for (const id of orgs) {
      expect(await columns(id)).toContain("priority");
      expect(await applied(id)).toEqual(["001_domain", "002_audit", "900_test_items_priority"]);
    }
    expect(Object.values(await versions(orgs))).toEqual([3, 3, 3, 3]);
    // The new column grants nothing new, but the tenant role still reaches the table it had.
    const { rows } = await admin.raw(`SELECT has_table_privilege(?, ?, 'INSERT') AS ok`, [tenantRef(orgs[0]!).role, `${tenantRef(orgs[0]!).schema}.items`]);
    expect(rows[0].ok).toBe(true);

    const second = await migrateAllTenants(admin, { ids: orgs, migrations: V2, concurrency: 2 });
    expect(second).toMatchObject({ total: 4, migrated: 0, upToDate: 4, failed: [] });
    const verified = await migrateAllTenants(admin, { ids: orgs, migrations: V2, verify: true });
    expect(verified).toMatchObject({ total: 4, migrated: 0, upToDate: 4, failed: [] });
  });

  it("verify finds a tenant whose schema_version mirror is wrong and repairs it", async () => {
    const [id] = orgs;
    await admin.withSchema("control").table("organizations").where({ id }).update({ schema_version: 5 });
    const trusting = await migrateAllTenants(admin, { ids: [id!], migrations: V2 });
    expect(trusting).toMatchObject({ upToDate: 1, migrated: 0 });
    const verified = await migrateAllTenants(admin, { ids: [id!], migrations: V2, verify: true });
    expect(verified).toMatchObject({ upToDate: 1, migrated: 0, failed: [] });
    expect((await versions([id!]))[id!]).toBe(3);
  });

  it("dry run reports what would run and changes nothing", async () => {
    const report = await migrateAllTenants(admin, { ids: orgs, migrations: V3, dryRun: true });
    expect(report).toMatchObject({ total: 4, migrated: 0, upToDate: 0, dryRun: true });
    expect(report.pending).toEqual(orgs.map((id) => ({ id, slug: expect.any(String), migrations: ["901_test_fails_for_one"] })));
    for (const id of orgs) expect(await columns(id)).not.toContain("note");
    expect(Object.values(await versions(orgs))).toEqual([3, 3, 3, 3]);
  });

  it("isolates one tenant's failure: reported, rolled back, the others migrated", async () => {
    const victim = orgs[2]!;
    victimSchema = tenantRef(victim).schema;
    const report = await migrateAllTenants(admin, { ids: orgs, migrations: V3, concurrency: 2 });
    expect(report).toMatchObject({ total: 4, migrated: 3, upToDate: 0, skipped: 0 });
    expect(report.failed).toEqual([{ id: victim, slug: expect.any(String), error: expect.stringContaining("synthetic failure for one tenant") }]);
    // The victim's transaction rolled back: no column, no bookkeeping row, mirror unchanged.
    expect(await columns(victim)).not.toContain("note");
    expect(await applied(victim)).toEqual(["001_domain", "002_audit", "900_test_items_priority"]);
    for (const id of orgs.filter((o) => o !== victim)) expect(await columns(id)).toContain("note");
    expect(await versions(orgs)).toEqual(Object.fromEntries(orgs.map((id) => [id, id === victim ? 3 : 4])));
    expect(await resumeIds(admin, report, { ids: orgs })).toEqual([victim]);

    // Once the migration is fixed, a resumed run (just the failed ids) completes it.
    victimSchema = "";
    const retry = await migrateAllTenants(admin, { ids: await resumeIds(admin, report), migrations: V3 });
    expect(retry).toMatchObject({ total: 1, migrated: 1, failed: [] });
    expect(await columns(victim)).toContain("note");
  });

  it("stops scheduling on abort, reports nextFromId, and a resume finishes the rest", async () => {
    const ac = new AbortController();
    const report = await migrateAllTenants(admin, {
      ids: orgs, migrations: V4, concurrency: 1, signal: ac.signal,
      onProgress: () => ac.abort(),
    });
    expect(report).toMatchObject({ total: 4, migrated: 1, skipped: 3, aborted: true, nextFromId: orgs[1], failed: [] });
    expect(await columns(orgs[0]!)).toContain("label");
    for (const id of orgs.slice(1)) expect(await columns(id)).not.toContain("label");

    const rest = await resumeIds(admin, report, { ids: orgs });
    expect(rest).toEqual(orgs.slice(1));
    const resumed = await migrateAllTenants(admin, { ids: orgs, fromId: report.nextFromId, migrations: V4, concurrency: 2 });
    expect(resumed).toMatchObject({ total: 3, migrated: 3, failed: [], aborted: false });
    expect(Object.values(await versions(orgs))).toEqual([5, 5, 5, 5]);
  });

  it("lists explicit ids that match no migratable organization, and rejects malformed ones", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    const report = await migrateAllTenants(admin, { ids: [orgs[0]!, unknown], migrations: V4 });
    expect(report).toMatchObject({ total: 1, upToDate: 1, missingIds: [unknown] });
    await expect(migrateAllTenants(admin, { ids: ["tenant_x; DROP SCHEMA control"] })).rejects.toThrow(/not an organization id/);
  });
});
