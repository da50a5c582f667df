// Limits at the edge, over real HTTP (and the same limits over graphql-ws): depth, aliases,
// tokens, batching, GET mutations, CSRF, page sizes, cost, request ids, masking, health.
// "Before execution" is checked by counting the SQL statements the app sent: zero.
import "reflect-metadata";
import type { Knex } from "knex";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent } from "../../src/db/knex.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { codes, startTestApp, type GqlResponse, type TestApp } from "../helpers/app.js";
import { createOrg, type TestOrg } from "../helpers/factories.js";

let t: TestApp;
let org: TestOrg;
let token: string;
let base: string;
let sql = 0;

beforeAll(async () => {
// No background jobs (metering ticks and flushes, audit checkpoints): these tests count every SQL statement.
  t = await startTestApp({ METERING_ENABLED: "false", AUDIT_CHECKPOINT_INTERVAL_MS: "0" });
  org = await createOrg(t.app, "limits");
  token = org.users.ADMIN.token;
  base = t.url.replace(/\/graphql$/, "");
  const count = () => void sql++;
  // Every pool the app has (admin, app, and any other): "no SQL" means none on any of them.
  for (const pool of Object.values(t.app.services.db)) if (typeof (pool as Partial<Knex>)?.on === "function") (pool as Knex).on("query", count);
});
afterAll(async () => t?.close());

async function gql(query: string, variables?: Record<string, unknown>, tok: string | undefined = token) {
  sql = 0;
  const res = await t.gql(query, variables, tok);
  return { res, sql };
}

async function raw(path: string, init: RequestInit = {}) {
  sql = 0;
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text), sql };
}

const workspaceCount = async () => {
  const schema = quoteIdent(tenantRef(org.id).schema);
  return Number((await t.app.services.db.admin.raw(`SELECT count(*) AS n FROM ${schema}.workspaces`)).rows[0].n);
};

function expectRejected(res: GqlResponse, ran: number, code: string, status = 400) {
  expect(codes(res), JSON.stringify(res.body)).toEqual([code]);
  expect(res.status).toBe(status);
  expect(res.body.data ?? null).toBeNull();
  expect(ran, `${ran} SQL statements ran`).toBe(0);
}

/** `workspaces → projects → …` nested to `levels` fields, counting the leaf as a level. */
function nested(levels: number): string {
  const path = ["workspaces(first: 1)", "edges", "node", "projects(first: 1)", "edges", "node", "workspace", "projects(first: 1)"].slice(0, levels - 1);
  return `{ ${path.join(" { ")} { __typename }${" }".repeat(path.length - 1)} }`;
}

describe("depth", () => {
  it("depth 6 runs (control: the SQL counter sees it)", async () => {
    const { res, sql: ran } = await gql(nested(6));
    expect(res.body.errors).toBeUndefined();
    expect(ran).toBeGreaterThan(0);
  });

  it("depth 7 → GRAPHQL_VALIDATION_FAILED, 400, no SQL", async () => {
    const { res, sql: ran } = await gql(nested(7));
    expectRejected(res, ran, "GRAPHQL_VALIDATION_FAILED");
    expect(res.body.errors![0]!.message).toMatch(/depth limit of 6/);
  });

  it("depth hidden in fragments counts too", async () => {
    const q = `{ workspaces(first: 1) { ...W } } fragment W on WorkspaceConnection { edges { node { projects(first: 1) { edges { node { id } } } } } }`;
    const { res, sql: ran } = await gql(q);
    expectRejected(res, ran, "GRAPHQL_VALIDATION_FAILED");
  });
});

describe("aliases, tokens, directives", () => {
  const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `m${i}: me { role }`).join(" ")} }`;

  it("15 aliases run", async () => {
    const { res } = await gql(aliased(15));
    expect(res.body.errors).toBeUndefined();
    expect(Object.keys(res.body.data)).toHaveLength(15);
  });

  it("16 aliases → GRAPHQL_VALIDATION_FAILED, no SQL", async () => {
    const { res, sql: ran } = await gql(aliased(16));
    expectRejected(res, ran, "GRAPHQL_VALIDATION_FAILED");
    expect(res.body.errors![0]!.message).toMatch(/Aliases limit of 15/);
  });

  it("more than 1000 tokens → GRAPHQL_PARSE_FAILED, no SQL", async () => {
    const { res, sql: ran } = await gql(`{ ${"__typename ".repeat(1_000)} }`);
    expectRejected(res, ran, "GRAPHQL_PARSE_FAILED");
    const ok = await gql(`{ ${Array.from({ length: 300 }, (_, i) => `t${i}: __typename`).join(" ")} }`); // ~900 tokens
    expect(ok.res.body.errors).toBeUndefined();
  });

  it("more than 50 directives → GRAPHQL_VALIDATION_FAILED", async () => {
    const directives = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `t${i}: __typename @include(if: true)`).join(" ")} }`;
    const { res, sql: ran } = await gql(directives(51));
    expectRejected(res, ran, "GRAPHQL_VALIDATION_FAILED");
    expect(res.body.errors![0]!.message).toMatch(/Directives limit of 50/);
    const ok = await gql(directives(50));
    expect(ok.res.body.errors).toBeUndefined();
  });

  it("syntax errors → GRAPHQL_PARSE_FAILED", async () => {
    const { res, sql: ran } = await gql(`{ workspaces(first: `);
    expectRejected(res, ran, "GRAPHQL_PARSE_FAILED");
  });
});

