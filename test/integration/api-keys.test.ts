// API keys through the GraphQL API: creation (scopes within the creator's), format, use over HTTP
// and WebSocket, revocation, expiry, rotation with overlap, IP allowlists and usage statistics.
import { createClient } from "graphql-ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { generateKey } from "../../src/enterprise/api-keys/format.js";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, type TestOrg, type TestUser } from "../helpers/factories.js";

let t: TestApp;
let a: TestOrg;
let b: TestOrg;
let root: TestUser;
const CACHE_TTL_MS = 300;

const CREATE = `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name prefix last4 scopes status environment } } }`;
const ITEMS = `query($p: ID!) { items(projectId: $p, first: 5) { edges { node { id title } } } }`;

async function createKey(token: string, input: Record<string, unknown>) {
  const res = await t.gql(CREATE, { input: { name: "ci", scopes: ["item:read"], ...input } }, token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createApiKey as { secret: string; apiKey: { id: string; prefix: string; last4: string; scopes: string[] } };
}

const withKey = (query: string, vars: Record<string, unknown>, key: string, headers: Record<string, string> = {}) =>
  t.gql(query, vars, undefined, { "x-api-key": key, ...headers });

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  // No background jobs (metering, audit checkpoints): some tests count every SQL statement.
  t = await startTestApp({ API_KEY_CACHE_TTL_MS: String(CACHE_TTL_MS), API_KEY_USAGE_FLUSH_MS: "60000", METERING_ENABLED: "false", AUDIT_CHECKPOINT_INTERVAL_MS: "0" });
  [a, b, root] = await Promise.all([createOrg(t.app, "keys-a"), createOrg(t.app, "keys-b"), createSuperAdmin(t.app)]);
  const up = await t.gql(`mutation($id: ID!) { updateOrganization(id: $id, input: { plan: STARTER }) { plan } }`, { id: a.id }, root.token);
  expect(up.body.data.updateOrganization.plan).toBe("STARTER");
});
afterAll(async () => t?.close());

describe("creating keys", () => {
  it("returns the secret once, in the sk_live_ format, and never again", async () => {
    const { secret, apiKey } = await createKey(a.users.ADMIN.token, { name: "deploy bot", scopes: ["item:read", "item:create"] });
    expect(secret).toMatch(/^sk_live_[0-9A-Za-z]{38}$/);
    expect(apiKey).toMatchObject({ name: "deploy bot", status: "ACTIVE", environment: "LIVE", last4: secret.slice(-4), prefix: secret.slice(0, 14) });
    const list = await t.gql(`{ apiKeys(first: 10) { totalCount edges { node { id prefix last4 scopes } } } }`, {}, a.users.ADMIN.token);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(14, -4));
    expect(list.body.data.apiKeys.edges.map((e: any) => e.node.id)).toContain(apiKey.id);
    const { rows } = await t.app.services.db.admin.raw(`SELECT * FROM control.api_keys WHERE id = ?`, [apiKey.id]);
    expect(JSON.stringify(rows[0])).not.toContain(secret.slice(20, -4));
  });

  it("needs the api_keys feature (the Free plan lacks it)", async () => {
    const res = await t.gql(CREATE, { input: { name: "x", scopes: ["item:read"] } }, b.users.ADMIN.token);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    expect(res.body.errors![0]!.extensions!.feature).toBe("api_keys");
  });

  it("needs apikey:manage", async () => {
    const res = await t.gql(CREATE, { input: { name: "x", scopes: ["item:read"] } }, a.users.DEVELOPER.token);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
  });

  it("never grants more than the creator holds", async () => {
    const platform = await t.gql(CREATE, { input: { name: "x", scopes: ["platform:manage"] } }, a.users.ADMIN.token);
    expect(codes(platform)).toEqual(["FORBIDDEN"]);
    const unknown = await t.gql(CREATE, { input: { name: "x", scopes: ["item:everything"] } }, a.users.ADMIN.token);
    expect(codes(unknown)).toEqual(["BAD_USER_INPUT"]);
    // A key that may manage keys can only hand out its own scopes.
    const manager = await createKey(a.users.ADMIN.token, { scopes: ["apikey:manage", "item:read"] });
    const narrower = await withKey(CREATE, { input: { name: "sub", scopes: ["item:read"] } }, manager.secret);
    expect(narrower.body.errors).toBeUndefined();
    const wider = await withKey(CREATE, { input: { name: "sub", scopes: ["item:read", "item:delete"] } }, manager.secret);
    expect(codes(wider)).toEqual(["FORBIDDEN"]);
  });
});

