// The permission table, end to end: every principal × every root field (and every nested field
// that carries its own rule), over real HTTP and graphql-ws. The expected outcome of each cell is
// DERIVED from ROLE_PERMISSIONS + ROOT_FIELD_RULES / NESTED_FIELD_RULES; only the sample
// operations are written by hand, and a missing sample or rule fails a test of its own.
import "reflect-metadata";
import type { Knex } from "knex";
import { randomBytes, randomUUID } from "node:crypto";
import {
  GraphQLObjectType, GraphQLSchema, GraphQLString, execute, getNamedType, isObjectType, parse, subscribe,
  type ExecutionResult, type GraphQLFieldConfigMap, type GraphQLNamedType,
} from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { createContext, type RequestContext } from "../../src/context/index.js";
import { quoteIdent } from "../../src/db/knex.js";
import { buildTypeSchema } from "../../src/graphql/schema.js";
import { ORG_ROLES, PERMISSIONS, ROLE_PERMISSIONS, ROLES, roleHas, type OrgRole, type Permission, type Role } from "../../src/permissions/matrix.js";
import { FIELD_FEATURES, NESTED_FIELD_RULES, ROOT_FIELD_RULES, type FieldRule } from "../../src/permissions/rules.js";
import { PLANS, type Feature, type PlanId } from "../../src/enterprise/plans/catalog.js";
import { applyPermissions, unruledRootFields } from "../../src/permissions/shield.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { startTestApp, type GqlResponse, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, createUser, TEST_PASSWORD, uniqueSlug, type TestOrg, type TestUser } from "../helpers/factories.js";

// ---------------------------------------------------------------------------------------------
// Principals and the expected outcome, derived from the matrix and the rule tables.

interface PrincipalSpec {
  name: string;
  /** Effective role for permission checks; null = anonymous. */
  role: Role | null;
  /** Whether the token names an organization (tenant fields need one). */
  inOrg: boolean;
}

const PRINCIPALS: PrincipalSpec[] = [
  { name: "anonymous", role: null, inOrg: false },
  { name: "SUPER_ADMIN (no organization)", role: "SUPER_ADMIN", inOrg: false },
  { name: "SUPER_ADMIN (acting in an organization)", role: "SUPER_ADMIN", inOrg: true },
  ...ORG_ROLES.map((r) => ({ name: r, role: r, inOrg: true })),
];

type Root = "Query" | "Mutation" | "Subscription";
const ROOTS: Root[] = ["Query", "Mutation", "Subscription"];

type Outcome =
  | { allowed: true }
  | { allowed: false; code: "UNAUTHENTICATED" | "FORBIDDEN"; message: RegExp; why: string };

const ALLOWED: Outcome = { allowed: true };

/** A permission some organization role holds is about tenant data: it needs an organization in scope. */
const isTenantPermission = (p: Permission) => ORG_ROLES.some((r) => roleHas(r, p));

function outcomeOf(p: PrincipalSpec, rule: FieldRule | undefined, feature?: Feature): Outcome {
  if (rule === undefined) return { allowed: false, code: "FORBIDDEN", message: /not available/, why: "no rule (fallback deny)" };
  if (rule === "public") return ALLOWED;
  if (p.role === null) return { allowed: false, code: "UNAUTHENTICATED", message: /Authentication required/, why: "anonymous" };
  if (rule === "authenticated") return ALLOWED;
  if (!roleHas(p.role, rule)) return { allowed: false, code: "FORBIDDEN", message: new RegExp(`Requires permission ${rule}`), why: `lacks ${rule}` };
  // A field that needs a plan feature checks it (for the caller's organization) before the resolver asks for one.
  if (isTenantPermission(rule) && !p.inOrg && feature) return featureOutcome(p, feature);
  if (isTenantPermission(rule) && !p.inOrg) return { allowed: false, code: "FORBIDDEN", message: /No organization selected/, why: "no organization in scope" };
  return ALLOWED;
}

type Step = { type: string; field: string };

/** The fixture organization's plan. Fields in FIELD_FEATURES also need its plan to carry their feature. */
const FIXTURE_PLAN: PlanId = "professional";

function featureOutcome(p: PrincipalSpec, feature: Feature | undefined): Outcome {
  if (!feature || (p.inOrg && PLANS[FIXTURE_PLAN].features.includes(feature))) return ALLOWED;
  return { allowed: false, code: "FORBIDDEN", message: new RegExp(`needs the ${feature} feature`), why: `plan lacks ${feature}` };
}

/** The first denial along the path root field → nested fields wins; `at` is its index in the path. */
function expectedOutcome(p: PrincipalSpec, path: Step[]): Outcome & { at: number } {
  for (const [at, { type, field }] of path.entries()) {
    const rules = type in ROOT_FIELD_RULES ? ROOT_FIELD_RULES[type as Root] : NESTED_FIELD_RULES[type];
    // A root field without a rule is denied; a nested field without one follows its parent.
    const rule = (rules as Record<string, FieldRule | undefined> | undefined)?.[field];
    if (rule === undefined && !(type in ROOT_FIELD_RULES)) continue;
    const feature = FIELD_FEATURES[`${type}.${field}`];
    const o = outcomeOf(p, rule, feature);
    if (!o.allowed) return { ...o, at };
    const fo = featureOutcome(p, feature);
    if (!fo.allowed) return { ...fo, at };
  }
  return { ...ALLOWED, at: -1 };
}

