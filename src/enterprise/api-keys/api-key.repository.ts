// SQL for control.api_keys. Runs on the runtime pool outside any tenant scope; every query that
// serves a caller is filtered by the caller's organization id.
import type { Knex } from "knex";
import type { CursorKey } from "../../modules/common/connection.js";

export interface ApiKeyRow {
  id: string;
  organizationId: string;
  createdBy: string;
  name: string;
  environment: "live" | "test";
  lookupPrefix: string;
  last4: string;
  scopes: string[];
  rateLimitPerMinute: number | null;
  ipAllowlist: string[];
  expiresAt: Date | null;
  revokedAt: Date | null;
  rotatedFrom: string | null;
  rotatedTo: string | null;
  requestCount: string | number;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  createdAt: Date;
}

export const API_KEY_COLUMNS = [
  "id", "organization_id as organizationId", "created_by as createdBy", "name", "environment",
  "lookup_prefix as lookupPrefix", "last4", "scopes", "rate_limit_per_minute as rateLimitPerMinute",
  "ip_allowlist as ipAllowlist", "expires_at as expiresAt", "revoked_at as revokedAt",
  "rotated_from as rotatedFrom", "rotated_to as rotatedTo", "request_count as requestCount",
  "last_used_at as lastUsedAt", "last_used_ip as lastUsedIp", "created_at as createdAt",
];

const keys = (db: Knex | Knex.Transaction) => db.withSchema("control").table("api_keys");

export interface NewKey {
  organizationId: string;
  createdBy: string;
  name: string;
  environment: "live" | "test";
  lookupPrefix: string;
  secretHash: Buffer;
  last4: string;
  scopes: string[];
  rateLimitPerMinute: number | null;
  ipAllowlist: string[];
  expiresAt: Date | null;
  rotatedFrom?: string | null;
}

export async function insertKey(db: Knex | Knex.Transaction, k: NewKey): Promise<ApiKeyRow> {
  const [row] = await keys(db).insert({
    organization_id: k.organizationId, created_by: k.createdBy, name: k.name, environment: k.environment,
    lookup_prefix: k.lookupPrefix, secret_hash: k.secretHash, last4: k.last4, scopes: k.scopes,
    rate_limit_per_minute: k.rateLimitPerMinute, ip_allowlist: k.ipAllowlist, expires_at: k.expiresAt,
    rotated_from: k.rotatedFrom ?? null,
  }).returning(API_KEY_COLUMNS);
  return row as ApiKeyRow;
}

export async function getKey(db: Knex | Knex.Transaction, organizationId: string, id: string, forUpdate = false): Promise<ApiKeyRow | null> {
  const q = keys(db).first(API_KEY_COLUMNS).where({ id, organization_id: organizationId });
  if (forUpdate) q.forUpdate();
  return ((await q) ?? null) as ApiKeyRow | null;
}

export async function listKeys(db: Knex, organizationId: string, o: { first: number; after: CursorKey | null; includeInactive: boolean }) {
  const q = keys(db).select(API_KEY_COLUMNS).select(db.raw(`created_at::text as "_k"`)).where({ organization_id: organizationId });
  if (!o.includeInactive) q.whereNull("revoked_at").andWhere((w) => w.whereNull("expires_at").orWhere("expires_at", ">", db.fn.now()));
  if (o.after) q.whereRaw(`(created_at, id) < (?::timestamptz, ?::uuid)`, [o.after[0], o.after[1]]);
  return (await q.orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }]).limit(o.first + 1)) as Array<ApiKeyRow & { _k: string }>;
}

export async function countKeys(db: Knex | Knex.Transaction, organizationId: string, activeOnly: boolean): Promise<number> {
  const q = keys(db).where({ organization_id: organizationId });
  if (activeOnly) q.whereNull("revoked_at").andWhere((w) => w.whereNull("expires_at").orWhere("expires_at", ">", db.fn.now()));
  return Number((await q.count({ n: "*" }).first())?.n ?? 0);
}

export async function revokeKey(db: Knex | Knex.Transaction, organizationId: string, id: string): Promise<ApiKeyRow | null> {
  const [row] = await keys(db).where({ id, organization_id: organizationId })
    .update({ revoked_at: db.raw("coalesce(revoked_at, now())") }).returning(API_KEY_COLUMNS);
  return (row ?? null) as ApiKeyRow | null;
}

export async function markRotated(trx: Knex.Transaction, id: string, newId: string, overlapSeconds: number): Promise<ApiKeyRow> {
  const [row] = await keys(trx).where({ id }).update({
    rotated_to: newId,
    expires_at: trx.raw(`least(coalesce(expires_at, 'infinity'::timestamptz), now() + make_interval(secs => ?))`, [overlapSeconds]),
  }).returning(API_KEY_COLUMNS);
  return row as ApiKeyRow;
}

/** The record authentication needs, with the creator's current standing in the organization. */
export interface KeyAuthRow {
  id: string;
  organization_id: string;
  created_by: string;
  environment: "live" | "test";
  secret_hash: Buffer;
  scopes: string[];
  rate_limit_per_minute: number | null;
  ip_allowlist: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  member_role: string | null;
  is_super_admin: boolean;
  disabled_at: Date | null;
}

export async function findForAuth(db: Knex, lookupPrefix: string): Promise<KeyAuthRow | null> {
  const { rows } = await db.raw(
    `SELECT k.id, k.organization_id, k.created_by, k.environment, k.secret_hash, k.scopes, k.rate_limit_per_minute,
            k.ip_allowlist, k.expires_at, k.revoked_at, m.role AS member_role, u.is_super_admin, u.disabled_at
       FROM control.api_keys k
       JOIN control.users u ON u.id = k.created_by
       LEFT JOIN control.memberships m ON m.user_id = k.created_by AND m.organization_id = k.organization_id
      WHERE k.lookup_prefix = ?`,
    [lookupPrefix],
  );
  return (rows[0] ?? null) as KeyAuthRow | null;
}

export interface UsageDelta {
  id: string;
  count: number;
  lastUsedAt: Date;
  lastUsedIp: string | null;
}

/** One statement for every key used since the last flush. */
export async function addUsage(db: Knex, deltas: UsageDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  await db.raw(
    `UPDATE control.api_keys k
        SET request_count = k.request_count + v.n,
            last_used_at = greatest(k.last_used_at, v.at),
            last_used_ip = CASE WHEN k.last_used_at IS NULL OR v.at >= k.last_used_at THEN v.ip ELSE k.last_used_ip END
       FROM unnest(?::uuid[], ?::bigint[], ?::timestamptz[], ?::text[]) AS v(id, n, at, ip)
      WHERE k.id = v.id`,
    [deltas.map((d) => d.id), deltas.map((d) => d.count), deltas.map((d) => d.lastUsedAt.toISOString()), deltas.map((d) => d.lastUsedIp)] as never,
  );
}
