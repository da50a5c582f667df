// Membership management over real HTTP: the control registry (control.memberships) and the tenant
// projection (<tenant>.members) change together; role changes and removals reach tokens at refresh.
import { randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent } from "../../src/db/knex.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { codes, startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, TEST_PASSWORD, type TestOrg } from "../helpers/factories.js";
import { auditRows, lastSeq } from "../helpers/audit.js";
import { connectWs } from "../helpers/ws.js";

let t: TestApp;
let org: TestOrg;
let other: TestOrg;

const ADD = `mutation($input: AddMemberInput!) { addMember(input: $input) { id email displayName role createdAt } }`;
const UPDATE_ROLE = `mutation($u: ID!, $r: OrgRole!) { updateMemberRole(userId: $u, role: $r) { id email role } }`;
const REMOVE = `mutation($u: ID!) { removeMember(userId: $u) }`;
const MEMBERS = `{ members(first: 100) { totalCount edges { node { id email displayName role } } } }`;
const LOGIN = `mutation($email: String!, $password: String!, $org: ID) {
  login(input: { email: $email, password: $password, organizationId: $org }) { accessToken refreshToken organizationId role }
}`;
const REFRESH = `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken organizationId role } }`;

async function login(email: string, password = TEST_PASSWORD, orgId?: string) {
  const res = await t.gql(LOGIN, { email, password, org: orgId });
  expect(res.body.errors).toBeUndefined();
  return res.body.data.login as { accessToken: string; refreshToken: string; organizationId: string | null; role: string | null };
}

async function controlRole(orgId: string, userId: string): Promise<string | undefined> {
  const row = await t.app.services.db.admin.withSchema("control").table("memberships").first("role").where({ organization_id: orgId, user_id: userId });
  return row?.role;
}
async function projection(orgId: string, userId: string): Promise<{ role: string; email: string; display_name: string } | undefined> {
  const { rows } = await t.app.services.db.admin.raw(`SELECT role, email, display_name FROM ${quoteIdent(tenantRef(orgId).schema)}.members WHERE user_id = ?`, [userId]);
  return rows[0];
}
const newEmail = (p: string) => `${p}-${randomUUID().slice(0, 8)}@example.test`;

beforeAll(async () => {
  t = await startTestApp();
  org = await createOrg(t.app, "mem");
  other = await createOrg(t.app, "memo");
});
afterAll(async () => t?.close());

