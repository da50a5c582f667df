// Tenant migrations in order. Each runs inside the tenant's provisioning or migration transaction
// with search_path set to that tenant's schema; each schema records what it has applied.
import type { Knex } from "knex";
import * as m001 from "./001_domain.js";
import * as m002 from "./002_audit.js";

export interface TenantMigrationContext {
  trx: Knex.Transaction;
  schema: string;
  role: string;
  /** Grant privileges on the named tables (in this schema) to the tenant role, one object at a time. */
  grant(tables: string[], privileges: string): Promise<void>;
}

export interface TenantMigration {
  name: string;
  up(ctx: TenantMigrationContext): Promise<void>;
}

export const tenantMigrations: TenantMigration[] = [{ name: "001_domain", ...m001 }, { name: "002_audit", ...m002 }];