const label = (o: Outcome) => (o.allowed ? "allowed" : `${o.code} (${o.why})`);

// ---------------------------------------------------------------------------------------------
// Fixtures and sample operations.

interface Fixture {
  app: App;
  org: TestOrg;
  itemId: string;
  apiKeyId: string;
  newApiKey(): Promise<string>;
  newWorkspace(): Promise<string>;
  newProject(): Promise<string>;
  newItem(): Promise<string>;
  newMember(): Promise<string>;
  refreshToken(): Promise<string>;
  /** A fresh token with the principal's claims, backed by a live login (undefined: anonymous). */
  liveToken(who: PrincipalSpec): Promise<string | undefined>;
}

interface Operation {
  query: string;
  variables?: Record<string, unknown>;
  /** Send as this token instead of the principal's usual one (same claims). */
  token?: string;
}
type Sample = (f: Fixture, who: PrincipalSpec) => Operation | Promise<Operation>;

const lastHour = () => ({ from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() });

const SAMPLES: Record<Root, Record<string, Sample>> = {
  Query: {
    me: () => ({ query: `{ me { user { id } permissions } }` }),
    permissionMatrix: () => ({ query: `{ permissionMatrix { roles { role } } }` }),
    organization: () => ({ query: `{ organization { id } }` }),
    organizations: () => ({ query: `{ organizations(first: 2) { edges { node { id } } } }` }),
    members: () => ({ query: `{ members(first: 5) { edges { node { id } } } }` }),
    workspaces: () => ({ query: `{ workspaces(first: 5) { edges { node { id } } } }` }),
    workspace: (f) => ({ query: `query($id: ID!) { workspace(id: $id) { id } }`, variables: { id: f.org.workspaceId } }),
    projects: (f) => ({ query: `query($w: ID) { projects(first: 5, workspaceId: $w) { edges { node { id } } } }`, variables: { w: f.org.workspaceId } }),
    project: (f) => ({ query: `query($id: ID!) { project(id: $id) { id } }`, variables: { id: f.org.projectId } }),
    items: (f) => ({ query: `query($p: ID!) { items(projectId: $p, first: 5) { edges { node { id } } } }`, variables: { p: f.org.projectId } }),
    item: (f) => ({ query: `query($id: ID!) { item(id: $id) { id } }`, variables: { id: f.itemId } }),
    apiKeys: () => ({ query: `{ apiKeys(first: 5) { edges { node { id } } } }` }),
    apiKey: (f) => ({ query: `query($id: ID!) { apiKey(id: $id) { id } }`, variables: { id: f.apiKeyId } }),
    plans: () => ({ query: `{ plans { id } }` }),
    organizationPlan: () => ({ query: `{ organizationPlan { organizationId features } }` }),
    features: () => ({ query: `{ features { name enabled } }` }),
    feature: () => ({ query: `{ feature(name: "api_keys") { name enabled } }` }),
    quotaUsage: () => ({ query: `{ quotaUsage { organizationId } }` }),
    usage: () => ({ query: `query($r: TimeRangeInput!) { usage(range: $r, granularity: HOUR) { calls } }`, variables: { r: lastHour() } }),
    analyticsSummary: () => ({ query: `query($r: TimeRangeInput!) { analyticsSummary(range: $r) { __typename } }`, variables: { r: lastHour() } }),
    activeUsers: () => ({ query: `query($r: TimeRangeInput!) { activeUsers(range: $r) { __typename } }`, variables: { r: lastHour() } }),
    usageCost: () => ({ query: `{ usageCost { __typename } }` }),
    usageExport: () => ({ query: `query($r: TimeRangeInput!) { usageExport(range: $r) }`, variables: { r: lastHour() } }),
    currentUsage: () => ({ query: `{ currentUsage { __typename } }` }),
    pricing: () => ({ query: `{ pricing { __typename } }` }),
    alertThresholds: () => ({ query: `{ alertThresholds { __typename } }` }),
    platformAnalyticsSummary: () => ({ query: `query($r: TimeRangeInput!) { platformAnalyticsSummary(range: $r) { __typename } }`, variables: { r: lastHour() } }),
    topTenants: () => ({ query: `query($r: TimeRangeInput!) { topTenants(range: $r, first: 3) { __typename } }`, variables: { r: lastHour() } }),
    organizationsUsage: () => ({ query: `{ organizationsUsage(first: 2) { edges { node { organizationId } } } }` }),
    auditEvents: (f) => ({
      query: `query($f: AuditEventFilter) { auditEvents(first: 5, filter: $f) { edges { node { sequence } } } }`, variables: { f: { actorId: f.org.users.ADMIN.id } },
    }),
    verifyAuditTrail: () => ({ query: `{ verifyAuditTrail { ok } }` }),
    complianceReport: () => ({
      query: `query($from: DateTimeISO!, $to: DateTimeISO!) { complianceReport(from: $from, to: $to) }`,
      variables: { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date(Date.now() + 60_000).toISOString() },
    }),
    auditSettings: () => ({ query: `{ auditSettings { effectiveRetentionDays } }` }),
    auditEventTypes: () => ({ query: `{ auditEventTypes { name } }` }),
  },
  Mutation: {
    login: (f) => ({
      query: `mutation($e: String!, $p: String!) { login(input: { email: $e, password: $p }) { accessToken } }`,
      variables: { e: f.org.users.ANALYST.email, p: TEST_PASSWORD },
    }),
    refreshToken: async (f) => ({ query: `mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken } }`, variables: { t: await f.refreshToken() } }),
    logout: async (f) => ({ query: `mutation($t: String!) { logout(refreshToken: $t) }`, variables: { t: await f.refreshToken() } }),
    // Switching ends the current login, so each call gets its own.
    switchOrganization: async (f, who) => ({
      query: `mutation($o: ID!) { switchOrganization(organizationId: $o) { accessToken } }`, variables: { o: f.org.id }, token: await f.liveToken(who),
    }),
    createOrganization: () => ({
      query: `mutation($s: String!) { createOrganization(input: { slug: $s, name: "Made in the permission test" }) { id } }`,
      variables: { s: uniqueSlug("perm-new") },
    }),
    updateOrganization: (f) => ({ query: `mutation($id: ID!) { updateOrganization(id: $id, input: { plan: ENTERPRISE }) { id } }`, variables: { id: f.org.id } }),
    renameOrganization: () => ({ query: `mutation { renameOrganization(name: "Renamed by the permission test") { id } }` }),
    addMember: () => ({
      query: `mutation($e: String!) { addMember(input: { email: $e, displayName: "Added", role: ANALYST, password: "a long enough password" }) { id } }`,
      variables: { e: `added-${randomUUID()}@example.test` },
    }),
    updateMemberRole: async (f) => ({ query: `mutation($u: ID!) { updateMemberRole(userId: $u, role: ANALYST) { id } }`, variables: { u: await f.newMember() } }),
    removeMember: async (f) => ({ query: `mutation($u: ID!) { removeMember(userId: $u) }`, variables: { u: await f.newMember() } }),
    createWorkspace: () => ({ query: `mutation { createWorkspace(input: { name: "Created" }) { id } }` }),
    updateWorkspace: async (f) => ({ query: `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "Updated" }) { id } }`, variables: { id: await f.newWorkspace() } }),
    deleteWorkspace: async (f) => ({ query: `mutation($id: ID!) { deleteWorkspace(id: $id) }`, variables: { id: await f.newWorkspace() } }),
    createProject: (f) => ({ query: `mutation($w: ID!) { createProject(input: { workspaceId: $w, name: "Created" }) { id } }`, variables: { w: f.org.workspaceId } }),
    updateProject: async (f) => ({ query: `mutation($id: ID!) { updateProject(id: $id, input: { name: "Updated" }) { id } }`, variables: { id: await f.newProject() } }),
    deleteProject: async (f) => ({ query: `mutation($id: ID!) { deleteProject(id: $id) }`, variables: { id: await f.newProject() } }),
    createItem: (f) => ({ query: `mutation($p: ID!) { createItem(input: { projectId: $p, title: "Created" }) { id } }`, variables: { p: f.org.projectId } }),
    updateItem: async (f) => ({ query: `mutation($id: ID!) { updateItem(id: $id, input: { title: "Updated" }) { id } }`, variables: { id: await f.newItem() } }),
    deleteItem: async (f) => ({ query: `mutation($id: ID!) { deleteItem(id: $id) }`, variables: { id: await f.newItem() } }),
    createApiKey: () => ({ query: `mutation { createApiKey(input: { name: "Made in the permission test", scopes: ["item:read"] }) { secret apiKey { id } } }` }),
    rotateApiKey: async (f) => ({ query: `mutation($id: ID!) { rotateApiKey(id: $id, overlapSeconds: 60) { apiKey { id } } }`, variables: { id: await f.newApiKey() } }),
    revokeApiKey: async (f) => ({ query: `mutation($id: ID!) { revokeApiKey(id: $id) { id } }`, variables: { id: await f.newApiKey() } }),
    // An empty override set: the fixture organization keeps exactly its plan.
    setPlanOverrides: (f) => ({ query: `mutation($o: ID!) { setPlanOverrides(organizationId: $o, input: {}) { organizationId } }`, variables: { o: f.org.id } }),
    updateAuditSettings: () => ({ query: `mutation { updateAuditSettings(input: { readAudit: OFF }) { readAudit } }` }),
    updateAlertThresholds: () => ({ query: `mutation { updateAlertThresholds(input: { minCalls: 20 }) { __typename } }` }),
  },
  Subscription: {
    itemChanged: (f) => ({ query: `subscription($p: ID!) { itemChanged(projectId: $p) { kind item { id } } }`, variables: { p: f.org.projectId } }),
    auditEventRecorded: () => ({ query: `subscription { auditEventRecorded { eventType } }` }),
    usageUpdated: () => ({ query: `subscription { usageUpdated { calls } }` }),
    platformUsageUpdated: () => ({ query: `subscription { platformUsageUpdated { calls } }` }),
    alertRaised: () => ({ query: `subscription { alertRaised { kind } }` }),
    platformAlertRaised: () => ({ query: `subscription { platformAlertRaised { kind } }` }),
  },
};

