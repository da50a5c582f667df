// Plans as data, overrides, feature flags, quotas (creations, storage, seats, API calls per day)
// and usage, through the GraphQL API. Quotas and limits are on in this file.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, type TestOrg, type TestUser } from "../helpers/factories.js";

let t: TestApp;
let root: TestUser;

const OVERRIDE = `mutation($id: ID!, $input: PlanOverridesInput!) { setPlanOverrides(organizationId: $id, input: $input) { limits { members generationsPerMonth storageBytes apiCallsPerDay } features } }`;
const SET_PLAN = `mutation($id: ID!, $plan: Plan!) { updateOrganization(id: $id, input: { plan: $plan }) { plan } }`;
const CREATE_ITEM = `mutation($p: ID!) { createItem(input: { projectId: $p, title: "x" }) { id } }`;

/** One organization's entry of organizationsUsage, paging through (other test files add organizations concurrently). */
async function usageOf(organizationId: string): Promise<any> {
  let after: string | null = null;
  for (;;) {
    const page: any = await t.gql(`query($a: String) { organizationsUsage(first: 100, after: $a) { edges { node { organizationId quotas { quota used limit } } } pageInfo { hasNextPage endCursor } } }`, { a: after }, root.token);
    expect(page.body.errors).toBeUndefined();
    const hit = page.body.data.organizationsUsage.edges.find((e: any) => e.node.organizationId === organizationId);
    if (hit) return hit.node;
    if (!page.body.data.organizationsUsage.pageInfo.hasNextPage) throw new Error(`organization ${organizationId} not listed`);
    after = page.body.data.organizationsUsage.pageInfo.endCursor;
  }
}

