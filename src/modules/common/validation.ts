// Input bounds shared by the domain modules: every string and list the API accepts is bounded.
import { badInput } from "../../errors/app-error.js";

export function text(value: string, field: string, max: number, { min = 1 } = {}): string {
  if (typeof value !== "string") throw badInput(`${field} must be a string`, field);
  const v = value.trim();
  if (v.length < min) throw badInput(`${field} must not be empty`, field);
  if (v.length > max) throw badInput(`${field} must be at most ${max} characters`, field);
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

export function payload(value: Record<string, unknown>, field = "payload"): Record<string, unknown> {
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_PAYLOAD_BYTES) throw badInput(`${field} must be at most ${MAX_PAYLOAD_BYTES} bytes of JSON`, field);
  return value;
}
