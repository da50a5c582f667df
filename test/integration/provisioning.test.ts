// Provisioning an organization: one admin transaction creates the control row, the NOLOGIN tenant
// role, the schema, the tenant tables and the grants. Idempotent by slug; a crash after any step
// leaves nothing behind; the role gets exactly the table privileges the migrations grant.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tenantMigrations } from "../../migrations/tenant/index.js";
import { LATEST_TENANT_VERSION } from "../../src/tenancy/migrator.js";
import { dropOrganization, provisionOrganization, type ProvisionStep } from "../../src/tenancy/provisioning.js";
import { tenantRef, withTenant } from "../../src/tenancy/scope.js";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, uniqueSlug, type TestUser } from "../helpers/factories.js";

let t: TestApp;
let root: TestUser;

// Every step of ProvisionStep: adding a step without listing it here fails to compile.
const STEP_SET = { claim: true, role: true, schema: true, migrations: true, activate: true } satisfies Record<ProvisionStep, true>;
const STEPS = Object.keys(STEP_SET) as ProvisionStep[];

const CRUD = ["DELETE", "INSERT", "SELECT", "UPDATE"];
const TENANT_TABLES = ["items", "members", "projects", "workspaces"];
/** The tenant's audit trail: append-only for the tenant role (no UPDATE/DELETE on events; the chain head moves forward). */
const AUDIT_GRANTS = ["audit_chain:SELECT", "audit_chain:UPDATE", "audit_events:INSERT", "audit_events:SELECT"];

const admin = () => t.app.services.db.admin;
const appRole = () => t.app.services.config.database.appRole;
const provision = (slug: string, extra: { id?: string; failAfter?: ProvisionStep } = {}) =>
  provisionOrganization(admin(), { slug, name: `Org ${slug}`, id: extra.id }, { appRole: appRole(), failAfter: extra.failAfter });

async function leftovers(id: string, slug: string) {
  const ref = tenantRef(id);
  const db = admin();
  const [rowById, rowBySlug, schema, role] = await Promise.all([
    db.withSchema("control").table("organizations").first("id").where({ id }),
    db.withSchema("control").table("organizations").first("id").where({ slug }),
    db.raw(`SELECT 1 FROM pg_namespace WHERE nspname = ?`, [ref.schema]),
    db.raw(`SELECT 1 FROM pg_roles WHERE rolname = ?`, [ref.role]),
  ]);
  return { row: Boolean(rowById || rowBySlug), schema: schema.rows.length > 0, role: role.rows.length > 0 };
}

/** Everything a freshly provisioned, healthy tenant must look like. */
async function expectHealthyTenant(id: string) {
  const ref = tenantRef(id);
  const db = admin();
  const org = await db.withSchema("control").table("organizations").first("status", "schema_name", "schema_version").where({ id });
  expect(org).toEqual({ status: "active", schema_name: ref.schema, schema_version: LATEST_TENANT_VERSION });

  const tables = (await db.raw(`SELECT tablename FROM pg_tables WHERE schemaname = ? ORDER BY 1`, [ref.schema])).rows.map((r: any) => r.tablename);
  expect(tables).toEqual(["audit_chain", "audit_events", ...TENANT_TABLES, "schema_migrations"].sort());
  const applied = (await db.raw(`SELECT name FROM ${ref.schema}.schema_migrations ORDER BY name`)).rows.map((r: any) => r.name);
  expect(applied).toEqual(["001_domain", "002_audit"]);
  expect(applied).toEqual(tenantMigrations.map((m) => m.name).sort());

  // The role: NOLOGIN, NOINHERIT, no special powers; the app role is its only member; it is a member of nothing.
  const { rows: [r] } = await db.raw(
    `SELECT rolcanlogin, rolinherit, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication FROM pg_roles WHERE rolname = ?`, [ref.role]);
  expect(r).toEqual({ rolcanlogin: false, rolinherit: false, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false, rolreplication: false });
  const members = (await db.raw(
    `SELECT u.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = ?`, [ref.role])).rows;
  expect(members.map((m: any) => m.rolname)).toEqual([appRole()]);
  const memberOf = (await db.raw(
    `SELECT 1 FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = ?`, [ref.role])).rows;
  expect(memberOf).toHaveLength(0);

  // Exactly the granted table privileges, on exactly the tenant tables; nothing on schema_migrations.
  const grants = (await db.raw(
    `SELECT c.relname AS t, a.privilege_type AS p
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL aclexplode(c.relacl) a
      WHERE n.nspname = ? AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ?)
      ORDER BY 1, 2`, [ref.schema, ref.role])).rows.map((g: any) => `${g.t}:${g.p}`);
  expect(grants).toEqual([...AUDIT_GRANTS, ...TENANT_TABLES.flatMap((tb) => CRUD.map((p) => `${tb}:${p}`))]);
  // Schema: USAGE only (no CREATE).
  const schemaGrants = (await db.raw(
    `SELECT a.privilege_type AS p FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a
      WHERE n.nspname = ? AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ?)`, [ref.schema, ref.role])).rows;
  expect(schemaGrants.map((g: any) => g.p)).toEqual(["USAGE"]);
  // Ownership: neither the tenant role nor the runtime role owns the schema or anything in it.
  const owners = (await db.raw(
    `SELECT DISTINCT pg_get_userbyid(c.relowner) AS o FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ?
     UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = ?`, [ref.schema, ref.schema])).rows.map((o: any) => o.o);
  expect(owners).not.toContain(ref.role);
  expect(owners).not.toContain(appRole());
  // The runtime role holds nothing directly on tenant tables (only through SET ROLE).
  const direct = (await db.raw(
    `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a
      WHERE n.nspname = ? AND a.grantee = (SELECT oid FROM pg_roles WHERE rolname = ?)`, [ref.schema, appRole()])).rows;
  expect(direct).toHaveLength(0);
}

