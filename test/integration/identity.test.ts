// Identity over real HTTP: login, `me`, access-token verification (RFC 8725 cases), refresh-token
// rotation with reuse detection, logout, login throttling, password hashing and rehash,
// organization switching, suspended organizations, and RS256 keys.
import { createHash, createHmac, createSign, generateKeyPairSync, randomBytes, randomUUID } from "node:crypto";
import { hash as argon2Hash, verify as argon2Verify } from "@node-rs/argon2";
import jwt from "jsonwebtoken";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ARGON2_PARAMS } from "../../src/auth/passwords.js";
import { quoteIdent } from "../../src/db/knex.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { codes, startTestApp, type GqlResponse, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, createUser, TEST_PASSWORD, type TestOrg, type TestUser } from "../helpers/factories.js";

// The app trusts X-Forwarded-For so each test can act from its own client address: the per-address
// login throttle (shared by every test file of a run through the database) never couples tests.
let t: TestApp;
let orgA: TestOrg;
let orgB: TestOrg;
let root: TestUser;

const LOGIN = `mutation($email: String!, $password: String!, $org: ID) {
  login(input: { email: $email, password: $password, organizationId: $org }) { accessToken refreshToken tokenType expiresIn organizationId role }
}`;
const REFRESH = `mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken refreshToken organizationId role } }`;
const LOGOUT = `mutation($r: String!) { logout(refreshToken: $r) }`;
const SWITCH = `mutation($org: ID!) { switchOrganization(organizationId: $org) { accessToken refreshToken organizationId role } }`;
const ME = `{ me {
  user { id email displayName isSuperAdmin }
  organization { id slug status }
  role permissions
  memberships { role organization { id slug } }
} }`;
const WORKSPACES = `{ workspaces(first: 10) { edges { node { id name } } } }`;

const randomIp = () => `10.${randomBytes(1)[0]}.${randomBytes(1)[0]}.${1 + (randomBytes(1)[0]! % 250)}`;
const from = (ip: string) => ({ "x-forwarded-for": ip });

function login(email: string, password = TEST_PASSWORD, org?: string, ip = randomIp()) {
  return t.gql(LOGIN, { email, password, org }, undefined, from(ip));
}
async function loginOk(email: string, password = TEST_PASSWORD, org?: string) {
  const res = await login(email, password, org);
  expect(res.body.errors).toBeUndefined();
  return res.body.data.login as { accessToken: string; refreshToken: string; organizationId: string | null; role: string | null };
}
const refresh = (r: string) => t.gql(REFRESH, { r });

