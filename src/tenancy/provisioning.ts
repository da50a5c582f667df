// Creating an organization: control row, tenant role, tenant schema, tenant migrations and grants,
// all in ONE transaction on the privileged connection. PostgreSQL DDL (roles included) is
// transactional, so a crash at any step leaves nothing behind and a retry starts clean.
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { quoteIdent } from "../db/knex.js";
import { conflict } from "../errors/app-error.js";
import { CONTROL_SCHEMA, validateSlug } from "./naming.js";
import { applyTenantMigrations, enterSchemaForDdl } from "./migrator.js";
import { ORG_COLUMNS, type OrganizationRecord } from "./registry.js";
import { tenantRef } from "./scope.js";

export interface ProvisionInput {
  slug: string;
  name: string;
  plan?: string;
  region?: string;
  /** Fix the id (tests, imports); otherwise a random uuid. */
  id?: string;
}

export type ProvisionStep = "claim" | "role" | "schema" | "migrations" | "activate";

export interface ProvisionOptions {
  appRole: string;
  /** Test hook: throw after the named step, to prove a crash leaves nothing behind. */
  failAfter?: ProvisionStep;
  /** Runs inside the provisioning transaction once the organization is active (audit event). */
  onProvisioned?: (trx: Knex.Transaction, org: OrganizationRecord) => Promise<void>;
}

export interface ProvisionResult {
  organization: OrganizationRecord;
  created: boolean;
}

/** Idempotent by slug: provisioning an existing active slug returns it with created=false. */
export async function provisionOrganization(admin: Knex, input: ProvisionInput, opts: ProvisionOptions): Promise<ProvisionResult> {
  const slug = validateSlug(input.slug);
  const existing = await findBySlug(admin, slug);
  if (existing) return { organization: existing, created: false };

  const id = input.id ?? randomUUID();
  const tenant = tenantRef(id);
  const step = (s: ProvisionStep) => {
    if (opts.failAfter === s) throw new Error(`provisioning interrupted after ${s}`);
  };
  try {
    const organization = await admin.transaction(async (trx) => {
      await trx.raw(`SET LOCAL lock_timeout = '10s'`);
      await trx.withSchema(CONTROL_SCHEMA).table("organizations").insert({
        id, slug, name: input.name, plan: input.plan ?? "free", region: input.region ?? "default",
        status: "provisioning", schema_name: tenant.schema,
      });
      step("claim");
      const role = quoteIdent(tenant.role);
      await trx.raw(`CREATE ROLE ${role} NOLOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS`);
      await trx.raw(`GRANT ${role} TO ${quoteIdent(opts.appRole)}`);
      step("role");
      await trx.raw(`CREATE SCHEMA ${quoteIdent(tenant.schema)}`);
      await trx.raw(`GRANT USAGE ON SCHEMA ${quoteIdent(tenant.schema)} TO ${role}`);
      step("schema");
      await enterSchemaForDdl(trx, tenant);
      await applyTenantMigrations(trx, tenant);
      step("migrations");
      const [org] = await trx.withSchema(CONTROL_SCHEMA).table("organizations")
        .where({ id }).update({ status: "active", updated_at: trx.fn.now() }).returning(ORG_COLUMNS);
      step("activate");
      await opts.onProvisioned?.(trx, org as OrganizationRecord);
      return org as OrganizationRecord;
    });
    return { organization, created: true };
  } catch (err) {
    // Lost a race for the same slug: the winner's organization is the answer.
    if ((err as { code?: string }).code === "23505") {
      const winner = await findBySlug(admin, slug);
      if (winner) return { organization: winner, created: false };
      throw conflict("an organization with this slug already exists");
    }
    throw err;
  }
}

async function findBySlug(db: Knex, slug: string): Promise<OrganizationRecord | null> {
  return ((await db.withSchema(CONTROL_SCHEMA).table("organizations").first(ORG_COLUMNS).where({ slug })) ?? null) as OrganizationRecord | null;
}

/** Remove a tenant completely (tests and decommissioning): schema, role and control rows. */
export async function dropOrganization(admin: Knex, id: string): Promise<void> {
  const t = tenantRef(id);
  await admin.transaction(async (trx) => {
    await trx.raw(`DROP SCHEMA IF EXISTS ${quoteIdent(t.schema)} CASCADE`);
    await trx.withSchema(CONTROL_SCHEMA).table("organizations").where({ id }).delete();
    await trx.raw(`DROP ROLE IF EXISTS ${quoteIdent(t.role)}`);
  });
}