/** Nested fields with their own rule: a sample reaching each, and the response path from Query to it. */
const NESTED_SAMPLES: Record<string, Record<string, { path: string[]; sample: Sample }>> = {
  Workspace: {
    projects: { path: ["workspace", "projects"], sample: (f) => ({ query: `query($id: ID!) { workspace(id: $id) { projects(first: 1) { totalCount } } }`, variables: { id: f.org.workspaceId } }) },
  },
  Project: {
    items: { path: ["project", "items"], sample: (f) => ({ query: `query($id: ID!) { project(id: $id) { items(first: 1) { totalCount } } }`, variables: { id: f.org.projectId } }) },
    workspace: { path: ["project", "workspace"], sample: (f) => ({ query: `query($id: ID!) { project(id: $id) { workspace { id } } }`, variables: { id: f.org.projectId } }) },
  },
  Item: {
    project: { path: ["item", "project"], sample: (f) => ({ query: `query($id: ID!) { item(id: $id) { project { id } } }`, variables: { id: f.itemId } }) },
  },
  // Reached through Item.creator, where readers of items who may not list members meet a Member.
  Member: {
    email: { path: ["item", "creator", "email"], sample: (f) => ({ query: `query($id: ID!) { item(id: $id) { creator { displayName email } } }`, variables: { id: f.itemId } }) },
    role: { path: ["item", "creator", "role"], sample: (f) => ({ query: `query($id: ID!) { item(id: $id) { creator { displayName role } } }`, variables: { id: f.itemId } }) },
    createdAt: { path: ["item", "creator", "createdAt"], sample: (f) => ({ query: `query($id: ID!) { item(id: $id) { creator { displayName createdAt } } }`, variables: { id: f.itemId } }) },
  },
};

