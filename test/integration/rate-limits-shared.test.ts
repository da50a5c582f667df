// Several gateway processes behind one limit. Three gateways share the machine's Redis: together
// they admit the limit once, not three times. With Redis unreachable, each falls back to the limit
// divided by RATE_LIMIT_REPLICAS (or refuses, in "closed" mode), and revoked keys stay refused on
// every gateway because keys are checked against the database, not Redis.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/index.js";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, type TestUser } from "../helpers/factories.js";

const REDIS_URL = process.env.ENCLAVE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
const DEAD_REDIS_URL = "redis://127.0.0.1:1";
const CACHE_TTL_MS = 300;

let first: TestApp;
let root: TestUser;
const extra: App[] = [];

/** Another gateway over the same databases (its own limiter, caches and Redis connection). */
async function gateway(env: Record<string, string>): Promise<{ app: App; url: string }> {
  const config = loadConfig({ ...process.env, NODE_ENV: "test", SEED_DEMO: "false", LOG_LEVEL: process.env.LOG_LEVEL ?? "silent", ...env });
  const app = await buildApp(config, { databases: first.app.services.db });
  extra.push(app);
  return { app, url: `${await app.start(0, "127.0.0.1")}/graphql` };
}

async function post(url: string, query: string, headers: Record<string, string>) {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ query }) });
  return { status: res.status, body: (await res.json()) as { errors?: Array<{ extensions?: Record<string, unknown> }> }, headers: res.headers };
}

async function override(orgId: string, limits: Array<{ name: string; value: number | null }>) {
  const res = await first.gql(`mutation($id: ID!, $input: PlanOverridesInput!) { setPlanOverrides(organizationId: $id, input: $input) { organizationId } }`, { id: orgId, input: { limits } }, root.token);
  expect(res.body.errors).toBeUndefined();
}

const shared = { REDIS_URL, RATE_LIMIT_KEY_PREFIX: `test:${randomUUID()}:`, RATE_LIMITS_ENABLED: "true", QUOTAS_ENABLED: "false" };

beforeAll(async () => {
  first = await startTestApp(shared);
  root = await createSuperAdmin(first.app);
});
afterAll(async () => {
  for (const a of extra) await a.stop();
  await first?.close();
});

describe("three gateways sharing Redis", () => {
  it("admit an organization's limit once, not three times", async () => {
    const others = [await gateway(shared), await gateway(shared)];
    const urls = [first.url, ...others.map((o) => o.url)];
    const org = await createOrg(first.app, "shared");
    await override(org.id, [{ name: "requestsPerMinute", value: 6 }]);
    const auth = { authorization: `Bearer ${org.users.ANALYST.token}` };
    const statuses: number[] = [];
    for (let i = 0; i < 18; i++) statuses.push((await post(urls[i % 3]!, `{ organization { id } }`, auth)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12);
    expect(statuses.slice(0, 6)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});

describe("cache invalidation over Redis", () => {
  /** Poll for up to 1 s: far below the 5 s cache TTL, so only the pub/sub message explains success. */
  async function within1s(check: () => Promise<boolean>) {
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      if (await check()) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  it("a revoked key and a plan change reach the other gateways at once", async () => {
    const other = await gateway(shared);
    const org = await createOrg(first.app, "pubsub");
    const admin = { authorization: `Bearer ${org.users.ADMIN.token}` };
    const plan = (p: string) => first.gql(`mutation($id: ID!) { updateOrganization(id: $id, input: { plan: ${p} }) { plan } }`, { id: org.id }, root.token);
    await plan("STARTER");
    const made = await post(first.url, `mutation { createApiKey(input: { name: "p", scopes: ["organization:read"] }) { secret apiKey { id } } }`, admin);
    const { secret, apiKey } = (made.body as any).data.createApiKey;
    const use = () => post(other.url, `{ organization { id } }`, { "x-api-key": secret });
    expect((await use()).status).toBe(200); // cached on the other gateway for 5 s
    const before = await post(other.url, `{ organization { id } }`, admin);
    expect(before.headers.get("ratelimit-policy")).toContain(`"org";q=300;`);

    await post(first.url, `mutation { revokeApiKey(id: "${apiKey.id}") { status } }`, admin);
    expect(await within1s(async () => (await use()).status === 401)).toBe(true);

    await plan("PROFESSIONAL");
    expect(await within1s(async () => ((await post(other.url, `{ organization { id } }`, admin)).headers.get("ratelimit-policy") ?? "").includes(`"org";q=1200;`))).toBe(true);
  });
});

describe("Redis unreachable", () => {
  const down = { ...shared, REDIS_URL: DEAD_REDIS_URL, RATE_LIMIT_REPLICAS: "3", API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS) };

  it('"local": each gateway admits limit ÷ replicas, so limits do not multiply', async () => {
    const g = await gateway(down);
    const org = await createOrg(first.app, "nored");
    await override(org.id, [{ name: "requestsPerMinute", value: 6 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(g.url, `{ organization { id } }`, { authorization: `Bearer ${org.users.ANALYST.token}` })).status);
    expect(statuses).toEqual([200, 200, 429, 429, 429]);
  });

  it('"closed": refuses with 503 instead of guessing', async () => {
    const g = await gateway({ ...down, RATE_LIMIT_REDIS_FAILURE: "closed" });
    const org = await createOrg(first.app, "closed");
    const res = await post(g.url, `{ organization { id } }`, { authorization: `Bearer ${org.users.ANALYST.token}` });
    expect(res.status).toBe(503);
    expect(res.body.errors![0]!.extensions!.code).toBe("SERVICE_UNAVAILABLE");
    expect(res.headers.get("retry-after")).toBe("5");
  });

  it("a key revoked on one gateway is refused by the others within the cache TTL", async () => {
    const [g1, g2] = [await gateway(down), await gateway(down)];
    const org = await createOrg(first.app, "revoke");
    await first.gql(`mutation($id: ID!) { updateOrganization(id: $id, input: { plan: STARTER }) { plan } }`, { id: org.id }, root.token);
    const made = await post(g1.url, `mutation { createApiKey(input: { name: "r", scopes: ["organization:read"] }) { secret apiKey { id } } }`, { authorization: `Bearer ${org.users.ADMIN.token}` });
    const { secret, apiKey } = (made.body as any).data.createApiKey;
    const use = (url: string) => post(url, `{ organization { id } }`, { "x-api-key": secret });
    expect((await use(g2.url)).status).toBe(200); // now cached on g2
    const revoked = await post(g1.url, `mutation { revokeApiKey(id: "${apiKey.id}") { status } }`, { authorization: `Bearer ${org.users.ADMIN.token}` });
    expect((revoked.body as any).data.revokeApiKey.status).toBe("REVOKED");
    expect(codes(await use(g1.url) as never)).toEqual(["UNAUTHENTICATED"]);
    await new Promise((r) => setTimeout(r, CACHE_TTL_MS + 50));
    const later = await use(g2.url);
    expect(later.status).toBe(401);
    expect(later.body.errors![0]!.extensions!.code).toBe("UNAUTHENTICATED");
  });
});