// ---- hand-built JWTs ----
const b64 = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");
function hs256(header: object, payload: object, secret: string | Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}
function rs256(header: object, payload: object, privateKeyPem: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createSign("RSA-SHA256").update(input).sign(privateKeyPem, "base64url")}`;
}
function claimsFor(user: TestUser, org: TestOrg, role = "DEVELOPER", over: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return { sub: user.id, sid: randomUUID(), org: org.id, role, iat: now, exp: now + 300, iss: t.config.jwt.issuer, aud: t.config.jwt.audience, ...over };
}
const HEADER = { alg: "HS256", typ: "at+jwt" };

function expectUnauthenticated(res: GqlResponse) {
  expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
  expect(res.status).toBe(401);
  expect(res.body.data ?? null).toBeNull();
}

beforeAll(async () => {
  t = await startTestApp({ TRUST_PROXY: "true" });
  [orgA, orgB] = [await createOrg(t.app, "ida"), await createOrg(t.app, "idb")];
  root = await createSuperAdmin(t.app);
});
afterAll(async () => t?.close());

describe("login and me", () => {
  it("login returns an access and a refresh token, and `me` describes the caller", async () => {
    const dev = orgA.users.DEVELOPER;
    const res = await login(dev.email);
    expect(res.status).toBe(200);
    const p = res.body.data.login;
    expect(p).toMatchObject({ tokenType: "Bearer", organizationId: orgA.id, role: "DEVELOPER", expiresIn: t.config.jwt.accessTtlSeconds });
    expect(p.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const decoded = jwt.decode(p.accessToken, { complete: true })!;
    expect(decoded.header).toMatchObject({ alg: "HS256", typ: "at+jwt" });
    expect(decoded.payload).toMatchObject({ sub: dev.id, org: orgA.id, role: "DEVELOPER", iss: "enclave", aud: "enclave-api" });

    const me = await t.gql(ME, {}, p.accessToken);
    expect(me.body.errors).toBeUndefined();
    expect(me.body.data.me).toEqual({
      user: { id: dev.id, email: dev.email, displayName: `DEVELOPER of ${orgA.slug}`, isSuperAdmin: false },
      organization: { id: orgA.id, slug: orgA.slug, status: "ACTIVE" },
      role: "DEVELOPER",
      permissions: expect.arrayContaining(["item:create", "item:update", "project:manage"]),
      memberships: [{ role: "DEVELOPER", organization: { id: orgA.id, slug: orgA.slug } }],
    });
    expect(me.body.data.me.permissions).not.toContain("item:delete");
    expect(me.body.data.me.permissions).not.toContain("member:manage");
  });

  it("login is case-insensitive on the email and can name the organization", async () => {
    const admin = orgA.users.ADMIN;
    const p = await loginOk(`  ${admin.email.toUpperCase()} `, TEST_PASSWORD, orgA.id);
    expect(p).toMatchObject({ organizationId: orgA.id, role: "ADMIN" });
  });

  it("naming an organization the user does not belong to is FORBIDDEN", async () => {
    const res = await login(orgA.users.DEVELOPER.email, TEST_PASSWORD, orgB.id);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    expect(res.body.errors![0]!.message).not.toMatch(/tenant_|enclave_tenant|select|insert/i);
  });

  it("unknown email and wrong password give the identical error body", async () => {
    const unknown = await login(`nobody-${randomUUID()}@example.test`, "some wrong password");
    const wrong = await login(orgA.users.ANALYST.email, "some wrong password");
    expectUnauthenticated(unknown);
    expectUnauthenticated(wrong);
    expect(wrong.body).toEqual(unknown.body);
    expect(unknown.body.errors![0]!.message).toBe("Invalid email or password");
  });

  it("a disabled user cannot log in, with the same answer as a wrong password", async () => {
    const email = `disabled-${randomUUID()}@example.test`;
    const id = await createUser(t.app, email, "Disabled");
    await t.app.services.db.admin.withSchema("control").table("users").where({ id }).update({ disabled_at: new Date() });
    const res = await login(email);
    expectUnauthenticated(res);
    expect(res.body.errors![0]!.message).toBe("Invalid email or password");
  });
});

describe("access tokens (RFC 8725)", () => {
  const secret = () => t.config.jwt.secret!;
  const meWith = (token: string) => t.gql(`{ me { user { id } } }`, {}, undefined, { authorization: `Bearer ${token}` });

  it("a hand-built token with the right key, claims and header is accepted (control for the cases below)", async () => {
    const dev = orgA.users.DEVELOPER;
    const res = await meWith(hs256(HEADER, claimsFor(dev, orgA), secret()));
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.me.user.id).toBe(dev.id);
  });

  it("a token expired within the 5 s leeway is still accepted; beyond it, UNAUTHENTICATED", async () => {
    const dev = orgA.users.DEVELOPER;
    const now = Math.floor(Date.now() / 1000);
    const sign = (exp: number) =>
      jwt.sign({ sub: dev.id, sid: randomUUID(), org: orgA.id, role: "DEVELOPER", iat: now - 600, exp }, secret(), {
        algorithm: "HS256", issuer: t.config.jwt.issuer, audience: t.config.jwt.audience, header: { alg: "HS256", typ: "at+jwt" },
      });
    const within = await meWith(sign(now - 1));
    expect(within.body.errors).toBeUndefined();
    const res = await meWith(sign(now - 30));
    expectUnauthenticated(res);
    expect(res.body.errors![0]!.message).toBe("Access token expired");
  });

  const cases: Array<[string, () => string]> = [
    ["signed with another secret", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA), "another-secret-of-at-least-32-characters!!")],
    ["alg none", () => `${b64({ alg: "none", typ: "at+jwt" })}.${b64(claimsFor(orgA.users.DEVELOPER, orgA))}.`],
    ["alg none, upper case", () => `${b64({ alg: "NONE", typ: "at+jwt" })}.${b64(claimsFor(orgA.users.DEVELOPER, orgA))}.`],
    ["an empty signature", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA), secret()).replace(/[^.]+$/, "")],
    ["a signature of another token", () => {
      const a = hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA), secret());
      const b = hs256(HEADER, claimsFor(orgA.users.ADMIN, orgA, "ADMIN"), secret());
      return `${a.split(".").slice(0, 2).join(".")}.${b.split(".")[2]}`;
    }],
    ["a role raised in the payload", () => {
      const a = hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA), secret()).split(".");
      const payload = JSON.parse(Buffer.from(a[1]!, "base64url").toString());
      return `${a[0]}.${b64({ ...payload, role: "ADMIN" })}.${a[2]}`;
    }],
    ["a wrong audience", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "DEVELOPER", { aud: "another-api" }), secret())],
    ["an audience list without ours", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "DEVELOPER", { aud: ["x", "y"] }), secret())],
    ["a wrong issuer", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "DEVELOPER", { iss: "evil" }), secret())],
    ["no issuer", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "DEVELOPER", { iss: undefined }), secret())],
    ["header typ JWT", () => hs256({ alg: "HS256", typ: "JWT" }, claimsFor(orgA.users.DEVELOPER, orgA), secret())],
    ["no header typ", () => hs256({ alg: "HS256" }, claimsFor(orgA.users.DEVELOPER, orgA), secret())],
    ["a not-yet-valid token (nbf in the future)", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "DEVELOPER", { nbf: Math.floor(Date.now() / 1000) + 600 }), secret())],
    ["an unknown role claim", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "SUPER_ADMIN"), secret())],
    ["no sid", () => hs256(HEADER, claimsFor(orgA.users.DEVELOPER, orgA, "DEVELOPER", { sid: undefined }), secret())],
    ["alg RS256 with an attacker's key (algorithm confusion)", () => {
      const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs8", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
      return rs256({ alg: "RS256", typ: "at+jwt" }, claimsFor(orgA.users.DEVELOPER, orgA), privateKey);
    }],
    ["alg HS512 with the right secret", () => {
      const input = `${b64({ alg: "HS512", typ: "at+jwt" })}.${b64(claimsFor(orgA.users.DEVELOPER, orgA))}`;
      return `${input}.${createHmac("sha512", secret()).update(input).digest("base64url")}`;
    }],
    ["a jku header pointing elsewhere with an attacker's key", () =>
      hs256({ ...HEADER, jku: "https://attacker.example/jwks.json", kid: "x" }, claimsFor(orgA.users.DEVELOPER, orgA), "attacker-secret-attacker-secret-attacker")],
  ];
  it.each(cases)("rejects a token with %s: UNAUTHENTICATED (401)", async (_name, make) => {
    expectUnauthenticated(await meWith(make()));
  });

  it.each([
    ["a garbage bearer", "Bearer not-a-jwt"],
    ["three garbage segments", "Bearer a.b.c"],
    ["a Basic credential", `Basic ${Buffer.from("a:b").toString("base64")}`],
    ["a bare token without scheme", "eyJhbGciOiJIUzI1NiJ9.e30.x"],
  ])("rejects %s: UNAUTHENTICATED (401)", async (_name, authorization) => {
    expectUnauthenticated(await t.gql(`{ me { user { id } } }`, {}, undefined, { authorization }));
  });

  it("rejects a refresh token used as a bearer token", async () => {
    const p = await loginOk(orgA.users.ANALYST.email);
    expectUnauthenticated(await meWith(p.refreshToken));
    // The refresh token itself still works: the failed bearer use did not consume it.
    expect((await refresh(p.refreshToken)).body.errors).toBeUndefined();
  });

  it("a bad token fails even for public fields (no silent downgrade to anonymous)", async () => {
    const res = await t.gql(`{ __typename }`, {}, undefined, { authorization: "Bearer a.b.c" });
    expectUnauthenticated(res);
  });
});

describe("refresh tokens", () => {
  const familyOf = async (refreshToken: string) => {
    const row = await t.app.services.db.admin.withSchema("control").table("refresh_sessions")
      .first("family_id").where({ token_hash: createHash("sha256").update(refreshToken).digest() });
    return row!.family_id as string;
  };

  it("rotation returns new tokens; reusing the old refresh token revokes the whole family", async () => {
    const dev = orgA.users.DEVELOPER;
    const first = await loginOk(dev.email);
    const family = await familyOf(first.refreshToken);

    const r1 = await refresh(first.refreshToken);
    expect(r1.body.errors).toBeUndefined();
    const second = r1.body.data.refreshToken;
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second).toMatchObject({ organizationId: orgA.id, role: "DEVELOPER" });
    expect((jwt.decode(second.accessToken) as jwt.JwtPayload).sid).toBe(family);
    expect((await t.gql(ME, {}, second.accessToken)).body.data.me.user.id).toBe(dev.id);

    // Theft: the old token comes back.
    const reuse = await refresh(first.refreshToken);
    expectUnauthenticated(reuse);
    // The whole family is gone, including the legitimate newest token.
    expectUnauthenticated(await refresh(second.refreshToken));
    const rows = await t.app.services.db.admin.withSchema("control").table("refresh_sessions").select("revoked_at", "revoked_reason").where({ family_id: family });
    expect(rows).toHaveLength(2);
    for (const r of rows) expect(r.revoked_at).not.toBeNull();
    expect(rows.map((r) => r.revoked_reason)).toContain("refresh token reuse");
  });

  it("reuse detection does not touch the user's other logins", async () => {
    const email = orgA.users.SERVICE_ACCOUNT.email;
    const other = await loginOk(email);
    const victim = await loginOk(email);
    await refresh(victim.refreshToken);
    expectUnauthenticated(await refresh(victim.refreshToken));
    expect((await refresh(other.refreshToken)).body.errors).toBeUndefined();
  });

  it("concurrent use of one refresh token yields exactly one new token pair; the replays are reuse", async () => {
    const p = await loginOk(orgA.users.ANALYST.email);
    const results = await Promise.all([refresh(p.refreshToken), refresh(p.refreshToken), refresh(p.refreshToken)]);
    const ok = results.filter((r) => !r.body.errors);
    expect(ok).toHaveLength(1);
    for (const r of results.filter((x) => x.body.errors)) expect(codes(r)).toEqual(["UNAUTHENTICATED"]);
  });

  it("rejects unknown, malformed and oversized refresh tokens", async () => {
    for (const r of [`rt_${randomBytes(32).toString("base64url")}`, "not-a-refresh-token", "", `rt_${"a".repeat(200)}`]) {
      expectUnauthenticated(await refresh(r));
    }
  });

  it("logout ends the session: its refresh token no longer works", async () => {
    const p = await loginOk(orgA.users.DEVELOPER.email);
    const rotated = (await refresh(p.refreshToken)).body.data.refreshToken;
    const out = await t.gql(LOGOUT, { r: rotated.refreshToken });
    expect(out.body.errors).toBeUndefined();
    expect(out.body.data).toEqual({ logout: true });
    expectUnauthenticated(await refresh(rotated.refreshToken));
    // Logging out with an unknown token answers the same (reveals nothing).
    expect((await t.gql(LOGOUT, { r: `rt_${randomBytes(32).toString("base64url")}` })).body.data).toEqual({ logout: true });
  });
});

describe("login throttling", () => {
  it("5 wrong passwords lock the email: even the right password then gets RATE_LIMITED with retryAfter", async () => {
    const email = `throttle-${randomUUID()}@example.test`;
    await createUser(t.app, email, "Throttled");
    for (let i = 0; i < 5; i++) {
      const res = await login(email, "wrong password!");
      expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    }
    const res = await login(email, TEST_PASSWORD);
    expect(codes(res)).toEqual(["RATE_LIMITED"]);
    expect(res.status).toBe(429);
    const retryAfter = res.body.errors![0]!.extensions!.retryAfter;
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors![0]!.message).not.toMatch(/email|exists/i);
  });

  it("an unknown email is throttled exactly like a known one", async () => {
    const email = `ghost-${randomUUID()}@example.test`;
    for (let i = 0; i < 5; i++) expect(codes(await login(email, "wrong password!"))).toEqual(["UNAUTHENTICATED"]);
    expect(codes(await login(email, "wrong password!"))).toEqual(["RATE_LIMITED"]);
  });

  it("a correct login before the threshold resets the counter", async () => {
    const email = `reset-${randomUUID()}@example.test`;
    await createUser(t.app, email, "Resets");
    for (let i = 0; i < 4; i++) expect(codes(await login(email, "wrong password!"))).toEqual(["UNAUTHENTICATED"]);
    await loginOk(email);
    for (let i = 0; i < 4; i++) expect(codes(await login(email, "wrong password!"))).toEqual(["UNAUTHENTICATED"]);
    await loginOk(email);
  });

  it("the lock is per email: another user from the same address still logs in", async () => {
    const ip = randomIp();
    const email = `lockme-${randomUUID()}@example.test`;
    for (let i = 0; i < 5; i++) await login(email, "wrong password!", undefined, ip);
    expect(codes(await login(email, "wrong password!", undefined, ip))).toEqual(["RATE_LIMITED"]);
    const ok = await login(orgB.users.ANALYST.email, TEST_PASSWORD, undefined, ip);
    expect(ok.body.errors).toBeUndefined();
  });

  it("50 failures from one address lock that address (for every email), not others", async () => {
    const ip = randomIp();
    for (let i = 0; i < 50; i++) {
      const res = await login(`spray-${i}-${randomUUID()}@example.test`, "wrong password!", undefined, ip);
      expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    }
    const blocked = await login(orgB.users.DEVELOPER.email, TEST_PASSWORD, undefined, ip);
    expect(codes(blocked)).toEqual(["RATE_LIMITED"]);
    expect(blocked.body.errors![0]!.extensions!.retryAfter).toBeGreaterThanOrEqual(1);
    const elsewhere = await login(orgB.users.DEVELOPER.email, TEST_PASSWORD, undefined, randomIp());
    expect(elsewhere.body.errors).toBeUndefined();
  });
});

describe("password storage", () => {
  const ARGON = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;
  const hashOf = async (id: string) =>
    (await t.app.services.db.admin.withSchema("control").table("users").first("password_hash").where({ id }))!.password_hash as string;

  function expectStrongArgon2id(stored: string) {
    const m = ARGON.exec(stored);
    expect(m, `not argon2id: ${stored.slice(0, 20)}`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(19_456);
    expect(Number(m![2])).toBeGreaterThanOrEqual(2);
    expect(Number(m![3])).toBeGreaterThanOrEqual(1);
  }

  it("every stored hash is argon2id with m >= 19 MiB, t >= 2, p >= 1", async () => {
    const rows = await t.app.services.db.admin.withSchema("control").table("users").select("password_hash").whereIn("id", [
      ...Object.values(orgA.users).map((u) => u.id), root.id,
    ]);
    expect(rows).toHaveLength(5);
    for (const r of rows) expectStrongArgon2id(r.password_hash);
    expect(ARGON2_PARAMS.memoryCost).toBeGreaterThanOrEqual(19_456);
  });

  it.each([
    ["argon2id with m=4096", { algorithm: 2, memoryCost: 4096, timeCost: 2, parallelism: 1 }],
    ["argon2id with t=1", { algorithm: 2, memoryCost: 19_456, timeCost: 1, parallelism: 1 }],
    ["argon2i", { algorithm: 1, memoryCost: 19_456, timeCost: 2, parallelism: 1 }],
  ] as const)("a hash made as %s is upgraded on successful login, not on a failed one", async (_name, params) => {
    const email = `weak-${randomUUID()}@example.test`;
    const weak = await argon2Hash(TEST_PASSWORD, params);
    const [{ id }] = await t.app.services.db.admin.withSchema("control").table("users")
      .insert({ email, display_name: "Weak", password_hash: weak }).returning("id");
    expect(codes(await login(email, "wrong password!"))).toEqual(["UNAUTHENTICATED"]);
    expect(await hashOf(id)).toBe(weak);

    await loginOk(email);
    const upgraded = await hashOf(id);
    expect(upgraded).not.toBe(weak);
    expectStrongArgon2id(upgraded);
    expect(await argon2Verify(upgraded, TEST_PASSWORD)).toBe(true);
    await loginOk(email);
    expect(await hashOf(id)).toBe(upgraded); // already strong: left alone
  });
});

describe("switchOrganization", () => {
  async function addMembership(user: TestUser, org: TestOrg, role: string) {
    const admin = t.app.services.db.admin;
    const u = await admin.withSchema("control").table("users").first("email", "display_name").where({ id: user.id });
    await admin.withSchema("control").table("memberships").insert({ user_id: user.id, organization_id: org.id, role });
    await admin.raw(`INSERT INTO ${quoteIdent(tenantRef(org.id).schema)}.members (user_id, email, display_name, role) VALUES (?, ?, ?, ?)`,
      [user.id, u.email, u.display_name, role]);
  }

  it("a member of two organizations switches and then sees only the second one's data", async () => {
    const orgC = await createOrg(t.app, "idc");
    const orgD = await createOrg(t.app, "idd");
    const user = orgC.users.DEVELOPER;
    await addMembership(user, orgD, "ANALYST");

    const first = await loginOk(user.email);
    expect(first).toMatchObject({ organizationId: orgC.id, role: "DEVELOPER" });
    const inC = await t.gql(WORKSPACES, {}, first.accessToken);
    expect(inC.body.data.workspaces.edges.map((e: any) => e.node.id)).toEqual([orgC.workspaceId]);

    const sw = await t.gql(SWITCH, { org: orgD.id }, first.accessToken);
    expect(sw.body.errors).toBeUndefined();
    const second = sw.body.data.switchOrganization;
    expect(second).toMatchObject({ organizationId: orgD.id, role: "ANALYST" });
    const claims = jwt.decode(second.accessToken) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: user.id, org: orgD.id, role: "ANALYST" });

    const inD = await t.gql(WORKSPACES, {}, second.accessToken);
    expect(inD.body.data.workspaces.edges.map((e: any) => e.node.id)).toEqual([orgD.workspaceId]);
    const me = await t.gql(ME, {}, second.accessToken);
    expect(me.body.data.me).toMatchObject({ organization: { id: orgD.id }, role: "ANALYST" });
    expect(me.body.data.me.permissions).not.toContain("item:create");
    expect(me.body.data.me.memberships.map((m: any) => m.organization.id).sort()).toEqual([orgC.id, orgD.id].sort());
    // ANALYST in D: the DEVELOPER permissions of C do not follow.
    const denied = await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "x" }) { id } }`, { p: orgD.projectId }, second.accessToken);
    expect(codes(denied)).toEqual(["FORBIDDEN"]);

    // The previous login's refresh family is revoked; the new one works.
    expectUnauthenticated(await refresh(first.refreshToken));
    const r = await refresh(second.refreshToken);
    expect(r.body.errors).toBeUndefined();
    expect(r.body.data.refreshToken).toMatchObject({ organizationId: orgD.id, role: "ANALYST" });
  });

  it("switching to an organization the user does not belong to is FORBIDDEN and changes nothing", async () => {
    const p = await loginOk(orgA.users.ADMIN.email);
    const res = await t.gql(SWITCH, { org: orgB.id }, p.accessToken);
    expect(codes(res)).toEqual(["FORBIDDEN"]);
    expect(res.status).toBe(403);
    const unknown = await t.gql(SWITCH, { org: randomUUID() }, p.accessToken);
    expect(codes(unknown)).toEqual(["FORBIDDEN"]);
    expect(codes(await t.gql(SWITCH, { org: "not-a-uuid" }, p.accessToken))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await t.gql(SWITCH, { org: orgB.id }))).toEqual(["UNAUTHENTICATED"]);
    // The current login survives a refused switch.
    expect((await refresh(p.refreshToken)).body.errors).toBeUndefined();
  });

  it("an ended login cannot mint a new one: after logout, reuse revocation or disabling, switching is UNAUTHENTICATED", async () => {
    const orgE = await createOrg(t.app, "ide");
    const user = orgE.users.DEVELOPER;
    await addMembership(user, orgB, "ANALYST");
    const sessionsOf = async () => Number((await t.app.services.db.admin.withSchema("control").table("refresh_sessions").count({ n: "*" }).where({ user_id: user.id }).first())!.n);

    // Logged out: the access token still reads until it expires, but it cannot start a fresh login.
    const out = await loginOk(user.email);
    await t.gql(LOGOUT, { r: out.refreshToken });
    let before = await sessionsOf();
    expectUnauthenticated(await t.gql(SWITCH, { org: orgB.id }, out.accessToken));
    expectUnauthenticated(await t.gql(SWITCH, { org: orgE.id }, out.accessToken));
    expect(await sessionsOf()).toBe(before);

    // Stolen refresh token reused: the family is revoked, and the thief's access token cannot revive it.
    const stolen = await loginOk(user.email);
    await refresh(stolen.refreshToken);
    expectUnauthenticated(await refresh(stolen.refreshToken));
    before = await sessionsOf();
    expectUnauthenticated(await t.gql(SWITCH, { org: orgB.id }, stolen.accessToken));
    expect(await sessionsOf()).toBe(before);

    // A token whose login never existed (validly signed, unknown sid) cannot switch either.
    const orphan = t.app.services.tokens.signAccess({ sub: user.id, sid: randomUUID(), org: orgE.id, role: "DEVELOPER" });
    expect((await t.gql(WORKSPACES, {}, orphan)).body.errors).toBeUndefined();
    expectUnauthenticated(await t.gql(SWITCH, { org: orgB.id }, orphan));

    // A live login can switch, until the user is disabled.
    const live = await loginOk(user.email);
    expect((await t.gql(SWITCH, { org: orgB.id }, live.accessToken)).body.errors).toBeUndefined();
    const again = await loginOk(user.email);
    await t.app.services.db.admin.withSchema("control").table("users").where({ id: user.id }).update({ disabled_at: new Date() });
    expectUnauthenticated(await t.gql(SWITCH, { org: orgB.id }, again.accessToken));
    expectUnauthenticated(await refresh(again.refreshToken));
  });

  it("a super admin can switch into any active organization as ADMIN", async () => {
    const p = await loginOk(root.email);
    expect(p).toMatchObject({ organizationId: null, role: null });
    const sw = await t.gql(SWITCH, { org: orgB.id }, p.accessToken);
    expect(sw.body.data.switchOrganization).toMatchObject({ organizationId: orgB.id, role: "ADMIN" });
    const ws = await t.gql(WORKSPACES, {}, sw.body.data.switchOrganization.accessToken);
    expect(ws.body.data.workspaces.edges.map((e: any) => e.node.id)).toEqual([orgB.workspaceId]);
  });
});