// The field lists come from the schema the app serves, not from the tables above.
const typeSchema = await buildTypeSchema();
const schemaRootFields: Array<[Root, string]> = ROOTS.flatMap((root) => {
  const type = typeSchema.getRootType(root.toLowerCase() as never);
  return type ? Object.keys(type.getFields()).map((f) => [root, f] as [Root, string]) : [];
});
const httpRootFields = schemaRootFields.filter(([root]) => root !== "Subscription");
/** The (parent type, field) steps of a response path starting at Query. */
function stepsOf(path: string[]): Step[] {
  let type = typeSchema.getQueryType()!;
  return path.map((field) => {
    const step = { type: type.name, field };
    const next = getNamedType(type.getFields()[field]!.type);
    if (isObjectType(next)) type = next;
    return step;
  });
}
const nestedRuled: Array<[string, string]> = Object.entries(NESTED_FIELD_RULES).flatMap(([type, fields]) => Object.keys(fields).map((f) => [type, f] as [string, string]));

// ---------------------------------------------------------------------------------------------

let t: TestApp;
let f: Fixture;
const tokens = new Map<string, string | undefined>();
type Claims = { sub: string; org?: string; role?: OrgRole; sa?: boolean };
const claims = new Map<string, Claims | undefined>();
let sqlCount = 0;

