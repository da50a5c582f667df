// API key management for the caller's organization: create (scopes never beyond the creator's),
// list, inspect, rotate with an overlap window, revoke. Secrets leave this module once, in the
// create/rotate result; only hashes are stored.
import type { Knex } from "knex";
import type { RequestContext } from "../../context/index.js";
import { enrichAudit } from "../audit/recorder.js";
import { withControlStatements } from "../../tenancy/scope.js";
import { badInput, conflict, forbidden, notFound, unauthenticated } from "../../errors/app-error.js";
import { checkPageSize, decodeCursor, toPage } from "../../modules/common/connection.js";
import * as v from "../../modules/common/validation.js";
import { PERMISSIONS, type Permission } from "../../permissions/matrix.js";
import { parseId } from "../../tenancy/naming.js";
import { generateKey, type KeyEnvironment } from "./format.js";
import { normalizeCidrs } from "./ip-allowlist.js";
import * as repo from "./api-key.repository.js";
import { ApiKeyStatusEnum, type ApiKey, type ApiKeyEnvironmentEnum, type CreateApiKeyInput } from "./api-key.type.js";

export const MAX_ACTIVE_KEYS = 100;
export const DEFAULT_OVERLAP_SECONDS = 3_600;
export const MAX_OVERLAP_SECONDS = 7 * 86_400;
const MAX_RATE = 1_000_000;

export function toApiKey(ctx: RequestContext, row: repo.ApiKeyRow): ApiKey {
  const now = Date.now();
  const status = row.revokedAt ? ApiKeyStatusEnum.REVOKED
    : row.expiresAt && row.expiresAt.getTime() <= now ? ApiKeyStatusEnum.EXPIRED
      : row.rotatedTo ? ApiKeyStatusEnum.ROTATING : ApiKeyStatusEnum.ACTIVE;
  const pending = ctx.services.apiKeys.pendingUsage(row.id);
  const last = pending && (!row.lastUsedAt || pending.lastUsedAt > row.lastUsedAt) ? pending : null;
  return {
    id: row.id,
    name: row.name,
    environment: row.environment as ApiKeyEnvironmentEnum,
    prefix: `sk_${row.environment}_${row.lookupPrefix.slice(0, 6)}`,
    last4: row.last4,
    scopes: row.scopes,
    status,
    rateLimitPerMinute: row.rateLimitPerMinute,
    ipAllowlist: row.ipAllowlist,
    createdBy: row.createdBy,
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    rotatedFromId: row.rotatedFrom,
    rotatedToId: row.rotatedTo,
    usage: {
      requestCount: Number(row.requestCount) + (pending?.count ?? 0),
      lastUsedAt: last ? last.lastUsedAt : row.lastUsedAt,
      lastUsedIp: last ? last.lastUsedIp : row.lastUsedIp,
    },
  };
}

/** Scopes must be known permissions the caller holds right now (for a key caller: within its scopes). */
export function checkScopes(ctx: RequestContext, scopes: readonly string[]): Permission[] {
  if (!Array.isArray(scopes) || scopes.length === 0) throw badInput("scopes must name at least one permission", "scopes");
  const out = [...new Set(scopes)];
  for (const s of out) {
    if (!Object.hasOwn(PERMISSIONS, s)) throw badInput(`unknown permission: ${String(s).slice(0, 60)}`, "scopes");
    if (s === "platform:manage") throw forbidden("API keys act within one organization and cannot carry platform:manage");
    if (!ctx.can(s as Permission)) throw forbidden(`You cannot grant ${s}: you do not hold it`);
  }
  return out as Permission[];
}

function creator(ctx: RequestContext): string {
  if (!ctx.principal) throw unauthenticated();
  return ctx.principal.userId;
}

/**
 * Key changes are control-plane rows changed inside the request's transaction, so they commit or
 * roll back with the mutation and its audit event (mutations only: see withControlStatements).
 */
function inRequestTransaction<T>(ctx: RequestContext, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  const tenant = ctx.requireTenant();
  return ctx.inTenant((trx) => withControlStatements(trx, tenant, () => fn(trx)));
}

/** The audit event names the key (never its secret). */
function describeForAudit(row: repo.ApiKeyRow, extra: Record<string, unknown> = {}) {
  enrichAudit({
    resourceType: "ApiKey",
    resourceId: row.id,
    after: { name: row.name, environment: row.environment, last4: row.last4, scopes: row.scopes, expiresAt: row.expiresAt, revokedAt: row.revokedAt, ...extra },
  });
}

