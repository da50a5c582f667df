// Input bounds shared by the domain modules: every string and list the API accepts is bounded.
import { badInput } from "../../errors/app-error.js";

export function text(value: string, field: string, max: number, { min = 1 } = {}): string {
  if (typeof value !== "string") throw badInput(`${field} must be a string`, field);
  const v = value.trim();
  if (v.length < min) throw badInput(`${field} must not be empty`, field);
  if (v.length > max) throw badInput(`${field} must be at most ${max} characters`, field);
  // PostgreSQL text cannot hold NUL: refuse it here rather than fail in SQL.
  if (v.includes("\u0000")) throw badInput(`${field} must not contain NUL characters`, field);
  return v;
}

export function optionalText(value: string | null | undefined, field: string, max: number): string | null | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  return text(value, field, max, { min: 0 });
}

export const MAX_TAGS = 20;
export const MAX_TAG_LENGTH = 40;
export const MAX_PAYLOAD_BYTES = 16_384;

export function tags(values: string[], field = "tags"): string[] {
  if (values.length > MAX_TAGS) throw badInput(`${field} may hold at most ${MAX_TAGS} tags`, field);
  const out = values.map((t) => text(t, field, MAX_TAG_LENGTH));
  return [...new Set(out)];
}

export const MAX_PAYLOAD_DEPTH = 64;

// jsonb refuses NUL and lone surrogates. JSON.stringify writes exactly those as \u escapes
// (\u0000, \ud800–\udfff), preceded by an odd number of backslashes.
const JSON_UNSTORABLE_RE = /(?:^|[^\\])(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/;

/** True when objects/arrays nest deeper than `levels` (recursion stops at the limit). */
function nestsDeeper(value: unknown, levels: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (levels <= 0) return true;
  return Object.values(value).some((v) => nestsDeeper(v, levels - 1));
}

export function payload(value: Record<string, unknown>, field = "payload"): Record<string, unknown> {
  if (nestsDeeper(value, MAX_PAYLOAD_DEPTH)) throw badInput(`${field} may nest at most ${MAX_PAYLOAD_DEPTH} levels`, field);
  const json = JSON.stringify(value);
  if (Buffer.byteLength(json) > MAX_PAYLOAD_BYTES) throw badInput(`${field} must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`, field);
  if (JSON_UNSTORABLE_RE.test(json)) throw badInput(`${field} must not contain NUL characters or unpaired surrogates`, field);
  return value;
}