beforeAll(async () => {
// No background jobs (metering ticks and flushes, audit checkpoints): these tests count every SQL statement.
  t = await startTestApp({ METERING_ENABLED: "false", AUDIT_CHECKPOINT_INTERVAL_MS: "0" });
  const app = t.app;
  const admin = app.services.db.admin;
  // Tokens as login issues them: each `sid` names a live refresh-session family.
  const liveToken = async (c: Claims) => {
    const sid = randomUUID();
    await admin.withSchema("control").table("refresh_sessions").insert({
      family_id: sid, user_id: c.sub, organization_id: c.org ?? null, token_hash: randomBytes(32), expires_at: new Date(Date.now() + 86_400_000),
    });
    return app.services.tokens.signAccess({ ...c, sid });
  };
  const org = await createOrg(app, "perm");
  await admin.withSchema("control").table("organizations").where({ id: org.id }).update({ plan: FIXTURE_PLAN });
  const sa: TestUser = await createSuperAdmin(app);
  claims.set(PRINCIPALS[0]!.name, undefined);
  claims.set(PRINCIPALS[1]!.name, { sub: sa.id, sa: true });
  claims.set(PRINCIPALS[2]!.name, { sub: sa.id, sa: true, org: org.id, role: "ADMIN" });
  for (const r of ORG_ROLES) claims.set(r, { sub: org.users[r].id, org: org.id, role: r });
  for (const [name, c] of claims) tokens.set(name, c && (await liveToken(c)));

  const schema = quoteIdent(tenantRef(org.id).schema);
  const insert = async (sql: string, bindings: string[] = []) => (await admin.raw(sql, bindings)).rows[0].id as string;
  const itemId = await insert(`INSERT INTO ${schema}.items (project_id, title, creator_id) VALUES (?, 'Shared', ?) RETURNING id`, [org.projectId, org.users.ADMIN.id]);
  const newApiKey = async () => {
    const res = await t.gql(`mutation { createApiKey(input: { name: "Throwaway", scopes: ["item:read"] }) { apiKey { id } } }`, {}, tokens.get("ADMIN"));
    expect(res.body.errors).toBeUndefined();
    return res.body.data.createApiKey.apiKey.id as string;
  };
  f = {
    app, org, itemId, newApiKey,
    apiKeyId: await newApiKey(),
    newWorkspace: () => insert(`INSERT INTO ${schema}.workspaces (name) VALUES ('Throwaway') RETURNING id`),
    newProject: () => insert(`INSERT INTO ${schema}.projects (workspace_id, name) VALUES (?, 'Throwaway') RETURNING id`, [org.workspaceId]),
    newItem: () => insert(`INSERT INTO ${schema}.items (project_id, title) VALUES (?, 'Throwaway') RETURNING id`, [org.projectId]),
    async newMember() {
      const email = `throwaway-${randomUUID()}@example.test`;
      const id = await createUser(app, email, "Throwaway");
      await admin.withSchema("control").table("memberships").insert({ user_id: id, organization_id: org.id, role: "DEVELOPER" });
      await admin.raw(`INSERT INTO ${schema}.members (user_id, email, display_name, role) VALUES (?, ?, 'Throwaway', 'DEVELOPER')`, [id, email]);
      return id;
    },
    async refreshToken() {
      return (await app.services.identity.login(org.users.ANALYST.email, TEST_PASSWORD, undefined, {})).refreshToken;
    },
    async liveToken(who) {
      const c = claims.get(who.name);
      return c && liveToken(c);
    },
  };
  // Count every statement the app sends: a denied root field must run none. The denial's own
  // audit event (authz.denied, written to the audit chain, with the organization's audit settings)
  // is the one expected exception.
  // Transaction control (a scoped BEGIN carries its prelude) reads no data; any resolver SQL counts.
  const AUDIT_WRITE = /^\s*(BEGIN\b|(COMMIT|ROLLBACK);?\s*$)|"?\b(control|tenant_[0-9a-f]+)"?\."?(audit_chain|audit_events|audit_settings)\b/i;
  const count = (q: { sql?: string }) => void (AUDIT_WRITE.test(q.sql ?? "") || sqlCount++);
  // Every pool the app has (admin, app, and any other): "no SQL" means none on any of them.
  for (const pool of Object.values(app.services.db)) if (typeof (pool as Partial<Knex>)?.on === "function") (pool as Knex).on("query", count);
});
afterAll(async () => t?.close());

async function run(principal: PrincipalSpec, sample: Sample): Promise<{ res: GqlResponse; sql: number }> {
  const op = await sample(f, principal);
  sqlCount = 0;
  const res = await t.gql(op.query, op.variables, op.token ?? tokens.get(principal.name));
  return { res, sql: sqlCount };
}

function assertOutcome(res: GqlResponse, expected: Outcome, path: string[]) {
  const errors = res.body.errors ?? [];
  if (expected.allowed) {
    // Samples are valid operations: an allowed call must succeed outright, not merely avoid auth errors.
    expect(errors, JSON.stringify(errors)).toEqual([]);
    expect(res.body.data?.[path[0]!]).not.toBeNull();
    return;
  }
  const denial = errors.find((e) => JSON.stringify(e.path) === JSON.stringify(path));
  expect(denial, `no error at ${path.join(".")}: ${JSON.stringify(errors)}`).toBeDefined();
  expect(denial!.extensions?.code).toBe(expected.code);
  expect(denial!.message).toMatch(expected.message);
  expect(errors.every((e) => e.extensions?.code === expected.code), JSON.stringify(errors)).toBe(true);
}

