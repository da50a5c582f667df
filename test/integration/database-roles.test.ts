// The database's own guarantees behind tenant isolation (SECURITY.md "Tenant isolation", case 13):
// the runtime role is a plain NOINHERIT login role that owns nothing and reaches a tenant only
// through a transaction-local SET ROLE; outside a scope nothing resolves; tenant roles hold DML on
// their own tables and nothing else. The app runs with ONE pooled connection, so "the next
// transaction" below is provably the same session.
import "reflect-metadata";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Knex } from "knex";
import { quoteIdent } from "../../src/db/knex.js";
import { tenantRef, withTenant, type TenantRef } from "../../src/tenancy/scope.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, type TestOrg } from "../helpers/factories.js";

let t: TestApp;
let db: Knex; // the runtime (enclave_app) pool, one connection
let admin: Knex;
let appRole: string;
let A: TestOrg;
let B: TestOrg;
let a: TenantRef;
let b: TenantRef;

beforeAll(async () => {
  t = await startTestApp({ DATABASE_POOL_MAX: "1" });
  db = t.app.services.db.app;
  admin = t.app.services.db.admin;
  appRole = t.config.database.appRole;
  A = await createOrg(t.app, "roles-a");
  B = await createOrg(t.app, "roles-b");
  a = tenantRef(A.id);
  b = tenantRef(B.id);
});
afterAll(async () => t?.close());

