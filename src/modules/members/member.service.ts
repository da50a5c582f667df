// Membership changes: the control registry (memberships, users), the tenant `members` projection
// and the audit event change in the request's tenant transaction, so they commit or roll back
// with the rest of the mutation operation (ctx.inTenant; the control-plane statements step out of
// the tenant role and back in through withControlStatements). Mutations only.
import type { Knex } from "knex";
import type { RequestContext } from "../../context/index.js";
import { badInput, conflict, notFound } from "../../errors/app-error.js";
import { normalizeEmail } from "../../auth/identity.service.js";
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../../auth/passwords.js";
import type { OrgRole } from "../../permissions/matrix.js";
import { parseId } from "../../tenancy/naming.js";
import { withControlStatements } from "../../tenancy/scope.js";
import { tenantChain } from "../../enterprise/audit/recorder.js";
import * as v from "../common/validation.js";
import * as repo from "./member.repository.js";
import type { AddMemberInput } from "./member.type.js";

export function checkPassword(password: string): string {
  if (typeof password !== "string" || password.length < MIN_PASSWORD_LENGTH) throw badInput(`password must be at least ${MIN_PASSWORD_LENGTH} characters`, "password");
  if (password.length > MAX_PASSWORD_LENGTH) throw badInput("password is too long", "password");
  return password;
}

export async function addMember(ctx: RequestContext, input: AddMemberInput): Promise<repo.MemberRow> {
  const email = normalizeEmail(input.email);
  const displayName = v.text(input.displayName, "displayName", 200);
  const role = input.role as OrgRole;
  const passwordHash = input.password != null ? await hashPassword(checkPassword(input.password)) : null;
  const tenant = ctx.requireTenant();
  const orgId = tenant.id;
  return ctx.inTenant(async (trx) => {
    const user = await withControlStatements(trx, tenant, async () => {
      let user = await repo.findUserByEmail(trx, email);
      if (!user) {
        if (!passwordHash) throw badInput("password is required for a new user", "password");
        user = await repo.insertUser(trx, { email, displayName, passwordHash });
      }
      if (await repo.getMembership(trx, orgId, user.id)) throw conflict("That user is already a member");
      await ctx.services.quotas.checkSeats(trx, orgId);
      await repo.insertMembership(trx, orgId, user.id, role);
      return user;
    });
    const member = { id: user.id, email: user.email, displayName: user.displayName, role };
    await repo.upsertMemberProjection(trx, member);
    await ctx.services.audit.record(trx, tenantChain(orgId), { type: "admin.member.added", resourceType: "Member", resourceId: user.id, after: member }, ctx);
    return { ...member, createdAt: new Date() };
  });
}

/**
 * Lock the organization's admin rows, then the target membership (one lock order for every role
 * change and removal, so crossed demotions queue instead of deadlocking), and refuse to take away
 * the last admin.
 */
async function lockMembershipKeepingAnAdmin(trx: Knex.Transaction, orgId: string, userId: string, losesAdmin: boolean) {
  const admins = await repo.countAdminsForUpdate(trx, orgId);
  const current = await repo.getMembership(trx, orgId, userId);
  if (!current) throw notFound("Member");
  if (current.role === "ADMIN" && losesAdmin && admins <= 1) throw conflict("An organization must keep at least one admin");
  return current;
}

export async function updateMemberRole(ctx: RequestContext, userIdInput: string, role: OrgRole): Promise<repo.MemberRow> {
  const userId = parseId(userIdInput, "userId");
  const tenant = ctx.requireTenant();
  const orgId = tenant.id;
  return ctx.inTenant(async (trx) => {
    const current = await withControlStatements(trx, tenant, async () => {
      const current = await lockMembershipKeepingAnAdmin(trx, orgId, userId, role !== "ADMIN");
      await repo.setMembershipRole(trx, orgId, userId, role);
      return current;
    });
    const row = await repo.setMemberProjectionRole(trx, userId, role);
    if (!row) throw notFound("Member");
    await ctx.services.audit.record(trx, tenantChain(orgId), { type: "admin.member.role_changed", resourceType: "Member", resourceId: userId, before: { role: current.role }, after: { role } }, ctx);
    return row as repo.MemberRow;
  });
}

export async function removeMember(ctx: RequestContext, userIdInput: string): Promise<string> {
  const userId = parseId(userIdInput, "userId");
  const tenant = ctx.requireTenant();
  const orgId = tenant.id;
  return ctx.inTenant(async (trx) => {
    const current = await withControlStatements(trx, tenant, async () => {
      const current = await lockMembershipKeepingAnAdmin(trx, orgId, userId, true);
      await repo.deleteMembership(trx, orgId, userId);
      return current;
    });
    await repo.deleteMemberProjection(trx, userId);
    await ctx.services.audit.record(trx, tenantChain(orgId), { type: "admin.member.removed", resourceType: "Member", resourceId: userId, before: { role: current.role } }, ctx);
    return userId;
  });
}