describe("addMember", () => {
  it("an ADMIN adds a new user with a password: they can log in and see the organization", async () => {
    const email = newEmail("new");
    const res = await t.gql(ADD, { input: { email: `  ${email.toUpperCase()}`, displayName: " New Person ", role: "DEVELOPER", password: "a fresh password" } }, org.users.ADMIN.token);
    expect(res.body.errors).toBeUndefined();
    const m = res.body.data.addMember;
    expect(m).toMatchObject({ email, displayName: "New Person", role: "DEVELOPER" });
    expect(await controlRole(org.id, m.id)).toBe("DEVELOPER");
    expect(await projection(org.id, m.id)).toEqual({ role: "DEVELOPER", email, display_name: "New Person" });
    const hash = (await t.app.services.db.admin.withSchema("control").table("users").first("password_hash").where({ id: m.id }))!.password_hash;
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=(19456|[2-9]\d{4,}|\d{6,}),t=([2-9]|\d{2,}),p=\d+\$/);

    const session = await login(email, "a fresh password");
    expect(session).toMatchObject({ organizationId: org.id, role: "DEVELOPER" });
    const seen = await t.gql(`{ organization { id slug } workspaces(first: 5) { edges { node { id } } } }`, {}, session.accessToken);
    expect(seen.body.errors).toBeUndefined();
    expect(seen.body.data.organization).toEqual({ id: org.id, slug: org.slug });
    expect(seen.body.data.workspaces.edges.map((e: any) => e.node.id)).toEqual([org.workspaceId]);

    const list = await t.gql(MEMBERS, {}, org.users.ANALYST.token);
    expect(list.body.data.members.edges.map((e: any) => e.node.email)).toContain(email);
  });

  it("an ADMIN adds an existing user from another organization (no password needed, theirs is kept)", async () => {
    const guest = other.users.ANALYST;
    const res = await t.gql(ADD, { input: { email: guest.email, displayName: "ignored for existing users", role: "ANALYST" } }, org.users.ADMIN.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.addMember).toMatchObject({ id: guest.id, email: guest.email, displayName: `ANALYST of ${other.slug}`, role: "ANALYST" });
    expect(await controlRole(org.id, guest.id)).toBe("ANALYST");
    expect(await controlRole(other.id, guest.id)).toBe("ANALYST");
    expect(await projection(org.id, guest.id)).toMatchObject({ role: "ANALYST" });

    // Still logs in with their own password, by default into their first organization, and can pick the new one.
    expect(await login(guest.email)).toMatchObject({ organizationId: other.id });
    const s = await login(guest.email, TEST_PASSWORD, org.id);
    const me = await t.gql(`{ me { organization { id } memberships { organization { id } } } }`, {}, s.accessToken);
    expect(me.body.data.me.organization.id).toBe(org.id);
    expect(me.body.data.me.memberships.map((x: any) => x.organization.id).sort()).toEqual([org.id, other.id].sort());
  });

  it("adding someone who is already a member is a CONFLICT and changes nothing", async () => {
    const dev = org.users.DEVELOPER;
    const res = await t.gql(ADD, { input: { email: dev.email, displayName: "Dup", role: "ADMIN" } }, org.users.ADMIN.token);
    expect(codes(res)).toEqual(["CONFLICT"]);
    expect(res.status).toBe(409);
    expect(await controlRole(org.id, dev.id)).toBe("DEVELOPER");
    expect(await projection(org.id, dev.id)).toMatchObject({ role: "DEVELOPER" });
  });

  it("a new user without a password, or with a short one, is BAD_USER_INPUT and leaves no user behind", async () => {
    const email = newEmail("nopw");
    expect(codes(await t.gql(ADD, { input: { email, displayName: "X", role: "ANALYST" } }, org.users.ADMIN.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(ADD, { input: { email, displayName: "X", role: "ANALYST", password: "short" } }, org.users.ADMIN.token))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(ADD, { input: { email: "not an email", displayName: "X", role: "ANALYST", password: "long enough password" } }, org.users.ADMIN.token))).toEqual(["BAD_USER_INPUT"]);
    expect(await t.app.services.db.admin.withSchema("control").table("users").first("id").where({ email })).toBeUndefined();
  });

  it("only member:manage may add members", async () => {
    for (const role of ["DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"] as const) {
      const res = await t.gql(ADD, { input: { email: newEmail("denied"), displayName: "X", role: "ADMIN", password: "long enough password" } }, org.users[role].token);
      expect(codes(res)).toEqual(["FORBIDDEN"]);
    }
  });
});

