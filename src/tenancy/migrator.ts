// Per-tenant migrations: each tenant schema keeps its own bookkeeping (schema_migrations), and the
// control plane mirrors the applied count in organizations.schema_version so a migrate-all run can
// skip up-to-date tenants without opening their schemas.
import type { Knex } from "knex";
import { tenantMigrations, type TenantMigration } from "../../migrations/tenant/index.js";
import { quoteIdent, quoteLiteral } from "../db/knex.js";
import { CONTROL_SCHEMA } from "./naming.js";
import type { TenantRef } from "./scope.js";

export const LATEST_TENANT_VERSION = tenantMigrations.length;

/** Enter a tenant schema as the migration role, transaction-locally. */
export async function enterSchemaForDdl(trx: Knex.Transaction, tenant: TenantRef): Promise<void> {
  await trx.raw(`SELECT set_config('search_path', ${quoteLiteral(quoteIdent(tenant.schema))}, true)`);
}

/**
 * Apply pending tenant migrations inside `trx` (which must already be in the tenant's schema via
 * enterSchemaForDdl). Returns the names applied.
 */
export async function applyTenantMigrations(
  trx: Knex.Transaction,
  tenant: TenantRef,
  migrations: TenantMigration[] = tenantMigrations,
): Promise<string[]> {
  await trx.raw(`CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  // Serialise concurrent migrators of the same tenant.
  await trx.raw(`LOCK TABLE schema_migrations IN EXCLUSIVE MODE`);
  const done = new Set((await trx("schema_migrations").select("name")).map((r: { name: string }) => r.name));
  const applied: string[] = [];
  const role = quoteIdent(tenant.role);
  for (const m of migrations) {
    if (done.has(m.name)) continue;
    await m.up({
      trx,
      schema: tenant.schema,
      role: tenant.role,
      grant: async (tables, privileges) => {
        if (!/^[A-Z, ]+$/.test(privileges)) throw new Error("invalid privilege list");
        const list = tables.map((t) => `${quoteIdent(tenant.schema)}.${quoteIdent(t)}`).join(", ");
        await trx.raw(`GRANT ${privileges} ON ${list} TO ${role}`);
      },
    });
    await trx("schema_migrations").insert({ name: m.name });
    applied.push(m.name);
  }
  await trx.withSchema(CONTROL_SCHEMA).table("organizations")
    .where({ id: tenant.id })
    .update({ schema_version: done.size + applied.length });
  return applied;
}

/** Migrate one tenant in its own transaction. */
export async function migrateTenant(admin: Knex, tenant: TenantRef, migrations?: TenantMigration[]): Promise<string[]> {
  return admin.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = '10s'`);
    await enterSchemaForDdl(trx, tenant);
    return applyTenantMigrations(trx, tenant, migrations);
  });
}
