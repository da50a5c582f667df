// The error table, AppError and the edge formatter (no database).
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { describe, expect, it } from "vitest";
import { AppError, badInput, conflict, forbidden, notFound, rateLimited, unauthenticated } from "../../src/errors/app-error.js";
import { ERROR_CODES, isErrorCode, type ErrorCode } from "../../src/errors/codes.js";
import { createErrorFormatter, httpStatusFor } from "../../src/errors/mask.js";
import type { Logger } from "../../src/observability/logger.js";

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

describe("ERROR_CODES", () => {
  it.each(CODES)("%s has an HTTP error status and a description", (code) => {
    const spec = ERROR_CODES[code];
    expect(Number.isInteger(spec.http)).toBe(true);
    expect(spec.http).toBeGreaterThanOrEqual(400);
    expect(spec.http).toBeLessThan(600);
    expect(spec.description.length).toBeGreaterThan(10);
  });

  it("maps the well-known codes to their conventional statuses", () => {
    expect({
      UNAUTHENTICATED: ERROR_CODES.UNAUTHENTICATED.http,
      FORBIDDEN: ERROR_CODES.FORBIDDEN.http,
      BAD_USER_INPUT: ERROR_CODES.BAD_USER_INPUT.http,
      NOT_FOUND: ERROR_CODES.NOT_FOUND.http,
      CONFLICT: ERROR_CODES.CONFLICT.http,
      RATE_LIMITED: ERROR_CODES.RATE_LIMITED.http,
      INTERNAL_SERVER_ERROR: ERROR_CODES.INTERNAL_SERVER_ERROR.http,
      SERVICE_UNAVAILABLE: ERROR_CODES.SERVICE_UNAVAILABLE.http,
    }).toEqual({
      UNAUTHENTICATED: 401, FORBIDDEN: 403, BAD_USER_INPUT: 400, NOT_FOUND: 404, CONFLICT: 409,
      RATE_LIMITED: 429, INTERNAL_SERVER_ERROR: 500, SERVICE_UNAVAILABLE: 503,
    });
    // Only a server-side failure is 5xx.
    expect(CODES.filter((c) => ERROR_CODES[c].http >= 500).sort()).toEqual(["INTERNAL_SERVER_ERROR", "SERVICE_UNAVAILABLE"]);
  });

  it("isErrorCode accepts exactly the table's codes", () => {
    for (const c of CODES) expect(isErrorCode(c)).toBe(true);
    for (const c of ["toString", "__proto__", "constructor", "hasOwnProperty", "forbidden", "", undefined, null, 403, {}]) expect(isErrorCode(c)).toBe(false);
  });

  it("httpStatusFor gives each code its status and 500 for anything else", () => {
    for (const c of CODES) expect(httpStatusFor(c)).toBe(ERROR_CODES[c].http);
    for (const c of ["NOPE", "toString", undefined, 404]) expect(httpStatusFor(c)).toBe(500);
  });
});

describe("AppError", () => {
  it.each(CODES)("%s sets extensions.code and extensions.http.status", (code) => {
    const e = new AppError(code, "message");
    expect(e).toBeInstanceOf(GraphQLError);
    expect(e.code).toBe(code);
    expect(e.message).toBe("message");
    expect(e.extensions).toEqual({ code, http: { status: ERROR_CODES[code].http } });
  });

  it("keeps extra extensions but never lets them override the code", () => {
    const e = new AppError("FORBIDDEN", "no", { code: "INTERNAL_SERVER_ERROR", reason: "x" });
    expect(e.extensions.code).toBe("FORBIDDEN");
    expect(e.extensions.reason).toBe("x");
  });

  it("helpers build the right codes", () => {
    expect(unauthenticated().extensions.code).toBe("UNAUTHENTICATED");
    expect(forbidden().extensions.code).toBe("FORBIDDEN");
    expect(badInput("bad", "title").extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "title" });
    expect(badInput("bad").extensions).not.toHaveProperty("field");
    expect(notFound("Item")).toMatchObject({ message: "Item not found", code: "NOT_FOUND" });
    expect(conflict("taken").extensions.code).toBe("CONFLICT");
    expect(rateLimited("slow down", 30).extensions).toMatchObject({ code: "RATE_LIMITED", retryAfter: 30 });
  });
});