describe("updateMemberRole", () => {
  it("changes the role in both places; the member's next refresh carries the new role", async () => {
    const email = newEmail("promo");
    const added = await t.gql(ADD, { input: { email, displayName: "Promo", role: "ANALYST", password: "promotion password" } }, org.users.ADMIN.token);
    const id = added.body.data.addMember.id;
    const session = await login(email, "promotion password");
    expect(session.role).toBe("ANALYST");

    const res = await t.gql(UPDATE_ROLE, { u: id, r: "DEVELOPER" }, org.users.ADMIN.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.updateMemberRole).toEqual({ id, email, role: "DEVELOPER" });
    expect(await controlRole(org.id, id)).toBe("DEVELOPER");
    expect(await projection(org.id, id)).toMatchObject({ role: "DEVELOPER" });

    const r = await t.gql(REFRESH, { r: session.refreshToken });
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.refreshToken).toMatchObject({ organizationId: org.id, role: "DEVELOPER" });
    expect(jwt.decode(r.body.data.refreshToken.accessToken)).toMatchObject({ sub: id, org: org.id, role: "DEVELOPER" });
    const can = await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "promoted" }) { id } }`, { p: org.projectId }, r.body.data.refreshToken.accessToken);
    expect(can.body.errors).toBeUndefined();
  });

  it("demoting or removing the last ADMIN is a CONFLICT; with a second admin both work", async () => {
    const solo = await createOrg(t.app, "solo");
    const admin = solo.users.ADMIN;
    const demote = await t.gql(UPDATE_ROLE, { u: admin.id, r: "DEVELOPER" }, admin.token);
    expect(codes(demote)).toEqual(["CONFLICT"]);
    expect(demote.status).toBe(409);
    expect(codes(await t.gql(REMOVE, { u: admin.id }, admin.token))).toEqual(["CONFLICT"]);
    expect(await controlRole(solo.id, admin.id)).toBe("ADMIN");
    expect(await projection(solo.id, admin.id)).toMatchObject({ role: "ADMIN" });
    // ADMIN → ADMIN is not a demotion.
    expect((await t.gql(UPDATE_ROLE, { u: admin.id, r: "ADMIN" }, admin.token)).body.errors).toBeUndefined();

    const second = solo.users.DEVELOPER;
    expect((await t.gql(UPDATE_ROLE, { u: second.id, r: "ADMIN" }, admin.token)).body.errors).toBeUndefined();
    expect((await t.gql(UPDATE_ROLE, { u: admin.id, r: "ANALYST" }, admin.token)).body.data.updateMemberRole.role).toBe("ANALYST");
    // Now `second` is the last admin (acting with a token that carries the new role).
    const secondToken = t.app.services.tokens.signAccess({ sub: second.id, sid: randomUUID(), org: solo.id, role: "ADMIN" });
    expect(codes(await t.gql(REMOVE, { u: second.id }, secondToken))).toEqual(["CONFLICT"]);
    expect(codes(await t.gql(UPDATE_ROLE, { u: second.id, r: "SERVICE_ACCOUNT" }, secondToken))).toEqual(["CONFLICT"]);
    expect(await controlRole(solo.id, second.id)).toBe("ADMIN");
  });

  it("two admins demoting each other at once: exactly one succeeds, the other gets CONFLICT, one admin remains", async () => {
    const duo = await createOrg(t.app, "duo");
    const a = duo.users.ADMIN;
    const b = duo.users.DEVELOPER;
    await t.app.services.db.admin.withSchema("control").table("memberships").where({ organization_id: duo.id, user_id: b.id }).update({ role: "ADMIN" });
    const bToken = t.app.services.tokens.signAccess({ sub: b.id, sid: randomUUID(), org: duo.id, role: "ADMIN" });
    const results = await Promise.all([
      t.gql(UPDATE_ROLE, { u: a.id, r: "DEVELOPER" }, bToken),
      t.gql(UPDATE_ROLE, { u: b.id, r: "DEVELOPER" }, a.token),
    ]);
    const outcome = results.map((r) => codes(r)[0] ?? "OK").sort();
    expect(outcome).toEqual(["CONFLICT", "OK"]);
    const admins = await t.app.services.db.admin.withSchema("control").table("memberships").where({ organization_id: duo.id, role: "ADMIN" });
    expect(admins).toHaveLength(1);
  });

  it("crossed demotions of two admins queue instead of deadlocking (forced interleaving)", async () => {
    // Before: each request locked its target row, then the admin rows: A holds a and waits for b,
    // B holds b and waits for a → PostgreSQL aborts one with a deadlock → INTERNAL_SERVER_ERROR.
    const duo = await createOrg(t.app, "duox");
    const a = duo.users.ADMIN;
    const b = duo.users.DEVELOPER;
    const admin = t.app.services.db.admin;
    await admin.withSchema("control").table("memberships").where({ organization_id: duo.id, user_id: b.id }).update({ role: "ADMIN" });
    const bToken = t.app.services.tokens.signAccess({ sub: b.id, sid: randomUUID(), org: duo.id, role: "ADMIN" });
    // Requests of this test blocked on a row lock of control.memberships (bind values are not in `query`).
    // Runtime connections only (the admin blocker is "enclave-admin").
    const waiters = async () => (await admin.raw(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'enclave'
         AND wait_event_type = 'Lock' AND query LIKE '%"control"."memberships"%for update%'`,
    )).rows[0].n as number;
    const until = async (n: number) => {
      for (let i = 0; i < 500; i++) {
        if ((await waiters()) >= n) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`the lock ordering this test needs was never set up (${n} waiter(s) expected)`);
    };

    const blocker = await admin.transaction();
    try {
      await blocker.raw(`SELECT 1 FROM control.memberships WHERE organization_id = ? AND user_id = ? FOR UPDATE`, [duo.id, b.id]);
      const demoteB = t.gql(UPDATE_ROLE, { u: b.id, r: "DEVELOPER" }, a.token);
      await until(1);
      const demoteA = t.gql(UPDATE_ROLE, { u: a.id, r: "DEVELOPER" }, bToken);
      await until(2);
      await blocker.commit();
      const [rb, ra] = await Promise.all([demoteB, demoteA]);
      expect(codes(rb)).toEqual([]);
      expect(codes(ra)).toEqual(["CONFLICT"]);
    } finally {
      if (!blocker.isCompleted()) await blocker.rollback();
    }
    expect(await controlRole(duo.id, a.id)).toBe("ADMIN");
    expect(await controlRole(duo.id, b.id)).toBe("DEVELOPER");
  });

  it("unknown members and malformed ids are refused", async () => {
    expect(codes(await t.gql(UPDATE_ROLE, { u: randomUUID(), r: "ANALYST" }, org.users.ADMIN.token))).toEqual(["NOT_FOUND"]);
    expect(codes(await t.gql(UPDATE_ROLE, { u: "nope", r: "ANALYST" }, org.users.ADMIN.token))).toEqual(["BAD_USER_INPUT"]);
    // A member of another organization is not found here (no cross-tenant edits).
    expect(codes(await t.gql(UPDATE_ROLE, { u: other.users.DEVELOPER.id, r: "ADMIN" }, org.users.ADMIN.token))).toEqual(["NOT_FOUND"]);
    expect(await controlRole(other.id, other.users.DEVELOPER.id)).toBe("DEVELOPER");
    expect(codes(await t.gql(REMOVE, { u: other.users.DEVELOPER.id }, org.users.ADMIN.token))).toEqual(["NOT_FOUND"]);
    expect(await controlRole(other.id, other.users.DEVELOPER.id)).toBe("DEVELOPER");
  });
});

