// Entering a tenant scope: search_path and role are set transaction-locally, in the same message
// as BEGIN. After COMMIT or ROLLBACK the pooled connection is back to the login role's defaults
// (NOINHERIT, empty search_path), so nothing outside a scope can see tenant data.
import type { Knex } from "knex";
import { inScopedTransaction, quoteIdent, quoteLiteral } from "../db/knex.js";
import { tenantRoleName, tenantSchemaName } from "./naming.js";

export interface TenantRef {
  id: string;
  schema: string;
  role: string;
}

export function tenantRef(orgId: string): TenantRef {
  return { id: orgId, schema: tenantSchemaName(orgId), role: tenantRoleName(orgId) };
}

const preludeCache = new Map<string, string>();

/** `SELECT set_config('search_path', …, true); SET LOCAL ROLE …` for one tenant; names validated by tenantRef. */
export function tenantPrelude(t: TenantRef): string {
  let p = preludeCache.get(t.id);
  if (!p) {
    p = `SELECT set_config('search_path', ${quoteLiteral(quoteIdent(t.schema))}, true); SET LOCAL ROLE ${quoteIdent(t.role)}`;
    if (preludeCache.size > 50_000) preludeCache.clear();
    preludeCache.set(t.id, p);
  }
  return p;
}

/** One transaction in the tenant's scope. Commits on success; rolls back and discards the connection on error. */
export function withTenant<T>(db: Knex, tenant: TenantRef, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return inScopedTransaction(db, tenantPrelude(tenant), fn);
}

/** Switch an open transaction into a tenant's scope (after control-plane work in the same transaction). */
export async function enterTenant(trx: Knex.Transaction, tenant: TenantRef): Promise<void> {
  await trx.raw(tenantPrelude(tenant));
}

/**
 * Run control-plane statements (schema-qualified `control.*`) inside an open tenant transaction:
 * step out of the tenant role (`SET LOCAL ROLE NONE`: back to the NOINHERIT login role, which holds
 * the control-plane grants and no tenant privileges), run `fn`, and step back in — all
 * transaction-local, so the control-plane changes commit or roll back with the tenant work.
 *
 * Only for code that has the transaction to itself: MUTATION resolvers (graphql-js runs mutation
 * root fields one after another, each with its subtree) or a transaction of its own. Never from a
 * query resolver: query fields run in parallel on the same request transaction, and a sibling's
 * statement could run while the role is stepped out.
 */
export async function withControlStatements<T>(trx: Knex.Transaction, tenant: TenantRef, fn: () => Promise<T>): Promise<T> {
  await trx.raw("SET LOCAL ROLE NONE");
  let out: T;
  try {
    out = await fn();
  } catch (err) {
    // After a failed statement the transaction is aborted (it will be rolled back and its connection
    // discarded); after an application error it is still usable and must be back in the tenant scope.
    await enterTenant(trx, tenant).catch(() => undefined);
    throw err;
  }
  await enterTenant(trx, tenant);
  return out;
}
