// Organizations over real HTTP: the platform list (keyset pagination), platform updates of name,
// plan and status, the caller's own organization, and renaming by its ADMIN.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { codes, startTestApp, type GqlResponse, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, issueToken, uniqueSlug, type TestOrg, type TestUser } from "../helpers/factories.js";

let t: TestApp;
let org: TestOrg;
let root: TestUser;
const extra: string[] = [];

const LIST = `query($first: Int!, $after: String) {
  organizations(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id slug name plan region status createdAt } }
  }
}`;
const UPDATE = `mutation($id: ID!, $input: UpdateOrganizationInput!) { updateOrganization(id: $id, input: $input) { id slug name plan status } }`;
const CURRENT = `{ organization { id slug name plan region status createdAt } }`;
const RENAME = `mutation($name: String!) { renameOrganization(name: $name) { id name } }`;

async function listAll(first: number) {
  const ids: string[] = [];
  const nodes: Array<{ id: string; createdAt: string }> = [];
  let after: string | null = null;
  let pages = 0;
  let totalCount = 0;
  for (;;) {
    const res: GqlResponse = await t.gql(LIST, { first, after }, root.token);
    expect(res.body.errors).toBeUndefined();
    const c: any = res.body.data.organizations;
    totalCount = c.totalCount;
    expect(c.edges.length).toBeLessThanOrEqual(first);
    for (const e of c.edges) {
      ids.push(e.node.id);
      nodes.push(e.node);
    }
    pages++;
    if (!c.pageInfo.hasNextPage) break;
    expect(c.edges).toHaveLength(first);
    expect(c.pageInfo.endCursor).toBe(c.edges[c.edges.length - 1].cursor);
    after = c.pageInfo.endCursor;
    expect(pages).toBeLessThan(1000);
  }
  return { ids, nodes, pages, totalCount };
}

beforeAll(async () => {
  t = await startTestApp();
  org = await createOrg(t.app, "orgs");
  root = await createSuperAdmin(t.app);
  for (let i = 0; i < 5; i++) {
    const r = await provisionOrganization(t.app.services.db.admin, { slug: uniqueSlug("page"), name: `Page ${i}` }, { appRole: t.app.services.config.database.appRole });
    extra.push(r.organization.id);
  }
});
afterAll(async () => t?.close());

