import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, type TestOrg } from "../helpers/factories.js";

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp();
  org = await createOrg(t.app, "smoke");
});
afterAll(async () => t?.close());

describe("gateway smoke", () => {
  it("creates and lists items in the caller's organization", async () => {
    const dev = org.users.DEVELOPER.token;
    const created = await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "First", tags: ["a"] }) { id title status tags } }`, { p: org.projectId }, dev);
    expect(created.body.errors).toBeUndefined();
    expect(created.body.data.createItem).toMatchObject({ title: "First", status: "OPEN", tags: ["a"] });
    const list = await t.gql(`query($p: ID!) { items(projectId: $p, first: 10) { totalCount edges { node { title creator { displayName } } } } }`, { p: org.projectId }, dev);
    expect(list.body.data.items.totalCount).toBe(1);
    expect(list.body.data.items.edges[0].node).toEqual({ title: "First", creator: { displayName: `DEVELOPER of ${org.slug}` } });
  });

  it("rejects anonymous calls to guarded fields with UNAUTHENTICATED", async () => {
    const res = await t.gql(`{ workspaces(first: 1) { edges { cursor } } }`);
    expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.status).toBe(401);
  });
});