describe("suspended organization", () => {
  it("its ADMIN can no longer add, re-role or remove members", async () => {
    const susp = await createOrg(t.app, "msusp");
    const admin = susp.users.ADMIN;
    await t.app.services.db.admin.withSchema("control").table("organizations").where({ id: susp.id }).update({ status: "suspended" });
    t.app.services.registry.invalidate(susp.id);
    const email = newEmail("late");
    const added = await t.gql(ADD, { input: { email, displayName: "Late", role: "ADMIN", password: "late password 123" } }, admin.token);
    expect(codes(added)).toEqual(["FORBIDDEN"]);
    expect(await t.app.services.db.admin.withSchema("control").table("users").first("id").where({ email })).toBeUndefined();
    expect(codes(await t.gql(UPDATE_ROLE, { u: susp.users.ANALYST.id, r: "ADMIN" }, admin.token))).toEqual(["FORBIDDEN"]);
    expect(await controlRole(susp.id, susp.users.ANALYST.id)).toBe("ANALYST");
    expect(codes(await t.gql(REMOVE, { u: susp.users.DEVELOPER.id }, admin.token))).toEqual(["FORBIDDEN"]);
    expect(await controlRole(susp.id, susp.users.DEVELOPER.id)).toBe("DEVELOPER");
    expect(await projection(susp.id, susp.users.DEVELOPER.id)).toMatchObject({ role: "DEVELOPER" });
    expect(codes(await t.gql(MEMBERS, {}, admin.token))).toEqual(["FORBIDDEN"]);
  });
});