describe("transport", () => {
  const mutation = `mutation { createWorkspace(input: { name: "Should not exist" }) { id } }`;
  const auth = () => ({ authorization: `Bearer ${token}` });

  it("a JSON array (batch) body → 400 BAD_REQUEST, nothing executed", async () => {
    const before = await workspaceCount();
    const r = await raw("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...auth() },
      body: JSON.stringify([{ query: mutation }, { query: mutation }]),
    });
    expect(r.status).toBe(400);
    expect(r.json().errors.map((e: { extensions: { code: string } }) => e.extensions.code)).toEqual(["BAD_REQUEST"]);
    expect(r.sql).toBe(0);
    expect(await workspaceCount()).toBe(before);
  });

  it("GET with a mutation → refused, not executed (with or without a preflight header)", async () => {
    const before = await workspaceCount();
    const url = `/graphql?query=${encodeURIComponent(mutation)}`;
    for (const headers of [auth(), { ...auth(), "apollo-require-preflight": "true" }]) {
      const r = await raw(url, { headers });
      expect([400, 405]).toContain(r.status);
      expect(r.json().errors[0].extensions.code).toBe("BAD_REQUEST");
      expect(r.json().data ?? null).toBeNull();
      expect(r.sql).toBe(0);
    }
    expect(await workspaceCount()).toBe(before);
  });

  it("GET with a query and a preflight header runs (control)", async () => {
    const r = await raw(`/graphql?query=${encodeURIComponent("{ me { role } }")}`, { headers: { ...auth(), "apollo-require-preflight": "true" } });
    expect(r.status).toBe(200);
    expect(r.json().data.me.role).toBe("ADMIN");
  });

  it("simple-request content types without a preflight header → refused by CSRF prevention", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const r = await raw("/graphql", { method: "POST", headers: { "content-type": type, ...auth() }, body: JSON.stringify({ query: mutation }) });
      expect(r.status, type).toBe(400);
      expect(r.json().errors[0].extensions.code).toBe("BAD_REQUEST");
      expect(r.json().errors[0].message).toMatch(/CSRF/);
      expect(r.sql).toBe(0);
    }
  });

  it("a subscription over HTTP → BAD_REQUEST, not executed", async () => {
    for (const tok of [undefined, token]) {
      const { res, sql: ran } = await gql(`subscription($p: ID!) { itemChanged(projectId: $p) { kind } }`, { p: org.projectId }, tok);
      expectRejected(res, ran, "BAD_REQUEST");
      expect(res.body.errors![0]!.message).toMatch(/WebSocket/);
    }
  });

  it("malformed JSON → 400 BAD_REQUEST, no stack or parser detail", async () => {
    const r = await raw("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: `{"query": "{ me { role } }",` });
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({ errors: [{ message: "Malformed request body", extensions: { code: "BAD_REQUEST" } }] });
    expect(r.text).not.toMatch(/stack|SyntaxError|at .*\.js|position/i);
  });

  it("an oversized body → 413 BAD_REQUEST, no stack", async () => {
    const r = await raw("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ me { role } }", variables: { x: "x".repeat(300_000) } }) });
    expect(r.status).toBe(413);
    expect(r.json().errors[0].extensions.code).toBe("BAD_REQUEST");
    expect(r.text).not.toMatch(/stack|PayloadTooLargeError|at .*\.js/i);
  });
});

