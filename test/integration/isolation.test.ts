// Tenant isolation through the real gateway and real PostgreSQL (SECURITY.md: "Tenant isolation",
// cases 9, 12 and 13). Organization A's callers aim at organization B's ids through every field
// that takes an id; lists never show another tenant's rows; a failed request transaction leaves
// nothing in the pooled session; and a randomized concurrent run never crosses tenants.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getNamedType, isInputObjectType, isObjectType, type GraphQLArgument, type GraphQLInputType, type GraphQLSchema } from "graphql";
import type { App } from "../../src/app.js";
import { createContext, type Principal } from "../../src/context/index.js";
import type { ErrorCode } from "../../src/errors/codes.js";
import { encodeCursor } from "../../src/modules/common/connection.js";
import { itemTopic } from "../../src/modules/items/item.events.js";
import { ORG_ROLES, roleHas, type OrgRole, type Permission } from "../../src/permissions/matrix.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { codes, startTestApp, type GqlResponse, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, TEST_PASSWORD, type TestOrg } from "../helpers/factories.js";
import { addMemberRow, dumpTenant, freshObjects, schemaOf, seedItems, tenantIds, type TenantIds } from "../helpers/tenant-data.js";
import { connectWs } from "../helpers/ws.js";

let t: TestApp;
let app: App;
let A: TestOrg;
let B: TestOrg;
let bItemId: string;

beforeAll(async () => {
  // Two connections: the concurrent run needs real interleaving; the pool cases park one of the
  // two so that every request shares the other (an effective pool of one, see withOneConnection).
  t = await startTestApp({ DATABASE_POOL_MAX: "2" });
  app = t.app;
  A = await createOrg(app, "iso-a");
  B = await createOrg(app, "iso-b");
  // API keys need the api_keys feature (not on the Free plan).
  await app.services.db.admin.withSchema("control").table("organizations").whereIn("id", [A.id, B.id]).update({ plan: "professional" });
  bKeyId = await newApiKey(B);
  await seedItems(app, A.id, A.projectId, ["a-one", "a-two", "a-three"], A.users.DEVELOPER.id);
  [bItemId] = await seedItems(app, B.id, B.projectId, ["b-secret-one", "b-secret-two", "b-secret-three"], B.users.DEVELOPER.id);
  await freshObjects(app, B.id, "b-second");
});
afterAll(async () => t?.close());

// ---------------------------------------------------------------------------------------------
// Helpers

let bKeyId: string;
async function newApiKey(org: TestOrg): Promise<string> {
  const res = await t.gql(`mutation { createApiKey(input: { name: "iso", scopes: ["item:read"] }) { apiKey { id } } }`, {}, org.users.ADMIN.token);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.createApiKey.apiKey.id;
}
/** B's API keys as stored (control plane): must not change when A uses B's ids. */
const bKeys = async () => app.services.db.admin.withSchema("control").table("api_keys").select("*").where({ organization_id: B.id }).orderBy("id");

type Outcome = "ok" | ErrorCode;

/** Every value of an `id` key anywhere in a response. */
function idsIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) idsIn(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "id" && typeof v === "string") out.push(v);
      else idsIn(v, out);
    }
  }
  return out;
}

function outcomeOf(res: GqlResponse): { outcome: Outcome; message?: string } {
  const e = res.body.errors?.[0];
  return e ? { outcome: e.extensions?.code, message: e.message } : { outcome: "ok" };
}

function principalOf(org: TestOrg, role: OrgRole): Principal {
  return { userId: org.users[role].id, sessionId: randomUUID(), superAdmin: false, organizationId: org.id, role };
}

/** What B's admin sees through the API: compared before and after each of A's attempts. */
async function viewAsB() {
  const res = await t.gql(
    `query($p: ID!) {
      organization { id name plan status }
      workspaces(first: 100) { totalCount edges { node { id name description updatedAt } } }
      projects(first: 100) { totalCount edges { node { id name description updatedAt workspace { id } } } }
      items(projectId: $p, first: 100) { totalCount edges { node { id title status tags payload updatedAt creator { id displayName role } } } }
      members(first: 100) { totalCount edges { node { id email displayName role } } }
    }`,
    { p: B.projectId },
    B.users.ADMIN.token,
  );
  expect(res.body.errors).toBeUndefined();
  return res.body.data;
}

