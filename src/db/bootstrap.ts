// Bring a database to the shape Enclave needs, idempotently and safely from several processes at once:
// the runtime login role (NOINHERIT, not superuser, empty search_path), the control schema and its
// migrations, and per-table grants to the runtime role. Runs on the privileged (admin) connection.
import type { Knex } from "knex";
import { controlGrants, controlMigrations } from "../../migrations/control/index.js";
import { quoteIdent, quoteLiteral } from "./knex.js";
import { CONTROL_SCHEMA } from "../tenancy/naming.js";

const BOOTSTRAP_LOCK = 0x656e636c; // "encl"

export interface BootstrapOptions {
  appRole: string;
  /** When set, Enclave creates/updates the runtime login role with this password. */
  appPassword?: string;
}

export async function bootstrapDatabase(admin: Knex, opts: BootstrapOptions): Promise<void> {
  const app = quoteIdent(opts.appRole);
  await admin.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(?)", [BOOTSTRAP_LOCK]);
    if (opts.appPassword !== undefined) {
      // Roles are cluster-wide: another database on the same cluster may be creating it right now.
      await trx.raw(`DO $$ BEGIN
          CREATE ROLE ${app} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
      await trx.raw(`ALTER ROLE ${app} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${quoteLiteral(opts.appPassword)}`);
      // Outside a tenant scope, unqualified names resolve to nothing: fail closed.
      await trx.raw(`ALTER ROLE ${app} SET search_path TO ''`);
    }
    await trx.raw(`CREATE SCHEMA IF NOT EXISTS ${CONTROL_SCHEMA}`);
    await trx.raw(`REVOKE ALL ON SCHEMA public FROM PUBLIC`);
    await trx.raw(`GRANT USAGE ON SCHEMA ${CONTROL_SCHEMA} TO ${app}`);
  });

  await admin.migrate.latest({
    schemaName: CONTROL_SCHEMA,
    tableName: "knex_migrations",
    migrationSource: {
      getMigrations: async () => controlMigrations,
      getMigrationName: (m: (typeof controlMigrations)[number]) => m.name,
      getMigration: async (m: (typeof controlMigrations)[number]) => m,
    },
  });

  for (const [table, privileges] of Object.entries(controlGrants)) {
    await admin.raw(`GRANT ${privileges} ON ${CONTROL_SCHEMA}.${quoteIdent(table)} TO ${app}`);
  }
}