describe("page sizes", () => {
  it("a connection without `first` → GRAPHQL_VALIDATION_FAILED, no SQL", async () => {
    const { res, sql: ran } = await gql(`{ workspaces { totalCount } }`);
    expectRejected(res, ran, "GRAPHQL_VALIDATION_FAILED");
  });

  it.each([101, 0, -1, 1_000_000])("first: %i → BAD_USER_INPUT before execution", async (n) => {
    const { res, sql: ran } = await gql(`{ workspaces(first: ${n}) { totalCount } }`);
    expectRejected(res, ran, "BAD_USER_INPUT");
    expect(res.body.errors![0]!.extensions?.field).toBe("first");
  });

  it("first: 101 on a nested connection → BAD_USER_INPUT before the outer one runs", async () => {
    const { res, sql: ran } = await gql(`{ workspaces(first: 1) { edges { node { projects(first: 101) { totalCount } } } } }`);
    expectRejected(res, ran, "BAD_USER_INPUT");
  });

  it("first via a variable = 101 → BAD_USER_INPUT, no SQL", async () => {
    const { res, sql: ran } = await gql(`query($n: Int!) { workspaces(first: $n) { totalCount } }`, { n: 101 });
    expectRejected(res, ran, "BAD_USER_INPUT");
  });

  it("first via a variable's default: 101 refused, 5 runs", async () => {
    const bad = await gql(`query($n: Int = 101) { workspaces(first: $n) { totalCount } }`);
    expectRejected(bad.res, bad.sql, "BAD_USER_INPUT");
    const ok = await gql(`query($n: Int = 5) { workspaces(first: $n) { totalCount } }`);
    expect(ok.res.body.errors).toBeUndefined();
    expect(ok.res.body.extensions?.cost.requested).toBe(5);
  });

  it("first: 100 runs (control)", async () => {
    const { res } = await gql(`{ workspaces(first: 100) { totalCount } }`);
    expect(res.body.errors).toBeUndefined();
  });
});

describe("cost", () => {
  // Five aliases of workspaces(100) × projects(100) stay within depth 6: 5 × (100 + 100·100) = 50,500.
  const expensive = (n: number) =>
    `{ ${Array.from({ length: n }, (_, i) => `w${i}: workspaces(first: 100) { edges { node { projects(first: 100) { totalCount } } } }`).join(" ")} }`;

  it("over the maximum → COST_LIMIT_EXCEEDED with extensions.cost, before execution", async () => {
    const { res, sql: ran } = await gql(expensive(5));
    expectRejected(res, ran, "COST_LIMIT_EXCEEDED");
    expect(res.body.errors![0]!.extensions?.cost).toEqual({ requested: 50_500, maximum: t.config.graphql.maxCost });
  });

  it("just under the maximum runs and reports its cost", async () => {
    const { res } = await gql(expensive(4));
    expect(res.body.errors).toBeUndefined();
    // Limits are off in tests: no per-minute budget. One workspace per alias came back: actual 4.
    expect(res.body.extensions?.cost).toEqual({ requested: 40_400, actual: 4, maximum: 50_000, budget: null, throttleStatus: "PASS" });
  });

  it("nested 100 × 100 × 100 is refused before execution", async () => {
    const q = `{ workspaces(first: 100) { edges { node { projects(first: 100) { edges { node { items(first: 100) { totalCount } } } } } } } }`;
    const { res, sql: ran } = await gql(q);
    expect(["GRAPHQL_VALIDATION_FAILED", "COST_LIMIT_EXCEEDED"]).toContain(codes(res)[0]);
    expect(ran).toBe(0);
  });

  it("successful responses carry extensions.cost.requested", async () => {
    const { res } = await gql(`{ workspaces(first: 7) { edges { node { projects(first: 3) { totalCount } } } } }`);
    expect(res.body.errors).toBeUndefined();
    // actual counts the connection nodes returned: the organization's one workspace.
    expect(res.body.extensions?.cost).toEqual({ requested: 7 + 7 * 3, actual: 1, maximum: 50_000, budget: null, throttleStatus: "PASS" });
    const me = await gql(`{ me { role } }`);
    expect(me.res.body.extensions?.cost.requested).toBe(1);
  });
});