/** In the tenant's own scope (app connection, tenant role): CRUD works, DDL and ownership powers do not. */
async function expectScopedPowers(id: string) {
  const ref = tenantRef(id);
  const app = t.app.services.db.app;
  const n = await withTenant(app, ref, async (trx) => {
    const [ws] = await trx("workspaces").insert({ name: "probe" }).returning("id");
    await trx("workspaces").where({ id: ws.id }).update({ name: "probe2" });
    const c = await trx("workspaces").count({ n: "*" }).first();
    await trx("workspaces").where({ id: ws.id }).delete();
    return Number(c!.n);
  });
  expect(n).toBe(1);
  for (const sql of [`CREATE TABLE sneaky (id int)`, `DROP TABLE items`, `ALTER TABLE items ADD COLUMN x int`, `TRUNCATE items`, `CREATE INDEX sneaky_idx ON items (title)`]) {
    await expect(withTenant(app, ref, (trx) => trx.raw(sql)), sql).rejects.toMatchObject({ code: "42501" }); // insufficient_privilege
  }
}

beforeAll(async () => {
  t = await startTestApp();
  root = await createSuperAdmin(t.app);
});
afterAll(async () => t?.close());

describe("provisionOrganization", () => {
  it("is idempotent by slug: the second call returns the same organization with created=false", async () => {
    const slug = uniqueSlug("idem");
    const first = await provision(slug);
    expect(first.created).toBe(true);
    expect(first.organization).toMatchObject({ slug, status: "active", schemaVersion: LATEST_TENANT_VERSION });
    const again = await provision(slug, { id: randomUUID() });
    expect(again.created).toBe(false);
    expect(again.organization.id).toBe(first.organization.id);

    const ref = tenantRef(first.organization.id);
    const counts = await admin().raw(
      `SELECT (SELECT count(*) FROM control.organizations WHERE slug = ?)::int AS rows,
              (SELECT count(*) FROM pg_namespace WHERE nspname = ?)::int AS schemas,
              (SELECT count(*) FROM pg_roles WHERE rolname = ?)::int AS roles`, [slug, ref.schema, ref.role]);
    expect(counts.rows[0]).toEqual({ rows: 1, schemas: 1, roles: 1 });
    await expectHealthyTenant(first.organization.id);
    await expectScopedPowers(first.organization.id);
  });

  it("two concurrent calls for one slug yield one organization; the loser leaves nothing behind", async () => {
    const slug = uniqueSlug("race");
    const ids = [randomUUID(), randomUUID()];
    const results = await Promise.all(ids.map((id) => provision(slug, { id })));
    expect(results.map((r) => r.created).sort()).toEqual([false, true]);
    const winner = results.find((r) => r.created)!.organization.id;
    expect(results.map((r) => r.organization.id)).toEqual([winner, winner]);
    const loser = ids.find((id) => id !== winner)!;
    expect(await leftovers(loser, `no-such-${slug}`)).toEqual({ row: false, schema: false, role: false });
    await expectHealthyTenant(winner);
  });

  it.each(STEPS)("a crash after step %s leaves nothing behind, and a retry with the same slug succeeds", async (step) => {
    const slug = uniqueSlug(`crash-${step}`);
    const id = randomUUID();
    await expect(provision(slug, { id, failAfter: step })).rejects.toThrow(`provisioning interrupted after ${step}`);
    expect(await leftovers(id, slug)).toEqual({ row: false, schema: false, role: false });

    // Same slug, same id: a leftover role or schema would make CREATE fail.
    const retry = await provision(slug, { id });
    expect(retry.created).toBe(true);
    expect(retry.organization).toMatchObject({ id, slug, status: "active" });
    await expectHealthyTenant(id);
    await expectScopedPowers(id);
  });

  it("refuses invalid and reserved slugs before touching the database", async () => {
    for (const slug of ["ab", "Upper", "has_underscore", "-lead", "trail-", "double--hyphen", "1digit", "admin", "control", "pg-catalog", "a".repeat(41)]) {
      await expect(provision(slug), slug).rejects.toMatchObject({ code: "BAD_USER_INPUT" });
    }
  });

  it("median provisioning time over 20 organizations (printed, not asserted)", async () => {
    const times: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const r = await provision(uniqueSlug("timing"));
      times.push(performance.now() - started);
      ids.push(r.organization.id);
    }
    const dropTimes: number[] = [];
    for (const id of ids) {
      const started = performance.now();
      await dropOrganization(admin(), id);
      dropTimes.push(performance.now() - started);
    }
    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
      return `median ${q(0.5)} ms, p90 ${q(0.9)} ms, min ${s[0]!.toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
    };
    console.log(`[provisioning ${process.env.ENCLAVE_TEST_DB ?? "?"} db] provision x${times.length}: ${stats(times)}; drop x${dropTimes.length}: ${stats(dropTimes)}`);
    expect(times).toHaveLength(20);
  });
});

describe("dropOrganization", () => {
  it("removes the schema, the role and the control rows (memberships and sessions cascade)", async () => {
    const org = await createOrg(t.app, "drop");
    const login = await t.gql(`mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { refreshToken } }`,
      { e: org.users.ADMIN.email, p: "correct horse battery staple" });
    expect(login.body.errors).toBeUndefined();
    expect(await leftovers(org.id, org.slug)).toEqual({ row: true, schema: true, role: true });

    await dropOrganization(admin(), org.id);
    expect(await leftovers(org.id, org.slug)).toEqual({ row: false, schema: false, role: false });
    const db = admin().withSchema("control");
    expect(await db.table("memberships").where({ organization_id: org.id })).toHaveLength(0);
    expect(await admin().withSchema("control").table("refresh_sessions").where({ organization_id: org.id })).toHaveLength(0);
    // The users themselves remain (they may belong elsewhere); their tokens for the org are useless.
    t.app.services.registry.invalidate(org.id);
    expect(codes(await t.gql(`{ workspaces(first: 1) { edges { cursor } } }`, {}, org.users.ADMIN.token))).toEqual(["FORBIDDEN"]);
    const refreshed = await t.gql(`mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, { r: login.body.data.login.refreshToken });
    expect(codes(refreshed)).toEqual(["UNAUTHENTICATED"]);
    // Dropping twice is harmless.
    await dropOrganization(admin(), org.id);
  });
});

