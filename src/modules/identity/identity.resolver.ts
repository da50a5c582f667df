import { Arg, Ctx, ID, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { forbidden, unauthenticated } from "../../errors/app-error.js";
import type { AuthResult } from "../../auth/identity.service.js";
import { PERMISSIONS, ROLE_PERMISSIONS, ROLES, type Permission } from "../../permissions/matrix.js";
import { parseId } from "../../tenancy/naming.js";
import { ORG_COLUMNS } from "../../tenancy/registry.js";
import { AuthPayload, LoginInput, Me, PermissionMatrix } from "./identity.type.js";

const toPayload = (r: AuthResult): AuthPayload => ({
  accessToken: r.accessToken,
  refreshToken: r.refreshToken,
  tokenType: "Bearer",
  expiresIn: r.expiresIn,
  organizationId: r.organizationId,
  role: r.role as AuthPayload["role"],
});

@Resolver()
export class IdentityResolver {
  @Mutation(() => AuthPayload, { description: "Log in with email and password." })
  async login(@Ctx() ctx: RequestContext, @Arg("input", () => LoginInput) input: LoginInput) {
    const orgId = input.organizationId != null ? parseId(input.organizationId, "organizationId") : undefined;
    return toPayload(await ctx.services.identity.login(input.email, input.password, orgId, ctx.client));
  }

  @Mutation(() => AuthPayload, { description: "Exchange a refresh token for new tokens (rotation)." })
  async refreshToken(@Ctx() ctx: RequestContext, @Arg("refreshToken", () => String) token: string) {
    return toPayload(await ctx.services.identity.refresh(token, ctx.client));
  }

  @Mutation(() => Boolean, { description: "End the login behind this refresh token." })
  async logout(@Ctx() ctx: RequestContext, @Arg("refreshToken", () => String) token: string) {
    await ctx.services.identity.logout(token);
    return true;
  }

  @Mutation(() => AuthPayload, { description: "Get tokens for another organization you belong to." })
  async switchOrganization(@Ctx() ctx: RequestContext, @Arg("organizationId", () => ID) organizationId: string) {
    const p = ctx.principal;
    if (!p) throw unauthenticated();
    // A key acts only as its organization's service account: it must never mint a user session.
    if (p.apiKey) throw forbidden("API keys cannot switch organizations or obtain user tokens");
    return toPayload(await ctx.services.identity.switchOrganization(p.userId, p.superAdmin, p.sessionId, parseId(organizationId, "organizationId"), ctx.client));
  }

  @Query(() => Me)
  async me(@Ctx() ctx: RequestContext): Promise<Me> {
    const p = ctx.principal;
    if (!p) throw unauthenticated();
    const db = ctx.services.db.control;
    const user = await db.withSchema("control").table("users")
      .first("id", "email", "display_name as displayName", "is_super_admin as isSuperAdmin").where({ id: p.userId });
    if (!user) throw unauthenticated("Unknown user");
    const rows = await db.withSchema("control").table("memberships as m")
      .join("organizations as o", "o.id", "m.organization_id")
      .select([...ORG_COLUMNS.map((c) => `o.${c}`), "m.role as memberRole"])
      .where("m.user_id", p.userId)
      .orderBy("m.created_at");
    const memberships = rows.map(({ memberRole, ...organization }) => ({ organization, role: memberRole }));
    const organization = p.organizationId ? await ctx.services.registry.get(p.organizationId) : null;
    const role = ctx.effectiveRole;
    return {
      user,
      organization: organization as Me["organization"],
      role: p.role as Me["role"],
      permissions: role ? ROLE_PERMISSIONS[role].filter((perm) => ctx.can(perm)) : [],
      memberships,
    };
  }

  @Query(() => PermissionMatrix)
  permissionMatrix(): PermissionMatrix {
    return {
      permissions: (Object.keys(PERMISSIONS) as Permission[]).map((name) => ({ name, description: PERMISSIONS[name] })),
      roles: ROLES.map((role) => ({ role, permissions: [...ROLE_PERMISSIONS[role]] })),
    };
  }
}