describe("createErrorFormatter", () => {
  function setup(exposeDetails = false) {
    const logged: unknown[] = [];
    const logger = { error: (obj: unknown) => void logged.push(obj) } as unknown as Logger;
    return { format: createErrorFormatter({ logger, exposeDetails }), logged };
  }
  const SQL = `select "id" from "tenant_0123456789abcdef0123456789abcdef"."items" where "id" = $1 - relation "items" does not exist`;
  const asFormatted = (e: GraphQLError): GraphQLFormattedError => e.toJSON();
  const leaks = (v: unknown) => expect(JSON.stringify(v)).not.toMatch(/select|tenant_|relation|items|stack|42P01|at .*\.ts/i);

  it("masks a raw Error carrying SQL text and logs the original", () => {
    const { format, logged } = setup();
    const raw = new Error(SQL);
    const wrapped = new GraphQLError(raw.message, { path: ["feed"], originalError: raw });
    const out = format(asFormatted(wrapped), wrapped);
    expect(out).toEqual({ message: "Internal server error", locations: undefined, path: ["feed"], extensions: { code: "INTERNAL_SERVER_ERROR" } });
    leaks(out);
    expect(logged).toHaveLength(1);
    expect((logged[0] as { err: unknown }).err).toBe(raw);
  });

  it("masks a pg-style error object (code, detail, schema, table)", () => {
    const { format } = setup();
    const pgErr = Object.assign(new Error(SQL), { code: "42P01", detail: "Key (id)=(1) …", schema: "tenant_0123", table: "items", where: "PL/pgSQL function" });
    const formatted: GraphQLFormattedError = { message: SQL, extensions: { code: "42P01", exception: { stacktrace: ["Error: …", "    at items.repository.ts:10"] } } };
    const out = format(formatted, pgErr);
    expect(out.extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
    leaks(out);
  });

  it("masks errors already labelled INTERNAL_SERVER_ERROR or with unknown codes", () => {
    const { format } = setup();
    // Codes named like Object.prototype members must not be looked up on the prototype.
    for (const code of ["INTERNAL_SERVER_ERROR", "SOME_LIBRARY_CODE", "toString", "constructor", "__proto__", undefined, 42]) {
      const out = format({ message: SQL, extensions: { code, stacktrace: ["at x.ts:1"] } }, new Error(SQL));
      expect(out).toMatchObject({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
      leaks(out);
    }
  });

  it("passes known codes through, without http or stacktrace", () => {
    const { format, logged } = setup();
    const e = badInput("title must be at most 500 characters", "title");
    const out = format({ ...asFormatted(e), extensions: { ...e.extensions, stacktrace: ["at x.ts:1"] } }, e);
    expect(out).toEqual({ message: "title must be at most 500 characters", extensions: { code: "BAD_USER_INPUT", field: "title" } });
    expect(logged).toHaveLength(0); // expected errors are not logged as crashes
  });

  it("maps Apollo's own codes onto the table", () => {
    const { format } = setup();
    const cases: Record<string, ErrorCode> = {
      GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
      GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
      BAD_USER_INPUT: "BAD_USER_INPUT",
      BAD_REQUEST: "BAD_REQUEST",
      OPERATION_RESOLUTION_FAILURE: "BAD_REQUEST",
      PERSISTED_QUERY_NOT_FOUND: "BAD_REQUEST",
      PERSISTED_QUERY_NOT_SUPPORTED: "BAD_REQUEST",
    };
    for (const [apollo, ours] of Object.entries(cases)) expect(format({ message: "m", extensions: { code: apollo } }, new Error("m")).extensions?.code).toBe(ours);
  });

  it("adds the original message as detail only when details are exposed (development)", () => {
    expect(setup(true).format({ message: SQL }, new Error(SQL)).extensions).toEqual({ code: "INTERNAL_SERVER_ERROR", detail: SQL });
    expect(setup(false).format({ message: SQL }, new Error(SQL)).extensions).toEqual({ code: "INTERNAL_SERVER_ERROR" });
  });

  it("never throws: a hostile error or a failing logger still yields a masked error", () => {
    const throwingLogger = { error: () => { throw new Error("log down"); } } as unknown as Logger;
    const format = createErrorFormatter({ logger: throwingLogger, exposeDetails: false });
    expect(format({ message: SQL }, new Error(SQL))).toEqual({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
    const hostile = { message: SQL, get extensions(): never { throw new Error(SQL); } } as unknown as GraphQLFormattedError;
    const out = setup().format(hostile, null);
    expect(out).toEqual({ message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } });
  });
});