/** The pooled session as the runtime role sees it outside any tenant scope. */
async function sessionState() {
  const { rows: [r] } = await app.services.db.app.raw(
    `SELECT pg_backend_pid() AS pid, current_user AS "user", session_user AS "session",
            current_setting('search_path') AS "searchPath", current_schemas(false)::text[] AS schemas`,
  );
  return r as { pid: number; user: string; session: string; searchPath: string; schemas: string[] };
}

function expectPristineSession(s: Awaited<ReturnType<typeof sessionState>>) {
  expect(s.user).toBe(app.services.config.database.appRole);
  expect(s.session).toBe(app.services.config.database.appRole);
  expect(s.searchPath).toBe('""');
  expect(s.schemas).toEqual([]);
}

/**
 * Run fn with one of the pool's two connections parked in an idle transaction, so that every
 * request and query inside fn goes through the same single connection (unless it is discarded).
 */
async function withOneConnection<T>(fn: () => Promise<T>): Promise<T> {
  expect(app.services.config.database.poolMax).toBe(2);
  const parked = await app.services.db.app.transaction();
  try {
    return await fn();
  } finally {
    await parked.commit();
  }
}

/** B's own view, fetched over HTTP: every id must be B's, and B's rows must be there. */
async function expectBSeesOnlyB() {
  const res = await t.gql(
    `query($p: ID!) { workspaces(first: 100) { edges { node { id } } } items(projectId: $p, first: 100) { edges { node { id title } } } }`,
    { p: B.projectId },
    B.users.ANALYST.token,
  );
  expect(res.body.errors).toBeUndefined();
  const b = await tenantIds(app, B.id);
  const ids = idsIn(res.body.data);
  expect(ids.length).toBeGreaterThan(3);
  for (const id of ids) expect(b.all.has(id), `${id} is not B's`).toBe(true);
  expect(res.body.data.items.edges.map((e: any) => e.node.title)).toContain("b-secret-one");
}