describe("removeMember", () => {
  it("removes the member from control.memberships and the tenant projection; their refresh then fails", async () => {
    const email = newEmail("gone");
    const added = await t.gql(ADD, { input: { email, displayName: "Gone", role: "DEVELOPER", password: "leaving password" } }, org.users.ADMIN.token);
    const id = added.body.data.addMember.id;
    const session = await login(email, "leaving password");

    const res = await t.gql(REMOVE, { u: id }, org.users.ADMIN.token);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.removeMember).toBe(id);
    expect(await controlRole(org.id, id)).toBeUndefined();
    expect(await projection(org.id, id)).toBeUndefined();
    const list = await t.gql(MEMBERS, {}, org.users.ADMIN.token);
    expect(list.body.data.members.edges.map((e: any) => e.node.id)).not.toContain(id);

    const r = await t.gql(REFRESH, { r: session.refreshToken });
    expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
    expect(r.status).toBe(401);
    // The user still exists and can log in, but no longer into this organization.
    expect(await login(email, "leaving password")).toMatchObject({ organizationId: null, role: null });
    expect(codes(await t.gql(LOGIN, { email, password: "leaving password", org: org.id }))).toEqual(["FORBIDDEN"]);
    // Removing again: NOT_FOUND.
    expect(codes(await t.gql(REMOVE, { u: id }, org.users.ADMIN.token))).toEqual(["NOT_FOUND"]);
  });

  it("removing a member of two organizations leaves the other membership intact", async () => {
    const guest = other.users.SERVICE_ACCOUNT;
    await t.gql(ADD, { input: { email: guest.email, displayName: "x", role: "SERVICE_ACCOUNT" } }, org.users.ADMIN.token);
    expect(await controlRole(org.id, guest.id)).toBe("SERVICE_ACCOUNT");
    expect((await t.gql(REMOVE, { u: guest.id }, org.users.ADMIN.token)).body.errors).toBeUndefined();
    expect(await controlRole(org.id, guest.id)).toBeUndefined();
    expect(await controlRole(other.id, guest.id)).toBe("SERVICE_ACCOUNT");
    expect(await projection(other.id, guest.id)).toMatchObject({ role: "SERVICE_ACCOUNT" });
  });

  it("only member:manage may change roles or remove members", async () => {
    const target = org.users.ANALYST.id;
    for (const role of ["DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"] as const) {
      expect(codes(await t.gql(UPDATE_ROLE, { u: target, r: "ADMIN" }, org.users[role].token))).toEqual(["FORBIDDEN"]);
      expect(codes(await t.gql(REMOVE, { u: target }, org.users[role].token))).toEqual(["FORBIDDEN"]);
    }
    expect(await controlRole(org.id, target)).toBe("ANALYST");
  });
});

