// Login, refresh-token rotation with reuse detection, logout and organization switching.
// All state is in the control plane; access tokens are stateless and short-lived.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { Knex } from "knex";
import { AppError, badInput, forbidden, unauthenticated } from "../errors/app-error.js";
import type { Logger } from "../observability/logger.js";
import type { OrgRole } from "../permissions/matrix.js";
import { isUuid } from "../tenancy/naming.js";
import type { OrganizationRegistry } from "../tenancy/registry.js";
import type { TokenService } from "./jwt.js";
import { dummyPasswordHash, hashPassword, MAX_PASSWORD_LENGTH, needsRehash, verifyPassword } from "./passwords.js";
import { ADDRESS_POLICY, EMAIL_POLICY, LoginThrottle } from "./throttle.js";

export interface ClientInfo {
  ip?: string;
  userAgent?: string;
}

export interface AuthResult {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  userId: string;
  organizationId: string | null;
  role: OrgRole | null;
}

/** A session change, recorded by the audit layer inside the transaction that makes it. */
export interface SessionAuditEvent {
  kind: "login" | "refresh" | "switch" | "logout" | "reuse";
  userId: string;
  familyId: string;
  organizationId: string | null;
  role?: string | null;
  previousFamily?: string | null;
}

export interface SessionAuditHook {
  /** Called before the transaction opens (load what the record step needs without holding a connection). */
  prepare(organizationId: string | null): Promise<void>;
  /** Called as the last statement of the transaction. */
  record(trx: Knex.Transaction, e: SessionAuditEvent): Promise<void>;
}

const REFRESH_PREFIX = "rt_";
const INVALID_LOGIN = "Invalid email or password";

