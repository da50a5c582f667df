// Tenant naming and client-id parsing (no database): names are derived from ids only, match a
// strict pattern, fit PostgreSQL's 63-byte identifiers, and hostile input never gets through.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors/app-error.js";
import { assertTenantSchema, isUuid, parseId, tenantRoleName, tenantSchemaName, validateSlug } from "../../src/tenancy/naming.js";
import { tenantPrelude, tenantRef } from "../../src/tenancy/scope.js";

function badInputOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("BAD_USER_INPUT");
    return err as AppError;
  }
  throw new Error("expected BAD_USER_INPUT");
}

describe("validateSlug", () => {
  it.each(["abc", "acme", "acme-corp", "a1b2", "x-1-y-2", "pgadmin", "a".repeat(40), "tenants", "publicity"])("accepts %j", (slug) => {
    expect(validateSlug(slug)).toBe(slug);
  });

  it.each([
    "public", "pg_catalog", "pg-x", "pg-toast", "pg", "a'b", 'Robert"); --', "UPPER", "Acme", "ab", "", "a".repeat(41),
    "control", "admin", "information_schema", "information-schema", "tenant", "enclave", "postgres", "graphql", "healthz",
    "-abc", "abc-", "a--b", "1abc", "abc_def", "a b", " abc", "abc\n", "abc\u0000", "ábc", "аbc" /* Cyrillic а */, "abc;drop", "tenant_0123",
  ])("refuses %j with BAD_USER_INPUT on field slug", (slug) => {
    expect(badInputOf(() => validateSlug(slug)).extensions.field).toBe("slug");
  });

  it("refuses non-strings", () => {
    for (const v of [null, undefined, 123, ["abc"], { toString: () => "abc" }]) badInputOf(() => validateSlug(v as unknown as string));
  });
});

describe("parseId", () => {
  it("accepts a uuid in either case and returns it lowercased", () => {
    const id = randomUUID();
    expect(parseId(id)).toBe(id);
    expect(parseId(id.toUpperCase())).toBe(id);
  });

  it.each([
    "abc", "1; DROP TABLE items; --", "00000000-0000-0000-0000-00000000000'", "'00000000-0000-0000-0000-000000000000",
    "00000000-0000-0000-0000-000000000000\n", " 00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000",
    "{00000000-0000-0000-0000-000000000000}", "00000000-0000-0000-0000-0000000000000", "g0000000-0000-0000-0000-000000000000", "",
  ])("refuses %j", (value) => {
    const e = badInputOf(() => parseId(value, "projectId"));
    expect(e.extensions.field).toBe("projectId");
    expect(e.message).toBe("projectId must be a valid id");
  });

  it("names the field `id` by default and refuses non-strings", () => {
    expect(badInputOf(() => parseId("x")).extensions.field).toBe("id");
    for (const v of [null, undefined, 1, {}]) badInputOf(() => parseId(v as unknown as string));
    expect(isUuid(123)).toBe(false);
  });
});

describe("tenant schema and role names", () => {
  it("derive from the id: lowercase hex, no hyphens, fixed prefix, within 63 bytes", () => {
    const id = "0A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9";
    expect(tenantSchemaName(id)).toBe("tenant_0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    expect(tenantRoleName(id)).toBe("enclave_tenant_0a1b2c3d4e5f60718293a4b5c6d7e8f9");
    expect(tenantSchemaName(id)).toBe(tenantSchemaName(id.toLowerCase()));
    expect(Buffer.byteLength(tenantRoleName(id))).toBeLessThanOrEqual(63);
  });

  it("are distinct for distinct ids and always match the strict patterns", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const id = randomUUID();
      const schema = tenantSchemaName(id);
      expect(schema).toMatch(/^tenant_[0-9a-f]{32}$/);
      expect(tenantRoleName(id)).toMatch(/^enclave_tenant_[0-9a-f]{32}$/);
      expect(assertTenantSchema(schema)).toBe(schema);
      seen.add(schema);
    }
    expect(seen.size).toBe(500);
  });

  it.each(["", "acme", "public", "x'; DROP SCHEMA public; --", '"tenant"', "00000000-0000-0000-0000-00000000000g"])("refuse a non-uuid id %j", (id) => {
    expect(() => tenantSchemaName(id)).toThrow();
    expect(() => tenantRoleName(id)).toThrow();
    expect(() => tenantRef(id)).toThrow();
  });

  it.each(["public", "tenant_", "tenant_0A1B2C3D4E5F60718293A4B5C6D7E8F9", 'tenant_0a1b2c3d4e5f60718293a4b5c6d7e8f9"', "tenant_0a1b2c3d4e5f60718293a4b5c6d7e8f9; --", "control"])(
    "assertTenantSchema refuses %j",
    (name) => expect(() => assertTenantSchema(name)).toThrow(),
  );

  it("the prelude sets exactly the derived names, transaction-locally", () => {
    const id = randomUUID();
    const hex = id.replace(/-/g, "");
    expect(tenantPrelude(tenantRef(id))).toBe(`SELECT set_config('search_path', '"tenant_${hex}"', true); SET LOCAL ROLE "enclave_tenant_${hex}"`);
  });
});