describe("createOrganization (GraphQL)", () => {
  const CREATE = `mutation($input: CreateOrganizationInput!) { createOrganization(input: $input) { id slug name plan region status } }`;

  it("a super admin creates an ACTIVE, usable organization; the same slug again is a CONFLICT", async () => {
    const slug = uniqueSlug("gql");
    const res = await t.gql(CREATE, { input: { slug, name: "  Via GraphQL  ", plan: "STARTER" } }, root.token);
    expect(res.body.errors).toBeUndefined();
    const org = res.body.data.createOrganization;
    expect(org).toMatchObject({ slug, name: "Via GraphQL", plan: "STARTER", region: "default", status: "ACTIVE" });
    await expectHealthyTenant(org.id);

    const again = await t.gql(CREATE, { input: { slug, name: "Again" } }, root.token);
    expect(codes(again)).toEqual(["CONFLICT"]);
    expect(again.status).toBe(409);
    expect(JSON.stringify(again.body)).not.toMatch(/tenant_|enclave_tenant|duplicate key|23505/);
    const rows = await admin().withSchema("control").table("organizations").where({ slug });
    expect(rows).toHaveLength(1);
    expect(rows[0].name).toBe("Via GraphQL");

    // Usable end to end: switch in and create a workspace.
    const login = await t.gql(`mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }`,
      { e: root.email, p: "correct horse battery staple" });
    const sw = await t.gql(`mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }`, { o: org.id }, login.body.data.login.accessToken);
    const ws = await t.gql(`mutation { createWorkspace(input: { name: "First" }) { id name } }`, {}, sw.body.data.switchOrganization.accessToken);
    expect(ws.body.errors).toBeUndefined();
    expect(ws.body.data.createWorkspace.name).toBe("First");
  });

  it("bad input is BAD_USER_INPUT and creates nothing", async () => {
    for (const input of [
      { slug: "Bad Slug", name: "x" },
      { slug: "admin", name: "x" },
      { slug: uniqueSlug("reg"), name: "x", region: "mars" },
      { slug: uniqueSlug("nm"), name: "   " },
    ]) {
      const res = await t.gql(CREATE, { input }, root.token);
      expect(codes(res), JSON.stringify(input)).toEqual(["BAD_USER_INPUT"]);
      expect(await admin().withSchema("control").table("organizations").first("id").where({ slug: input.slug })).toBeUndefined();
    }
  });

  it("only platform staff may create organizations", async () => {
    const org = await createOrg(t.app, "notroot");
    const slug = uniqueSlug("deny");
    const res = await t.gql(CREATE, { input: { slug, name: "x" } }, org.users.ADMIN.token);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    expect(codes(await t.gql(CREATE, { input: { slug, name: "x" } }))).toEqual(["UNAUTHENTICATED"]);
    expect(await admin().withSchema("control").table("organizations").first("id").where({ slug })).toBeUndefined();
  });
});