async function waitFor(cond: () => Promise<boolean>, timeoutMs = 5_000, what = "condition") {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---------------------------------------------------------------------------------------------
// The table: every field that takes an id, called by A's ADMIN with B's ids.

interface Target {
  orgId: string;
  workspaceId: string;
  projectId: string;
  itemId: string;
  /** A member of the target organization (not its only admin). */
  userId: string;
  apiKeyId: string;
}

interface Case {
  /** Type.field, as found in the schema. */
  field: string;
  doc: string;
  vars: (t: Target) => Record<string, unknown>;
  /** Expected with B's ids (and with an id that exists nowhere: the two must be indistinguishable). */
  foreign: Outcome;
  /** Expected with A's own fresh ids: the positive control proving the operation itself works. */
  own: Outcome;
  ws?: true;
}

const CASES: Case[] = [
  { field: "Query.item", doc: `query($id: ID!) { item(id: $id) { id title } }`, vars: (x) => ({ id: x.itemId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Query.items", doc: `query($id: ID!) { items(projectId: $id, first: 10) { totalCount edges { node { id title } } } }`, vars: (x) => ({ id: x.projectId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Query.project", doc: `query($id: ID!) { project(id: $id) { id name } }`, vars: (x) => ({ id: x.projectId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Query.projects", doc: `query($id: ID!) { projects(workspaceId: $id, first: 10) { totalCount edges { node { id name } } } }`, vars: (x) => ({ id: x.workspaceId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Query.workspace", doc: `query($id: ID!) { workspace(id: $id) { id name } }`, vars: (x) => ({ id: x.workspaceId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.updateItem", doc: `mutation($id: ID!) { updateItem(id: $id, input: { title: "taken over", tags: ["pwned"] }) { id title } }`, vars: (x) => ({ id: x.itemId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.deleteItem", doc: `mutation($id: ID!) { deleteItem(id: $id) }`, vars: (x) => ({ id: x.itemId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.createItem", doc: `mutation($id: ID!) { createItem(input: { projectId: $id, title: "planted" }) { id title } }`, vars: (x) => ({ id: x.projectId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.updateProject", doc: `mutation($id: ID!) { updateProject(id: $id, input: { name: "taken over" }) { id name } }`, vars: (x) => ({ id: x.projectId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.deleteProject", doc: `mutation($id: ID!) { deleteProject(id: $id) }`, vars: (x) => ({ id: x.projectId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.createProject", doc: `mutation($id: ID!) { createProject(input: { workspaceId: $id, name: "planted" }) { id name } }`, vars: (x) => ({ id: x.workspaceId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.updateWorkspace", doc: `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "taken over" }) { id name } }`, vars: (x) => ({ id: x.workspaceId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.deleteWorkspace", doc: `mutation($id: ID!) { deleteWorkspace(id: $id) }`, vars: (x) => ({ id: x.workspaceId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.updateMemberRole", doc: `mutation($id: ID!) { updateMemberRole(userId: $id, role: ANALYST) { id role } }`, vars: (x) => ({ id: x.userId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.removeMember", doc: `mutation($id: ID!) { removeMember(userId: $id) }`, vars: (x) => ({ id: x.userId }), foreign: "NOT_FOUND", own: "ok" },
  // Organization-level ids: membership decides, and a foreign organization looks like a missing one.
  { field: "Mutation.switchOrganization", doc: `mutation($id: ID!) { switchOrganization(organizationId: $id) { organizationId role } }`, vars: (x) => ({ id: x.orgId }), foreign: "FORBIDDEN", own: "ok" },
  { field: "Mutation.updateOrganization", doc: `mutation($id: ID!) { updateOrganization(id: $id, input: { name: "taken over", status: SUSPENDED }) { id } }`, vars: (x) => ({ id: x.orgId }), foreign: "FORBIDDEN", own: "FORBIDDEN" },
  {
    field: "Mutation.login",
    doc: `mutation($e: String!, $pw: String!, $id: ID) { login(input: { email: $e, password: $pw, organizationId: $id }) { organizationId role } }`,
    vars: (x) => ({ e: A.users.ADMIN.email, pw: TEST_PASSWORD, id: x.orgId }),
    foreign: "FORBIDDEN",
    own: "ok",
  },
  { field: "Query.apiKey", doc: `query($id: ID!) { apiKey(id: $id) { id name } }`, vars: (x) => ({ id: x.apiKeyId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.rotateApiKey", doc: `mutation($id: ID!) { rotateApiKey(id: $id, overlapSeconds: 0) { secret apiKey { id } } }`, vars: (x) => ({ id: x.apiKeyId }), foreign: "NOT_FOUND", own: "ok" },
  { field: "Mutation.revokeApiKey", doc: `mutation($id: ID!) { revokeApiKey(id: $id) { id status } }`, vars: (x) => ({ id: x.apiKeyId }), foreign: "NOT_FOUND", own: "ok" },
  // Platform staff only: an organization's ADMIN may not change any organization's overrides, its own included.
  { field: "Mutation.setPlanOverrides", doc: `mutation($id: ID!) { setPlanOverrides(organizationId: $id, input: { featuresEnabled: ["sso"] }) { organizationId } }`, vars: (x) => ({ id: x.orgId }), foreign: "FORBIDDEN", own: "FORBIDDEN" },
  // A filter naming another organization's user finds nothing of theirs: A's trail only.
  { field: "Query.auditEvents", doc: `query($id: ID!) { auditEvents(first: 5, filter: { actorId: $id }) { totalCount edges { node { sequence } } } }`, vars: (x) => ({ id: x.userId }), foreign: "ok", own: "ok" },
  { field: "Subscription.itemChanged", doc: `subscription($id: ID!) { itemChanged(projectId: $id) { kind item { id title } } }`, vars: (x) => ({ id: x.projectId }), foreign: "NOT_FOUND", own: "ok", ws: true },
];

function takesId(type: GraphQLInputType, seen = new Set<string>()): boolean {
  const named = getNamedType(type);
  if (named.name === "ID") return true;
  if (!isInputObjectType(named) || seen.has(named.name)) return false;
  seen.add(named.name);
  return Object.values(named.getFields()).some((f) => takesId(f.type, seen));
}

/** Every field of every object type (root or nested) with an argument that is, or contains, an ID. */
function fieldsTakingIds(schema: GraphQLSchema): string[] {
  const out: string[] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.some((a: GraphQLArgument) => takesId(a.type))) out.push(`${type.name}.${field.name}`);
    }
  }
  return out.sort();
}

const PROBE_ID = "00000000-0000-4000-8000-0000000000ff";

async function runCase(c: Case, target: Target): Promise<{ outcome: Outcome; message?: string; raw: string }> {
  if (!c.ws) {
    const res = await t.gql(c.doc, c.vars(target), A.users.ADMIN.token);
    const { outcome, message } = outcomeOf(res);
    if (outcome !== "ok") expect(res.body.data ?? null, "a refused call returns no data").toBeNull();
    return { outcome, message, raw: JSON.stringify(res.body) };
  }
  const conn = connectWs(t.url, { token: A.users.ADMIN.token });
  try {
    const sub = conn.subscribe(c.doc, c.vars(target));
    // Live or refused? Poke the project's topic under both organizations until either a poke
    // arrives (the subscription is live) or the subscription fails.
    const poke = () => {
      for (const org of [A.id, B.id]) {
        app.services.pubsub.publish("ITEM_CHANGED", itemTopic(org, target.projectId), {
          kind: "UPDATED",
          item: { id: PROBE_ID, projectId: target.projectId, title: "probe", status: "open", tags: [], payload: {}, creatorId: null, createdAt: new Date(), updatedAt: new Date() },
        });
      }
    };
    try {
      await sub.ready(poke, (r) => r.data?.itemChanged?.item?.id === PROBE_ID);
      return { outcome: "ok", raw: JSON.stringify(sub.results) };
    } catch (err) {
      if (!sub.errors.length) throw err;
      const e = sub.errors[0]!;
      return { outcome: e.extensions?.code, message: e.message, raw: JSON.stringify({ results: sub.results, errors: sub.errors }) };
    }
  } finally {
    await conn.dispose();
  }
}

describe("every field that takes an id refuses another organization's ids", () => {
  let bTarget: Target;
  let bDump: Record<string, unknown[]>;
  let bKeyRows: unknown[];
  let bView: unknown;
  let forbiddenStrings: string[];

  beforeAll(async () => {
    bTarget = { orgId: B.id, workspaceId: B.workspaceId, projectId: B.projectId, itemId: bItemId, userId: B.users.DEVELOPER.id, apiKeyId: bKeyId };
    bDump = await dumpTenant(app, B.id);
    bKeyRows = await bKeys();
    bView = await viewAsB();
    const b = await tenantIds(app, B.id);
    forbiddenStrings = [...b.all, B.id, B.slug, tenantRef(B.id).schema, tenantRef(B.id).role, "b-secret"];
  });

  it("the table covers every field in the app's schema whose arguments carry an ID", () => {
    const inSchema = fieldsTakingIds(app.schema);
    // The detector itself must see what we know is there (nested input ids included).
    expect(inSchema).toEqual(expect.arrayContaining(["Query.item", "Mutation.createItem", "Mutation.login", "Subscription.itemChanged"]));
    const covered = new Set(CASES.map((c) => c.field));
    expect(inSchema.filter((f) => !covered.has(f)), "fields taking an id with no isolation case").toEqual([]);
    expect([...covered].filter((f) => !inSchema.includes(f)), "cases for fields that no longer exist").toEqual([]);
    expect(CASES.length).toBe(covered.size);
  });

  it.each(CASES.map((c) => [c.field, c] as const))("%s", async (_name, c) => {
    // 1. A's ADMIN with B's ids: refused, and nothing of B's shows up in the answer.
    const foreign = await runCase(c, bTarget);
    expect(foreign.outcome, foreign.raw).toBe(c.foreign);
    for (const s of forbiddenStrings) expect(foreign.raw.includes(s), `response mentions ${s}`).toBe(false);

    // 2. An id that exists nowhere gives exactly the same answer: B's ids are not an oracle.
    const nowhere = await runCase(c, { orgId: randomUUID(), workspaceId: randomUUID(), projectId: randomUUID(), itemId: randomUUID(), userId: randomUUID(), apiKeyId: randomUUID() });
    expect({ outcome: nowhere.outcome, message: nowhere.message }).toEqual({ outcome: foreign.outcome, message: foreign.message });

    // 3. Positive control: the same operation on A's own (disposable) objects behaves as the owner expects.
    const mine = await freshObjects(app, A.id, "own");
    const own = await runCase(c, { orgId: A.id, ...mine, userId: await addMemberRow(app, A, "DEVELOPER"), apiKeyId: await newApiKey(A) });
    expect(own.outcome, own.raw).toBe(c.own);

    // 4. B is unchanged, row for row and as B sees it (its API keys and plan too).
    expect(await dumpTenant(app, B.id)).toEqual(bDump);
    expect(await bKeys()).toEqual(bKeyRows);
    expect(await app.services.db.admin.withSchema("control").table("organizations").first("plan").where({ id: B.id })).toEqual({ plan: "professional" });
    expect(await viewAsB()).toEqual(bView);
  });
});

describe("lists", () => {
  it("A's lists (and nested lists) hold only A's rows, and their counts are A's", async () => {
    const a = await tenantIds(app, A.id);
    const b = await tenantIds(app, B.id);
    expect(b.items.size).toBeGreaterThan(0);
    for (const role of ["ADMIN", "ANALYST"] as const) {
      const res = await t.gql(
        `query($p: ID!, $w: ID!) {
          organization { id }
          workspaces(first: 100) { totalCount edges { node { id } } }
          projects(first: 100) { totalCount edges { node { id workspace { id } } } }
          items(projectId: $p, first: 100) { totalCount edges { node { id project { id } creator { id } } } }
          members(first: 100) { totalCount edges { node { id } } }
          workspace(id: $w) { projects(first: 20) { edges { node { id } } } }
          project(id: $p) { items(first: 20) { totalCount edges { node { id creator { id } } } } }
        }`,
        { p: A.projectId, w: A.workspaceId },
        A.users[role].token,
      );
      expect(res.body.errors).toBeUndefined();
      const d = res.body.data;
      expect(d.organization.id).toBe(A.id);
      const ids = idsIn(d).filter((id) => id !== A.id);
      expect(ids.length).toBeGreaterThan(8);
      for (const id of ids) {
        expect(b.all.has(id), `B's row ${id} in A's list`).toBe(false);
        expect(a.all.has(id), `${id} is not A's`).toBe(true);
      }
      expect(d.workspaces.totalCount).toBe(a.workspaces.size);
      expect(d.projects.totalCount).toBe(a.projects.size);
      expect(d.members.totalCount).toBe(a.members.size);
      const { rows: [{ n }] } = await app.services.db.admin.raw(`SELECT count(*)::int AS n FROM ${schemaOf(A.id)}.items WHERE project_id = ?`, [A.projectId]);
      expect(d.items.totalCount).toBe(n);
    }
  });

  it("without an organization in scope there is no tenant at all (fails closed, SECURITY case 13)", async () => {
    const root = await createSuperAdmin(app);
    for (const q of [`{ workspaces(first: 5) { edges { node { id } } } }`, `{ members(first: 5) { totalCount } }`]) {
      const res = await t.gql(q, {}, root.token);
      expect(codes(res)).toEqual(["FORBIDDEN"]);
      expect(res.body.data ?? null).toBeNull();
    }
    const anonymous = createContext(app.services, null, { transport: "http", client: {} });
    await expect(anonymous.inTenant((trx) => trx.raw("SELECT 1"))).rejects.toMatchObject({ code: "UNAUTHENTICATED" });
    const orgless = createContext(app.services, { userId: root.id, sessionId: randomUUID(), superAdmin: true, organizationId: null, role: null }, { transport: "http", client: {} });
    await expect(orgless.inTenant((trx) => trx.raw("SELECT 1"))).rejects.toMatchObject({ code: "FORBIDDEN" });
    await anonymous.finish(false);
    await orgless.finish(false);
  });
});

describe("a failed request transaction leaves nothing in the pooled session (one connection)", () => {
  it("rolled back through the context: B's next request runs in B's scope; the connection was discarded", async () => {
    await withOneConnection(async () => {
      const before = await sessionState();
      expectPristineSession(before);
      const ctx = createContext(app.services, principalOf(A, "ADMIN"), { transport: "http", client: {} });
      const { rows: [inside] } = await ctx.inTenant((trx) => trx.raw(`SELECT pg_backend_pid() AS pid, current_user AS "user", current_setting('search_path') AS sp`));
      expect(inside).toEqual({ pid: before.pid, user: tenantRef(A.id).role, sp: `"${tenantRef(A.id).schema}"` });
      await expect(ctx.inTenant((trx) => trx.raw("SELECT 1/0"))).rejects.toMatchObject({ code: "22012" });
      await ctx.finish(false);

      await expectBSeesOnlyB();
      const after = await sessionState();
      expectPristineSession(after);
      expect(after.pid, "a rolled-back connection is not reused").not.toBe(inside.pid);
    });
  });

  it("failed, then committed (what a query does): the same connection serves B, in B's scope, then returns clean", async () => {
    await withOneConnection(async () => {
      const ctx = createContext(app.services, principalOf(A, "DEVELOPER"), { transport: "http", client: {} });
      const { rows: [inside] } = await ctx.inTenant((trx) => trx.raw(`SELECT pg_backend_pid() AS pid`));
      await expect(ctx.inTenant((trx) => trx.raw("SELECT 1/0"))).rejects.toMatchObject({ code: "22012" });
      await ctx.finish(true); // COMMIT of an aborted transaction: PostgreSQL rolls it back

      await expectBSeesOnlyB();
      const after = await sessionState();
      expectPristineSession(after);
      expect(after.pid, "the one connection was reused").toBe(inside.pid);
    });
  });

  it("through HTTP: a mutation whose transaction fails midway is rolled back whole; B's next request is B's", async () => {
    // A real failure inside A's request transaction: the project is deleted by a concurrent
    // transaction between createItem's existence check and its insert (foreign-key violation).
    const victim = await freshObjects(app, A.id, "race");
    const marker = `rolled-back-${randomUUID()}`;
    await withOneConnection(async () => {
      const before = await sessionState();
      const deleter = await app.services.db.admin.transaction();
      try {
        await deleter.raw(`DELETE FROM ${schemaOf(A.id)}.projects WHERE id = ?`, [victim.projectId]);
        const pending = t.gql(
          `mutation($p: ID!, $n: String!) { w: createWorkspace(input: { name: $n }) { id } i: createItem(input: { projectId: $p, title: "orphan" }) { id } }`,
          { p: victim.projectId, n: marker },
          A.users.ADMIN.token,
        );
        // Wait until A's insert is blocked on the deleted row's lock, then let the delete commit.
        await waitFor(async () => {
          const { rows: [r] } = await app.services.db.admin.raw(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'enclave'
                AND wait_event_type = 'Lock' AND query ILIKE 'insert into "items"%'`,
          );
          return r.n > 0;
        }, 5_000, "A's insert to wait on the lock");
        await deleter.commit();
        const res = await pending;
        expect(res.body.errors?.length).toBeGreaterThan(0);
        expect(res.body.data ?? null).toBeNull();
        expect(JSON.stringify(res.body)).not.toMatch(/tenant_|foreign key|violates/i);
      } catch (err) {
        if (!deleter.isCompleted()) await deleter.rollback();
        throw err;
      }
      // The whole request transaction is gone, including the workspace created before the failure.
      const { rows } = await app.services.db.admin.raw(`SELECT id FROM ${schemaOf(A.id)}.workspaces WHERE name = ?`, [marker]);
      expect(rows).toEqual([]);

      await expectBSeesOnlyB();
      const after = await sessionState();
      expectPristineSession(after);
      expect(after.pid, "the failed request's connection was discarded").not.toBe(before.pid);
    });
  });

  it("through HTTP: a query whose statement fails in the database leaves the shared connection clean for B", async () => {
    // A cursor whose sort key is not a timestamp passes decodeCursor and fails in PostgreSQL.
    const badCursor = encodeCursor(["not a timestamp", randomUUID()]);
    await withOneConnection(async () => {
      const before = await sessionState();
      const res = await t.gql(
        `query($p: ID!, $c: String!) { items(projectId: $p, first: 5, after: $c) { edges { node { id } } } }`,
        { p: A.projectId, c: badCursor },
        A.users.ADMIN.token,
      );
      expect(res.body.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(res.body)).not.toMatch(/tenant_|timestamp with time zone|syntax/i);

      await expectBSeesOnlyB();
      const after = await sessionState();
      expectPristineSession(after);
      expect(after.pid).toBe(before.pid);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// SECURITY case 12: random tenants × random operations, concurrently, pool of 2.

function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = "item" | "deepItem" | "project" | "workspace" | "items" | "projects" | "projectsAll" | "workspaces" | "members" | "organization" | "createItem" | "updateItem";
const KINDS: Kind[] = ["item", "deepItem", "project", "workspace", "items", "projects", "projectsAll", "workspaces", "members", "organization", "createItem", "updateItem"];
const NEEDS: Record<Kind, Permission[]> = {
  item: ["item:read"],
  deepItem: ["item:read", "project:read", "workspace:read"],
  project: ["project:read"],
  workspace: ["workspace:read"],
  items: ["item:read"],
  projects: ["project:read"],
  projectsAll: ["project:read"],
  workspaces: ["workspace:read"],
  members: ["member:read"],
  organization: ["organization:read"],
  createItem: ["item:create"],
  updateItem: ["item:update"],
};
const TARGETED = new Set<Kind>(["item", "deepItem", "project", "workspace", "items", "projects", "createItem", "updateItem"]);

describe("randomized concurrent tenants (SECURITY case 12)", () => {
  it("200 random operations by 3 tenants, 25 at a time on a pool of 2: never another tenant's row", async () => {
    const seed = Number(process.env.ISOLATION_SEED ?? Date.now() % 1_000_000_007);
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const C = await createOrg(app, "iso-c");
    const orgs = [A, B, C];
    for (const [i, o] of orgs.entries()) {
      await seedItems(app, o.id, o.projectId, [`rnd-seed-${i}-1`, `rnd-seed-${i}-2`], o.users.DEVELOPER.id);
      const extra = await freshObjects(app, o.id, `rnd-${i}`);
      await seedItems(app, o.id, extra.projectId, [`rnd-seed-${i}-3`]);
    }
    const truth: TenantIds[] = [];
    for (const o of orgs) truth.push(await tenantIds(app, o.id));
    const created: Array<Set<string>> = orgs.map(() => new Set());
    const ownedBy = (id: string): number => truth.findIndex((s, i) => s.all.has(id) || created[i]!.has(id));

    interface Op { n: number; actor: number; role: OrgRole; kind: Kind; target: number; query: string; vars: Record<string, unknown> }
    const ops: Op[] = [];
    for (let n = 0; n < 200; n++) {
      const actor = Math.floor(rnd() * 3);
      const role = pick(ORG_ROLES);
      const kind = pick(KINDS);
      // Half of the targeted operations aim at another tenant.
      const target = TARGETED.has(kind) && rnd() < 0.5 ? (actor + 1 + Math.floor(rnd() * 2)) % 3 : actor;
      const tt = truth[target]!;
      let query: string;
      let vars: Record<string, unknown> = {};
      switch (kind) {
        case "item": query = `query($id: ID!) { item(id: $id) { id title } }`; vars = { id: pick([...tt.items]) }; break;
        case "deepItem": query = `query($id: ID!) { item(id: $id) { id project { id workspace { id } } creator { id displayName } } }`; vars = { id: pick([...tt.items]) }; break;
        case "project": query = `query($id: ID!) { project(id: $id) { id workspace { id } items(first: 20) { totalCount edges { node { id } } } } }`; vars = { id: pick([...tt.projects]) }; break;
        case "workspace": query = `query($id: ID!) { workspace(id: $id) { id projects(first: 20) { edges { node { id } } } } }`; vars = { id: pick([...tt.workspaces]) }; break;
        case "items": query = `query($id: ID!) { items(projectId: $id, first: 50) { totalCount edges { node { id title creator { id } } } } }`; vars = { id: pick([...tt.projects]) }; break;
        case "projects": query = `query($id: ID!) { projects(workspaceId: $id, first: 50) { edges { node { id } } } }`; vars = { id: pick([...tt.workspaces]) }; break;
        case "projectsAll": query = `{ projects(first: 50) { totalCount edges { node { id workspace { id } } } } }`; break;
        case "workspaces": query = `{ workspaces(first: 50) { totalCount edges { node { id } } } }`; break;
        case "members": query = `{ members(first: 50) { totalCount edges { node { id } } } }`; break;
        case "organization": query = `{ organization { id } }`; break;
        case "createItem": query = `mutation($id: ID!, $t: String!) { createItem(input: { projectId: $id, title: $t }) { id title creator { id } } }`; vars = { id: pick([...tt.projects]), t: `rnd-new-${actor}-${n}` }; break;
        case "updateItem": query = `mutation($id: ID!, $t: String!) { updateItem(id: $id, input: { title: $t }) { id title } }`; vars = { id: pick([...tt.items]), t: `rnd-upd-${actor}-${n}` }; break;
      }
      ops.push({ n, actor, role, kind, target, query, vars });
    }

    const tally: Record<string, number> = {};
    const failures: string[] = [];
    for (let i = 0; i < ops.length; i += 25) {
      const batch = ops.slice(i, i + 25);
      const responses = await Promise.all(batch.map((op) => t.gql(op.query, op.vars, orgs[op.actor]!.users[op.role].token)));
      // Creates of this batch may already be visible to other operations of the same batch.
      responses.forEach((res, j) => {
        const op = batch[j]!;
        if (op.kind === "createItem" && res.body.data?.createItem) created[op.actor]!.add(res.body.data.createItem.id);
      });
      responses.forEach((res, j) => {
        const op = batch[j]!;
        const expected: Outcome = !NEEDS[op.kind].every((p) => roleHas(op.role, p)) ? "FORBIDDEN" : op.target !== op.actor ? "NOT_FOUND" : "ok";
        const { outcome } = outcomeOf(res);
        tally[outcome] = (tally[outcome] ?? 0) + 1;
        const label = `seed ${seed} op #${op.n} ${op.kind} by org ${op.actor} ${op.role} on org ${op.target}`;
        if (outcome !== expected) failures.push(`${label}: expected ${expected}, got ${outcome} ${JSON.stringify(res.body)}`);
        for (const id of idsIn(res.body.data)) {
          if (id === orgs[op.actor]!.id) continue;
          const owner = ownedBy(id);
          if (owner !== op.actor) failures.push(`${label}: saw id ${id} of org ${owner}`);
        }
        if (expected === "ok" && op.vars.id && ["item", "deepItem", "project", "workspace", "updateItem"].includes(op.kind)) {
          const node = Object.values(res.body.data ?? {})[0] as { id?: string } | undefined;
          if (node?.id !== op.vars.id) failures.push(`${label}: answered ${node?.id} for ${op.vars.id}`);
        }
      });
    }
    expect(failures, `seed ${seed}`).toEqual([]);
    // The run exercised every branch.
    expect(tally.ok ?? 0).toBeGreaterThan(40);
    expect(tally.NOT_FOUND ?? 0).toBeGreaterThan(20);
    expect(tally.FORBIDDEN ?? 0).toBeGreaterThanOrEqual(3);

    // In the database: every tenant holds exactly its own creations and its own edits.
    for (const [i, o] of orgs.entries()) {
      const { rows } = await app.services.db.admin.raw(`SELECT id, title FROM ${schemaOf(o.id)}.items WHERE title LIKE 'rnd-new-%' OR title LIKE 'rnd-upd-%'`);
      for (const r of rows as Array<{ id: string; title: string }>) {
        expect(r.title.split("-")[2], `seed ${seed}: ${r.title} in org ${i}`).toBe(String(i));
      }
      const { rows: all } = await app.services.db.admin.raw(`SELECT id FROM ${schemaOf(o.id)}.items`);
      const added = new Set((all as Array<{ id: string }>).map((r) => r.id).filter((id) => !truth[i]!.items.has(id)));
      expect(added, `seed ${seed}: rows added to org ${i}`).toEqual(created[i]);
    }
  });
});
