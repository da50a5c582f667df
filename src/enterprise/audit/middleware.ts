// The audit wrapper on every root field, applied outside the permission shield:
//  - Mutation fields: exactly one event per field. A service that records its own event (inside
//    its own transaction) marks the field as audited; otherwise the wrapper writes the event in
//    the request's tenant transaction, so the change and its event commit or roll back together.
//    Failures whose change rolled back leave no data-change event; denials, failed logins,
//    lockouts, refresh-token reuse and rate-limit/quota refusals are written in their own transaction.
//  - Query fields: denials, refusals, and (per the organization's setting) data reads.
// Any mutation added later is audited by this wrapper without further code.
import { getNamedType, isObjectType, type GraphQLResolveInfo, type GraphQLSchema } from "graphql";
import type { IMiddlewareFieldMap, IMiddlewareFunction } from "graphql-middleware";
import type { RequestContext } from "../../context/index.js";
import { hashRefreshToken, normalizeEmail } from "../../auth/identity.service.js";
import { AppError } from "../../errors/app-error.js";
import { eventTypeForMutation, PLATFORM_MUTATIONS, resourceTypeForMutation, type AuditEventType } from "./catalog.js";
import { chainFor, fieldScope, platformChain, tenantChain, type AuditEventInput, type FieldScope } from "./recorder.js";
import type { Permission } from "../../permissions/matrix.js";
import { ROOT_FIELD_RULES } from "../../permissions/rules.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDENTITY = new Set(["login", "refreshToken", "logout", "switchOrganization"]);
/** Tenant tables whose rows give the "before" values of update/delete mutations. */
// Member changes record their own before image inside their transaction (member.service.ts).
const BEFORE_TABLES: Record<string, { table: string; key: string }> = {
  Item: { table: "items", key: "id" },
  Project: { table: "projects", key: "id" },
  Workspace: { table: "workspaces", key: "id" },
};

/** Column names as the repositories return them (project_id → projectId), so before and after diff field by field. */
function camelKeys(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));
}
/** Audit queries are not themselves recorded as data reads. */
const NOT_READ_AUDITED = new Set(["auditEvents", "verifyAuditTrail", "complianceReport", "auditSettings", "auditEventTypes", "me", "permissionMatrix"]);

function codeOf(err: unknown): string | undefined {
  if (err instanceof AppError) return err.code;
  const c = (err as { extensions?: { code?: unknown } })?.extensions?.code;
  return typeof c === "string" ? c : undefined;
}

function plain(value: unknown): Record<string, unknown> | null {
  if (!value || typeof value !== "object" || value instanceof Error) return null;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith("_") || typeof v === "function" || v instanceof Promise) continue;
    out[k] = v;
  }
  return out;
}

/** An outcome that is not a data change but must still be recorded. */
function outcomeFor(err: unknown, field: string): AuditEventInput | null {
  const code = codeOf(err);
  const reason = err instanceof Error ? err.message : String(err);
  if (code === "RATE_LIMITED") return { type: field === "login" ? "auth.lockout" : "security.rate_limited", result: "denied", reason, metadata: { operation: field } };
  if (code === "QUOTA_EXCEEDED") return { type: "security.quota_exceeded", result: "denied", reason, metadata: { operation: field } };
  if (field === "login" && code && code !== "INTERNAL_SERVER_ERROR" && code !== "SERVICE_UNAVAILABLE")
    return { type: "auth.login.failed", result: "failure", reason, metadata: { operation: field, code } };
  if (code === "FORBIDDEN" || code === "UNAUTHENTICATED") {
    if (field === "login") return { type: "auth.login.failed", result: "failure", reason, metadata: { operation: field } };
    if (field === "refreshToken") {
      const reuse = /reuse/i.test(reason);
      return { type: reuse ? "auth.token.reuse_detected" : "auth.token.refresh_failed", result: "failure", reason, metadata: { operation: field } };
    }
    return { type: "authz.denied", result: "denied", reason, resourceType: "Field", resourceId: field, metadata: { operation: field, code } };
  }
  return null;
}

async function sessionOf(ctx: RequestContext, token: unknown): Promise<{ organization_id: string | null; user_id: string; family_id: string } | null> {
  if (typeof token !== "string" || token.length > 100) return null;
  return (await ctx.services.db.control.withSchema("control").table("refresh_sessions")
    .first("organization_id", "user_id", "family_id").where({ token_hash: hashRefreshToken(token) })) ?? null;
}

async function isLocked(ctx: RequestContext, email: unknown): Promise<boolean> {
  try {
    const key = `email:${normalizeEmail(email as string)}`;
    const row = await ctx.services.db.control.withSchema("control").table("login_throttle").comment("audit: lockout check").first("key").where({ key }).where("locked_until", ">", ctx.services.db.control.fn.now());
    return Boolean(row);
  } catch {
    return false;
  }
}

