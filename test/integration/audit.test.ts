// Audit recording through the real API: one event per mutation (walking the schema), rollback,
// denials and failed logins, redaction, read auditing, queries, export and report.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, TEST_PASSWORD, uniqueSlug, type TestOrg, type TestUser } from "../helpers/factories.js";
import { auditRows, lastSeq } from "../helpers/audit.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;
let root: TestUser;

beforeAll(async () => {
  t = await startTestApp({ AUDIT_CHECKPOINT_INTERVAL_MS: "0" });
  org = await createOrg(t.app, "audit");
  // API keys need the api_keys feature: the Free plan lacks it.
  await t.app.services.db.admin.withSchema("control").table("organizations").where({ id: org.id }).update({ plan: "professional" });
  other = await createOrg(t.app, "audit-other");
  root = await createSuperAdmin(t.app);
});
afterAll(async () => t?.close());

const login = async (email: string, organizationId?: string) => {
  const r = await t.gql(`mutation($i: LoginInput!) { login(input: $i) { accessToken refreshToken } }`, { i: { email, password: TEST_PASSWORD, organizationId } });
  expect(r.body.errors).toBeUndefined();
  return r.body.data.login as { accessToken: string; refreshToken: string };
};

interface Sample {
  query: string;
  vars?: Record<string, unknown>;
  token?: string;
  type: string;
  chain: "tenant" | "platform";
  after?: (data: any) => void;
}

