// THE one place where credentials become { principal, tenant scope, loaders }. HTTP and WebSocket
// both build their per-operation context here; nothing else reads tokens.
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { WebSocket } from "ws";
import { beginScoped } from "../db/knex.js";
import { AppError, forbidden, unauthenticated } from "../errors/app-error.js";
import type { ClientInfo } from "../auth/identity.service.js";
import { roleHas, type OrgRole, type Permission, type Role } from "../permissions/matrix.js";
import { tenantPrelude, tenantRef, type TenantRef } from "../tenancy/scope.js";
import { looksLikeApiKey } from "../enterprise/api-keys/format.js";
import { createLoaders, type Loaders } from "./loaders.js";
import type { Services } from "./services.js";

export interface Principal {
  /** the user, or for an API key the user who created it */
  userId: string;
  /** refresh-session family: the login this credential belongs to */
  sessionId: string;
  superAdmin: boolean;
  organizationId: string | null;
  role: OrgRole | null;
  /** Set when the credential is an API key: it acts as its organization's service account, limited to its scopes. */
  apiKey?: { id: string; scopes: ReadonlySet<Permission>; rateLimitPerMinute?: number | null };
  /** When the credential stops being valid (epoch seconds); WebSocket connections close then. */
  expiresAt?: number;
}

export type Transport = "http" | "ws";

export interface RequestContext {
  requestId: string;
  transport: Transport;
  principal: Principal | null;
  client: ClientInfo;
  services: Services;
  loaders: Loaders;
  /** WebSocket operations: the connection's socket (live subscriptions watch its send buffer). */
  socket?: WebSocket;
  /** The effective role for permission checks (super admins act as SUPER_ADMIN everywhere). */
  readonly effectiveRole: Role | null;
  can(permission: Permission): boolean;
  /** The organization in scope; FORBIDDEN when the caller has none. */
  requireTenant(): TenantRef;
  /**
   * Run work in the caller's tenant scope. Over HTTP every call shares one lazily opened request
   * transaction (committed or rolled back when the response is sent); over WebSocket each call
   * is its own short transaction (during a mutation field the audit wrapper routes them through
   * one). Mutations that also change control-plane rows run those statements in it with
   * withControlStatements (src/tenancy/scope.ts) — mutations only, never from a query resolver.
   */
  inTenant<T>(fn: (trx: Knex.Transaction) => Promise<T>): Promise<T>;
  /** Run after the request transaction commits (publish events, invalidate caches). */
  afterCommit(fn: () => void): void;
  /**
   * Run `work` with every inTenant call sharing one transaction, committed when it succeeds (then the
   * afterCommit hooks run) and rolled back when it fails. Over HTTP the request already has one
   * transaction, so this is just `work()`; over WebSocket it makes one mutation field atomic.
   */
  inOneTransaction<T>(work: () => Promise<T>): Promise<T>;
  /** End the request: commit (ok) or roll back, then run afterCommit hooks if committed. */
  finish(ok: boolean): Promise<void>;
}

export interface CredentialInput {
  authorization?: string | null;
  client: ClientInfo;
  requestId?: string;
  transport: Transport;
  socket?: WebSocket;
}

/** The token of an `Authorization: Bearer <token>` header; null without a header; UNAUTHENTICATED for another scheme. */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!m) throw unauthenticated("Authorization must be 'Bearer <token>'");
  return m[1]!;
}

export function authenticate(services: Services, authorization: string | null | undefined): Principal | null {
  const token = bearerToken(authorization);
  if (!token) return null;
  const claims = services.tokens.verifyAccess(token);
  return {
    userId: claims.sub,
    sessionId: claims.sid,
    superAdmin: claims.sa === true,
    organizationId: claims.org ?? null,
    role: claims.role ?? null,
    expiresAt: claims.exp,
  };
}

/**
 * Every credential: an API key (`X-API-Key`, or `Authorization: Bearer sk_…`) or an access token
 * (`Authorization: Bearer <jwt>`). A key's organization comes from the key record, never from a header.
 */
export async function authenticateCredentials(
  services: Services,
  c: { authorization?: string | null; apiKey?: string | null; ip?: string },
): Promise<Principal | null> {
  if (c.apiKey) {
    if (c.authorization) throw unauthenticated("Send either X-API-Key or Authorization, not both");
    return services.apiKeys.authenticate(c.apiKey, c.ip);
  }
  const bearer = bearerToken(c.authorization);
  if (bearer && looksLikeApiKey(bearer)) return services.apiKeys.authenticate(bearer, c.ip);
  return authenticate(services, c.authorization);
}

export function createContext(services: Services, principal: Principal | null, input: Omit<CredentialInput, "authorization">): RequestContext {
  let trxPromise: Promise<Knex.Transaction> | undefined;
  let hooks: Array<() => void> | undefined;
  // HTTP: one lazily opened transaction per request. WebSocket: one per inTenant call, except inside inOneTransaction.
  let shared = input.transport === "http";
  let tenant: TenantRef | undefined;
  const effectiveRole: Role | null = principal ? (principal.superAdmin ? "SUPER_ADMIN" : principal.role) : null;

  const requireTenant = (): TenantRef => {
    if (!principal) throw unauthenticated();
    if (!principal.organizationId) throw forbidden("No organization selected: call switchOrganization first");
    return (tenant ??= tenantRef(principal.organizationId));
  };

  const openScoped = async (): Promise<Knex.Transaction> => {
    const t = requireTenant();
    const org = await services.registry.get(t.id);
    if (!org || org.status !== "active") throw new AppError("FORBIDDEN", "The organization is not active");
    return beginScoped(services.db.app, tenantPrelude(t));
  };

  const ctx: RequestContext = {
    requestId: input.requestId ?? randomUUID(),
    transport: input.transport,
    principal,
    client: input.client,
    socket: input.socket,
    services,
    loaders: undefined as unknown as Loaders,
    effectiveRole,
    can: (permission) =>
      effectiveRole !== null && roleHas(effectiveRole, permission) && (!principal?.apiKey || principal.apiKey.scopes.has(permission)),
    requireTenant,
    async inTenant(fn) {
      if (!shared) {
        const trx = await openScoped();
        try {
          const out = await fn(trx);
          await trx.commit();
          return out;
        } catch (err) {
          await trx.rollback(err).catch(() => undefined);
          throw err;
        }
      }
      trxPromise ??= openScoped();
      return fn(await trxPromise);
    },
    afterCommit(fn) {
      // Outside a shared transaction every inTenant call has committed before it returns.
      if (!shared) return void queueMicrotask(fn);
      (hooks ??= []).push(fn);
    },
    async inOneTransaction(work) {
      if (shared) return work();
      shared = true;
      try {
        let out: Awaited<ReturnType<typeof work>>;
        try {
          out = await work();
        } catch (err) {
          await ctx.finish(false).catch(() => undefined);
          throw err;
        }
        await ctx.finish(true);
        return out;
      } finally {
        shared = false;
      }
    },
    async finish(ok) {
      const pending = trxPromise;
      trxPromise = undefined;
      if (pending) {
        const trx = await pending.catch(() => undefined);
        if (trx && !trx.isCompleted()) {
          if (ok) await trx.commit();
          else await trx.rollback().catch(() => undefined);
        }
      }
      const run = hooks;
      hooks = undefined;
      if (ok && run) for (const h of run) {
        try { h(); } catch (err) { services.logger.error({ err }, "afterCommit hook failed"); }
      }
    },
  };
  ctx.loaders = createLoaders(ctx);
  return ctx;
}
