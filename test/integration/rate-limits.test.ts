// Rate limits, headers, query cost and cost budgets on one gateway backed by the machine's Redis.
import { randomUUID } from "node:crypto";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, type TestOrg, type TestUser } from "../helpers/factories.js";

let t: TestApp;
let root: TestUser;
const REDIS_URL = process.env.ENCLAVE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function override(org: TestOrg, limits: Array<{ name: string; value: number | null }>) {
  const res = await t.gql(`mutation($id: ID!, $input: PlanOverridesInput!) { setPlanOverrides(organizationId: $id, input: $input) { organizationId } }`, { id: org.id, input: { limits } }, root.token);
  expect(res.body.errors).toBeUndefined();
}

function tenantSql(t: TestApp, fn: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listener = (q: { sql: string }) => { if (/\b(items|projects|workspaces)\b/.test(q.sql)) seen.push(q.sql); };
  t.app.services.db.app.on("query", listener);
  return fn().then(() => seen).finally(() => t.app.services.db.app.off("query", listener));
}

beforeAll(async () => {
  t = await startTestApp({
    REDIS_URL,
    RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:`,
    RATE_LIMITS_ENABLED: "true",
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: "4",
    MAX_QUERY_COST: "5000",
  });
  root = await createSuperAdmin(t.app);
});
afterAll(async () => t?.close());

describe("request rate limits", () => {
  it("puts RateLimit-Policy and RateLimit on every response", async () => {
    const org = await createOrg(t.app, "hdr");
    const res = await t.gql(`{ organization { id } }`, {}, org.users.ANALYST.token);
    expect(res.status).toBe(200);
    expect(res.headers.get("ratelimit-policy")).toBe(`"org";q=60;w=60, "user";q=600;w=60`);
    expect(res.headers.get("ratelimit")).toMatch(/^"org";r=59;t=\d+, "user";r=599;t=\d+$/);
    const denied = await t.gql(`{ members(first: 1) { totalCount } }`, {}, org.users.SERVICE_ACCOUNT.token);
    expect(codes(denied)).toEqual(["FORBIDDEN"]);
    expect(denied.headers.get("ratelimit")).toMatch(/^"org";r=58;/);
  });

  it("answers 429 RATE_LIMITED with Retry-After once the organization's limit is used", async () => {
    const org = await createOrg(t.app, "rl");
    await override(org, [{ name: "requestsPerMinute", value: 3 }]);
    const tok = org.users.ANALYST.token;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await t.gql(`{ organization { id } }`, {}, tok)).status);
    expect(statuses).toEqual([200, 200, 200]);
    const over = await t.gql(`{ organization { id } }`, {}, tok);
    expect(over.status).toBe(429);
    expect(codes(over)).toEqual(["RATE_LIMITED"]);
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(19);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(over.body.errors![0]!.extensions).toMatchObject({ retryAfter, policy: "org", limit: 3 });
    expect(over.headers.get("ratelimit")).toMatch(/^"org";r=0;/);
    // Another organization is not affected.
    const other = await createOrg(t.app, "rl-other");
    expect((await t.gql(`{ organization { id } }`, {}, other.users.ANALYST.token)).status).toBe(200);
  });

  it("limits an API key by its own rate on top of the organization's", async () => {
    const org = await createOrg(t.app, "rlkey");
    await t.gql(`mutation($id: ID!) { updateOrganization(id: $id, input: { plan: STARTER }) { plan } }`, { id: org.id }, root.token);
    const made = await t.gql(`mutation { createApiKey(input: { name: "slow", scopes: ["organization:read"], rateLimitPerMinute: 2 }) { secret } }`, {}, org.users.ADMIN.token);
    const key = made.body.data.createApiKey.secret;
    const call = () => t.gql(`{ organization { id } }`, {}, undefined, { "x-api-key": key });
    const first = await call();
    expect(first.headers.get("ratelimit-policy")).toBe(`"org";q=300;w=60, "key";q=2;w=60`);
    expect((await call()).status).toBe(200);
    const over = await call();
    expect(over.status).toBe(429);
    expect(over.body.errors![0]!.extensions!.policy).toBe("key");
  });

  it("limits anonymous calls per address", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.gql(`{ permissionMatrix { roles { role } } }`);
      statuses.push(res.status);
      expect(res.headers.get("ratelimit-policy")).toBe(`"ip";q=4;w=60`);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
  });
});

describe("over WebSocket", () => {
  it("applies the same buckets and cost budget to each operation", async () => {
    const org = await createOrg(t.app, "wsrl");
    await override(org, [{ name: "requestsPerMinute", value: 2 }, { name: "costPerMinute", value: 150 }]);
    const client = createClient({ url: t.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${org.users.ANALYST.token}` }, retryAttempts: 0 });
    const run = (query: string) => new Promise<any>((resolve) => {
      client.subscribe({ query }, { next: (r) => resolve(r), error: (e) => resolve({ errors: e }), complete: () => undefined });
    });
    try {
      const costly = await run(`{ workspaces(first: 2) { edges { node { projects(first: 100) { edges { cursor } } } } } }`);
      expect(costly.errors?.[0]?.extensions?.code).toBe("COST_LIMIT_EXCEEDED"); // dearer than the whole budget
      expect((await run(`{ organization { id } }`)).data.organization.id).toBe(org.id);
      const third = await run(`{ organization { id } }`);
      expect(third.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED" });
    } finally {
      await client.dispose();
    }
  });
});