async function override(org: TestOrg, input: Record<string, unknown>) {
  const res = await t.gql(OVERRIDE, { id: org.id, input }, root.token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.setPlanOverrides;
}

beforeAll(async () => {
  t = await startTestApp({ QUOTAS_ENABLED: "true", RATE_LIMITS_ENABLED: "true", RATE_LIMIT_USER_PER_MINUTE: "100000", RATE_LIMIT_ANONYMOUS_PER_MINUTE: "100000" });
  root = await createSuperAdmin(t.app);
});
afterAll(async () => t?.close());

describe("plans and features", () => {
  it("lists the catalogue with limits, prices and features", async () => {
    const res = await t.gql(`{ plans { id name priceCentsPerMonth limits { apiCallsPerDay generationsPerMonth storageBytes members } features } }`, {}, root.token);
    expect(res.body.data.plans.map((p: any) => p.id)).toEqual(["FREE", "STARTER", "PROFESSIONAL", "ENTERPRISE"]);
    const free = res.body.data.plans[0];
    expect(free).toMatchObject({ priceCentsPerMonth: 0, limits: { apiCallsPerDay: 1000, generationsPerMonth: 100, members: 5 }, features: [] });
    expect(res.body.data.plans[3].limits.apiCallsPerDay).toBeNull();
  });

  it("resolves feature flags from plan plus overrides", async () => {
    const org = await createOrg(t.app, "flags");
    const tok = org.users.ANALYST.token;
    const before = await t.gql(`{ features { name enabled source } feature(name: "api_keys") { enabled source } }`, {}, tok);
    expect(before.body.data.feature).toEqual({ enabled: false, source: "PLAN" });
    expect(before.body.data.features.every((f: any) => !f.enabled)).toBe(true);
    await override(org, { featuresEnabled: ["sso"] });
    const after = await t.gql(`{ feature(name: "sso") { enabled source } }`, {}, tok);
    expect(after.body.data.feature).toEqual({ enabled: true, source: "OVERRIDE" });
    const unknown = await t.gql(`{ feature(name: "teleport") { enabled } }`, {}, tok);
    expect(codes(unknown)).toEqual(["BAD_USER_INPUT"]);
    const forbidden = await t.gql(OVERRIDE, { id: org.id, input: { featuresEnabled: ["api_keys"] } }, org.users.ADMIN.token);
    expect(codes(forbidden)).toEqual(["FORBIDDEN"]);
  });

  it("applies a plan change at once: features, limits and rate-limit policy", async () => {
    const org = await createOrg(t.app, "upgrade");
    const admin = org.users.ADMIN.token;
    const key = `mutation { createApiKey(input: { name: "k", scopes: ["item:read"] }) { secret } }`;
    const first = await t.gql(`{ organizationPlan { limits { requestsPerMinute } } }`, {}, admin);
    expect(first.body.data.organizationPlan.limits.requestsPerMinute).toBe(60);
    expect(first.headers.get("ratelimit-policy")).toContain(`"org";q=60;w=60`);
    expect(codes(await t.gql(key, {}, admin))).toEqual(["FORBIDDEN"]);

    expect((await t.gql(SET_PLAN, { id: org.id, plan: "PROFESSIONAL" }, root.token)).body.data.updateOrganization.plan).toBe("PROFESSIONAL");

    const created = await t.gql(key, {}, admin);
    expect(created.body.errors).toBeUndefined();
    const next = await t.gql(`{ organizationPlan { plan { id } limits { requestsPerMinute } features } }`, {}, admin);
    expect(next.body.data.organizationPlan).toMatchObject({ plan: { id: "PROFESSIONAL" }, limits: { requestsPerMinute: 1200 } });
    expect(next.body.data.organizationPlan.features).toContain("audit_export");
    expect(next.headers.get("ratelimit-policy")).toContain(`"org";q=1200;w=60`);
  });
});

describe("quotas", () => {
  it("creations per month: QUOTA_EXCEEDED with the quota, its limit and the reset", async () => {
    const org = await createOrg(t.app, "gen");
    await override(org, { limits: [{ name: "generationsPerMonth", value: 2 }] });
    const dev = org.users.DEVELOPER.token;
    expect((await t.gql(CREATE_ITEM, { p: org.projectId }, dev)).body.errors).toBeUndefined();
    expect((await t.gql(CREATE_ITEM, { p: org.projectId }, dev)).body.errors).toBeUndefined();
    const over = await t.gql(CREATE_ITEM, { p: org.projectId }, dev);
    expect(codes(over)).toEqual(["QUOTA_EXCEEDED"]);
    expect(over.status).toBe(429);
    const now = new Date();
    const ext = over.body.errors![0]!.extensions!;
    expect(ext).toMatchObject({ quota: "generationsPerMonth", limit: 2, resetsAt: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString() });
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    // A failed creation (unknown project) is not counted; a raised limit applies at once.
    await override(org, { limits: [{ name: "generationsPerMonth", value: 3 }] });
    const missing = await t.gql(CREATE_ITEM, { p: "00000000-0000-4000-8000-000000000000" }, dev);
    expect(codes(missing)).toEqual(["NOT_FOUND"]);
    expect((await t.gql(CREATE_ITEM, { p: org.projectId }, dev)).body.errors).toBeUndefined();
    const usage = await t.gql(`{ quotaUsage { quotas { quota used limit resetsAt } } }`, {}, dev);
    expect(usage.body.data.quotaUsage.quotas.find((q: any) => q.quota === "generationsPerMonth")).toMatchObject({ used: 3, limit: 3 });
  });

  it("storage: refused once the tenant schema is larger than the limit", async () => {
    const org = await createOrg(t.app, "disk");
    await override(org, { limits: [{ name: "storageBytes", value: 1 }] });
    const over = await t.gql(CREATE_ITEM, { p: org.projectId }, org.users.DEVELOPER.token);
    expect(codes(over)).toEqual(["QUOTA_EXCEEDED"]);
    expect(over.body.errors![0]!.extensions).toMatchObject({ quota: "storageBytes", limit: 1, resetsAt: null });
    const usage = await t.gql(`{ quotaUsage { quotas { quota used limit } } }`, {}, org.users.ANALYST.token);
    expect(usage.body.data.quotaUsage.quotas.find((q: any) => q.quota === "storageBytes").used).toBeGreaterThan(8192);
  });

  it("seats: addMember is refused at the limit", async () => {
    const org = await createOrg(t.app, "seats"); // four members
    await override(org, { limits: [{ name: "members", value: 5 }] });
    const add = (n: number) => t.gql(`mutation($e: String!) { addMember(input: { email: $e, displayName: "N", role: ANALYST, password: "correct horse battery staple" }) { id } }`, { e: `seat${n}-${org.slug}@example.test` }, org.users.ADMIN.token);
    expect((await add(1)).body.errors).toBeUndefined();
    const over = await add(2);
    expect(codes(over)).toEqual(["QUOTA_EXCEEDED"]);
    expect(over.body.errors![0]!.extensions).toMatchObject({ quota: "members", limit: 5 });
    const { rows } = await t.app.services.db.admin.raw(`SELECT count(*)::int AS n FROM control.users WHERE email = ?`, [`seat2-${org.slug}@example.test`]);
    expect(rows[0].n).toBe(0);
  });

  it("API calls per day: the call after the limit gets 429 QUOTA_EXCEEDED before any GraphQL work", async () => {
    const org = await createOrg(t.app, "calls");
    await override(org, { limits: [{ name: "apiCallsPerDay", value: 3 }] });
    const tok = org.users.ANALYST.token;
    const denied = await t.gql(`{ organizationsUsage(first: 5) { totalCount } }`, {}, org.users.ADMIN.token);
    expect(codes(denied)).toEqual(["FORBIDDEN"]); // platform staff only; still an API call
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await t.gql(`{ organization { id } }`, {}, tok)).status);
    expect(statuses).toEqual([200, 200]);
    const over = await t.gql(`{ organization { id } }`, {}, tok);
    expect(over.status).toBe(429);
    expect(codes(over)).toEqual(["QUOTA_EXCEEDED"]);
    expect(over.body.errors![0]!.extensions).toMatchObject({ quota: "apiCallsPerDay", limit: 3 });
    expect(Number(over.headers.get("retry-after"))).toBeGreaterThan(0);
    const usage = await t.gql(`{ quotaUsage { quotas { quota used limit } } }`, {}, root.token);
    expect(codes(usage)).toEqual(["FORBIDDEN"]); // no organization selected
    const mine = await usageOf(org.id);
    expect(mine.quotas.find((q: any) => q.quota === "apiCallsPerDay")).toEqual({ quota: "apiCallsPerDay", used: 3, limit: 3 });
  });

  it("does not count calls refused by a rate limit against the daily quota", async () => {
    const org = await createOrg(t.app, "callsrl");
    await override(org, { limits: [{ name: "apiCallsPerDay", value: 100 }, { name: "requestsPerMinute", value: 2 }] });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.gql(`{ organization { id } }`, {}, org.users.ANALYST.token)).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    await new Promise((r) => setTimeout(r, 50)); // the refund of a refused call is not awaited
    const mine = await usageOf(org.id);
    expect(mine.quotas.find((q: any) => q.quota === "apiCallsPerDay").used).toBe(2);
  });
});