describe("rule coverage", () => {
  it("every root field in the schema has an entry in ROOT_FIELD_RULES", () => {
    expect(unruledRootFields(typeSchema)).toEqual([]);
    expect(unruledRootFields(t.app.schema)).toEqual([]);
  });

  it("ROOT_FIELD_RULES names no field the schema lacks (no stale rules)", () => {
    const ruled = ROOTS.flatMap((root) => Object.keys(ROOT_FIELD_RULES[root]).map((fld) => `${root}.${fld}`));
    expect(ruled.sort()).toEqual(schemaRootFields.map(([r, fld]) => `${r}.${fld}`).sort());
  });

  it("every root field in the schema has a sample operation in this test", () => {
    const sampled = ROOTS.flatMap((root) => Object.keys(SAMPLES[root]).map((fld) => `${root}.${fld}`));
    expect(sampled.sort()).toEqual(schemaRootFields.map(([r, fld]) => `${r}.${fld}`).sort());
  });

  it("every nested field rule names a real field and has a sample operation", () => {
    for (const [type, fld] of nestedRuled) {
      const named = typeSchema.getType(type);
      expect(named && isObjectType(named) && fld in named.getFields(), `${type}.${fld} not in schema`).toBe(true);
      expect(NESTED_SAMPLES[type]?.[fld], `no sample for ${type}.${fld}`).toBeDefined();
    }
  });

  it("rules only name permissions that exist in the matrix", () => {
    const all = [...Object.values(ROOT_FIELD_RULES), ...Object.values(NESTED_FIELD_RULES)].flatMap((m) => Object.values(m));
    for (const rule of all) expect(rule === "public" || rule === "authenticated" || rule in PERMISSIONS, String(rule)).toBe(true);
  });

  it("a guarded resource reached under another permission exposes only what its rules allow", () => {
    // The permissions that guard each object type where a root field returns it (directly or as
    // a connection's node). Walking the schema from every root field, a field of such a type
    // reached under a permission that does not guard it (e.g. a Member reached through
    // Item.creator by an item reader) must carry its own rule, or be a deliberate exception.
    const guards = new Map<string, Set<FieldRule>>();
    const nodeType = (t0: GraphQLNamedType): GraphQLNamedType => {
      if (isObjectType(t0) && t0.name.endsWith("Connection")) {
        const edge = getNamedType(t0.getFields().edges!.type);
        if (isObjectType(edge)) return getNamedType(edge.getFields().node!.type);
      }
      return t0;
    };
    const rootField = (root: Root, fld: string) => typeSchema.getRootType(root.toLowerCase() as never)!.getFields()[fld]!;
    for (const [root, fld] of schemaRootFields) {
      const rule = (ROOT_FIELD_RULES[root] as Record<string, FieldRule>)[fld];
      const target = nodeType(getNamedType(rootField(root, fld).type));
      if (rule && rule !== "public" && rule !== "authenticated" && isObjectType(target)) {
        if (!guards.has(target.name)) guards.set(target.name, new Set());
        guards.get(target.name)!.add(rule);
      }
    }
    // Deliberate exceptions. Edges: `me` shows the caller's own organizations. Fields: whoever
    // reads an item sees its creator by id and display name (WORKLOAD.md, Q1).
    const OWN_DATA_EDGES = new Set(["Me.organization", "Membership.organization"]);
    const VISIBLE_WITH_PARENT = new Set(["Member.id", "Member.displayName"]);
    const violations: string[] = [];
    const seen = new Set<string>();
    const walk = (type: GraphQLNamedType, under: FieldRule | "own data") => {
      if (!isObjectType(type) || seen.has(`${type.name}/${under}`)) return;
      seen.add(`${type.name}/${under}`);
      const needed = guards.get(type.name);
      for (const [name, field] of Object.entries(type.getFields())) {
        const own = NESTED_FIELD_RULES[type.name]?.[name];
        if (needed && under !== "own data" && !needed.has(under) && !own && !VISIBLE_WITH_PARENT.has(`${type.name}.${name}`))
          violations.push(`${type.name}.${name} (reached under ${under}; ${type.name} is guarded by ${[...needed].join("|")})`);
        walk(getNamedType(field.type), own ?? (OWN_DATA_EDGES.has(`${type.name}.${name}`) ? "own data" : under));
      }
    };
    for (const [root, fld] of schemaRootFields) walk(getNamedType(rootField(root, fld).type), (ROOT_FIELD_RULES[root] as Record<string, FieldRule>)[fld]!);
    expect(violations).toEqual([]);
  });

  it("every item reader sees its creator's display name (WORKLOAD.md, Q1)", async () => {
    for (const principal of PRINCIPALS.filter((p) => p.inOrg && roleHas(p.role!, "item:read"))) {
      const { res } = await run(principal, (f) => ({ query: `query($id: ID!) { item(id: $id) { creator { id displayName } } }`, variables: { id: f.itemId } }));
      expect(res.body.errors, principal.name).toBeUndefined();
      expect(res.body.data.item.creator, principal.name).toEqual({ id: f.org.users.ADMIN.id, displayName: `ADMIN of ${f.org.slug}` });
    }
  });
});

describe.each(PRINCIPALS)("$name", (principal) => {
  const rows = httpRootFields.map(([root, field]) => [root, field, label(expectedOutcome(principal, [{ type: root, field }]))] as const);
  it.each(rows)("%s.%s over HTTP → %s", async (root, field) => {
    const sample = SAMPLES[root][field];
    expect(sample, `no sample operation for ${root}.${field}`).toBeDefined();
    const expected = expectedOutcome(principal, [{ type: root, field }]);
    const { res, sql } = await run(principal, sample!);
    assertOutcome(res, expected, [field]);
    // A denial happens before the resolver: no SQL at all (a plan-feature denial may look the plan up).
    if (!expected.allowed && !expected.why.startsWith("plan lacks")) expect(sql, `${label(expected)} but ${sql} statements ran`).toBe(0);
  });

  const nestedRows = nestedRuled.map(([type, field]) => {
    const entry = NESTED_SAMPLES[type]?.[field];
    return [type, field, entry ? entry.path.join(".") : "?", entry ? label(expectedOutcome(principal, stepsOf(entry.path))) : "no sample"] as const;
  });
  it.each(nestedRows)("nested %s.%s via %s → %s", async (type, field) => {
    const entry = NESTED_SAMPLES[type]?.[field];
    expect(entry, `no sample for ${type}.${field}`).toBeDefined();
    const steps = stepsOf(entry!.path);
    expect(steps.at(-1)).toEqual({ type, field });
    const expected = expectedOutcome(principal, steps);
    const { res } = await run(principal, entry!.sample);
    assertOutcome(res, expected, expected.allowed ? entry!.path : entry!.path.slice(0, expected.at + 1));
  });
});