/** The SQLSTATE a statement fails with (or "ok"). */
async function sqlstate(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
    return "ok";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

async function session(k: Knex | Knex.Transaction) {
  const { rows: [r] } = await k.raw(
    `SELECT pg_backend_pid() AS pid, current_user AS "user", session_user AS "session",
            current_setting('search_path') AS "searchPath", current_schemas(false)::text[] AS schemas`,
  );
  return r as { pid: number; user: string; session: string; searchPath: string; schemas: string[] };
}

const PERMISSION_DENIED = "42501";
const UNDEFINED_TABLE = "42P01";

describe("the runtime role", () => {
  it("is a plain login role: not superuser, no BYPASSRLS, NOINHERIT, cannot create roles or databases", async () => {
    const { rows: [r] } = await db.raw(
      `SELECT current_user AS name, rolsuper, rolbypassrls, rolinherit, rolcreaterole, rolcreatedb, rolreplication, rolcanlogin
         FROM pg_roles WHERE rolname = current_user`,
    );
    expect(r).toEqual({
      name: appRole, rolsuper: false, rolbypassrls: false, rolinherit: false,
      rolcreaterole: false, rolcreatedb: false, rolreplication: false, rolcanlogin: true,
    });
  });

  it("owns no relation, schema or function in any tenant schema, nor in the control schema", async () => {
    const owned = await admin.raw(
      `SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE (n.nspname LIKE 'tenant\\_%' OR n.nspname = 'control') AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = ?)`,
      [appRole],
    );
    expect(owned.rows).toEqual([]);
    const schemas = await admin.raw(`SELECT nspname FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = ?)`, [appRole]);
    expect(schemas.rows).toEqual([]);
    const fns = await admin.raw(`SELECT proname FROM pg_proc WHERE proowner = (SELECT oid FROM pg_roles WHERE rolname = ?)`, [appRole]);
    expect(fns.rows).toEqual([]);
    // The check above must be able to see tenant tables at all.
    const { rows: [{ n }] } = await admin.raw(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace WHERE ns.nspname = ? AND c.relkind = 'r'`, [a.schema]);
    expect(n).toBeGreaterThanOrEqual(4);
  });

  it("has an empty default search_path and no privilege on any tenant schema of its own", async () => {
    const s = await session(db);
    expect(s).toMatchObject({ user: appRole, session: appRole, searchPath: '""', schemas: [] });
    const { rows: [p] } = await db.raw(
      `SELECT has_schema_privilege(current_user, ?, 'USAGE') AS usage_a, has_schema_privilege(current_user, ?, 'CREATE') AS create_a,
              has_schema_privilege(current_user, 'control', 'CREATE') AS create_control,
              has_schema_privilege(current_user, 'public', 'CREATE') AS create_public`,
      [a.schema, a.schema],
    );
    expect(p).toEqual({ usage_a: false, create_a: false, create_control: false, create_public: false });
  });
});

describe("outside a tenant scope (fails closed)", () => {
  it("unqualified tenant tables do not resolve", async () => {
    expect(await sqlstate(() => db.raw(`SELECT * FROM items`))).toBe(UNDEFINED_TABLE);
    expect(await sqlstate(() => db("workspaces").select("id"))).toBe(UNDEFINED_TABLE);
    expect(await sqlstate(() => db.transaction((trx) => trx("projects").select("id")))).toBe(UNDEFINED_TABLE);
  });

  it("schema-qualified tenant tables are permission denied", async () => {
    for (const table of ["items", "workspaces", "projects", "members"]) {
      expect(await sqlstate(() => db.raw(`SELECT * FROM ${quoteIdent(a.schema)}.${table}`)), table).toBe(PERMISSION_DENIED);
    }
    expect(await sqlstate(() => db.raw(`DELETE FROM ${quoteIdent(b.schema)}.items`))).toBe(PERMISSION_DENIED);
    expect(await sqlstate(() => db.withSchema(b.schema).table("items").insert({ project_id: B.projectId, title: "planted" }))).toBe(PERMISSION_DENIED);
  });

  it("the pool's connection is still usable after those failures, and still unscoped", async () => {
    expect(await session(db)).toMatchObject({ user: appRole, searchPath: '""', schemas: [] });
  });
});

describe("inside A's scope (withTenant)", () => {
  it("runs as A's role with A's schema only", async () => {
    const s = await withTenant(db, a, (trx) => session(trx));
    expect(s).toMatchObject({ user: a.role, session: appRole, searchPath: `"${a.schema}"`, schemas: [a.schema] });
    const n = await withTenant(db, a, async (trx) => (await trx("projects").count({ n: "*" }).first())?.n);
    expect(n).toBe(1);
  });

  it("B's schema-qualified tables are permission denied", async () => {
    for (const table of ["items", "workspaces", "projects", "members"]) {
      const code = await sqlstate(() => withTenant(db, a, (trx) => trx.raw(`SELECT * FROM ${quoteIdent(b.schema)}.${table}`)));
      expect(code, table).toBe(PERMISSION_DENIED);
    }
    const writes = [
      `INSERT INTO ${quoteIdent(b.schema)}.workspaces (name) VALUES ('planted')`,
      `UPDATE ${quoteIdent(b.schema)}.projects SET name = 'taken over'`,
      `DELETE FROM ${quoteIdent(b.schema)}.items`,
    ];
    for (const sql of writes) expect(await sqlstate(() => withTenant(db, a, (trx) => trx.raw(sql))), sql).toBe(PERMISSION_DENIED);
    const { rows } = await admin.raw(`SELECT name FROM ${quoteIdent(b.schema)}.projects`);
    expect(rows).toEqual([{ name: "Alpha" }]);
  });

  it("the control plane is out of reach too", async () => {
    expect(await sqlstate(() => withTenant(db, a, (trx) => trx.raw(`SELECT * FROM control.memberships`)))).toBe(PERMISSION_DENIED);
    expect(await sqlstate(() => withTenant(db, a, (trx) => trx.raw(`SELECT * FROM control.users`)))).toBe(PERMISSION_DENIED);
  });
});

describe("tenant roles", () => {
  it("are NOLOGIN, not superuser, no BYPASSRLS, and own nothing", async () => {
    const { rows } = await admin.raw(
      `SELECT rolname, rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname IN (?, ?) ORDER BY rolname`,
      [a.role, b.role],
    );
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r).toMatchObject({ rolsuper: false, rolbypassrls: false, rolcanlogin: false, rolcreaterole: false, rolcreatedb: false });
    const owned = await admin.raw(
      `SELECT c.relname FROM pg_class c WHERE c.relowner IN (SELECT oid FROM pg_roles WHERE rolname IN (?, ?))
       UNION ALL SELECT nspname FROM pg_namespace WHERE nspowner IN (SELECT oid FROM pg_roles WHERE rolname IN (?, ?))`,
      [a.role, b.role, a.role, b.role],
    );
    expect(owned.rows).toEqual([]);
  });

  it("hold exactly SELECT/INSERT/UPDATE/DELETE on their own domain tables, append-only audit grants, and no schema CREATE", async () => {
    const { rows } = await admin.raw(
      `SELECT table_schema, table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) AS privs
         FROM information_schema.role_table_grants WHERE grantee = ? GROUP BY 1, 2 ORDER BY 2`,
      [a.role],
    );
    const privs = "DELETE,INSERT,SELECT,UPDATE";
    // The audit trail is append-only for the tenant role: events are inserted and read, never
    // updated or deleted; the chain head only moves forward (SELECT, UPDATE; no INSERT/DELETE).
    expect(rows).toEqual([
      { table_schema: a.schema, table_name: "audit_chain", privs: "SELECT,UPDATE" },
      { table_schema: a.schema, table_name: "audit_events", privs: "INSERT,SELECT" },
      ...["items", "members", "projects", "workspaces"].map((table_name) => ({ table_schema: a.schema, table_name, privs })),
    ]);
    const { rows: [s] } = await admin.raw(
      `SELECT has_schema_privilege(?, ?, 'CREATE') AS create_own, has_schema_privilege(?, ?, 'USAGE') AS usage_own,
              has_schema_privilege(?, ?, 'USAGE') AS usage_other, has_schema_privilege(?, 'public', 'CREATE') AS create_public`,
      [a.role, a.schema, a.role, a.schema, a.role, b.schema, a.role],
    );
    expect(s).toEqual({ create_own: false, usage_own: true, usage_other: false, create_public: false });
  });

  it("cannot create, alter, drop or truncate inside their own schema", async () => {
    const ddl = [
      `CREATE TABLE evil (x int)`,
      `CREATE TABLE ${quoteIdent(a.schema)}.evil (x int)`,
      `CREATE VIEW evil AS SELECT 1 AS x`,
      `CREATE FUNCTION evil() RETURNS int LANGUAGE sql AS 'SELECT 1'`,
      `CREATE TABLE public.evil (x int)`,
      `ALTER TABLE items ADD COLUMN evil int`,
      `DROP TABLE items`,
      `TRUNCATE items`,
      `SELECT * FROM schema_migrations`,
    ];
    for (const sql of ddl) expect(await sqlstate(() => withTenant(db, a, (trx) => trx.raw(sql))), sql).toBe(PERMISSION_DENIED);
    // Without the grant option a GRANT is only a warning ("no privileges were granted"): check it did nothing.
    await withTenant(db, a, (trx) => trx.raw(`GRANT SELECT ON items TO PUBLIC`));
    const { rows } = await admin.raw(`SELECT table_name FROM information_schema.role_table_grants WHERE grantee = 'PUBLIC' AND table_schema = ?`, [a.schema]);
    expect(rows).toEqual([]);
  });
});

describe("scope lifetime on the single pooled connection", () => {
  it("SET LOCAL does not survive COMMIT: the next transaction on the same session has the defaults", async () => {
    const inside = await withTenant(db, a, (trx) => session(trx));
    expect(inside.user).toBe(a.role);
    const next = await db.transaction((trx) => session(trx));
    expect(next).toEqual({ pid: inside.pid, user: appRole, session: appRole, searchPath: '""', schemas: [] });
    // …and nothing of A's resolves there.
    expect(await sqlstate(() => db.raw(`SELECT * FROM items`))).toBe(UNDEFINED_TABLE);
    expect(await session(db)).toMatchObject({ pid: inside.pid, user: appRole, schemas: [] });
  });

  it("a scope entered after B's scope is A's alone (no residue between consecutive tenants)", async () => {
    const fromB = await withTenant(db, b, (trx) => session(trx));
    const fromA = await withTenant(db, a, async (trx) => ({ s: await session(trx), items: await trx.raw(`SELECT id FROM ${quoteIdent(a.schema)}.projects`) }));
    expect(fromA.s.pid).toBe(fromB.pid);
    expect(fromA.s).toMatchObject({ user: a.role, schemas: [a.schema] });
    expect(fromA.items.rows).toEqual([{ id: A.projectId }]);
  });

  it("a scope that fails is rolled back and its connection discarded, never handed to the next caller", async () => {
    const before = await session(db);
    let inside: number | undefined;
    const code = await sqlstate(() => withTenant(db, a, async (trx) => {
      inside = (await session(trx)).pid;
      await trx.raw(`SELECT 1/0`);
    }));
    expect(code).toBe("22012");
    expect(inside).toBe(before.pid);
    const after = await session(db);
    expect(after).toMatchObject({ user: appRole, searchPath: '""', schemas: [] });
    expect(after.pid).not.toBe(before.pid);
    // The discarded session really is gone from the server.
    const deadline = Date.now() + 5_000;
    for (;;) {
      const { rows } = await admin.raw(`SELECT 1 FROM pg_stat_activity WHERE pid = ?`, [before.pid]);
      if (rows.length === 0) break;
      if (Date.now() > deadline) throw new Error(`backend ${before.pid} still alive`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});