export async function createApiKey(ctx: RequestContext, input: CreateApiKeyInput) {
  const orgId = ctx.requireTenant().id;
  const createdBy = creator(ctx);
  const name = v.text(input.name, "name", 100);
  const scopes = checkScopes(ctx, input.scopes);
  const environment = (input.environment ?? "live") as KeyEnvironment;
  if (input.expiresAt != null && !(input.expiresAt instanceof Date && input.expiresAt.getTime() > Date.now()))
    throw badInput("expiresAt must be in the future", "expiresAt");
  const rate = input.rateLimitPerMinute ?? null;
  if (rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE)) throw badInput(`rateLimitPerMinute must be 1..${MAX_RATE}`, "rateLimitPerMinute");
  const ipAllowlist = normalizeCidrs(input.ipAllowlist ?? []);
  const key = generateKey(environment);
  const row = await inRequestTransaction(ctx, async (trx) => {
    // The organization row lock serialises concurrent creations, so the cap holds.
    await trx.withSchema("control").table("organizations").first("id").where({ id: orgId }).forUpdate();
    if ((await repo.countKeys(trx, orgId, true)) >= MAX_ACTIVE_KEYS) throw conflict(`An organization may have at most ${MAX_ACTIVE_KEYS} active keys`);
    return repo.insertKey(trx, {
      organizationId: orgId, createdBy, name, environment, lookupPrefix: key.lookupPrefix, secretHash: key.hash,
      last4: key.last4, scopes, rateLimitPerMinute: rate, ipAllowlist, expiresAt: input.expiresAt ?? null,
    });
  });
  describeForAudit(row);
  return { apiKey: toApiKey(ctx, row), secret: key.secret };
}

export async function listApiKeys(ctx: RequestContext, args: { first: number; after?: string | null; includeInactive?: boolean | null }) {
  const orgId = ctx.requireTenant().id;
  const first = checkPageSize(args.first);
  const db = ctx.services.db.control;
  const includeInactive = args.includeInactive ?? false;
  const rows = await repo.listKeys(db, orgId, { first, after: decodeCursor(args.after), includeInactive });
  const page = toPage(rows, first, () => repo.countKeys(db, orgId, !includeInactive));
  return {
    edges: page.edges.map((e) => ({ cursor: e.cursor, node: toApiKey(ctx, e.node) })),
    pageInfo: page.pageInfo,
    get totalCount() {
      return page.totalCount;
    },
  };
}

export async function getApiKey(ctx: RequestContext, idInput: string) {
  const row = await repo.getKey(ctx.services.db.control, ctx.requireTenant().id, parseId(idInput));
  if (!row) throw notFound("API key");
  return toApiKey(ctx, row);
}

/** A new key with the same settings; the old one stays valid for `overlapSeconds`, then expires. */
export async function rotateApiKey(ctx: RequestContext, idInput: string, overlapInput?: number | null) {
  const orgId = ctx.requireTenant().id;
  const id = parseId(idInput);
  const createdBy = creator(ctx);
  const overlap = overlapInput ?? DEFAULT_OVERLAP_SECONDS;
  if (!Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS) throw badInput(`overlapSeconds must be 0..${MAX_OVERLAP_SECONDS}`, "overlapSeconds");
  const { row, old, secret } = await inRequestTransaction(ctx, async (trx) => {
    const old = await repo.getKey(trx, orgId, id, true);
    if (!old) throw notFound("API key");
    if (old.revokedAt || (old.expiresAt && old.expiresAt.getTime() <= Date.now())) throw conflict("Only an active key can be rotated");
    if (old.rotatedTo) throw conflict("This key was already rotated; rotate its replacement instead");
    // The replacement is created by the caller, so it may not carry more than the caller holds.
    const scopes = checkScopes(ctx, old.scopes);
    const key = generateKey(old.environment);
    const row = await repo.insertKey(trx, {
      organizationId: orgId, createdBy, name: old.name, environment: old.environment, lookupPrefix: key.lookupPrefix,
      secretHash: key.hash, last4: key.last4, scopes, rateLimitPerMinute: old.rateLimitPerMinute,
      ipAllowlist: old.ipAllowlist, expiresAt: old.expiresAt, rotatedFrom: old.id,
    });
    const updated = await repo.markRotated(trx, old.id, row.id, overlap);
    return { row, old: updated, secret: key.secret };
  });
  ctx.afterCommit(() => ctx.services.apiKeys.invalidate(old.lookupPrefix));
  describeForAudit(row, { rotatedFrom: old.id });
  return { apiKey: toApiKey(ctx, row), secret };
}

export async function revokeApiKey(ctx: RequestContext, idInput: string) {
  const orgId = ctx.requireTenant().id;
  const id = parseId(idInput);
  const row = await inRequestTransaction(ctx, (trx) => repo.revokeKey(trx, orgId, id));
  if (!row) throw notFound("API key");
  ctx.afterCommit(() => ctx.services.apiKeys.invalidate(row.lookupPrefix));
  describeForAudit(row);
  return toApiKey(ctx, row);
}