export function hashRefreshToken(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

const users = (db: Knex) => db.withSchema("control").table("users");
const memberships = (db: Knex) => db.withSchema("control").table("memberships");
const sessions = (db: Knex) => db.withSchema("control").table("refresh_sessions");

interface SessionRow {
  id: string;
  family_id: string;
  user_id: string;
  organization_id: string | null;
  expires_at: Date;
  rotated_at: Date | null;
  revoked_at: Date | null;
}

export class IdentityService {
  private readonly throttle: LoginThrottle;
  /** Set by the audit layer (src/enterprise/audit). */
  audit?: SessionAuditHook;
  /** Called with a login family's id when it is revoked (open WebSocket connections of it are closed). */
  onRevoked?: (familyId: string) => void;

  constructor(
    private readonly db: Knex,
    private readonly tokens: TokenService,
    private readonly registry: OrganizationRegistry,
    private readonly refreshTtlSeconds: number,
    private readonly logger: Logger,
  ) {
    this.throttle = new LoginThrottle(db);
  }

  async login(emailInput: string, password: string, organizationId: string | undefined, client: ClientInfo): Promise<AuthResult> {
    const email = normalizeEmail(emailInput);
    if (password.length > MAX_PASSWORD_LENGTH) throw badInput("password is too long", "password");
    const emailKey = `email:${email}`;
    const ipKey = client.ip ? `ip:${client.ip}` : undefined;
    const keys = ipKey ? [emailKey, ipKey] : [emailKey];
    await this.throttle.assertOpen(keys);

    const user = await users(this.db).first("id", "password_hash", "is_super_admin", "disabled_at").where({ email });
    const ok = await verifyPassword(user?.password_hash ?? (await dummyPasswordHash()), password);
    if (!user || !ok || user.disabled_at) {
      const locked = await this.throttle.recordFailure(emailKey, EMAIL_POLICY);
      if (ipKey) await this.throttle.recordFailure(ipKey, ADDRESS_POLICY);
      if (locked) this.logger.warn({ ip: client.ip }, "login locked after repeated failures");
      throw unauthenticated(INVALID_LOGIN);
    }
    await this.throttle.clear(emailKey);
    if (needsRehash(user.password_hash)) {
      await users(this.db).where({ id: user.id }).update({ password_hash: await hashPassword(password), updated_at: this.db.fn.now() });
    }
    const org = await this.pickOrganization(user.id, user.is_super_admin, organizationId);
    return this.startSession(user.id, user.is_super_admin, org, randomUUID(), null, client, "login");
  }

  /** Rotate a refresh token. A token that was already rotated means theft: the whole family is revoked. */
  async refresh(token: string, client: ClientInfo): Promise<AuthResult> {
    if (typeof token !== "string" || !token.startsWith(REFRESH_PREFIX) || token.length > 100) throw unauthenticated("Invalid refresh token");
    const hash = hashRefreshToken(token);
    const outcome = await this.db.transaction(async (trx) => {
      const s = (await sessions(trx).first("id", "family_id", "user_id", "organization_id", "expires_at", "rotated_at", "revoked_at")
        .where({ token_hash: hash }).forUpdate()) as SessionRow | undefined;
      if (!s || s.revoked_at || s.expires_at.getTime() <= Date.now()) return { error: "Invalid refresh token" } as const;
      if (s.rotated_at) {
        await sessions(trx).where({ family_id: s.family_id }).whereNull("revoked_at")
          .update({ revoked_at: trx.fn.now(), revoked_reason: "refresh token reuse" });
        await this.audit?.record(trx, { kind: "reuse", userId: s.user_id, familyId: s.family_id, organizationId: s.organization_id });
        return { error: "Refresh token reuse detected; the session has been revoked", reuse: s } as const;
      }
      await sessions(trx).where({ id: s.id }).update({ rotated_at: trx.fn.now() });
      return { session: s } as const;
    });
    if ("error" in outcome) {
      if ("reuse" in outcome && outcome.reuse) this.onRevoked?.(outcome.reuse.family_id);
      if ("reuse" in outcome) this.logger.warn({ userId: outcome.reuse?.user_id, family: outcome.reuse?.family_id }, "refresh token reuse: family revoked");
      throw unauthenticated(outcome.error);
    }
    const s = outcome.session;
    const user = await users(this.db).first("id", "is_super_admin", "disabled_at").where({ id: s.user_id });
    if (!user || user.disabled_at) throw unauthenticated("Invalid refresh token");
    // Role changes and removals take effect at refresh.
    const org = s.organization_id ? await this.membershipFor(user.id, user.is_super_admin, s.organization_id) : null;
    if (s.organization_id && !org) throw unauthenticated("Membership no longer exists");
    return this.startSession(user.id, user.is_super_admin, org, s.family_id, s.id, client, "refresh");
  }

  /** Revoke the login behind a refresh token. Unknown tokens are accepted silently. */
  async logout(token: string): Promise<void> {
    if (typeof token !== "string" || !token.startsWith(REFRESH_PREFIX)) return;
    const s = await sessions(this.db).first("family_id", "user_id", "organization_id").where({ token_hash: hashRefreshToken(token) });
    if (!s) return;
    await this.audit?.prepare(s.organization_id);
    await this.db.transaction(async (trx) => {
      await this.revokeFamily(s.family_id, "logout", trx);
      await this.audit?.record(trx, { kind: "logout", userId: s.user_id, familyId: s.family_id, organizationId: s.organization_id });
    });
  }

  async revokeFamily(familyId: string, reason: string, db: Knex = this.db): Promise<void> {
    await sessions(db).where({ family_id: familyId }).whereNull("revoked_at").update({ revoked_at: db.fn.now(), revoked_reason: reason });
    this.onRevoked?.(familyId);
  }

  /** Start a new login family for another organization the user belongs to; the current one is revoked. */
  async switchOrganization(userId: string, superAdmin: boolean, currentFamily: string, organizationId: string, client: ClientInfo): Promise<AuthResult> {
    // Only a live login may start another one: an access token that outlives its login (logout,
    // refresh-token reuse, disabled user) must not mint a fresh refresh family.
    const live = isUuid(currentFamily) && (await sessions(this.db)
      .join("users as u", "u.id", "refresh_sessions.user_id")
      .first("refresh_sessions.id")
      .where({ "refresh_sessions.family_id": currentFamily, "refresh_sessions.user_id": userId })
      .whereNull("refresh_sessions.revoked_at")
      .whereNull("u.disabled_at")
      .where("refresh_sessions.expires_at", ">", this.db.fn.now()));
    if (!live) throw unauthenticated("This login has ended; log in again");
    const org = await this.membershipFor(userId, superAdmin, organizationId);
    if (!org) throw forbidden("You are not a member of that organization");
    const result = await this.startSession(userId, superAdmin, org, randomUUID(), null, client, "switch", currentFamily);
    await this.revokeFamily(currentFamily, "switched organization");
    return result;
  }

  private async pickOrganization(userId: string, superAdmin: boolean, organizationId?: string) {
    if (organizationId) {
      const org = await this.membershipFor(userId, superAdmin, organizationId);
      if (!org) throw forbidden("You are not a member of that organization");
      return org;
    }
    const first = await memberships(this.db)
      .join("organizations as o", "o.id", "memberships.organization_id")
      .first("o.id", "memberships.role")
      .where({ "memberships.user_id": userId, "o.status": "active" })
      .orderBy("memberships.created_at");
    return first ? { id: first.id as string, role: first.role as OrgRole } : null;
  }

  private async membershipFor(userId: string, superAdmin: boolean, organizationId: string): Promise<{ id: string; role: OrgRole } | null> {
    const org = await this.registry.get(organizationId);
    if (!org || org.status !== "active") return null;
    const m = await memberships(this.db).first("role").where({ user_id: userId, organization_id: organizationId });
    if (m) return { id: organizationId, role: m.role };
    return superAdmin ? { id: organizationId, role: "ADMIN" } : null;
  }

  private async startSession(
    userId: string, superAdmin: boolean, org: { id: string; role: OrgRole } | null,
    familyId: string, parentId: string | null, client: ClientInfo,
    kind: "login" | "refresh" | "switch", previousFamily: string | null = null,
  ): Promise<AuthResult> {
    const refreshToken = REFRESH_PREFIX + randomBytes(32).toString("base64url");
    await this.audit?.prepare(org?.id ?? null);
    // The session and its audit event commit together.
    await this.db.transaction(async (trx) => {
      await sessions(trx).insert({
        family_id: familyId,
        parent_id: parentId,
        user_id: userId,
        organization_id: org?.id ?? null,
        token_hash: hashRefreshToken(refreshToken),
        expires_at: new Date(Date.now() + this.refreshTtlSeconds * 1000),
        ip: client.ip ?? null,
        user_agent: client.userAgent?.slice(0, 512) ?? null,
      });
      await this.audit?.record(trx, { kind, userId, familyId, organizationId: org?.id ?? null, role: org?.role ?? null, previousFamily });
    });
    const accessToken = this.tokens.signAccess({
      sub: userId, sid: familyId, ...(org ? { org: org.id, role: org.role } : {}), ...(superAdmin ? { sa: true } : {}),
    });
    return { accessToken, refreshToken, expiresIn: this.tokens.accessTtlSeconds, userId, organizationId: org?.id ?? null, role: org?.role ?? null };
  }
}

export function normalizeEmail(email: string): string {
  const e = typeof email === "string" ? email.trim().toLowerCase() : "";
  // No whitespace or control characters (PostgreSQL text refuses NUL).
  if (e.length < 3 || e.length > 254 || !/^[^\s@\u0000-\u001f\u007f]+@[^\s@\u0000-\u001f\u007f]+$/.test(e)) throw badInput("email is not a valid address", "email");
  return e;
}

export { AppError };
