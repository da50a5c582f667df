// Redaction of audit values: secrets always, and the organization's configured PII fields.
export const REDACTED = "[REDACTED]";
const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|authorization|credential|private[-_]?key|hash|signature|cookie/i;

/** Deep copy with secret-looking keys and the given PII field names replaced by "[REDACTED]". */
export function redact(value: unknown, piiFields: readonly string[] = [], depth = 0): unknown {
  if (value === null || value === undefined) return value ?? null;
  if (depth > 8) return "[TRUNCATED]";
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, piiFields, depth + 1));
  if (typeof value === "object") {
    const pii = new Set(piiFields.map((f) => f.toLowerCase()));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === "function") continue;
      out[k] = SECRET_KEY.test(k) || pii.has(k.toLowerCase()) ? REDACTED : redact(v, piiFields, depth + 1);
    }
    return out;
  }
  if (typeof value === "string") {
    // PostgreSQL text and jsonb cannot hold NUL: an event must never fail on the caller's input.
    const clean = value.includes("\u0000") ? value.replace(/\u0000/g, "") : value;
    return clean.length > 2000 ? `${clean.slice(0, 2000)}…` : clean;
  }
  if (typeof value === "bigint") return value.toString();
  return value;
}

/** Changed fields only: { field: { before, after } }; both sides redacted. */
export function diff(before: Record<string, unknown> | null | undefined, after: Record<string, unknown> | null | undefined, piiFields: readonly string[] = []) {
  const b = (redact(before ?? {}, piiFields) ?? {}) as Record<string, unknown>;
  const a = (redact(after ?? {}, piiFields) ?? {}) as Record<string, unknown>;
  const out: Record<string, { before?: unknown; after?: unknown }> = {};
  for (const k of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (k === "updatedAt" || k === "updated_at") continue;
    const bv = JSON.stringify(b[k] ?? null);
    const av = JSON.stringify(a[k] ?? null);
    if (bv === av) continue;
    out[k] = { ...(before ? { before: b[k] ?? null } : {}), ...(after ? { after: a[k] ?? null } : {}) };
  }
  return out;
}