describe("in one mutation operation with other fields", () => {
  it("a later field's failure rolls back an earlier addMember (user, membership, projection and its event)", async () => {
    const o = await createOrg(t.app, "matom");
    const email = newEmail("atomic");
    const before = await lastSeq(t.app, o.id);
    const res = await t.gql(
      `mutation($input: AddMemberInput!, $u: ID!) { addMember(input: $input) { id } updateMemberRole(userId: $u, role: ANALYST) { role } }`,
      { input: { email, displayName: "Atomic", role: "DEVELOPER", password: "atomic password 123" }, u: randomUUID() },
      o.users.ADMIN.token,
    );
    expect(codes(res)).toEqual(["NOT_FOUND"]);
    const user = await t.app.services.db.admin.withSchema("control").table("users").first("id").where({ email });
    expect(user).toBeUndefined();
    const { rows } = await t.app.services.db.admin.raw(`SELECT count(*)::int AS n FROM ${quoteIdent(tenantRef(o.id).schema)}.members WHERE email = ?`, [email]);
    expect(rows[0].n).toBe(0);
    expect((await auditRows(t.app, o.id, before)).map((r) => r.event_type)).not.toContain("admin.member.added");
    // The same addMember on its own commits.
    const ok = await t.gql(ADD, { input: { email, displayName: "Atomic", role: "DEVELOPER", password: "atomic password 123" } }, o.users.ADMIN.token);
    expect(ok.body.errors).toBeUndefined();
    expect(await controlRole(o.id, ok.body.data.addMember.id)).toBe("DEVELOPER");
  });

  it("a later field's failure also rolls back an earlier role change and its event", async () => {
    const o = await createOrg(t.app, "matom2");
    const before = await lastSeq(t.app, o.id);
    const res = await t.gql(
      `mutation($u: ID!) { updateMemberRole(userId: $u, role: ANALYST) { role } removeMember(userId: $u) renameOrganization(name: "") { name } }`,
      { u: o.users.DEVELOPER.id }, o.users.ADMIN.token,
    );
    expect(codes(res)).toEqual(["BAD_USER_INPUT"]);
    expect(await controlRole(o.id, o.users.DEVELOPER.id)).toBe("DEVELOPER");
    expect(await projection(o.id, o.users.DEVELOPER.id)).toMatchObject({ role: "DEVELOPER" });
    expect((await auditRows(t.app, o.id, before)).map((r) => r.event_type).filter((e) => e.startsWith("admin."))).toEqual([]);
  });

  it("tenant data and membership changes commit together, with two events in one linear chain", async () => {
    const o = await createOrg(t.app, "mmix");
    const before = await lastSeq(t.app, o.id);
    const res = await t.gql(
      `mutation($u: ID!) { createWorkspace(input: { name: "Mixed" }) { id } updateMemberRole(userId: $u, role: ANALYST) { role } renameOrganization(name: "Mixed Org") { name } }`,
      { u: o.users.DEVELOPER.id }, o.users.ADMIN.token, { "x-request-id": "mixed-op-1" },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.updateMemberRole.role).toBe("ANALYST");
    expect(await controlRole(o.id, o.users.DEVELOPER.id)).toBe("ANALYST");
    expect(await projection(o.id, o.users.DEVELOPER.id)).toMatchObject({ role: "ANALYST" });
    const ws = await t.app.services.db.admin.raw(`SELECT name FROM ${quoteIdent(tenantRef(o.id).schema)}.workspaces WHERE id = ?`, [res.body.data.createWorkspace.id]);
    expect(ws.rows[0]?.name).toBe("Mixed");
    const rows = (await auditRows(t.app, o.id, before)).filter((r) => r.request_id === "mixed-op-1");
    expect(rows.map((r) => r.event_type)).toEqual(["data.created", "admin.member.role_changed", "config.organization.renamed"]);
    expect(rows.map((r) => Number(r.seq))).toEqual([before + 1, before + 2, before + 3]);
    expect(rows[1].prev_hash).toBe(rows[0].hash);
    expect(rows[2].prev_hash).toBe(rows[1].hash);
    const v = await t.gql(`{ verifyAuditTrail { ok } }`, undefined, o.users.ADMIN.token);
    expect(v.body.data.verifyAuditTrail.ok).toBe(true);
  });

  it("adds and re-roles a member in one operation; a denied field after them defers its event and keeps theirs", async () => {
    const o = await createOrg(t.app, "mseq");
    const email = newEmail("seq");
    const before = await lastSeq(t.app, o.id);
    const res = await t.gql(
      `mutation($input: AddMemberInput!) { addMember(input: $input) { id role } createOrganization(input: { name: "nope", slug: "nope-x" }) { id } }`,
      { input: { email, displayName: "Seq", role: "DEVELOPER", password: "seq password 1234" } }, o.users.ADMIN.token,
    );
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    // A failed mutation operation rolls back as a whole; the denial is still recorded (after the rollback).
    expect(await t.app.services.db.admin.withSchema("control").table("users").first("id").where({ email })).toBeUndefined();
    expect((await auditRows(t.app, o.id, before)).map((r) => r.event_type)).toEqual(["authz.denied"]);
  });

  it("over WebSocket a mixed mutation commits both changes with one event each", async () => {
    const o = await createOrg(t.app, "mwsmix");
    const before = await lastSeq(t.app, o.id);
    const conn = connectWs(t.url, { token: o.users.ADMIN.token });
    try {
      const sub = conn.subscribe(
        `mutation($u: ID!) { createWorkspace(input: { name: "WsMixed" }) { id } updateMemberRole(userId: $u, role: ANALYST) { role } }`,
        { u: o.users.DEVELOPER.id },
      );
      await sub.ended;
      expect(sub.errors).toEqual([]);
      expect(sub.results[0]?.data?.updateMemberRole.role).toBe("ANALYST");
    } finally {
      await conn.dispose();
    }
    expect(await controlRole(o.id, o.users.DEVELOPER.id)).toBe("ANALYST");
    expect(await projection(o.id, o.users.DEVELOPER.id)).toMatchObject({ role: "ANALYST" });
    expect((await auditRows(t.app, o.id, before)).map((r) => r.event_type)).toEqual(["data.created", "admin.member.role_changed"]);
  });
});
