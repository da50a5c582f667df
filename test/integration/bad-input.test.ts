// Hostile and malformed input: every id argument, every bounded string, slugs, cursors. Each is
// refused as BAD_USER_INPUT naming the argument, before any SQL runs, and no error body leaks
// SQL, schema names or stacks. The id arguments and connections are enumerated from the schema.
import "reflect-metadata";
import type { Knex } from "knex";
import { randomUUID } from "node:crypto";
import { getNamedType, isInputObjectType, isObjectType, type GraphQLArgument, type GraphQLInputField } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent } from "../../src/db/knex.js";
import { ERROR_CODES } from "../../src/errors/codes.js";
import { buildTypeSchema } from "../../src/graphql/schema.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { codes, startTestApp, type GqlResponse, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, uniqueSlug, type TestOrg } from "../helpers/factories.js";

let t: TestApp;
let org: TestOrg;
/** A super admin acting in `org`: every permission, so only input validation can refuse. */
let root: string;
/** A super admin with no organization (createOrganization, organizations). */
let platform: string;
let itemId: string;
let sql = 0;
const bodies: string[] = [];

beforeAll(async () => {
// No background jobs (metering ticks and flushes, audit checkpoints): these tests count every SQL statement.
  t = await startTestApp({ METERING_ENABLED: "false", AUDIT_CHECKPOINT_INTERVAL_MS: "0" });
  org = await createOrg(t.app, "badin");
  // API key fields also need the api_keys feature (not on the Free plan).
  await t.app.services.db.admin.withSchema("control").table("organizations").where({ id: org.id }).update({ plan: "professional" });
  const sa = await createSuperAdmin(t.app);
  platform = sa.token;
  root = t.app.services.tokens.signAccess({ sub: sa.id, sid: randomUUID(), sa: true, org: org.id, role: "ADMIN" });
  const schema = quoteIdent(tenantRef(org.id).schema);
  itemId = (await t.app.services.db.admin.raw(`INSERT INTO ${schema}.items (project_id, title) VALUES (?, 'Existing') RETURNING id`, [org.projectId])).rows[0].id;
  // The audit trail is the one exception to "no SQL": a refused login is an auth.login.failed event
  // (audit chain write, after a lockout check), and a mutation's before image is read (tagged
  // "audit: …") ahead of its resolver. Transaction control reads no data. Everything else counts.
  const AUDIT = /^\s*(BEGIN\b|(COMMIT|ROLLBACK);?\s*$)|^\/\* audit: |"?\b(control|tenant_[0-9a-f]+)"?\."?(audit_chain|audit_events|audit_settings)\b/i;
  const count = (q: { sql?: string }) => void (AUDIT.test(q.sql ?? "") || sql++);
  // Every pool the app has (admin, app, and any other): "no SQL" means none on any of them.
  for (const pool of Object.values(t.app.services.db)) if (typeof (pool as Partial<Knex>)?.on === "function") (pool as Knex).on("query", count);
});
afterAll(async () => t?.close());

/** Send, count the SQL it caused, and keep the body for the leak check. */
async function send(query: string, variables: Record<string, unknown> = {}, token: string | undefined = root) {
  sql = 0;
  const res = await t.gql(query, variables, token);
  bodies.push(JSON.stringify(res.body));
  return { res, sql };
}

function expectBadInput(res: GqlResponse, field: string, message?: RegExp) {
  expect(codes(res), JSON.stringify(res.body)).toEqual(["BAD_USER_INPUT"]);
  const err = res.body.errors![0]!;
  expect(err.extensions?.field).toBe(field);
  if (message) expect(err.message).toMatch(message);
  expect(res.status).toBe(400);
}

// ---------------------------------------------------------------------------------------------
// Malformed ids, on every ID argument the schema has.

const typeSchema = await buildTypeSchema();

