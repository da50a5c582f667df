// Canonical form and hashing of audit events, and HMAC signatures of checkpoints.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const GENESIS_HASH = "0".repeat(64);

/** JSON with object keys sorted at every level; undefined becomes null. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The hashed content of a stored row (tenant or platform), independent of column order. */
export interface AuditRow {
  seq: number | string;
  id: string;
  occurred_at: Date;
  organization_id?: string | null;
  event_type: string;
  category: string;
  severity: string;
  actor_type: string;
  actor_id: string | null;
  api_key_id: string | null;
  ip: string | null;
  user_agent: string | null;
  session_id: string | null;
  request_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  result: string;
  reason: string | null;
  changes: unknown;
  metadata: unknown;
  prev_hash: string;
  hash: string;
}

export const HASHED_COLUMNS = [
  "seq", "id", "occurred_at", "event_type", "category", "severity", "actor_type", "actor_id", "api_key_id", "ip",
  "user_agent", "session_id", "request_id", "resource_type", "resource_id", "result", "reason", "changes", "metadata",
  "prev_hash", "hash",
] as const;

export function hashRow(chain: string, row: Omit<AuditRow, "hash">): string {
  const { prev_hash, ...content } = row;
  const body = canonicalJson({ ...content, chain, seq: Number(row.seq), occurred_at: new Date(row.occurred_at).toISOString() });
  return createHash("sha256").update(prev_hash).update("\n").update(body).digest("hex");
}

export function signCheckpoint(key: string, chain: string, seq: number, hash: string): string {
  return createHmac("sha256", key).update(`enclave-audit-checkpoint:v1:${chain}:${seq}:${hash}`).digest("hex");
}

export function checkSignature(key: string, chain: string, seq: number, hash: string, signature: string): boolean {
  const want = Buffer.from(signCheckpoint(key, chain, seq, hash), "hex");
  const got = Buffer.from(signature, "hex");
  return got.length === want.length && timingSafeEqual(got, want);
}