describe("query cost", () => {
  it("refuses an operation above the maximum cost before any SQL runs", async () => {
    const org = await createOrg(t.app, "cost");
    const q = `{ workspaces(first: 100) { edges { node { projects(first: 100) { edges { cursor } } } } } }`;
    let res: Awaited<ReturnType<TestApp["gql"]>> | undefined;
    const sql = await tenantSql(t, async () => { res = await t.gql(q, {}, org.users.ANALYST.token); });
    expect(codes(res!)).toEqual(["COST_LIMIT_EXCEEDED"]);
    expect(res!.body.errors![0]!.extensions!.cost).toMatchObject({ requested: 10_100, maximum: 5_000 });
    expect(sql).toEqual([]);
  });

  it("reports requested and actual cost and the remaining budget in extensions.cost", async () => {
    const org = await createOrg(t.app, "budget");
    await override(org, [{ name: "costPerMinute", value: 1_000 }]);
    const res = await t.gql(`query($p: ID!) { items(projectId: $p, first: 100) { edges { node { id } } } }`, { p: org.projectId }, org.users.ANALYST.token);
    expect(res.body.errors).toBeUndefined();
    // 100 requested, 1 actual (an empty page still costs 1): 99 are given back.
    expect(res.body.extensions!.cost).toEqual({
      requested: 100, actual: 1, maximum: 5_000, throttleStatus: "PASS",
      budget: { limit: 1_000, remaining: 999, resetInSeconds: expect.any(Number) },
    });
  });

  it("refuses an operation dearer than the whole per-minute budget before execution, as not retryable (case 23)", async () => {
    const org = await createOrg(t.app, "broke");
    await override(org, [{ name: "costPerMinute", value: 150 }]);
    const q = `{ workspaces(first: 2) { edges { node { projects(first: 100) { edges { cursor } } } } } }`;
    let res: Awaited<ReturnType<TestApp["gql"]>> | undefined;
    const sql = await tenantSql(t, async () => { res = await t.gql(q, {}, org.users.ANALYST.token); });
    // Waiting would not help: 400 COST_LIMIT_EXCEEDED, no Retry-After (a 429 here would be retried forever).
    expect(res!.body.errors).toMatchObject([{ extensions: { code: "COST_LIMIT_EXCEEDED" } }]);
    expect(res!.status).toBe(400);
    expect(res!.headers.get("retry-after")).toBeNull();
    expect(res!.body.errors![0]!.extensions!.cost).toMatchObject({ requested: 202, throttleStatus: "THROTTLED", budget: { limit: 150, remaining: null } });
    expect(res!.body.extensions!.cost).toMatchObject({ requested: 202, actual: null, throttleStatus: "THROTTLED" });
    expect(sql).toEqual([]);
    // A cheaper operation still fits.
    const cheap = await t.gql(`{ workspaces(first: 2) { edges { node { id } } } }`, {}, org.users.ANALYST.token);
    expect(cheap.body.errors).toBeUndefined();
    expect(cheap.body.extensions!.cost).toMatchObject({ requested: 2, actual: 1, throttleStatus: "PASS", budget: { remaining: 149 } });
  });
});