/** Identity mutations: the actor and organization come from the tokens issued or the session ended. */
async function identityEvent(ctx: RequestContext, field: string, args: Record<string, any>, result: unknown, session: Awaited<ReturnType<typeof sessionOf>>) {
  const audit = ctx.services.audit;
  if (field === "logout") {
    return audit.recordOutcome(ctx, {
      type: "auth.logout", resourceType: "Session", resourceId: session?.family_id ?? null,
      result: "success", actor: session ? { type: "user", id: session.user_id, sessionId: session.family_id } : {},
      metadata: { operation: field, known: Boolean(session) },
    }, chainFor(undefined, session?.organization_id));
  }
  const r = result as { accessToken: string; organizationId: string | null };
  const claims = ctx.services.tokens.verifyAccess(r.accessToken);
  const type: AuditEventType = field === "login" ? "auth.login.succeeded" : field === "refreshToken" ? "auth.token.refreshed" : "auth.organization.switched";
  await audit.recordOutcome(ctx, {
    type, resourceType: "Session", resourceId: claims.sid,
    actor: { type: "user", id: claims.sub, sessionId: claims.sid },
    metadata: { operation: field, organizationId: r.organizationId, role: claims.role ?? null, ...(session ? { previousSession: session.family_id } : {}) },
  }, chainFor(undefined, r.organizationId));
}

async function loadBefore(ctx: RequestContext, resourceType: string, args: Record<string, any>): Promise<Record<string, unknown> | null> {
  const spec = BEFORE_TABLES[resourceType];
  const id = args.id ?? args.userId;
  if (!spec || typeof id !== "string" || !UUID.test(id) || !ctx.principal?.organizationId) return null;
  try {
    const row = await ctx.inTenant((trx) => trx(spec.table).comment("audit: before image").first("*").where(spec.key, id));
    return row ? camelKeys(row) : null;
  } catch {
    return null;
  }
}

/** Whether the caller holds the mutation's rule (the shield decides; this only avoids work for a denial). */
function mayCall(ctx: RequestContext, field: string): boolean {
  const rule = (ROOT_FIELD_RULES.Mutation as Record<string, string | undefined>)[field];
  if (rule === undefined) return false;
  if (rule === "public" || rule === "authenticated") return true;
  return ctx.can(rule as Permission);
}

function mutationWrapper(field: string): IMiddlewareFunction {
  return async (resolve, root, args, ctx: RequestContext, info: GraphQLResolveInfo) => {
    const audit = ctx.services.audit;
    if (!audit.enabled) return resolve(root, args, ctx, info);
    const scope: FieldScope = { ctx, field, recorded: 0, enrich: {} };
    const wsTenant = ctx.transport === "ws" && Boolean(ctx.principal?.organizationId) && !IDENTITY.has(field) && !PLATFORM_MUTATIONS.has(field);
    // Over WebSocket, one transaction for the field: its change and its event commit together.
    return fieldScope.run(scope, () => (wsTenant ? ctx.inOneTransaction(body) : body()));
    async function body() {
      const returnType = getNamedType(info.returnType).name;
      const resourceType = resourceTypeForMutation(field, returnType);
      const isPlatform = PLATFORM_MUTATIONS.has(field);
      const tenantScoped = !IDENTITY.has(field) && !isPlatform && Boolean(ctx.principal?.organizationId);
      let result: unknown;
      let session: Awaited<ReturnType<typeof sessionOf>> = null;
      let before: Record<string, unknown> | null = null;
      try {
        // This middleware runs outside the shield: read no tenant row for a caller the shield will refuse.
        if (tenantScoped && mayCall(ctx, field) && /^(update|delete|remove|rename|set)/.test(field)) before = await loadBefore(ctx, resourceType, args);
        result = await resolve(root, args, ctx, info);
      } catch (err) {
        result = err instanceof Error ? err : new Error(String(err));
      }
      if (result instanceof Error) {
        if (scope.recorded === 0) {
          const outcome = outcomeFor(result, field);
          // Whose refresh failed: looked up only for a failure the identity service did not record itself.
          if (outcome && field === "refreshToken") session = await sessionOf(ctx, args.refreshToken);
          if (outcome) {
            if (field === "login" && outcome.type === "auth.login.failed" && (await isLocked(ctx, args.input?.email))) {
              outcome.type = "auth.lockout";
              outcome.severity = "critical";
            }
            if (field === "login") outcome.metadata = { ...outcome.metadata, email: typeof args.input?.email === "string" ? args.input.email.slice(0, 254) : null };
            const org = field === "refreshToken" ? (session?.organization_id ?? null) : field === "login" ? null : undefined;
            if (session) outcome.actor = { type: "user", id: session.user_id, sessionId: session.family_id };
            await audit.recordOutcome(ctx, outcome, org !== undefined ? chainFor(undefined, org) : chainFor(ctx));
          }
        }
        throw result;
      }
      if (scope.recorded > 0) return result;
      if (IDENTITY.has(field)) {
        await identityEvent(ctx, field, args, result, session);
        return result;
      }
      const e = scope.enrich;
      const type = e.type ?? eventTypeForMutation(field);
      const resultObj = plain(result);
      const resourceId = e.resourceId ?? (resultObj?.id as string | undefined) ?? (typeof result === "string" ? result : (args.id ?? args.userId ?? null));
      const isDelete = type === "data.deleted" || type === "admin.member.removed";
      const event: AuditEventInput = {
        type,
        resourceType: e.resourceType ?? resourceType,
        resourceId: resourceId != null ? String(resourceId) : null,
        before: e.before !== undefined ? e.before : before,
        after: e.after !== undefined ? e.after : isDelete ? null : resultObj,
        metadata: { operation: field, ...e.metadata },
      };
      if (isPlatform) {
        await audit.recordOutcome(ctx, event, platformChain(resourceId != null ? String(resourceId) : null));
      } else if (ctx.principal?.organizationId) {
        await ctx.inTenant((trx) => audit.record(trx, tenantChain(ctx.principal!.organizationId!), event, ctx));
      } else {
        await audit.recordOutcome(ctx, event, platformChain(null));
      }
      return result;
    }
  };
}

