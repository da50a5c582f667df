// A request that holds its tenant transaction and also needs the control plane must not wait on
// its own pool: control-plane queries use a separate pool. With one tenant connection, these
// requests deadlocked (10 s acquire timeout, then INTERNAL_SERVER_ERROR) before the split.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, type TestOrg } from "../helpers/factories.js";

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp({ DATABASE_POOL_MAX: "1", DATABASE_CONTROL_POOL_MAX: "1" });
  org = await createOrg(t.app, "pools");
});
afterAll(async () => t?.close());

describe("pools", () => {
  it("serves tenant and control-plane fields in one request on a pool of one", async () => {
    const res = await t.gql(`{ workspaces(first: 1) { edges { node { id } } } me { user { email } organization { slug } } }`, {}, org.users.ADMIN.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.me.organization.slug).toBe(org.slug);
  });

  it("runs a mutation that mixes tenant data and membership changes, several at once", async () => {
    const op = `mutation($u: ID!) { createWorkspace(input: { name: "W" }) { id } updateMemberRole(userId: $u, role: ANALYST) { role } }`;
    const results = await Promise.all([0, 1, 2].map(() => t.gql(op, { u: org.users.DEVELOPER.id }, org.users.ADMIN.token)));
    for (const r of results) {
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data.updateMemberRole.role).toBe("ANALYST");
    }
  });
});
