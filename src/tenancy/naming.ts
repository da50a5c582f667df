// Tenant schema and role names are derived from the organization id, never taken from input,
// and checked against a strict pattern before they are used in SQL.
import { badInput } from "../errors/app-error.js";

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCHEMA_RE = /^tenant_[0-9a-f]{32}$/;
const ROLE_RE = /^enclave_tenant_[0-9a-f]{32}$/;

export const CONTROL_SCHEMA = "control";
export const OWNER_ROLE = "enclave_owner";

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_RE.test(value);
}

/** Parse a client-supplied id; malformed ids are BAD_USER_INPUT, not a database error. */
export function parseId(value: string, field = "id"): string {
  if (!isUuid(value)) throw badInput(`${field} must be a valid id`, field);
  return value.toLowerCase();
}

function hex(orgId: string): string {
  if (!isUuid(orgId)) throw new Error("organization id is not a uuid");
  return orgId.toLowerCase().replace(/-/g, "");
}

export function tenantSchemaName(orgId: string): string {
  const name = `tenant_${hex(orgId)}`;
  if (!SCHEMA_RE.test(name)) throw new Error("derived schema name failed validation");
  return name;
}

export function tenantRoleName(orgId: string): string {
  const name = `enclave_tenant_${hex(orgId)}`;
  if (!ROLE_RE.test(name)) throw new Error("derived role name failed validation");
  return name;
}

export function assertTenantSchema(name: string): string {
  if (!SCHEMA_RE.test(name)) throw new Error("invalid tenant schema name");
  return name;
}

/** Names no organization may take as its slug: they read like system or schema names. */
const RESERVED_SLUGS = new Set([
  "public", "control", "admin", "api", "app", "auth", "graphql", "health", "healthz", "readyz",
  "information-schema", "information_schema", "postgres", "root", "system", "www", "enclave", "tenant",
]);
const SLUG_RE = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;

export function validateSlug(slug: string): string {
  if (typeof slug !== "string" || slug.length < 3 || slug.length > 40)
    throw badInput("slug must be 3 to 40 characters", "slug");
  if (!SLUG_RE.test(slug))
    throw badInput("slug may contain lowercase letters, digits and single hyphens, starting with a letter", "slug");
  if (RESERVED_SLUGS.has(slug) || slug.startsWith("pg-") || slug.startsWith("pg") && slug.length === 2)
    throw badInput(`slug "${slug}" is reserved`, "slug");
  return slug;
}
