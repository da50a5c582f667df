// Rate limits per organization, API key, user and (anonymous) address; the per-minute query-cost
// budget per organization; and the daily API-call quota. Limits come from the organization's
// effective plan, so a plan change applies to the next request.
import { Redis } from "ioredis";
import type { Config } from "../../config/index.js";
import type { Principal } from "../../context/index.js";
import type { Logger } from "../../observability/logger.js";
import type { PlanService } from "../plans/plans.service.js";
import { FailoverStore, MemoryStore, RedisStore, type Decision, type LimiterStore } from "./store.js";

export interface Policy {
  /** name used in the RateLimit headers: org, key, user or ip */
  name: string;
  limit: number;
  periodMs: number;
}

export interface Outcome {
  policy: Policy;
  decision: Decision;
}

export interface RequestVerdict {
  outcomes: Outcome[];
  /** the first policy that refused the request */
  denied?: Outcome;
}

const MINUTE = 60_000;

export function nextUtcMidnight(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}

const utcDay = (now = new Date()) => now.toISOString().slice(0, 10);

export class RateLimitService {
  readonly store: LimiterStore;
  private readonly redis: Redis | null;

  constructor(private readonly config: Config, private readonly plans: PlanService, logger: Logger) {
    const l = config.limits;
    if (config.redisUrl) {
      // A dedicated connection that fails fast: with no offline queue, a command while Redis is
      // down errors at once and the failover store decides, instead of every request waiting.
      this.redis = new Redis(config.redisUrl, {
        connectionName: "enclave-limits",
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        commandTimeout: 500,
        retryStrategy: (times) => Math.min(times * 200, 2_000),
      });
      this.redis.on("error", () => undefined); // state changes are logged by the failover store
      this.store = new FailoverStore(new RedisStore(this.redis, l.keyPrefix), l.redisFailure, l.replicas, (degraded, err) => {
        if (degraded) logger.error({ err: (err as Error | undefined)?.message, mode: l.redisFailure, replicas: l.replicas }, "rate limiter: Redis unreachable, using fail-safe");
        else logger.warn("rate limiter: Redis reachable again, limits shared");
      });
    } else {
      this.redis = null;
      this.store = new MemoryStore();
    }
  }

  get enabled(): boolean {
    return this.config.limits.rateLimitsEnabled;
  }

  /** The per-minute request policies that apply to a caller, most specific last. */
  async policiesFor(principal: Principal | null, ip: string | undefined): Promise<Array<{ key: string; policy: Policy }>> {
    const l = this.config.limits;
    const out: Array<{ key: string; policy: Policy }> = [];
    if (!principal) {
      out.push({ key: `ip:${ip ?? "unknown"}`, policy: { name: "ip", limit: l.anonymousPerMinute, periodMs: MINUTE } });
      return out;
    }
    if (principal.organizationId) {
      const plan = await this.plans.resolve(principal.organizationId);
      const rpm = plan?.limits.requestsPerMinute;
      if (rpm != null) out.push({ key: `org:${principal.organizationId}:${rpm}`, policy: { name: "org", limit: rpm, periodMs: MINUTE } });
    }
    if (principal.apiKey) {
      // A key without a limit of its own gets the per-user limit: never unthrottled, even on an unlimited plan.
      const rpm = principal.apiKey.rateLimitPerMinute ?? l.userPerMinute;
      out.push({ key: `key:${principal.apiKey.id}:${rpm}`, policy: { name: "key", limit: rpm, periodMs: MINUTE } });
    } else {
      out.push({ key: `user:${principal.userId}`, policy: { name: "user", limit: l.userPerMinute, periodMs: MINUTE } });
    }
    return out;
  }

  /**
   * Take one request from every applicable bucket. A request refused by one bucket still
   * consumed the others it passed (checked in parallel, one round trip each).
   */
  async admit(principal: Principal | null, ip: string | undefined): Promise<RequestVerdict> {
    const policies = await this.policiesFor(principal, ip);
    const decisions = await Promise.all(policies.map((p) => this.store.gcra(p.key, p.policy.limit, p.policy.periodMs, 1)));
    const outcomes = policies.map((p, i) => ({ policy: p.policy, decision: decisions[i]! }));
    return { outcomes, denied: outcomes.find((o) => !o.decision.allowed) };
  }

  /**
   * Everything a request passes before GraphQL work: its rate-limit buckets and, for an
   * organization's caller, the daily API-call quota. Both go out together (one round trip to
   * Redis); a call refused by a rate limit is taken off the daily count again.
   */
  async admitRequest(principal: Principal | null, ip: string | undefined) {
    const orgId = principal?.organizationId ?? null;
    const dailyLimit = orgId && this.config.limits.quotasEnabled ? ((await this.plans.resolve(orgId))?.limits.apiCallsPerDay ?? null) : null;
    const [verdict, day] = await Promise.all([
      this.admit(principal, ip),
      orgId ? this.countDailyCall(orgId, dailyLimit) : Promise.resolve(null),
    ]);
    if (verdict.denied && day?.allowed) this.uncountDailyCall(orgId!);
    return { verdict, day };
  }

  private uncountDailyCall(organizationId: string) {
    this.store.count(`calls:${organizationId}:${utcDay()}`, -1, null, nextUtcMidnight().getTime() + MINUTE).catch(() => undefined);
  }

  /** Count one API call against the organization's daily quota (UTC day). */
  async countDailyCall(organizationId: string, limit: number | null) {
    const resetsAt = nextUtcMidnight();
    const r = await this.store.count(`calls:${organizationId}:${utcDay()}`, 1, limit, resetsAt.getTime() + MINUTE);
    return { ...r, limit, resetsAt };
  }

  dailyCalls(organizationId: string): Promise<number> {
    return this.store.peek(`calls:${organizationId}:${utcDay()}`);
  }

  /** Take `cost` points from the organization's per-minute cost budget (negative: refund). */
  costBudget(organizationId: string, costPerMinute: number, cost: number): Promise<Decision> {
    return this.store.gcra(`cost:${organizationId}:${costPerMinute}`, costPerMinute, MINUTE, cost);
  }

  /** Wait (bounded) for the first connection so a fresh replica starts with shared limits. */
  async connect(timeoutMs = 2_000): Promise<boolean> {
    const r = this.redis;
    if (!r) return true;
    if (r.status === "ready") return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        r.off("ready", onReady);
        r.off("error", onError);
        resolve(ok);
      };
      const onReady = () => done(true);
      const onError = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      r.once("ready", onReady);
      r.once("error", onError);
    });
  }

  async stop(): Promise<void> {
    if (this.redis) this.redis.disconnect();
  }
}

/** IETF draft-ietf-httpapi-ratelimit-headers: one list item per policy that applied. */
export function rateLimitHeaders(outcomes: Outcome[]): { policy: string; state: string } | null {
  if (outcomes.length === 0) return null;
  return {
    policy: outcomes.map((o) => `"${o.policy.name}";q=${o.policy.limit};w=${Math.round(o.policy.periodMs / 1000)}`).join(", "),
    state: outcomes.map((o) => `"${o.policy.name}";r=${o.decision.remaining};t=${Math.ceil(o.decision.resetMs / 1000)}`).join(", "),
  };
}
