// Filtered, keyset-paginated reads of a tenant's audit events (newest first by sequence number).
import type { Knex } from "knex";
import { badInput } from "../../errors/app-error.js";
import { MAX_PAGE_SIZE } from "../../modules/common/connection.js";

export interface AuditFilterValues {
  from?: Date | null;
  to?: Date | null;
  actorId?: string | null;
  eventTypes?: string[] | null;
  categories?: string[] | null;
  severities?: string[] | null;
  results?: string[] | null;
  resourceType?: string | null;
  resourceId?: string | null;
  search?: string | null;
}

export const EVENT_COLUMNS = [
  "seq", "id", "occurred_at", "event_type", "category", "severity", "actor_type", "actor_id", "api_key_id", "ip", "user_agent",
  "session_id", "request_id", "resource_type", "resource_id", "result", "reason", "changes", "metadata", "prev_hash", "hash",
];

const MAX_SEQ = "9223372036854775807";

export function applyFilter(q: Knex.QueryBuilder, f: AuditFilterValues, table = "audit_events"): Knex.QueryBuilder {
  // occurred_at is taken from the database clock while the chain head is locked, so it grows with
  // seq: a time range is also a seq range, found with one probe of the time index each, which lets
  // the planner walk the primary key over just that range.
  if (f.from) {
    q.where("occurred_at", ">=", f.from);
    q.whereRaw(`seq >= coalesce((SELECT seq FROM ?? WHERE occurred_at >= ? ORDER BY occurred_at, seq LIMIT 1), ${MAX_SEQ})`, [table, f.from]);
  }
  if (f.to) {
    q.where("occurred_at", "<", f.to);
    q.whereRaw(`seq < coalesce((SELECT seq FROM ?? WHERE occurred_at >= ? ORDER BY occurred_at, seq LIMIT 1), ${MAX_SEQ})`, [table, f.to]);
  }
  if (f.actorId) q.where("actor_id", f.actorId);
  if (f.eventTypes?.length) q.whereIn("event_type", f.eventTypes);
  if (f.categories?.length) q.whereIn("category", f.categories);
  if (f.severities?.length) q.whereIn("severity", f.severities);
  if (f.results?.length) q.whereIn("result", f.results);
  if (f.resourceType) q.where("resource_type", f.resourceType);
  if (f.resourceId) q.where("resource_id", f.resourceId);
  if (f.search) q.whereRaw(`search @@ websearch_to_tsquery('simple', ?)`, [f.search]);
  return q;
}

/** Rows in sequence order, fetched in keyset batches: a range of any size never sits in memory. */
export async function* streamEvents(db: Knex | Knex.Transaction, table: string, f: AuditFilterValues, columns: string[] = EVENT_COLUMNS, batch = 1_000, throughSeq?: number) {
  let after = 0;
  for (;;) {
    const q = applyFilter(db(table).select(columns), f, table).where("seq", ">", after);
    if (throughSeq != null) q.where("seq", "<=", throughSeq);
    const rows = (await q.orderBy("seq").limit(batch)) as Array<Record<string, any>>;
    for (const r of rows) yield r;
    if (rows.length < batch) return;
    after = Number(rows[rows.length - 1]!.seq);
  }
}

export function encodeSeqCursor(seq: number): string {
  return Buffer.from(`seq:${seq}`).toString("base64url");
}

export function decodeSeqCursor(cursor: string | null | undefined): number | null {
  if (cursor == null) return null;
  const m = /^seq:(\d{1,15})$/.exec(Buffer.from(cursor.slice(0, 64), "base64url").toString("utf8"));
  if (!m) throw badInput("after is not a valid cursor", "after");
  return Number(m[1]);
}

export async function listEvents(trx: Knex.Transaction, f: AuditFilterValues, first: number, after: number | null) {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
  const q = applyFilter(trx("audit_events").select(EVENT_COLUMNS), f);
  if (after != null) q.where("seq", "<", after);
  const rows = await q.orderBy("seq", "desc").limit(first + 1);
  return rows as Array<Record<string, any>>;
}

export async function countEvents(trx: Knex.Transaction, f: AuditFilterValues): Promise<number> {
  const row = await applyFilter(trx("audit_events"), f).count({ n: "*" }).first();
  return Number(row?.n ?? 0);
}