function readIds(result: unknown): { ids: string[]; nodeType?: string } {
  const r = result as any;
  if (!r || typeof r !== "object") return { ids: [] };
  if (Array.isArray(r.edges)) return { ids: r.edges.map((e: any) => e?.node?.id).filter((x: unknown) => typeof x === "string").slice(0, 100) };
  if (typeof r.id === "string") return { ids: [r.id] };
  return { ids: [] };
}

function queryWrapper(field: string): IMiddlewareFunction {
  return async (resolve, root, args, ctx: RequestContext, info: GraphQLResolveInfo) => {
    const audit = ctx.services.audit;
    const org = ctx.principal?.organizationId;
    let result: unknown;
    try {
      result = await resolve(root, args, ctx, info);
    } catch (err) {
      result = err;
    }
    if (!audit.enabled) {
      if (result instanceof Error) throw result;
      return result;
    }
    if (result instanceof Error) {
      const outcome = outcomeFor(result, field);
      if (outcome) await audit.recordOutcome(ctx, outcome);
      throw result;
    }
    // The read-audit setting is needed only for a successful read: one cached lookup (control pool), after the resolver.
    const settings = org && !NOT_READ_AUDITED.has(field) ? await audit.settings.get(org).catch(() => null) : null;
    if (org && settings) {
      if (settings.readAudit !== "off") {
        let type = getNamedType(info.returnType);
        if (isObjectType(type) && type.name.endsWith("Connection")) {
          const edge = type.getFields().edges ? getNamedType(type.getFields().edges!.type) : null;
          if (edge && isObjectType(edge) && edge.getFields().node) type = getNamedType(edge.getFields().node!.type);
        }
        if (settings.readAudit === "all" || settings.sensitiveTypes.includes(type.name)) {
          const { ids } = readIds(result);
          await ctx.inTenant(async (trx) => {
            await audit.record(trx, tenantChain(org), {
              type: "data.read", resourceType: type.name, resourceId: ids.length === 1 ? ids[0]! : null,
              metadata: { operation: field, ids, count: ids.length },
            }, ctx);
          });
        }
      }
    }
    return result;
  };
}

/** Middleware map over every Mutation and Query root field of the schema. */
export function auditMiddleware(schema: GraphQLSchema): IMiddlewareFieldMap {
  const map: IMiddlewareFieldMap = {};
  const m = schema.getMutationType();
  if (m) map.Mutation = Object.fromEntries(Object.keys(m.getFields()).map((f) => [f, mutationWrapper(f)]));
  const q = schema.getQueryType();
  if (q) map.Query = Object.fromEntries(Object.keys(q.getFields()).map((f) => [f, queryWrapper(f)]));
  return map;
}

/** For rate-limit / quota layers outside GraphQL resolvers (issue 3): record a refusal for this request. */
export function recordRefusal(ctx: RequestContext, kind: "security.rate_limited" | "security.quota_exceeded", reason: string, metadata: Record<string, unknown> = {}) {
  return ctx.services.audit.recordOutcome(ctx, { type: kind, result: "denied", reason, metadata });
}