describe("suspended organizations", () => {
  const UPDATE = `mutation($id: ID!, $s: OrganizationStatus!) { updateOrganization(id: $id, input: { status: $s }) { id status } }`;

  it("members of a suspended organization are refused, login skips it, and reactivation restores access", async () => {
    const susp = await createOrg(t.app, "susp");
    const other = await createOrg(t.app, "othr");
    const dev = susp.users.DEVELOPER;
    // dev's first membership is `susp`; a later one in `other`.
    await t.app.services.db.admin.withSchema("control").table("memberships").insert({ user_id: dev.id, organization_id: other.id, role: "ANALYST" });
    const before = await loginOk(dev.email);
    expect(before.organizationId).toBe(susp.id);
    expect((await t.gql(WORKSPACES, {}, dev.token)).body.errors).toBeUndefined();

    const res = await t.gql(UPDATE, { id: susp.id, s: "SUSPENDED" }, root.token);
    expect(res.body.data.updateOrganization).toEqual({ id: susp.id, status: "SUSPENDED" });
    t.app.services.registry.invalidate(susp.id);

    const denied = await t.gql(WORKSPACES, {}, dev.token);
    expect(codes(denied)).toEqual(["FORBIDDEN"]);
    expect(denied.status).toBe(403);
    expect(codes(await t.gql(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "x" }) { id } }`, { p: susp.projectId }, susp.users.ADMIN.token))).toEqual(["FORBIDDEN"]);

    // Login defaults to the next active membership; naming the suspended one is refused.
    const after = await loginOk(dev.email);
    expect(after).toMatchObject({ organizationId: other.id, role: "ANALYST" });
    expect(codes(await login(dev.email, TEST_PASSWORD, susp.id))).toEqual(["FORBIDDEN"]);
    // A user whose only organization is suspended logs in without one.
    expect(await loginOk(susp.users.ANALYST.email)).toMatchObject({ organizationId: null, role: null });
    // A session scoped to the suspended organization cannot be refreshed.
    expectUnauthenticated(await refresh(before.refreshToken));
    // Nor can anyone switch into it, not even platform staff.
    expect(codes(await t.gql(SWITCH, { org: susp.id }, after.accessToken))).toEqual(["FORBIDDEN"]);
    const staff = await loginOk(root.email);
    expect(codes(await t.gql(SWITCH, { org: susp.id }, staff.accessToken))).toEqual(["FORBIDDEN"]);

    await t.gql(UPDATE, { id: susp.id, s: "ACTIVE" }, root.token);
    t.app.services.registry.invalidate(susp.id);
    expect((await t.gql(WORKSPACES, {}, dev.token)).body.data.workspaces.edges).toHaveLength(1);
  });
});

describe("RS256 keys", () => {
  let rs: TestApp;
  let keys: { publicKey: string; privateKey: string };
  let org: TestOrg;

  beforeAll(async () => {
    keys = generateKeyPairSync("rsa", { modulusLength: 2048, publicKeyEncoding: { type: "spki", format: "pem" }, privateKeyEncoding: { type: "pkcs8", format: "pem" } });
    rs = await startTestApp({ JWT_ALGORITHM: "RS256", JWT_PRIVATE_KEY: keys.privateKey, JWT_PUBLIC_KEY: keys.publicKey });
    org = await createOrg(rs.app, "rsa");
  });
  afterAll(async () => rs?.close());

  it("login issues RS256 tokens that `me` accepts", async () => {
    const res = await rs.gql(LOGIN, { email: org.users.ADMIN.email, password: TEST_PASSWORD });
    expect(res.body.errors).toBeUndefined();
    const { accessToken } = res.body.data.login;
    expect(jwt.decode(accessToken, { complete: true })!.header).toMatchObject({ alg: "RS256", typ: "at+jwt" });
    // Verifiable by anyone holding the public key.
    expect(jwt.verify(accessToken, keys.publicKey, { algorithms: ["RS256"] })).toMatchObject({ sub: org.users.ADMIN.id, org: org.id });
    const me = await rs.gql(ME, {}, accessToken);
    expect(me.body.data.me).toMatchObject({ user: { id: org.users.ADMIN.id }, organization: { id: org.id }, role: "ADMIN" });
  });

  it("an HS256 token signed with the public key PEM as the HMAC secret is rejected", async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub: org.users.ADMIN.id, sid: randomUUID(), org: org.id, role: "ADMIN", iat: now, exp: now + 300, iss: rs.config.jwt.issuer, aud: rs.config.jwt.audience };
    const forged = hs256({ alg: "HS256", typ: "at+jwt" }, claims, keys.publicKey);
    expectUnauthenticated(await rs.gql(ME, {}, forged));
    // Control: the same claims signed with the real private key are accepted.
    const genuine = rs256({ alg: "RS256", typ: "at+jwt" }, claims, keys.privateKey);
    expect((await rs.gql(ME, {}, genuine)).body.errors).toBeUndefined();
    // And an HS256 app's token is not accepted here.
    expectUnauthenticated(await rs.gql(ME, {}, hs256(HEADER, claims, t.config.jwt.secret!)));
  });
});