/** "Root.field.arg" or "Root.field.arg.inputField" for every ID-typed argument (one input level deep). */
function idArgumentsInSchema(): string[] {
  const out: string[] = [];
  const isId = (a: GraphQLArgument | GraphQLInputField) => getNamedType(a.type).name === "ID";
  for (const rootName of ["Query", "Mutation", "Subscription"]) {
    const type = typeSchema.getType(rootName);
    if (!type || !isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      for (const arg of field.args) {
        if (isId(arg)) out.push(`${rootName}.${field.name}.${arg.name}`);
        const named = getNamedType(arg.type);
        if (isInputObjectType(named))
          for (const f of Object.values(named.getFields())) if (isId(f)) out.push(`${rootName}.${field.name}.${arg.name}.${f.name}`);
      }
    }
  }
  return out.sort();
}

/** One operation per ID argument; `$id` is the value under test. */
const ID_CASES: Record<string, {
  query: string; variables?: () => Record<string, unknown>; token?: () => string | undefined;
  /** The field named in the error, when it is a path (default: the argument's own name). */
  field?: string;
  /** Run before each request: the shield's plan-feature check (authorization, cached 5 s) is not input handling. */
  warm?: () => Promise<unknown>;
}> = {
  "Query.item.id": { query: `query($id: ID!) { item(id: $id) { id } }` },
  "Query.items.projectId": { query: `query($id: ID!) { items(projectId: $id, first: 1) { totalCount } }` },
  "Query.project.id": { query: `query($id: ID!) { project(id: $id) { id } }` },
  "Query.projects.workspaceId": { query: `query($id: ID) { projects(first: 1, workspaceId: $id) { totalCount } }` },
  "Query.workspace.id": { query: `query($id: ID!) { workspace(id: $id) { id } }` },
  "Mutation.createItem.input.projectId": { query: `mutation($id: ID!) { createItem(input: { projectId: $id, title: "t" }) { id } }` },
  "Mutation.createProject.input.workspaceId": { query: `mutation($id: ID!) { createProject(input: { workspaceId: $id, name: "n" }) { id } }` },
  "Mutation.deleteItem.id": { query: `mutation($id: ID!) { deleteItem(id: $id) }` },
  "Mutation.deleteProject.id": { query: `mutation($id: ID!) { deleteProject(id: $id) }` },
  "Mutation.deleteWorkspace.id": { query: `mutation($id: ID!) { deleteWorkspace(id: $id) }` },
  "Mutation.login.input.organizationId": {
    query: `mutation($id: ID!, $e: String!) { login(input: { email: $e, password: "whatever-password", organizationId: $id }) { accessToken } }`,
    variables: () => ({ e: org.users.ADMIN.email }),
    token: () => undefined,
  },
  "Mutation.removeMember.userId": { query: `mutation($id: ID!) { removeMember(userId: $id) }` },
  "Mutation.switchOrganization.organizationId": { query: `mutation($id: ID!) { switchOrganization(organizationId: $id) { accessToken } }` },
  "Mutation.updateItem.id": { query: `mutation($id: ID!) { updateItem(id: $id, input: { title: "t" }) { id } }` },
  "Mutation.updateMemberRole.userId": { query: `mutation($id: ID!) { updateMemberRole(userId: $id, role: ANALYST) { id } }` },
  "Mutation.updateOrganization.id": { query: `mutation($id: ID!) { updateOrganization(id: $id, input: { name: "n" }) { id } }`, token: () => platform },
  "Mutation.updateProject.id": { query: `mutation($id: ID!) { updateProject(id: $id, input: { name: "n" }) { id } }` },
  "Mutation.updateWorkspace.id": { query: `mutation($id: ID!) { updateWorkspace(id: $id, input: { name: "n" }) { id } }` },
  "Query.apiKey.id": { query: `query($id: ID!) { apiKey(id: $id) { id } }` },
  "Query.auditEvents.filter.actorId": { query: `query($id: ID!) { auditEvents(first: 1, filter: { actorId: $id }) { totalCount } }`, field: "filter.actorId" },
  "Mutation.rotateApiKey.id": { query: `mutation($id: ID!) { rotateApiKey(id: $id) { secret } }`, warm: () => t.app.services.plans.hasFeature(org.id, "api_keys") },
  "Mutation.revokeApiKey.id": { query: `mutation($id: ID!) { revokeApiKey(id: $id) { id } }` },
  "Mutation.setPlanOverrides.organizationId": { query: `mutation($id: ID!) { setPlanOverrides(organizationId: $id, input: {}) { organizationId } }`, token: () => platform },
  "Subscription.itemChanged.projectId": { query: `subscription($id: ID!) { itemChanged(projectId: $id) { kind } }` },
};