describe("every mutation in the schema is audited exactly once", () => {
  it("walks Mutation's fields, runs a valid sample of each, and finds one new event of the right type", async () => {
    const admin = org.users.ADMIN.token;
    const dev = org.users.DEVELOPER.token;
    const state: Record<string, string> = {};
    const newEmail = `new-${uniqueSlug()}@example.test`;
    const samples: Record<string, () => Promise<Sample>> = {
      login: async () => ({ query: `mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, vars: { i: { email: org.users.ANALYST.email, password: TEST_PASSWORD, organizationId: org.id } }, type: "auth.login.succeeded", chain: "tenant" }),
      refreshToken: async () => ({ query: `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, vars: { r: (await login(org.users.ANALYST.email, org.id)).refreshToken }, type: "auth.token.refreshed", chain: "tenant" }),
      logout: async () => ({ query: `mutation($r: String!) { logout(refreshToken: $r) }`, vars: { r: (await login(org.users.ANALYST.email, org.id)).refreshToken }, type: "auth.logout", chain: "tenant" }),
      switchOrganization: async () => ({ query: `mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }`, vars: { o: org.id }, token: root.token, type: "auth.organization.switched", chain: "tenant" }),
      createOrganization: async () => ({ query: `mutation($s: String!) { createOrganization(input: { slug: $s, name: "Walk" }) { id } }`, vars: { s: uniqueSlug("walk") }, token: root.token, type: "admin.organization.created", chain: "platform" }),
      updateOrganization: async () => ({ query: `mutation($id: ID!) { updateOrganization(id: $id, input: { name: "Renamed by staff" }) { id } }`, vars: { id: other.id }, token: root.token, type: "admin.organization.updated", chain: "platform" }),
      renameOrganization: async () => ({ query: `mutation { renameOrganization(name: "Audited Org") { id } }`, token: admin, type: "config.organization.renamed", chain: "tenant" }),
      addMember: async () => ({ query: `mutation($e: String!) { addMember(input: { email: $e, displayName: "New", role: ANALYST, password: "a long enough password" }) { id } }`, vars: { e: newEmail }, token: admin, type: "admin.member.added", chain: "tenant", after: (d) => (state.member = d.addMember.id) }),
      updateMemberRole: async () => ({ query: `mutation($u: ID!) { updateMemberRole(userId: $u, role: DEVELOPER) { id } }`, vars: { u: state.member }, token: admin, type: "admin.member.role_changed", chain: "tenant" }),
      removeMember: async () => ({ query: `mutation($u: ID!) { removeMember(userId: $u) }`, vars: { u: state.member }, token: admin, type: "admin.member.removed", chain: "tenant" }),
      createWorkspace: async () => ({ query: `mutation { createWorkspace(input: { name: "W" }) { id } }`, token: admin, type: "data.created", chain: "tenant", after: (d) => (state.ws = d.createWorkspace.id) }),
      updateWorkspace: async () => ({ query: `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "W2" }) { id } }`, vars: { id: state.ws }, token: admin, type: "data.updated", chain: "tenant" }),
      createProject: async () => ({ query: `mutation($w: ID!) { createProject(input: { workspaceId: $w, name: "P" }) { id } }`, vars: { w: state.ws }, token: dev, type: "data.created", chain: "tenant", after: (d) => (state.project = d.createProject.id) }),
      updateProject: async () => ({ query: `mutation($id: ID!) { updateProject(id: $id, input: { name: "P2" }) { id } }`, vars: { id: state.project }, token: dev, type: "data.updated", chain: "tenant" }),
      createItem: async () => ({ query: `mutation($p: ID!) { createItem(input: { projectId: $p, title: "I" }) { id } }`, vars: { p: state.project }, token: dev, type: "data.created", chain: "tenant", after: (d) => (state.item = d.createItem.id) }),
      updateItem: async () => ({ query: `mutation($id: ID!) { updateItem(id: $id, input: { title: "I2" }) { id } }`, vars: { id: state.item }, token: dev, type: "data.updated", chain: "tenant" }),
      deleteItem: async () => ({ query: `mutation($id: ID!) { deleteItem(id: $id) }`, vars: { id: state.item }, token: admin, type: "data.deleted", chain: "tenant" }),
      deleteProject: async () => ({ query: `mutation($id: ID!) { deleteProject(id: $id) }`, vars: { id: state.project }, token: dev, type: "data.deleted", chain: "tenant" }),
      deleteWorkspace: async () => ({ query: `mutation($id: ID!) { deleteWorkspace(id: $id) }`, vars: { id: state.ws }, token: admin, type: "data.deleted", chain: "tenant" }),
      createApiKey: async () => ({ query: `mutation { createApiKey(input: { name: "Audited", scopes: ["item:read"] }) { apiKey { id } } }`, token: admin, type: "admin.apikey.created", chain: "tenant", after: (d) => (state.key = d.createApiKey.apiKey.id) }),
      rotateApiKey: async () => ({ query: `mutation($id: ID!) { rotateApiKey(id: $id, overlapSeconds: 60) { apiKey { id } } }`, vars: { id: state.key }, token: admin, type: "admin.apikey.rotated", chain: "tenant", after: (d) => (state.rotated = d.rotateApiKey.apiKey.id) }),
      revokeApiKey: async () => ({ query: `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, vars: { id: state.rotated }, token: admin, type: "admin.apikey.revoked", chain: "tenant" }),
      setPlanOverrides: async () => ({ query: `mutation($o: ID!) { setPlanOverrides(organizationId: $o, input: { featuresEnabled: ["sso"] }) { organizationId } }`, vars: { o: other.id }, token: root.token, type: "admin.plan.changed", chain: "platform" }),
      updateAuditSettings: async () => ({ query: `mutation { updateAuditSettings(input: { readAudit: OFF }) { readAudit } }`, token: admin, type: "config.audit.updated", chain: "tenant" }),
      updateAlertThresholds: async () => ({ query: `mutation { updateAlertThresholds(input: { minCalls: 25 }) { minCalls } }`, token: admin, type: "config.alerts.updated", chain: "tenant" }),
    };
    const fields = Object.keys(t.app.schema.getMutationType()!.getFields());
    // A mutation added without a sample here fails this test: every mutation must prove its event.
    expect(fields.filter((f) => !samples[f])).toEqual([]);
    const order = Object.keys(samples).filter((f) => fields.includes(f));
    for (const field of order) {
      const s = await samples[field]!();
      const beforeTenant = await lastSeq(t.app, org.id);
      const beforePlatform = await lastSeq(t.app, "platform");
      const res = await t.gql(s.query, s.vars, s.token);
      expect(res.body.errors, field).toBeUndefined();
      s.after?.(res.body.data);
      const tenantNew = await auditRows(t.app, org.id, beforeTenant);
      // The platform chain is shared with every test file running at the same time: this request's rows only.
      const platformNew = (await auditRows(t.app, "platform", beforePlatform)).filter((r) => r.request_id === res.headers.get("x-request-id"));
      const all = [...tenantNew, ...platformNew];
      expect(all.map((r) => r.event_type), field).toEqual([s.type]);
      expect(s.chain === "tenant" ? tenantNew.length : platformNew.length, field).toBe(1);
      expect(all[0].metadata?.operation ?? field, field).toBe(field);
    }
  });
});

describe("transactions", () => {
  it("a rolled-back mutation leaves no event; a committed one has its event with before/after", async () => {
    const dev = org.users.DEVELOPER.token;
    const before = await lastSeq(t.app, org.id);
    // The second field fails, so the whole request transaction (item and its event) rolls back.
    const res = await t.gql(`mutation($p: ID!) { a: createItem(input: { projectId: $p, title: "rolled back" }) { id } b: updateItem(id: "00000000-0000-0000-0000-000000000000", input: { title: "x" }) { id } }`, { p: org.projectId }, dev);
    expect(codes(res)).toEqual(["NOT_FOUND"]);
    expect(await auditRows(t.app, org.id, before)).toEqual([]);
    const { rows } = await t.app.services.db.admin.raw(`SELECT count(*)::int AS n FROM "${"tenant_" + org.id.replace(/-/g, "")}".items WHERE title = 'rolled back'`);
    expect(rows[0].n).toBe(0);

    const created = await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "kept", payload: { apiToken: "tok_123", note: "hi" } }) { id } }`, { p: org.projectId }, dev);
    const id = created.body.data.createItem.id;
    const upd = await t.gql(`mutation($id: ID!) { updateItem(id: $id, input: { title: "kept 2" }) { id } }`, { id }, dev);
    expect(upd.body.errors).toBeUndefined();
    const events = await auditRows(t.app, org.id, before);
    expect(events.map((e) => e.event_type)).toEqual(["data.created", "data.updated"]);
    expect(events[0].changes.payload.after).toEqual({ apiToken: "[REDACTED]", note: "hi" });
    expect(events[1].changes.title).toEqual({ before: "kept", after: "kept 2" });
    expect(events[1]).toMatchObject({ resource_type: "Item", resource_id: id, actor_type: "user", actor_id: org.users.DEVELOPER.id, result: "success", ip: expect.any(String) });
  });
});

describe("two mutations in one request", () => {
  it("share the request transaction (membership and organization changes included); one that needs its own transaction is refused instead of waiting on the chain", async () => {
    const admin = org.users.ADMIN.token;
    const before = await lastSeq(t.app, org.id);
    const two = await t.gql(`mutation($p: ID!) { a: createItem(input: { projectId: $p, title: "one" }) { id } b: createItem(input: { projectId: $p, title: "two" }) { id } }`, { p: org.projectId }, admin);
    expect(two.body.errors).toBeUndefined();
    expect((await auditRows(t.app, org.id, before)).map((r) => r.event_type)).toEqual(["data.created", "data.created"]);
    const mid = await lastSeq(t.app, org.id);
    // A rename now runs inside the request transaction: both changes and both events commit together.
    const mixed = await t.gql(`mutation($p: ID!) { a: createItem(input: { projectId: $p, title: "three" }) { id } b: renameOrganization(name: "Mixed") { id } }`, { p: org.projectId }, admin);
    expect(mixed.body.errors).toBeUndefined();
    expect((await auditRows(t.app, org.id, mid)).map((r) => r.event_type)).toEqual(["data.created", "config.organization.renamed"]);
    // Session changes still run in their own transaction: refused, and the whole request rolls back.
    const last = await lastSeq(t.app, org.id);
    const refused = await t.gql(`mutation($p: ID!, $o: ID!) { a: createItem(input: { projectId: $p, title: "four" }) { id } b: switchOrganization(organizationId: $o) { accessToken } }`, { p: org.projectId, o: org.id }, admin);
    expect(codes(refused)).toEqual(["CONFLICT"]);
    expect(await auditRows(t.app, org.id, last)).toEqual([]);
  });
});

describe("a denial after an audited change in the same request", () => {
  it("is recorded once the request ends, while the rolled-back change leaves no event", async () => {
    const before = await lastSeq(t.app, org.id);
    const res = await t.gql(`mutation($p: ID!) { a: createItem(input: { projectId: $p, title: "undone" }) { id } b: createWorkspace(input: { name: "nope" }) { id } }`, { p: org.projectId }, org.users.DEVELOPER.token);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    const rows = await auditRows(t.app, org.id, before);
    expect(rows.map((r) => [r.event_type, r.resource_id])).toEqual([["authz.denied", "createWorkspace"]]);
    expect(await lastSeq(t.app, org.id)).toBe(before + 1);
  });
});

describe("security events", () => {
  it("records denials, failed logins, lockout and refresh-token reuse", async () => {
    const before = await lastSeq(t.app, org.id);
    const denied = await t.gql(`mutation { createWorkspace(input: { name: "nope" }) { id } }`, undefined, org.users.ANALYST.token);
    expect(codes(denied)).toEqual(["FORBIDDEN"]);
    const deniedQuery = await t.gql(`{ auditEvents(first: 1) { totalCount } }`, undefined, org.users.DEVELOPER.token);
    expect(codes(deniedQuery)).toEqual(["FORBIDDEN"]);
    const rows = await auditRows(t.app, org.id, before);
    expect(rows.map((r) => [r.event_type, r.result, r.resource_id])).toEqual([
      ["authz.denied", "denied", "createWorkspace"], ["authz.denied", "denied", "auditEvents"],
    ]);

    const pBefore = await lastSeq(t.app, "platform");
    const email = org.users.SERVICE_ACCOUNT.email;
    for (let i = 0; i < 5; i++) {
      const r = await t.gql(`mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { email, password: "wrong password here" } });
      expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    }
    const locked = await t.gql(`mutation($i: LoginInput!) { login(input: $i) { accessToken } }`, { i: { email, password: TEST_PASSWORD } });
    expect(codes(locked)).toEqual(["RATE_LIMITED"]);
    // The platform chain is shared with the other test files running now: this email's events only.
    const p = (await auditRows(t.app, "platform", pBefore)).filter((r) => r.metadata?.email === email);
    expect(p.map((r) => r.event_type)).toEqual([...Array(4).fill("auth.login.failed"), "auth.lockout", "auth.lockout"]);

    const tokens = await login(org.users.ANALYST.email, org.id);
    await t.gql(`mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, { r: tokens.refreshToken });
    const b2 = await lastSeq(t.app, org.id);
    const reuse = await t.gql(`mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }`, { r: tokens.refreshToken });
    expect(codes(reuse)).toEqual(["UNAUTHENTICATED"]);
    const r2 = await auditRows(t.app, org.id, b2);
    expect(r2.map((r) => [r.event_type, r.severity, r.actor_id])).toEqual([["auth.token.reuse_detected", "critical", org.users.ANALYST.id]]);
    // The revocation and its event were committed together: the family is revoked.
    const { rows: fam } = await t.app.services.db.admin.raw(`SELECT count(*)::int AS n FROM control.refresh_sessions WHERE family_id = ? AND revoked_at IS NULL`, [r2[0].session_id]);
    expect(fam[0].n).toBe(0);
    const loginEvents = (await auditRows(t.app, org.id, before)).filter((r) => r.event_type === "auth.login.succeeded");
    expect(loginEvents.at(-1)).toMatchObject({ actor_type: "user", actor_id: org.users.ANALYST.id, resource_type: "Session" });

    const badToken = await t.gql(`{ me { user { id } } }`, undefined, "not-a-jwt");
    expect(codes(badToken)).toEqual(["UNAUTHENTICATED"]);
    const p2 = (await auditRows(t.app, "platform", pBefore)).filter((r) => r.request_id === badToken.headers.get("x-request-id"));
    expect(p2.map((r) => r.event_type)).toEqual(["auth.token.invalid"]);
  });
});

describe("read auditing and PII redaction", () => {
  it("records reads per the setting and redacts configured PII fields", async () => {
    const admin = org.users.ADMIN.token;
    const set = await t.gql(`mutation { updateAuditSettings(input: { readAudit: SENSITIVE, sensitiveTypes: ["Member"], piiFields: ["email"] }) { readAudit piiFields effectiveRetentionDays } }`, undefined, admin);
    expect(set.body.data.updateAuditSettings).toEqual({ readAudit: "SENSITIVE", piiFields: ["email"], effectiveRetentionDays: 365 });
    const before = await lastSeq(t.app, org.id);
    await t.gql(`{ workspaces(first: 5) { totalCount } }`, undefined, admin); // not sensitive
    const m = await t.gql(`{ members(first: 10) { edges { node { id } } } }`, undefined, admin);
    const ids = m.body.data.members.edges.map((e: any) => e.node.id);
    const add = await t.gql(`mutation { addMember(input: { email: "pii-person@example.test", displayName: "P", role: ANALYST, password: "a long enough password" }) { id } }`, undefined, admin);
    expect(add.body.errors).toBeUndefined();
    const rows = await auditRows(t.app, org.id, before);
    expect(rows.map((r) => r.event_type)).toEqual(["data.read", "admin.member.added"]);
    expect(rows[0]).toMatchObject({ resource_type: "Member", metadata: { operation: "members", ids } });
    expect(rows[1].changes.email).toEqual({ after: "[REDACTED]" });
    expect(JSON.stringify(rows[1])).not.toContain("pii-person");
    expect(JSON.stringify(rows[1])).not.toContain("a long enough password");
    await t.gql(`mutation { updateAuditSettings(input: { readAudit: OFF, piiFields: [] }) { readAudit } }`, undefined, admin);
  });

  it("records only the fields an update really changed", async () => {
    const admin = org.users.ADMIN.token;
    const created = await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "before" }) { id } }`, { p: org.projectId }, admin);
    const before = await lastSeq(t.app, org.id);
    const upd = await t.gql(`mutation($id: ID!) { updateItem(id: $id, input: { title: "after" }) { id } }`, { id: created.body.data.createItem.id }, admin);
    expect(upd.body.errors).toBeUndefined();
    const [row] = await auditRows(t.app, org.id, before);
    expect(row.event_type).toBe("data.updated");
    expect(row.changes.title).toEqual({ before: "before", after: "after" });
    expect(Object.keys(row.changes)).toEqual(["title"]); // no snake_case/camelCase phantom changes
  });

  it("records parallel query fields of one request as consecutive events of one chain", async () => {
    const admin = org.users.ADMIN.token;
    await t.gql(`mutation { updateAuditSettings(input: { readAudit: ALL }) { readAudit } }`, undefined, admin);
    const before = await lastSeq(t.app, org.id);
    // Query root fields run at the same time on the request's one transaction.
    const res = await t.gql(`{ workspaces(first: 5) { totalCount } projects(first: 5) { totalCount } members(first: 5) { totalCount } }`, undefined, admin);
    expect(res.body.errors).toBeUndefined();
    const rows = await auditRows(t.app, org.id, before);
    expect(rows.map((r) => r.event_type)).toEqual(["data.read", "data.read", "data.read"]);
    expect(rows.map((r) => Number(r.seq))).toEqual([before + 1, before + 2, before + 3]);
    expect((await t.gql(`{ verifyAuditTrail { ok } }`, undefined, admin)).body.data.verifyAuditTrail.ok).toBe(true);
    await t.gql(`mutation { updateAuditSettings(input: { readAudit: OFF }) { readAudit } }`, undefined, admin);
  });
});

describe("querying, export and report", () => {
  it("filters and paginates audit events; verifies the chain", async () => {
    const admin = org.users.ADMIN.token;
    const q = `query($f: AuditEventFilter, $a: String) { auditEvents(first: 2, after: $a, filter: $f) { totalCount edges { cursor node { sequence eventType category result actor { userId } } } pageInfo { hasNextPage endCursor } } }`;
    const p1 = await t.gql(q, { f: { categories: ["DATA_CHANGE"] } }, admin);
    expect(p1.body.errors).toBeUndefined();
    const c = p1.body.data.auditEvents;
    expect(c.edges).toHaveLength(2);
    expect(c.edges[0].node.sequence).toBeGreaterThan(c.edges[1].node.sequence);
    expect(c.edges.every((e: any) => e.node.category === "DATA_CHANGE")).toBe(true);
    const p2 = await t.gql(q, { f: { categories: ["DATA_CHANGE"] }, a: c.pageInfo.endCursor }, admin);
    expect(p2.body.data.auditEvents.edges[0].node.sequence).toBeLessThan(c.edges[1].node.sequence);
    const denied = await t.gql(q, { f: { results: ["DENIED"], search: "createWorkspace" } }, admin);
    expect(denied.body.data.auditEvents.edges.map((e: any) => e.node.eventType)).toEqual(["authz.denied", "authz.denied"]);

    const v = await t.gql(`{ verifyAuditTrail { ok firstBrokenSeq eventsChecked problems { seq kind } } }`, undefined, admin);
    expect(v.body.data.verifyAuditTrail).toMatchObject({ ok: true, firstBrokenSeq: null, problems: [] });
    expect((await auditRows(t.app, org.id)).at(-1)).toMatchObject({ event_type: "security.audit.verified", result: "success", actor_id: org.users.ADMIN.id });
    const pv = await t.gql(`{ verifyAuditTrail(platform: true) { ok } }`, undefined, root.token);
    expect(pv.body.data.verifyAuditTrail.ok).toBe(true);
  });

  it("exports only the caller's organization, streamed, and audits the export", async () => {
    const base = t.url.replace(/\/graphql$/, "");
    await t.gql(`mutation { createWorkspace(input: { name: "other's" }) { id } }`, undefined, other.users.ADMIN.token);
    const before = await lastSeq(t.app, org.id);
    const res = await fetch(`${base}/audit/export?format=json`, { headers: { authorization: `Bearer ${other.users.ADMIN.token}` } });
    expect(res.status).toBe(200);
    const rows = (await res.json()) as any[];
    expect(rows.map((r) => r.event_type)).toEqual(["data.created", "data.export"]);
    const ownSeqs = new Set((await auditRows(t.app, other.id)).map((r) => r.id));
    expect(rows.every((r) => ownSeqs.has(r.id))).toBe(true);
    expect(await lastSeq(t.app, org.id)).toBe(before); // nothing written to, or read from, the other org

    const csv = await fetch(`${base}/audit/export?format=csv`, { headers: { authorization: `Bearer ${org.users.ADMIN.token}` } });
    const text = await csv.text();
    expect(text.split("\n")[0]).toContain("seq,id,occurred_at,event_type");
    expect(text).not.toContain(other.id);
    const denied = await fetch(`${base}/audit/export?format=csv`, { headers: { authorization: `Bearer ${org.users.DEVELOPER.token}` } });
    expect(denied.status).toBe(403);
    const anon = await fetch(`${base}/audit/export`);
    expect(anon.status).toBe(401);
    const garbage = await fetch(`${base}/audit/export`, { headers: { authorization: "Bearer not-a-token" } });
    expect(garbage.status).toBe(401);
    expect(await garbage.text()).not.toMatch(/tenant_|stack|select /i);
  });

  it("exports with an API key scoped to audit:read, through the same authentication as /graphql", async () => {
    const base = t.url.replace(/\/graphql$/, "");
    await t.app.services.db.admin.withSchema("control").table("organizations").where({ id: other.id }).update({ plan: "professional" });
    t.app.services.registry.invalidate(other.id);
    t.app.services.plans.invalidate(other.id);
    const seqBefore = await lastSeq(t.app, other.id);
    const created = await t.gql(`mutation { createApiKey(input: { name: "auditor", scopes: ["audit:read"] }) { secret apiKey { id } } }`, undefined, other.users.ADMIN.token);
    expect(created.body.errors).toBeUndefined();
    const secret = created.body.data.createApiKey.secret as string;
    // Its event names the key, in the same chain, and never holds the secret.
    const [event] = await auditRows(t.app, other.id, seqBefore);
    expect(event).toMatchObject({ event_type: "admin.apikey.created", resource_type: "ApiKey", resource_id: created.body.data.createApiKey.apiKey.id });
    expect(event.changes.name).toEqual({ after: "auditor" });
    expect(JSON.stringify(event)).not.toContain(secret);
    const res = await fetch(`${base}/audit/export?format=json`, { headers: { "x-api-key": secret } });
    expect(res.status).toBe(200);
    const rows = (await res.json()) as any[];
    expect(rows.at(-1).event_type).toBe("data.export");
    expect(rows.at(-1).api_key_id).not.toBeNull();
  });

  it("produces the compliance report as JSON and PDF", async () => {
    const admin = org.users.ADMIN.token;
    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const r = await t.gql(`query($f: DateTimeISO!, $t: DateTimeISO!) { complianceReport(from: $f, to: $t) }`, { f: from, t: to }, admin);
    expect(r.body.errors).toBeUndefined();
    const rep = r.body.data.complianceReport;
    expect(rep.totalEvents).toBeGreaterThan(10);
    expect(rep.denials).toBeGreaterThanOrEqual(2);
    expect(rep.adminActions).toBeGreaterThanOrEqual(3);
    expect(rep.byCategory.map((c: any) => c.category)).toContain("data_change");
    expect(rep.chain.ok).toBe(true);
    const pdf = await fetch(`${t.url.replace(/\/graphql$/, "")}/audit/report.pdf?from=${from}&to=${to}`, { headers: { authorization: `Bearer ${admin}` } });
    expect(pdf.status).toBe(200);
    expect(pdf.headers.get("content-type")).toBe("application/pdf");
    expect(Buffer.from(await pdf.arrayBuffer()).subarray(0, 5).toString()).toBe("%PDF-");
  });
});