describe("organizations (platform staff)", () => {
  it("lists every organization newest first; paging with `after` never repeats or skips rows", async () => {
    const { ids, nodes, pages, totalCount } = await listAll(2);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of [org.id, ...extra]) expect(ids).toContain(id);
    // Other test files share the database and may add organizations meanwhile, never fewer than we saw.
    expect(totalCount).toBeGreaterThanOrEqual(6);
    for (let i = 1; i < nodes.length; i++) expect(Date.parse(nodes[i - 1]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(nodes[i]!.createdAt));
    // Our five, created in order, appear newest first.
    const order = extra.map((id) => ids.indexOf(id));
    expect([...order].sort((a, b) => b - a)).toEqual(order);
  });

  it("rows sharing one created_at are paged by id without repeats or gaps", async () => {
    // Same timestamp, to the microsecond, for all five: the id tiebreak must carry the cursor.
    await t.app.services.db.admin.withSchema("control").table("organizations").whereIn("id", extra).update({ created_at: new Date("2020-01-01T00:00:00.123Z") });
    for (const first of [1, 2, 3]) {
      const { ids } = await listAll(first);
      expect(new Set(ids).size).toBe(ids.length);
      const ours = ids.filter((id) => extra.includes(id));
      expect(ours).toEqual([...extra].sort().reverse());
    }
  });

  it("rejects bad page arguments", async () => {
    for (const first of [0, 101, -1]) {
      expect(codes(await t.gql(LIST, { first }, root.token)), `first=${first}`).toEqual(["BAD_USER_INPUT"]);
    }
    for (const after of ["garbage", Buffer.from(JSON.stringify(["x", "not-a-uuid"])).toString("base64url"), Buffer.from("[1,2,3]").toString("base64url")]) {
      expect(codes(await t.gql(LIST, { first: 2, after }, root.token)), after).toEqual(["BAD_USER_INPUT"]);
    }
  });

  it("is platform staff only", async () => {
    for (const role of ["ADMIN", "DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"] as const) {
      const res = await t.gql(LIST, { first: 5 }, org.users[role].token);
      expect(codes(res)).toEqual(["FORBIDDEN"]);
      expect(res.status).toBe(403);
    }
    expect(codes(await t.gql(LIST, { first: 5 }))).toEqual(["UNAUTHENTICATED"]);
  });

  it("updateOrganization changes name, plan and status; members see the change at once", async () => {
    const target = await createOrg(t.app, "upd");
    const res = await t.gql(UPDATE, { id: target.id, input: { name: "  Renamed by staff ", plan: "ENTERPRISE" } }, root.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.updateOrganization).toEqual({ id: target.id, slug: target.slug, name: "Renamed by staff", plan: "ENTERPRISE", status: "ACTIVE" });
    const seen = await t.gql(CURRENT, {}, target.users.ANALYST.token);
    expect(seen.body.data.organization).toMatchObject({ name: "Renamed by staff", plan: "ENTERPRISE", status: "ACTIVE" });
    const row = await t.app.services.db.admin.withSchema("control").table("organizations").first("name", "plan", "status").where({ id: target.id });
    expect(row).toEqual({ name: "Renamed by staff", plan: "enterprise", status: "active" });

    const suspended = await t.gql(UPDATE, { id: target.id, input: { status: "SUSPENDED" } }, root.token);
    expect(suspended.body.data.updateOrganization.status).toBe("SUSPENDED");
    expect(codes(await t.gql(`{ workspaces(first: 1) { edges { cursor } } }`, {}, target.users.DEVELOPER.token))).toEqual(["FORBIDDEN"]);
    // An ADMIN of a suspended organization cannot change it either.
    const renamed = await t.gql(RENAME, { name: "Sneaky" }, target.users.ADMIN.token);
    expect(codes(renamed)).toEqual(["FORBIDDEN"]);
    expect((await t.app.services.db.admin.withSchema("control").table("organizations").first("name").where({ id: target.id }))!.name).toBe("Renamed by staff");

    const active = await t.gql(UPDATE, { id: target.id, input: { status: "ACTIVE", plan: "FREE" } }, root.token);
    expect(active.body.data.updateOrganization).toMatchObject({ status: "ACTIVE", plan: "FREE", name: "Renamed by staff" });
    expect((await t.gql(`{ workspaces(first: 1) { edges { cursor } } }`, {}, target.users.DEVELOPER.token)).body.errors).toBeUndefined();
  });

  it("updateOrganization refuses bad input, unknown ids and non-staff callers", async () => {
    const id = extra[0]!;
    expect(codes(await t.gql(UPDATE, { id, input: { status: "PROVISIONING" } }, root.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(UPDATE, { id, input: {} }, root.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(UPDATE, { id, input: { name: "   " } }, root.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(UPDATE, { id, input: { name: "x".repeat(201) } }, root.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(UPDATE, { id: "nope", input: { name: "x" } }, root.token))).toEqual(["BAD_USER_INPUT"]);
    const unknown = await t.gql(UPDATE, { id: randomUUID(), input: { name: "x" } }, root.token);
    expect(codes(unknown)).toEqual(["NOT_FOUND"]);
    expect(unknown.status).toBe(404);
    // An org ADMIN may not use the platform mutation, not even on their own organization.
    expect(codes(await t.gql(UPDATE, { id: org.id, input: { plan: "ENTERPRISE" } }, org.users.ADMIN.token))).toEqual(["FORBIDDEN"]);
    const row = await t.app.services.db.admin.withSchema("control").table("organizations").first("plan", "status").where({ id: org.id });
    expect(row).toEqual({ plan: "free", status: "active" });
  });
});

describe("organization (the caller's own)", () => {
  it("returns the caller's organization for every role", async () => {
    for (const role of ["ADMIN", "DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"] as const) {
      const res = await t.gql(CURRENT, {}, org.users[role].token);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.data.organization).toMatchObject({ id: org.id, slug: org.slug, plan: "FREE", region: "default", status: "ACTIVE" });
    }
  });

  it("a super admin who has not switched into one has no organization: FORBIDDEN", async () => {
    const res = await t.gql(CURRENT, {}, root.token);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    expect(codes(await t.gql(CURRENT))).toEqual(["UNAUTHENTICATED"]);
  });
});

describe("renameOrganization", () => {
  it("an ADMIN renames their organization; others may not; bad names are refused", async () => {
    const target = await createOrg(t.app, "ren");
    const res = await t.gql(RENAME, { name: "  New Name  " }, target.users.ADMIN.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.renameOrganization).toEqual({ id: target.id, name: "New Name" });
    expect((await t.gql(CURRENT, {}, target.users.DEVELOPER.token)).body.data.organization.name).toBe("New Name");

    for (const role of ["DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"] as const) {
      expect(codes(await t.gql(RENAME, { name: "Hijack" }, target.users[role].token))).toEqual(["FORBIDDEN"]);
    }
    expect(codes(await t.gql(RENAME, { name: "" }, target.users.ADMIN.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(RENAME, { name: "y".repeat(201) }, target.users.ADMIN.token))).toEqual(["BAD_USER_INPUT"]);
    const row = await t.app.services.db.admin.withSchema("control").table("organizations").first("name").where({ id: target.id });
    expect(row!.name).toBe("New Name");
    // Only the caller's organization is touched.
    expect((await t.gql(CURRENT, {}, org.users.ADMIN.token)).body.data.organization.name).toBe(`Org ${org.slug}`);
  });

  it("commits or rolls back with its mutation operation; a platform update of the same organization after it is refused, not left waiting", async () => {
    const target = await createOrg(t.app, "renop");
    const name = async () => (await t.app.services.db.admin.withSchema("control").table("organizations").first("name").where({ id: target.id }))!.name;
    const both = await t.gql(`mutation { renameOrganization(name: "Together") { name } createWorkspace(input: { name: "Along" }) { id } }`, {}, target.users.ADMIN.token);
    expect(both.body.errors).toBeUndefined();
    expect(await name()).toBe("Together");
    // The rename holds the organization row in the request transaction: updateOrganization (its own
    // transaction) would wait for it forever, so it is CONFLICT and the whole operation rolls back.
    const rootHere = await issueToken(t.app, { sub: root.id, sa: true, org: target.id, role: "ADMIN" });
    const mixed = await t.gql(`mutation($id: ID!) { renameOrganization(name: "Never") { name } updateOrganization(id: $id, input: { name: "Nor this" }) { name } }`, { id: target.id }, rootHere);
    expect(codes(mixed)).toEqual(["CONFLICT"]);
    expect(await name()).toBe("Together");
    // On its own it works.
    expect((await t.gql(UPDATE, { id: target.id, input: { name: "Platform" } }, rootHere)).body.errors).toBeUndefined();
    expect(await name()).toBe("Platform");
  });
});