// ---------------------------------------------------------------------------------------------
// Subscriptions: the rule runs when the client subscribes, over graphql-ws.

type WsOutcome = { kind: "next"; data: unknown } | { kind: "errors"; errors: Array<{ message: string; extensions?: Record<string, unknown> }> } | { kind: "closed"; code: number } | { kind: "complete" } | { kind: "timeout" };

async function subscribeOnce(token: string | undefined, op: Operation, trigger?: () => Promise<unknown>, timeoutMs = 8_000): Promise<WsOutcome> {
  const client = createClient({
    url: t.url.replace(/^http/, "ws"),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const inFlight = new Set<Promise<unknown>>();
  try {
    return await new Promise<WsOutcome>((resolve) => {
      client.subscribe(op, {
        next: (v: ExecutionResult) => resolve(v.errors ? { kind: "errors", errors: v.errors as never } : { kind: "next", data: v.data }),
        error: (e: unknown) => resolve(Array.isArray(e) ? { kind: "errors", errors: e } : { kind: "closed", code: (e as { code?: number }).code ?? -1 }),
        complete: () => resolve({ kind: "complete" }),
      });
      timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
      // The server sends nothing when a subscription starts; events prove it is live.
      if (trigger) poll = setInterval(() => {
        const p = trigger().catch(() => undefined).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }, 150);
    });
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
    await Promise.all(inFlight); // no trigger's SQL may spill into the next test's count
    await client.dispose();
  }
}

describe.each(PRINCIPALS)("$name over graphql-ws", (principal) => {
  const subscriptionRows = schemaRootFields.filter(([root]) => root === "Subscription")
    .map(([root, field]) => [root, field, label(expectedOutcome(principal, [{ type: root, field }]))] as const);
  it.each(subscriptionRows)("%s.%s at subscribe time → %s", async (root, field) => {
    const sample = SAMPLES[root][field];
    expect(sample, `no sample operation for ${root}.${field}`).toBeDefined();
    const expected = expectedOutcome(principal, [{ type: root, field }]);
    const op = await sample!(f, principal);
    // Only allowed subscribers get events published for them; a denial must come without any.
    // Alerts fire only past a threshold, and live usage needs metering (off in this file): an
    // allowed subscriber of these stays open without error. Their delivery is tested in live-subscriptions.test.ts.
    const quiet = ["alertRaised", "platformAlertRaised", "usageUpdated", "platformUsageUpdated"].includes(field);
    const trigger = expected.allowed && !quiet
      ? () => t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "Event" }) { id } }`, { p: f.org.projectId }, f.org.users.ADMIN.token)
      : undefined;
    sqlCount = 0;
    const out = await subscribeOnce(tokens.get(principal.name), op, trigger, quiet && expected.allowed ? 1_500 : undefined);
    if (expected.allowed && quiet) {
      expect(out.kind, JSON.stringify(out)).toBe("timeout");
    } else if (expected.allowed) {
      // The trigger creates an item: an item event, its data.created audit event, and live usage.
      const event = {
        itemChanged: { kind: "CREATED" },
        auditEventRecorded: { eventType: "data.created" },
      }[field];
      expect(event, `no expected event for ${field}`).toBeDefined();
      expect(out).toMatchObject({ kind: "next", data: { [field]: event } });
    } else {
      expect(out.kind, JSON.stringify(out)).toBe("errors");
      const errors = (out as Extract<WsOutcome, { kind: "errors" }>).errors;
      expect(errors[0]!.extensions?.code).toBe(expected.code);
      expect(errors[0]!.message).toMatch(expected.message);
      expect(sqlCount).toBe(0);
    }
  });
});

describe("plan features", () => {
  it("a field that needs a plan feature is refused to an organization whose plan lacks it, even to its ADMIN", async () => {
    const free = await createOrg(t.app, "perm-free");
    const plan = (await t.app.services.db.admin.withSchema("control").table("organizations").where({ id: free.id }).first("plan")).plan as PlanId;
    for (const [key, feature] of Object.entries(FIELD_FEATURES)) {
      expect(PLANS[plan].features.includes(feature), `${plan} includes ${feature}`).toBe(false);
      const [root, field] = key.split(".") as [Root, string];
      // The feature rule runs before the resolver, so any well-formed id will do.
      const op = await SAMPLES[root][field]!({ ...f, org: free, newApiKey: async () => f.apiKeyId }, PRINCIPALS.find((p) => p.role === "ADMIN")!);
      const res = await t.gql(op.query, op.variables, free.users.ADMIN.token);
      expect(res.body.errors?.map((e) => [e.extensions?.code, e.message]), key).toEqual([["FORBIDDEN", expect.stringMatching(new RegExp(`needs the ${feature} feature`))]]);
    }
  });
});

describe("subscribe-time rule on the served schema", () => {
  it("a principal lacking item:read is refused before the subscribe function runs", async () => {
    // No role lacks item:read today, so narrow one: the subscribe function would otherwise answer
    // (it checks the project with SQL), which proves the shield, not the resolver, refused.
    const principal = { userId: f.org.users.ANALYST.id, sessionId: randomUUID(), superAdmin: false, organizationId: f.org.id, role: "ANALYST" as const };
    const ctx = createContext(t.app.services, principal, { transport: "ws", client: {} });
    const can = ctx.can;
    ctx.can = (p) => p !== "item:read" && can(p);
    const op = await SAMPLES.Subscription.itemChanged!(f, PRINCIPALS.find((p) => p.role === "ANALYST")!);
    sqlCount = 0;
    const result = await subscribe({ schema: t.app.schema, document: parse(op.query), variableValues: op.variables, contextValue: ctx });
    expect(Symbol.asyncIterator in result, "subscription started").toBe(false);
    expect((result as ExecutionResult).errors?.map((e) => [e.extensions.code, e.message])).toEqual([["FORBIDDEN", "Requires permission item:read"]]);
    expect(sqlCount).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe("fallback deny", () => {
  const superAdminContext = () => ({
    principal: { userId: randomUUID(), sessionId: randomUUID(), superAdmin: true, organizationId: null, role: null },
    effectiveRole: "SUPER_ADMIN",
    can: (p: Permission) => roleHas("SUPER_ADMIN", p),
  }) as unknown as RequestContext;

  /** The real type schema with one unruled field added to each root type. */
  async function schemaWithUnruledFields(calls: string[]) {
    const base = await buildTypeSchema();
    const extend = (type: GraphQLObjectType, extra: GraphQLFieldConfigMap<unknown, unknown>) => {
      const cfg = type.toConfig();
      return new GraphQLObjectType({ ...cfg, fields: { ...cfg.fields, ...extra } });
    };
    const query = extend(base.getQueryType()!, { leakQuery: { type: GraphQLString, resolve: () => (calls.push("leakQuery"), "leaked") } });
    const mutation = extend(base.getMutationType()!, { leakMutation: { type: GraphQLString, resolve: () => (calls.push("leakMutation"), "leaked") } });
    const subscription = extend(base.getSubscriptionType()!, {
      leakFeed: {
        type: GraphQLString,
        subscribe: async function* () {
          calls.push("leakFeed");
          yield "leaked";
        },
        resolve: (payload: unknown) => payload,
      },
    });
    const cfg = base.toConfig();
    return new GraphQLSchema({
      ...cfg, query, mutation, subscription,
      types: cfg.types.filter((x) => !["Query", "Mutation", "Subscription"].includes(x.name)),
    });
  }

  it("a root field added without a rule is reported and denied, even to a super admin", async () => {
    const calls: string[] = [];
    const unguarded = await schemaWithUnruledFields(calls);
    expect(unruledRootFields(unguarded).sort()).toEqual(["Mutation.leakMutation", "Query.leakQuery", "Subscription.leakFeed"]);
    const schema = applyPermissions(unguarded);

    const q = (await execute({ schema, document: parse(`{ leakQuery permissionMatrix { roles { role } } }`), contextValue: superAdminContext() })) as ExecutionResult;
    expect(q.data?.leakQuery).toBeNull();
    expect(q.data?.permissionMatrix).toBeTruthy(); // the ruled neighbour still works
    expect(q.errors?.map((e) => [e.path, e.extensions.code])).toEqual([[["leakQuery"], "FORBIDDEN"]]);

    const m = (await execute({ schema, document: parse(`mutation { leakMutation }`), contextValue: superAdminContext() })) as ExecutionResult;
    expect(m.errors?.map((e) => e.extensions.code)).toEqual(["FORBIDDEN"]);

    const s = await subscribe({ schema, document: parse(`subscription { leakFeed }`), contextValue: superAdminContext() });
    expect(Symbol.asyncIterator in s, "subscription to an unruled field was started").toBe(false);
    expect((s as ExecutionResult).errors?.map((e) => e.extensions.code)).toEqual(["FORBIDDEN"]);

    expect(calls).toEqual([]); // no resolver or subscribe function ran
  });
});

describe("permissionMatrix", () => {
  it("returns exactly ROLE_PERMISSIONS and PERMISSIONS", async () => {
    const res = await t.gql(`{ permissionMatrix { permissions { name description } roles { role permissions } } }`, {}, f.org.users.SERVICE_ACCOUNT.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.permissionMatrix).toEqual({
      permissions: Object.entries(PERMISSIONS).map(([name, description]) => ({ name, description })),
      roles: ROLES.map((role) => ({ role, permissions: [...ROLE_PERMISSIONS[role]] })),
    });
  });

  it("me.permissions is the caller's row of the matrix", async () => {
    for (const principal of PRINCIPALS.filter((p) => p.role)) {
      const res = await t.gql(`{ me { permissions } }`, {}, tokens.get(principal.name));
      expect(res.body.data?.me.permissions, principal.name).toEqual([...ROLE_PERMISSIONS[principal.role!]]);
    }
  });
});
