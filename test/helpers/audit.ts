// Reading audit rows straight from the database (privileged connection) in tests.
import type { App } from "../../src/app.js";
import { quoteIdent } from "../../src/db/knex.js";
import { tenantRef } from "../../src/tenancy/scope.js";

export const eventsTable = (orgId: string | "platform") =>
  orgId === "platform" ? "control.audit_events" : `${quoteIdent(tenantRef(orgId).schema)}.audit_events`;

export async function auditRows(app: App, orgId: string | "platform", afterSeq = 0): Promise<any[]> {
  const { rows } = await app.services.db.admin.raw(`SELECT * FROM ${eventsTable(orgId)} WHERE seq > ? ORDER BY seq`, [afterSeq]);
  return rows;
}

export async function lastSeq(app: App, orgId: string | "platform"): Promise<number> {
  const { rows: [r] } = await app.services.db.admin.raw(`SELECT coalesce(max(seq), 0) AS n FROM ${eventsTable(orgId)}`);
  return Number(r.n);
}