describe("request ids", () => {
  const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  it("every response carries x-request-id: success, errors, refusals before GraphQL, health", async () => {
    const responses = [
      (await gql(`{ me { role } }`)).res.headers,
      (await gql(`{ me { role } }`, {}, undefined)).res.headers,
      (await gql(nested(7))).res.headers,
      (await raw("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: "[]" })).headers,
      (await raw("/graphql", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" })).headers,
      (await raw("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: "{" })).headers,
      (await raw("/healthz")).headers,
    ];
    for (const h of responses) expect(h.get("x-request-id")).toMatch(UUID_RE);
    expect(new Set(responses.map((h) => h.get("x-request-id"))).size).toBe(responses.length);
  });

  it("a well-formed client id is echoed; a malformed one is replaced", async () => {
    const echoed = await t.gql(`{ me { role } }`, {}, token, { "x-request-id": "client-abc.123_X" });
    expect(echoed.headers.get("x-request-id")).toBe("client-abc.123_X");
    for (const bad of ["has space", "x".repeat(65), "semi;colon"]) {
      const r = await t.gql(`{ me { role } }`, {}, token, { "x-request-id": bad });
      expect(r.headers.get("x-request-id")).toMatch(UUID_RE);
    }
  });
});

describe("masking", () => {
  it("an unexpected database error is masked: no SQL, schema, table or stack in the body", async () => {
    const schema = quoteIdent(tenantRef(org.id).schema);
    const admin = t.app.services.db.admin;
    // A realistic fault: the tenant's table is gone (a botched migration); knex's error message embeds the SQL.
    await admin.raw(`ALTER TABLE ${schema}.workspaces RENAME TO workspaces_gone`);
    try {
      const res = await t.gql(`{ workspaces(first: 1) { totalCount } }`, {}, token);
      expect(res.status).toBe(500);
      // Exactly these keys: no detail, stacktrace or SQL fields.
      expect(res.body.errors).toEqual([{ message: "Internal server error", locations: [{ line: 1, column: 3 }], path: ["workspaces"], extensions: { code: "INTERNAL_SERVER_ERROR" } }]);
      const body = JSON.stringify(res.body);
      for (const leak of [/select/i, /tenant_/, /workspaces_gone/, /relation/i, /does not exist/i, /stack/i, /\.ts:\d+/, /enclave_/]) expect(body).not.toMatch(leak);
      expect(res.headers.get("x-request-id")).toBeTruthy();
    } finally {
      await admin.raw(`ALTER TABLE ${schema}.workspaces_gone RENAME TO workspaces`);
    }
    const after = await t.gql(`{ workspaces(first: 1) { totalCount } }`, {}, token);
    expect(after.body.errors).toBeUndefined();
  });
});

describe("health", () => {
  it("/healthz 200 and /readyz 200", async () => {
    const live = await raw("/healthz");
    expect(live.status).toBe(200);
    expect(live.json()).toEqual({ status: "ok" });
    const ready = await raw("/readyz");
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: "ready" });
  });
});

describe("the same limits over graphql-ws", () => {
  type Result = { errors?: Array<{ message: string; extensions?: Record<string, unknown> }>; data?: unknown };
  async function overWs(query: string, variables?: Record<string, unknown>): Promise<Result> {
    const client = createClient({ url: t.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
    try {
      return await new Promise<Result>((resolve) => {
        client.subscribe({ query, variables }, {
          next: (v) => resolve(v as Result),
          error: (e) => resolve(Array.isArray(e) ? { errors: e } : { errors: [{ message: String(e), extensions: { code: "CLOSED" } }] }),
          complete: () => resolve({}),
        });
      });
    } finally {
      await client.dispose();
    }
  }

  it.each([
    ["depth 7", "GRAPHQL_VALIDATION_FAILED", nested(7)],
    ["16 aliases", "GRAPHQL_VALIDATION_FAILED", `{ ${Array.from({ length: 16 }, (_, i) => `m${i}: me { role }`).join(" ")} }`],
    ["> 1000 tokens", "GRAPHQL_PARSE_FAILED", `{ ${"__typename ".repeat(1_000)} }`],
    ["a syntax error", "GRAPHQL_PARSE_FAILED", `{ workspaces(`],
    ["an unknown field", "GRAPHQL_VALIDATION_FAILED", `{ nope }`],
    ["no first", "GRAPHQL_VALIDATION_FAILED", `{ workspaces { totalCount } }`],
    ["first: 101", "BAD_USER_INPUT", `{ workspaces(first: 101) { totalCount } }`],
    ["cost over the maximum", "COST_LIMIT_EXCEEDED", `{ ${Array.from({ length: 5 }, (_, i) => `w${i}: workspaces(first: 100) { edges { node { projects(first: 100) { totalCount } } } }`).join(" ")} }`],
  ])("%s → %s, no SQL", async (_name, code, query) => {
    sql = 0;
    const r = await overWs(query);
    expect(r.errors?.map((e) => e.extensions?.code), JSON.stringify(r)).toEqual([code]);
    expect(sql).toBe(0);
  });

  it("a query over graphql-ws runs (control)", async () => {
    const r = await overWs(`{ workspaces(first: 1) { totalCount } }`);
    expect(r).toEqual({ data: { workspaces: { totalCount: expect.any(Number) } } });
  });
});
