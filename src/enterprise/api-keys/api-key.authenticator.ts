// API key authentication on the hot path. Order of checks: format and checksum (no I/O), then the
// key record by lookup prefix from a short in-process cache (API_KEY_CACHE_TTL_MS; the database is
// the source of truth, so a revocation reaches every replica within that bound even without Redis),
// then a constant-time hash comparison, state, IP allowlist and plan. Usage (count, last used
// at/from) is aggregated in memory and flushed in one UPDATE every API_KEY_USAGE_FLUSH_MS.
import type { BlockList } from "node:net";
import type { Knex } from "knex";
import type { Principal } from "../../context/index.js";
import { AppError, rateLimited, unauthenticated } from "../../errors/app-error.js";
import type { Logger } from "../../observability/logger.js";
import { isOrgRole, PERMISSIONS, type OrgRole, type Permission } from "../../permissions/matrix.js";
import type { PlanService } from "../plans/plans.service.js";
import type { Invalidation } from "../plans/invalidation.js";
import { MemoryStore } from "../rate-limit/store.js";
import { hashesEqual, hashKey, parseKey } from "./format.js";
import { buildAllowlist, ipAllowed } from "./ip-allowlist.js";
import { addUsage, findForAuth, type UsageDelta } from "./api-key.repository.js";

interface CachedKey {
  id: string;
  organizationId: string;
  createdBy: string;
  environment: "live" | "test";
  hash: Buffer;
  scopes: ReadonlySet<Permission>;
  rateLimitPerMinute: number | null;
  allowlist: BlockList | null;
  expiresAt: number | null;
  revoked: boolean;
  /** the creator's role now; null when they left the organization or were disabled */
  role: OrgRole | null;
}

const INVALID = "Invalid API key";
/**
 * Checksums are public, so well-formed unknown keys are cheap to make and each one costs a
 * database lookup. Per address and replica, at most this many unknown keys a minute reach the
 * database; keys this replica has seen before keep working.
 */
const UNKNOWN_KEYS_PER_MINUTE = 30;

export class ApiKeyAuthenticator {
  private cache = new Map<string, { at: number; key: CachedKey | null }>();
  private pending = new Map<string, UsageDelta>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private readonly misses = new MemoryStore();

  constructor(
    private readonly db: Knex,
    private readonly plans: PlanService,
    private readonly logger: Logger,
    private readonly opts: { cacheTtlMs: number; usageFlushMs: number },
    private readonly invalidation?: Invalidation,
  ) {
    invalidation?.on("apiKey", (prefix) => this.cache.delete(prefix));
    this.timer = setInterval(() => void this.flushUsage(), opts.usageFlushMs);
    this.timer.unref();
  }

  /** Verify a presented key and return the principal it acts as. Never echoes the key. */
  async authenticate(presented: string, ip: string | undefined, { countUse = true } = {}): Promise<Principal> {
    const parsed = parseKey(presented);
    if (!parsed) throw unauthenticated(INVALID);
    const key = await this.load(parsed.lookupPrefix, ip);
    if (!key || key.environment !== parsed.environment || !hashesEqual(hashKey(presented), key.hash)) {
      await this.misses.gcra(`miss:${ip}`, UNKNOWN_KEYS_PER_MINUTE, 60_000, 1);
      throw unauthenticated(INVALID);
    }
    if (key.revoked) throw unauthenticated("API key revoked");
    if (key.expiresAt !== null && key.expiresAt <= Date.now()) throw unauthenticated("API key expired");
    if (!key.role) throw unauthenticated("The API key's creator no longer belongs to the organization");
    if (!ipAllowed(key.allowlist, ip)) throw new AppError("FORBIDDEN", "This API key may not be used from this address");
    if (!(await this.plans.hasFeature(key.organizationId, "api_keys")))
      throw new AppError("FORBIDDEN", "API keys are not included in the organization's plan");
    if (countUse) this.recordUse(key.id, ip);
    return {
      userId: key.createdBy,
      sessionId: `apikey:${key.id}`,
      superAdmin: false,
      organizationId: key.organizationId,
      role: key.role,
      apiKey: { id: key.id, scopes: key.scopes, rateLimitPerMinute: key.rateLimitPerMinute },
    };
  }

  /**
   * Forget a key (revoke/rotate): at once here, at once on other replicas when Redis carries the
   * message, and within the cache TTL in any case.
   */
  invalidate(lookupPrefix: string): void {
    if (this.invalidation) this.invalidation.publish("apiKey", lookupPrefix);
    else this.cache.delete(lookupPrefix);
  }

  /** Requests seen on this replica but not yet flushed. */
  pendingUsage(id: string): UsageDelta | undefined {
    return this.pending.get(id);
  }

  private async load(lookupPrefix: string, ip: string | undefined): Promise<CachedKey | null> {
    const now = Date.now();
    const hit = this.cache.get(lookupPrefix);
    if (hit && now - hit.at < this.opts.cacheTtlMs) return hit.key;
    // A prefix known to be a real key (even if its entry is stale) is always refreshed.
    const misses = hit?.key ? null : await this.misses.gcra(`miss:${ip}`, UNKNOWN_KEYS_PER_MINUTE, 60_000, 0);
    if (misses && misses.remaining <= 0) {
      const wait = await this.misses.gcra(`miss:${ip}`, UNKNOWN_KEYS_PER_MINUTE, 60_000, 1);
      throw rateLimited("Too many unknown API keys from this address", Math.max(1, Math.ceil(wait.retryAfterMs / 1000)));
    }
    const row = await findForAuth(this.db, lookupPrefix);
    let key: CachedKey | null = null;
    if (row) {
      const role: OrgRole | null = row.disabled_at ? null : isOrgRole(row.member_role) ? row.member_role : row.is_super_admin ? "ADMIN" : null;
      key = {
        id: row.id,
        organizationId: row.organization_id,
        createdBy: row.created_by,
        environment: row.environment,
        hash: row.secret_hash,
        scopes: new Set(row.scopes.filter((s): s is Permission => Object.hasOwn(PERMISSIONS, s))),
        rateLimitPerMinute: row.rate_limit_per_minute,
        allowlist: buildAllowlist(row.ip_allowlist),
        expiresAt: row.expires_at ? row.expires_at.getTime() : null,
        revoked: row.revoked_at !== null,
        role,
      };
    }
    if (this.cache.size > 50_000) this.cache.clear();
    this.cache.set(lookupPrefix, { at: now, key });
    return key;
  }

  private recordUse(id: string, ip: string | undefined) {
    const d = this.pending.get(id);
    const at = new Date();
    if (d) {
      d.count++;
      d.lastUsedAt = at;
      d.lastUsedIp = ip ?? null;
    } else this.pending.set(id, { id, count: 1, lastUsedAt: at, lastUsedIp: ip ?? null });
  }

  /** Write aggregated usage; on failure the counts are kept for the next flush. */
  flushUsage(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = addUsage(this.db, [...batch.values()])
      .catch((err) => {
        this.logger.warn({ err: (err as Error).message }, "api key usage flush failed; will retry");
        for (const d of batch.values()) {
          const cur = this.pending.get(d.id);
          if (cur) {
            cur.count += d.count;
            if (d.lastUsedAt > cur.lastUsedAt) { cur.lastUsedAt = d.lastUsedAt; cur.lastUsedIp = d.lastUsedIp; }
          } else this.pending.set(d.id, d);
        }
      })
      .finally(() => {
        this.flushing = undefined;
      });
    return this.flushing;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.flushing;
    await this.flushUsage();
  }
}