const BAD_IDS = [
  "abc",
  "1; DROP TABLE items; --",
  "00000000-0000-0000-0000-00000000000'",
  "'00000000-0000-0000-0000-000000000000",
  "00000000-0000-0000-0000-000000000000\n",
  "",
  "' OR '1'='1",
  "00000000000000000000000000000000",
];

describe("malformed ids", () => {
  it("every ID argument in the schema has a case here", () => {
    expect(Object.keys(ID_CASES).sort()).toEqual(idArgumentsInSchema());
  });

  const httpCases = Object.entries(ID_CASES).filter(([k]) => !k.startsWith("Subscription."));
  it.each(httpCases)("%s → BAD_USER_INPUT before any SQL", async (key, c) => {
    const field = c.field ?? key.split(".").at(-1)!;
    for (const bad of BAD_IDS) {
      await c.warm?.();
      const { res, sql: ran } = await send(c.query, { ...c.variables?.(), id: bad }, c.token ? c.token() : root);
      expectBadInput(res, field, new RegExp(`^${field} must be a valid id$`));
      expect(res.body.data ?? null).toBeNull();
      expect(ran, `${JSON.stringify(bad)} ran ${ran} statements`).toBe(0);
    }
  });

  it("Subscription.itemChanged.projectId over graphql-ws → BAD_USER_INPUT", async () => {
    const client = createClient({ url: t.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${root}` }, retryAttempts: 0 });
    try {
      for (const bad of BAD_IDS) {
        const result = await new Promise<unknown>((resolve) => {
          client.subscribe({ query: ID_CASES["Subscription.itemChanged.projectId"]!.query, variables: { id: bad } }, {
            next: (v) => resolve(v), error: (e) => resolve({ errors: e }), complete: () => resolve(null),
          });
        });
        bodies.push(JSON.stringify(result));
        const errors = (result as { errors?: Array<{ message: string; extensions?: { code?: string; field?: string } }> }).errors;
        expect(errors?.map((e) => [e.extensions?.code, e.extensions?.field]), JSON.stringify(result)).toEqual([["BAD_USER_INPUT", "projectId"]]);
      }
    } finally {
      await client.dispose();
    }
  });

  it("a well-formed id of nothing is NOT_FOUND (control: the cases above reach the resolver)", async () => {
    const { res } = await send(`query($id: ID!) { item(id: $id) { id } }`, { id: randomUUID() });
    expect(codes(res)).toEqual(["NOT_FOUND"]);
    const ok = await send(`query($id: ID!) { item(id: $id) { id } }`, { id: itemId.toUpperCase() });
    expect(ok.res.body.data?.item.id).toBe(itemId);
  });
});

// ---------------------------------------------------------------------------------------------
// Oversized and unstorable strings: refused before SQL, so nothing is written.

const s = (n: number, c = "x") => c.repeat(n);
const deepPayload = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) v = { n: v };
  return v;
};

interface SizeCase {
  name: string;
  query: string;
  variables: () => Record<string, unknown>;
  field: string;
  token?: () => string;
}

const createItem = `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`;
const item = (extra: Record<string, unknown>) => () => ({ input: { projectId: org.projectId, title: "ok", ...extra } });
const updateItem = `mutation($id: ID!, $input: UpdateItemInput!) { updateItem(id: $id, input: $input) { id } }`;

const SIZE_CASES: SizeCase[] = [
  { name: "createItem title 501 chars", query: createItem, variables: item({ title: s(501) }), field: "title" },
  { name: "createItem title blank", query: createItem, variables: item({ title: "   " }), field: "title" },
  { name: "createItem title with NUL", query: createItem, variables: item({ title: "a\u0000b" }), field: "title" },
  { name: "updateItem title 501 chars", query: updateItem, variables: () => ({ id: itemId, input: { title: s(501) } }), field: "title" },
  { name: "createItem 21 tags", query: createItem, variables: item({ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }), field: "tags" },
  { name: "createItem a 41-char tag", query: createItem, variables: item({ tags: ["ok", s(41)] }), field: "tags" },
  { name: "createItem a tag with NUL", query: createItem, variables: item({ tags: ["a\u0000"] }), field: "tags" },
  { name: "updateItem 21 tags", query: updateItem, variables: () => ({ id: itemId, input: { tags: Array.from({ length: 21 }, (_, i) => `t${i}`) } }), field: "tags" },
  { name: "createItem payload > 16 KiB", query: createItem, variables: item({ payload: { blob: s(16_384) } }), field: "payload" },
  { name: "updateItem payload > 16 KiB", query: updateItem, variables: () => ({ id: itemId, input: { payload: { blob: s(16_384) } } }), field: "payload" },
  { name: "createItem payload with NUL", query: createItem, variables: item({ payload: { a: ["x", { b: "\u0000" }] } }), field: "payload" },
  { name: "createItem payload key with NUL", query: createItem, variables: item({ payload: { "k\u0000": 1 } }), field: "payload" },
  { name: "createItem payload with an unpaired surrogate", query: createItem, variables: item({ payload: { a: "\ud800" } }), field: "payload" },
  { name: "createItem payload nested 65 levels", query: createItem, variables: item({ payload: deepPayload(65) }), field: "payload" },
  { name: "items filter.search 201 chars", query: `query($p: ID!, $s: String) { items(projectId: $p, first: 1, filter: { search: $s }) { totalCount } }`, variables: () => ({ p: org.projectId, s: s(201) }), field: "filter.search" },
  { name: "items filter.tag 41 chars", query: `query($p: ID!, $s: String) { items(projectId: $p, first: 1, filter: { tag: $s }) { totalCount } }`, variables: () => ({ p: org.projectId, s: s(41) }), field: "filter.tag" },
  { name: "createWorkspace name 201 chars", query: `mutation($n: String!) { createWorkspace(input: { name: $n }) { id } }`, variables: () => ({ n: s(201) }), field: "name" },
  { name: "createWorkspace description 2001 chars", query: `mutation($d: String) { createWorkspace(input: { name: "ok", description: $d }) { id } }`, variables: () => ({ d: s(2001) }), field: "description" },
  { name: "updateWorkspace name 201 chars", query: `mutation($id: ID!, $n: String) { updateWorkspace(id: $id, input: { name: $n }) { id } }`, variables: () => ({ id: org.workspaceId, n: s(201) }), field: "name" },
  { name: "createProject name 201 chars", query: `mutation($w: ID!, $n: String!) { createProject(input: { workspaceId: $w, name: $n }) { id } }`, variables: () => ({ w: org.workspaceId, n: s(201) }), field: "name" },
  { name: "updateProject name 201 chars", query: `mutation($id: ID!, $n: String) { updateProject(id: $id, input: { name: $n }) { id } }`, variables: () => ({ id: org.projectId, n: s(201) }), field: "name" },
  { name: "renameOrganization name 201 chars", query: `mutation($n: String!) { renameOrganization(name: $n) { id } }`, variables: () => ({ n: s(201) }), field: "name" },
  { name: "updateOrganization name 201 chars", query: `mutation($id: ID!, $n: String) { updateOrganization(id: $id, input: { name: $n }) { id } }`, variables: () => ({ id: org.id, n: s(201) }), field: "name", token: () => platform },
  { name: "createOrganization name 201 chars", query: `mutation($s: String!, $n: String!) { createOrganization(input: { slug: $s, name: $n }) { id } }`, variables: () => ({ s: uniqueSlug("badin"), n: s(201) }), field: "name", token: () => platform },
  { name: "addMember displayName 201 chars", query: `mutation($e: String!, $n: String!) { addMember(input: { email: $e, displayName: $n, role: ANALYST, password: "long enough password" }) { id } }`, variables: () => ({ e: `m-${randomUUID()}@example.test`, n: s(201) }), field: "displayName" },
  { name: "addMember email 255 chars", query: `mutation($e: String!) { addMember(input: { email: $e, displayName: "n", role: ANALYST, password: "long enough password" }) { id } }`, variables: () => ({ e: `${s(243)}@example.test` }), field: "email" },
  { name: "addMember email with NUL", query: `mutation($e: String!) { addMember(input: { email: $e, displayName: "n", role: ANALYST, password: "long enough password" }) { id } }`, variables: () => ({ e: `a\u0000b@example.test` }), field: "email" },
  { name: "addMember password 257 chars", query: `mutation($e: String!, $p: String) { addMember(input: { email: $e, displayName: "n", role: ANALYST, password: $p }) { id } }`, variables: () => ({ e: `m-${randomUUID()}@example.test`, p: s(257) }), field: "password" },
  { name: "login email with NUL", query: `mutation($e: String!) { login(input: { email: $e, password: "whatever-password" }) { accessToken } }`, variables: () => ({ e: "a\u0000b@example.test" }), field: "email" },
  { name: "login password 257 chars", query: `mutation($p: String!) { login(input: { email: "someone@example.test", password: $p }) { accessToken } }`, variables: () => ({ p: s(257) }), field: "password" },
];

describe("oversized and unstorable strings", () => {
  it.each(SIZE_CASES.map((c) => [c.name, c] as const))("%s → BAD_USER_INPUT, no SQL", async (_name, c) => {
    const { res, sql: ran } = await send(c.query, c.variables(), c.token?.());
    expectBadInput(res, c.field);
    expect(ran).toBe(0);
  });

  it("values exactly at the limits are accepted (control)", async () => {
    const at = await send(createItem, {
      input: {
        projectId: org.projectId, title: s(500),
        tags: Array.from({ length: 20 }, (_, i) => `${i}`.padEnd(40, "t")),
        payload: { blob: s(16_384 - `{"blob":""}`.length), },
      },
    });
    expect(at.res.body.errors).toBeUndefined();
    const deep = await send(createItem, { input: { projectId: org.projectId, title: "deep", payload: deepPayload(64) } });
    expect(deep.res.body.errors).toBeUndefined();
    const ws = await send(`mutation($n: String!, $d: String) { createWorkspace(input: { name: $n, description: $d }) { name } }`, { n: s(200), d: s(2000) });
    expect(ws.res.body.data?.createWorkspace.name).toBe(s(200));
  });
});

// ---------------------------------------------------------------------------------------------
// Slugs: validated before provisioning touches the database.

const BAD_SLUGS = [
  "public", "pg_catalog", "pg-x", "pg", "a'b", 'Robert"); --', "UPPER", "ab", s(41, "a"),
  "control", "information_schema", "tenant", "-abc", "abc-", "a--b", "1abc", "", "abc\u0000", "ábc",
  "tenant_00000000000000000000000000000000", "a b", "abc;drop",
];

describe("createOrganization slugs", () => {
  it.each(BAD_SLUGS.map((slug) => [JSON.stringify(slug), slug] as const))("slug %s → BAD_USER_INPUT, nothing created", async (_label, slug) => {
    const { res, sql: ran } = await send(`mutation($s: String!) { createOrganization(input: { slug: $s, name: "Evil" }) { id } }`, { s: slug }, platform);
    expectBadInput(res, "slug");
    expect(ran).toBe(0);
    if (slug.includes("\u0000")) return; // not even a valid text value to look up
    const rows = await t.app.services.db.admin.withSchema("control").table("organizations").where({ slug }).count({ n: "*" });
    expect(Number(rows[0]!.n)).toBe(0);
  });

  it("no tenant schema exists without its organization row", async () => {
    // One statement, one snapshot: consistent even while other test files provision.
    const { rows } = await t.app.services.db.admin.raw(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' EXCEPT SELECT schema_name FROM control.organizations`,
    );
    expect(rows).toEqual([]);
  });

  it("a valid slug is provisioned (control)", async () => {
    const slug = uniqueSlug("badin-ok");
    const { res, sql: ran } = await send(`mutation($s: String!) { createOrganization(input: { slug: $s, name: "Fine" }) { slug status } }`, { s: slug }, platform);
    expect(res.body.data?.createOrganization).toEqual({ slug, status: "ACTIVE" });
    expect(ran).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Cursors: opaque to clients, so anything forged is BAD_USER_INPUT, never a SQL error.

const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
const UUID0 = "00000000-0000-0000-0000-000000000000";
const BAD_CURSORS = [
  "garbage",
  b64("not json"),
  b64({}),
  b64(["2026-01-01 00:00:00+00"]),
  b64(["not a date", UUID0]),
  b64(["2026-02-30 00:00:00+00", UUID0]),
  b64(["2026-01-01 25:00:00+00", UUID0]),
  b64(["2026-01-01 00:00:00+00", "-".repeat(36)]),
  b64(["2026-01-01 00:00:00+00", `${UUID0.slice(0, 35)}'`]),
  b64([1, UUID0]),
  "A".repeat(5_000),
];

/** Every field with an `after` argument, reached from a root field. */
const CURSOR_CASES: Record<string, { query: string; variables?: () => Record<string, unknown>; token?: () => string }> = {
  "Query.members": { query: `query($a: String) { members(first: 1, after: $a) { totalCount } }` },
  "Query.workspaces": { query: `query($a: String) { workspaces(first: 1, after: $a) { totalCount } }` },
  "Query.projects": { query: `query($a: String) { projects(first: 1, after: $a) { totalCount } }` },
  "Query.items": { query: `query($a: String, $p: ID!) { items(projectId: $p, first: 1, after: $a) { totalCount } }`, variables: () => ({ p: org.projectId }) },
  "Query.organizations": { query: `query($a: String) { organizations(first: 1, after: $a) { totalCount } }`, token: () => platform },
  "Query.organizationsUsage": { query: `query($a: String) { organizationsUsage(first: 1, after: $a) { totalCount } }`, token: () => platform },
  "Query.apiKeys": { query: `query($a: String) { apiKeys(first: 1, after: $a) { totalCount } }` },
  "Query.auditEvents": { query: `query($a: String) { auditEvents(first: 1, after: $a) { totalCount } }` },
  "Workspace.projects": { query: `query($a: String, $w: ID!) { workspace(id: $w) { projects(first: 1, after: $a) { totalCount } } }`, variables: () => ({ w: org.workspaceId }) },
  "Project.items": { query: `query($a: String, $p: ID!) { project(id: $p) { items(first: 1, after: $a) { totalCount } } }`, variables: () => ({ p: org.projectId }) },
};

function connectionFieldsInSchema(): string[] {
  const out: string[] = [];
  for (const type of Object.values(typeSchema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) if (field.args.some((a) => a.name === "after")) out.push(`${type.name}.${field.name}`);
  }
  return out.sort();
}

describe("cursors", () => {
  it("every field with an `after` argument has a case here", () => {
    expect(Object.keys(CURSOR_CASES).sort()).toEqual(connectionFieldsInSchema());
  });

  it.each(Object.entries(CURSOR_CASES))("%s: forged cursors → BAD_USER_INPUT", async (_key, c) => {
    for (const cursor of BAD_CURSORS) {
      const { res } = await send(c.query, { ...c.variables?.(), a: cursor }, c.token?.() ?? root);
      expect(codes(res), `${cursor.slice(0, 60)}: ${JSON.stringify(res.body)}`).toEqual(["BAD_USER_INPUT"]);
      expect(res.body.errors![0]!.extensions?.field).toBe("after");
      expect(res.body.errors![0]!.message).toBe("after is not a valid cursor");
    }
  });

  it("a title-sorted cursor holding NUL is refused; one for another sort order is refused", async () => {
    const q = `query($a: String, $p: ID!, $o: ItemOrder) { items(projectId: $p, first: 1, after: $a, orderBy: $o) { totalCount } }`;
    let r = await send(q, { p: org.projectId, a: b64(["a\u0000", UUID0]), o: { field: "TITLE" } });
    expect(codes(r.res)).toEqual(["BAD_USER_INPUT"]);
    r = await send(q, { p: org.projectId, a: b64(["Some title", UUID0]), o: { field: "UPDATED_AT" } });
    expect(codes(r.res)).toEqual(["BAD_USER_INPUT"]);
  });

  it("cursors the server issues are accepted, even for 500-character titles (control)", async () => {
    const projectId = (await send(`mutation($w: ID!) { createProject(input: { workspaceId: $w, name: "Cursors" }) { id } }`, { w: org.workspaceId })).res.body.data.createProject.id;
    // The worst case for cursor length: characters JSON escapes (\u0001 → 6 bytes).
    const titles = [s(499, "\u0001") + "a", s(499, "\u0001") + "b", s(500, "é")];
    for (const title of titles) {
      const r = await send(`mutation($p: ID!, $t: String!) { createItem(input: { projectId: $p, title: $t }) { id } }`, { p: projectId, t: title });
      expect(r.res.body.errors).toBeUndefined();
    }
    for (const field of ["TITLE", "CREATED_AT", "UPDATED_AT"]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 4; page++) {
        const r = await send(
          `query($p: ID!, $a: String, $o: ItemOrder) { items(projectId: $p, first: 1, after: $a, orderBy: $o) { edges { node { title } } pageInfo { hasNextPage endCursor } } }`,
          { p: projectId, a: after, o: { field, direction: "ASC" } },
        );
        expect(r.res.body.errors, field).toBeUndefined();
        const conn = r.res.body.data.items;
        seen.push(...conn.edges.map((e: { node: { title: string } }) => e.node.title));
        if (!conn.pageInfo.hasNextPage) break;
        after = conn.pageInfo.endCursor;
      }
      expect(seen.sort(), field).toEqual([...titles].sort());
    }
    // And a workspace cursor from the server pages on.
    const first = await send(`{ workspaces(first: 1) { pageInfo { endCursor } } }`);
    const next = await send(`query($a: String) { workspaces(first: 1, after: $a) { totalCount } }`, { a: first.res.body.data.workspaces.pageInfo.endCursor });
    expect(next.res.body.errors).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe("error bodies", () => {
  it("no response in this file leaked SQL, schema names or stacks, or was a 500", () => {
    expect(bodies.length).toBeGreaterThan(100);
    const leaks = [/tenant_/i, /\bselect\b/i, /stack/i, /\binsert\s+into\b/i, /\bdelete\s+from\b/i, /syntax error at/i, /relation "/i, /pg_/, /enclave_/i, /\bat .*\.(?:ts|js):\d+/];
    for (const body of bodies) {
      for (const re of leaks) expect(body, `${re} in ${body.slice(0, 300)}`).not.toMatch(re);
      expect(body).not.toContain("INTERNAL_SERVER_ERROR");
      for (const code of body.matchAll(/"code":"([A-Z_]+)"/g)) expect(Object.keys(ERROR_CODES)).toContain(code[1]);
    }
  });
});