describe("using keys", () => {
  it("authenticates with X-API-Key and with Authorization: Bearer sk_…, limited to its scopes", async () => {
    const { secret } = await createKey(a.users.ADMIN.token, { scopes: ["item:read", "item:create"] });
    const created = await withKey(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "by key" }) { id creator { id } } }`, { p: a.projectId }, secret);
    expect(created.body.errors).toBeUndefined();
    const viaBearer = await t.gql(ITEMS, { p: a.projectId }, secret);
    expect(viaBearer.body.data.items.edges.map((e: any) => e.node.title)).toContain("by key");
    const outOfScope = await withKey(`mutation($id: ID!) { deleteItem(id: $id) }`, { id: created.body.data.createItem.id }, secret);
    expect(codes(outOfScope)).toEqual(["FORBIDDEN"]);
    const members = await withKey(`{ members(first: 5) { totalCount } }`, {}, secret);
    expect(codes(members)).toEqual(["FORBIDDEN"]);
  });

  it("acts in the key's organization whatever the headers say (case 9)", async () => {
    const { secret } = await createKey(a.users.ADMIN.token, {});
    const other = await withKey(ITEMS, { p: b.projectId }, secret, { "x-organization-id": b.id, "x-tenant-id": b.id });
    expect(codes(other)).toEqual(["NOT_FOUND"]);
    const both = await t.gql(ITEMS, { p: b.projectId }, b.users.ADMIN.token, { "x-api-key": secret });
    expect(codes(both)).toEqual(["UNAUTHENTICATED"]);
    const org = await withKey(`{ organization { id } }`, {}, secret, { "x-organization-id": b.id });
    expect(codes(org)).toEqual(["FORBIDDEN"]); // organization:read is not in the key's scopes
  });

  it("cannot mint a user session, and me shows only the key's permissions", async () => {
    const { secret } = await createKey(a.users.ADMIN.token, { scopes: ["item:read"] });
    const sw = await withKey(`mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }`, { o: a.id }, secret);
    expect(codes(sw)).toEqual(["FORBIDDEN"]);
    const me = await withKey(`{ me { permissions } }`, {}, secret);
    expect(me.body.data.me.permissions).toEqual(["item:read"]);
  });

  it("refuses a key with one character changed without a database lookup (case 8)", async () => {
    const { secret } = await createKey(a.users.ADMIN.token, {});
    const i = 20;
    const typo = secret.slice(0, i) + (secret[i] === "a" ? "b" : "a") + secret.slice(i + 1);
    const seen: string[] = [];
    // The refusal's own audit event (auth.token.invalid on the audit chain) is not a key lookup.
    const listener = (q: { sql: string }) => { if (!/^\s*(BEGIN|COMMIT);?\s*$|"?control"?\."?audit_(chain|events)\b/i.test(q.sql)) seen.push(q.sql); };
    for (const pool of [t.app.services.db.app, t.app.services.db.control]) pool.on("query", listener); // key queries run on the control pool
    try {
      const res = await withKey(ITEMS, { p: a.projectId }, typo);
      expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).not.toContain(typo.slice(8));
    } finally {
      for (const pool of [t.app.services.db.app, t.app.services.db.control]) pool.off("query", listener);
    }
    expect(seen).toEqual([]);
  });

  it("refuses revoked keys at once on this replica", async () => {
    const { secret, apiKey } = await createKey(a.users.ADMIN.token, {});
    expect((await withKey(ITEMS, { p: a.projectId }, secret)).body.errors).toBeUndefined();
    const revoked = await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { status revokedAt } }`, { id: apiKey.id }, a.users.ADMIN.token);
    expect(revoked.body.data.revokeApiKey.status).toBe("REVOKED");
    expect(codes(await withKey(ITEMS, { p: a.projectId }, secret))).toEqual(["UNAUTHENTICATED"]);
  });

  it("refuses expired keys", async () => {
    const past = await t.gql(CREATE, { input: { name: "x", scopes: ["item:read"], expiresAt: new Date(Date.now() - 1000).toISOString() } }, a.users.ADMIN.token);
    expect(codes(past)).toEqual(["BAD_USER_INPUT"]);
    const { secret, apiKey } = await createKey(a.users.ADMIN.token, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await withKey(ITEMS, { p: a.projectId }, secret)).body.errors).toBeUndefined();
    await t.app.services.db.admin.raw(`UPDATE control.api_keys SET expires_at = now() - interval '1 second' WHERE id = ?`, [apiKey.id]);
    await pause(CACHE_TTL_MS + 50);
    const res = await withKey(ITEMS, { p: a.projectId }, secret);
    expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.body.errors![0]!.message).toBe("API key expired");
  });

  it("rotates with an overlap window, then refuses the rotated-out key", async () => {
    const { secret: old, apiKey } = await createKey(a.users.ADMIN.token, { scopes: ["item:read"], rateLimitPerMinute: 1000 });
    const rotated = await t.gql(`mutation($id: ID!) { rotateApiKey(id: $id, overlapSeconds: 600) { secret apiKey { id scopes rateLimitPerMinute rotatedFromId } } }`, { id: apiKey.id }, a.users.ADMIN.token);
    expect(rotated.body.errors).toBeUndefined();
    const fresh = rotated.body.data.rotateApiKey;
    expect(fresh.apiKey).toMatchObject({ scopes: ["item:read"], rateLimitPerMinute: 1000, rotatedFromId: apiKey.id });
    expect((await withKey(ITEMS, { p: a.projectId }, old)).body.errors).toBeUndefined();
    expect((await withKey(ITEMS, { p: a.projectId }, fresh.secret)).body.errors).toBeUndefined();
    const status = await t.gql(`query($id: ID!) { apiKey(id: $id) { status rotatedToId expiresAt } }`, { id: apiKey.id }, a.users.ADMIN.token);
    expect(status.body.data.apiKey).toMatchObject({ status: "ROTATING", rotatedToId: fresh.apiKey.id });
    const again = await t.gql(`mutation($id: ID!) { rotateApiKey(id: $id) { secret } }`, { id: apiKey.id }, a.users.ADMIN.token);
    expect(codes(again)).toEqual(["CONFLICT"]);
    // The overlap window ends.
    await t.app.services.db.admin.raw(`UPDATE control.api_keys SET expires_at = now() - interval '1 second' WHERE id = ?`, [apiKey.id]);
    await pause(CACHE_TTL_MS + 50);
    expect(codes(await withKey(ITEMS, { p: a.projectId }, old))).toEqual(["UNAUTHENTICATED"]);
    expect((await withKey(ITEMS, { p: a.projectId }, fresh.secret)).body.errors).toBeUndefined();
    // Overlap 0: the old key stops at once.
    const zero = await t.gql(`mutation($id: ID!) { rotateApiKey(id: $id, overlapSeconds: 0) { secret } }`, { id: fresh.apiKey.id }, a.users.ADMIN.token);
    expect(codes(await withKey(ITEMS, { p: a.projectId }, fresh.secret))).toEqual(["UNAUTHENTICATED"]);
    expect((await withKey(ITEMS, { p: a.projectId }, zero.body.data.rotateApiKey.secret)).body.errors).toBeUndefined();
  });

  it("enforces the IP allowlist", async () => {
    const bad = await t.gql(CREATE, { input: { name: "x", scopes: ["item:read"], ipAllowlist: ["10.0.0.0/33"] } }, a.users.ADMIN.token);
    expect(codes(bad)).toEqual(["BAD_USER_INPUT"]);
    const elsewhere = await createKey(a.users.ADMIN.token, { ipAllowlist: ["10.0.0.0/8", "2001:db8::/32"] });
    const refused = await withKey(ITEMS, { p: a.projectId }, elsewhere.secret);
    expect(codes(refused)).toEqual(["FORBIDDEN"]);
    const local = await createKey(a.users.ADMIN.token, { ipAllowlist: ["127.0.0.0/8"] });
    expect((await withKey(ITEMS, { p: a.projectId }, local.secret)).body.errors).toBeUndefined();
  });

  it("stops working when its creator loses the permission (scopes ∩ creator's role)", async () => {
    const { secret } = await createKey(a.users.ADMIN.token, { scopes: ["item:read", "item:delete"] });
    const item = await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "doomed" }) { id } }`, { p: a.projectId }, a.users.DEVELOPER.token);
    // Demote the creator to ANALYST (no item:delete) directly in the registry.
    await t.app.services.db.admin.raw(`UPDATE control.memberships SET role = 'ANALYST' WHERE user_id = ? AND organization_id = ?`, [a.users.ADMIN.id, a.id]);
    try {
      await pause(CACHE_TTL_MS + 50);
      const res = await withKey(`mutation($id: ID!) { deleteItem(id: $id) }`, { id: item.body.data.createItem.id }, secret);
      expect(codes(res)).toEqual(["FORBIDDEN"]);
    } finally {
      await t.app.services.db.admin.raw(`UPDATE control.memberships SET role = 'ADMIN' WHERE user_id = ? AND organization_id = ?`, [a.users.ADMIN.id, a.id]);
    }
  });

  it("records usage (count, last used at and from) without a write per request", async () => {
    const { secret, apiKey } = await createKey(a.users.ADMIN.token, {});
    const writes: string[] = [];
    const listener = (q: { sql: string }) => { if (/update\s+"?control"?\."?api_keys/i.test(q.sql)) writes.push(q.sql); };
    for (const pool of [t.app.services.db.app, t.app.services.db.control]) pool.on("query", listener); // key queries run on the control pool
    try {
      for (let i = 0; i < 3; i++) expect((await withKey(ITEMS, { p: a.projectId }, secret)).status).toBe(200);
    } finally {
      for (const pool of [t.app.services.db.app, t.app.services.db.control]) pool.off("query", listener);
    }
    expect(writes).toEqual([]);
    await t.app.services.apiKeys.flushUsage();
    const res = await t.gql(`query($id: ID!) { apiKey(id: $id) { usage { requestCount lastUsedAt lastUsedIp } } }`, { id: apiKey.id }, a.users.ADMIN.token);
    expect(res.body.data.apiKey.usage.requestCount).toBe(3);
    expect(res.body.data.apiKey.usage.lastUsedIp).toMatch(/127\.0\.0\.1/);
    expect(new Date(res.body.data.apiKey.usage.lastUsedAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });
});

describe("keys over WebSocket", () => {
  const wsUrl = () => t.url.replace(/^http/, "ws");

  function run(connectionParams: Record<string, unknown>, query: string, variables: Record<string, unknown>) {
    const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0, lazy: true });
    return new Promise<{ result?: any; closeCode?: number }>((resolve) => {
      client.on("closed", (e) => resolve({ closeCode: (e as { code: number }).code }));
      client.subscribe({ query, variables }, {
        next: (result) => resolve({ result }),
        error: (err) => resolve({ closeCode: (err as { code?: number }).code, result: Array.isArray(err) ? { errors: err } : undefined }),
        complete: () => undefined,
      });
    }).finally(() => client.dispose());
  }

  it("authenticates in connection_init and refuses a bad key with 4403", async () => {
    const { secret } = await createKey(a.users.ADMIN.token, {});
    const ok = await run({ "x-api-key": secret }, ITEMS, { p: a.projectId });
    expect(ok.result?.errors).toBeUndefined();
    expect(Array.isArray(ok.result?.data?.items?.edges)).toBe(true);
    const bearer = await run({ authorization: `Bearer ${secret}` }, ITEMS, { p: a.projectId });
    expect(bearer.result?.errors).toBeUndefined();
    const bad = await run({ "x-api-key": secret.slice(0, -1) + (secret.endsWith("a") ? "b" : "a") }, ITEMS, { p: a.projectId });
    expect(bad.closeCode).toBe(4403);
  });

  it("closes an open subscription socket with 4403 once its key is revoked", async () => {
    const { secret, apiKey } = await createKey(a.users.ADMIN.token, {});
    const client = createClient({ url: wsUrl(), webSocketImpl: WebSocket, connectionParams: { "x-api-key": secret }, retryAttempts: 0 });
    try {
      const closed = new Promise<number>((resolve) => client.on("closed", (e) => resolve((e as { code: number }).code)));
      const connected = new Promise<void>((resolve) => client.on("connected", () => resolve()));
      client.subscribe({ query: `subscription($p: ID!) { itemChanged(projectId: $p) { kind } }`, variables: { p: a.projectId } }, { next: () => undefined, error: () => undefined, complete: () => undefined });
      await connected;
      await t.gql(`mutation($id: ID!) { revokeApiKey(id: $id) { status } }`, { id: apiKey.id }, a.users.ADMIN.token);
      expect(await Promise.race([closed, pause(5_000).then(() => -1)])).toBe(4403);
    } finally {
      await client.dispose();
    }
  });
});

describe("unknown keys", () => {
  // Last in the file: it uses up this address's allowance of unknown keys.
  it("stops reaching the database after 30 unknown well-formed keys a minute from one address", async () => {
    const { secret: known } = await createKey(a.users.ADMIN.token, {});
    expect((await withKey(ITEMS, { p: a.projectId }, known)).status).toBe(200); // cached now
    const lookups: string[] = [];
    const listener = (q: { sql: string }) => { if (q.sql.includes("api_keys")) lookups.push(q.sql); };
    // Key lookups are control-plane queries: they run on the control pool.
    t.app.services.db.control.on("query", listener);
    const statuses: number[] = [];
    try {
      for (let i = 0; i < 32; i++) statuses.push((await withKey(ITEMS, { p: a.projectId }, generateKey("live").secret)).status);
    } finally {
      t.app.services.db.control.off("query", listener);
    }
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(30)).toEqual([429, 429]);
    expect(lookups).toHaveLength(30);
    const refused = await withKey(ITEMS, { p: a.projectId }, generateKey("live").secret);
    expect(codes(refused)).toEqual(["RATE_LIMITED"]);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await withKey(ITEMS, { p: a.projectId }, known)).status).toBe(200);
  });
});
