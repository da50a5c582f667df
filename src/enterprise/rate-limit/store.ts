// Limiter state: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp per
// key) and UTC-aligned counters for daily quotas. Two stores with the same arithmetic: in-process
// (a Map) and Redis (one Lua script per decision, Redis's own clock, so several replicas share one
// exact limit). rate-limiter-flexible was the first choice, but its fixed windows allow a 2x burst
// at window edges, cannot be refunded (cost budgets refund requested − actual) and cannot align a
// window to UTC midnight; GCRA fits in a dozen lines.
import type { Redis } from "ioredis";

export interface Decision {
  allowed: boolean;
  /** requests (or cost points) still available right now */
  remaining: number;
  /** ms until the bucket is full again */
  resetMs: number;
  /** ms until this request would be admitted (0 when allowed) */
  retryAfterMs: number;
}

export interface CounterResult {
  allowed: boolean;
  used: number;
}

export interface LimiterStore {
  /** Take `cost` (negative: give back) from the bucket `key` holding `limit` per `periodMs`. */
  gcra(key: string, limit: number, periodMs: number, cost: number): Promise<Decision>;
  /** Add `amount` to a counter expiring at `expiresAtMs` unless that would pass `limit` (null: no limit). */
  count(key: string, amount: number, limit: number | null, expiresAtMs: number): Promise<CounterResult>;
  peek(key: string): Promise<number>;
}

/** All arithmetic in integer microseconds, identical in JS and Lua. */
export function gcraStep(stored: number | undefined, nowUs: number, limit: number, periodMs: number, cost: number): { decision: Decision; next: number | null } {
  const periodUs = periodMs * 1000;
  const interval = Math.ceil(periodUs / limit);
  const tat = stored !== undefined && stored > nowUs ? stored : nowUs;
  const toMs = (us: number) => Math.ceil(us / 1000);
  if (cost <= 0) {
    const next = Math.max(nowUs, tat + cost * interval);
    return { decision: { allowed: true, remaining: Math.floor((periodUs - (next - nowUs)) / interval), resetMs: toMs(next - nowUs), retryAfterMs: 0 }, next };
  }
  const next = tat + cost * interval;
  const allowAt = next - periodUs;
  if (allowAt > nowUs) {
    const retry = cost > limit ? periodUs : allowAt - nowUs;
    return { decision: { allowed: false, remaining: Math.max(0, Math.floor((periodUs - (tat - nowUs)) / interval)), resetMs: toMs(tat - nowUs), retryAfterMs: toMs(retry) }, next: null };
  }
  return { decision: { allowed: true, remaining: Math.floor((periodUs - (next - nowUs)) / interval), resetMs: toMs(next - nowUs), retryAfterMs: 0 }, next };
}

export class MemoryStore implements LimiterStore {
  private tats = new Map<string, number>();
  private counters = new Map<string, { n: number; expiresAt: number }>();
  private lastSweep = Date.now();

  async gcra(key: string, limit: number, periodMs: number, cost: number): Promise<Decision> {
    const now = Date.now() * 1000;
    this.sweep(now);
    const { decision, next } = gcraStep(this.tats.get(key), now, limit, periodMs, cost);
    if (next !== null) {
      if (next <= now) this.tats.delete(key);
      else this.tats.set(key, next);
    }
    return decision;
  }

  async count(key: string, amount: number, limit: number | null, expiresAtMs: number): Promise<CounterResult> {
    const c = this.live(key);
    const used = c?.n ?? 0;
    if (limit !== null && used + amount > limit) return { allowed: false, used };
    this.counters.set(key, { n: used + amount, expiresAt: expiresAtMs });
    return { allowed: true, used: used + amount };
  }

  async peek(key: string): Promise<number> {
    return this.live(key)?.n ?? 0;
  }

  private live(key: string) {
    const c = this.counters.get(key);
    if (c && c.expiresAt <= Date.now()) {
      this.counters.delete(key);
      return undefined;
    }
    return c;
  }

  /** Drop full buckets and expired counters now and then, so memory follows active keys only. */
  private sweep(nowUs: number) {
    if (nowUs / 1000 - this.lastSweep < 30_000) return;
    this.lastSweep = nowUs / 1000;
    for (const [k, tat] of this.tats) if (tat <= nowUs) this.tats.delete(k);
    for (const [k, c] of this.counters) if (c.expiresAt * 1000 <= nowUs) this.counters.delete(k);
  }
}

const GCRA_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local periodUs = tonumber(ARGV[2]) * 1000
local cost = tonumber(ARGV[3])
local interval = math.ceil(periodUs / limit)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local function ms(us) return math.ceil(us / 1000) end
if cost <= 0 then
  local nxt = tat + cost * interval
  if nxt < now then nxt = now end
  if nxt <= now then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', ms(nxt - now)) end
  return {1, math.floor((periodUs - (nxt - now)) / interval), ms(nxt - now), 0}
end
local nxt = tat + cost * interval
local allowAt = nxt - periodUs
if allowAt > now then
  local retry = allowAt - now
  if cost > limit then retry = periodUs end
  local rem = math.floor((periodUs - (tat - now)) / interval)
  if rem < 0 then rem = 0 end
  return {0, rem, ms(tat - now), ms(retry)}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', ms(nxt - now))
return {1, math.floor((periodUs - (nxt - now)) / interval), ms(nxt - now), 0}
`;

const COUNT_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if limit >= 0 and used + amount > limit then return {0, used} end
used = redis.call('INCRBY', KEYS[1], amount)
if used == amount then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return {1, used}
`;

type ScriptedRedis = Redis & {
  enclaveGcra(key: string, limit: number, periodMs: number, cost: number): Promise<[number, number, number, number]>;
  enclaveCount(key: string, amount: number, limit: number, expiresAt: number): Promise<[number, number]>;
};

export class RedisStore implements LimiterStore {
  private readonly r: ScriptedRedis;
  constructor(redis: Redis, private readonly prefix: string) {
    redis.defineCommand("enclaveGcra", { numberOfKeys: 1, lua: GCRA_LUA });
    redis.defineCommand("enclaveCount", { numberOfKeys: 1, lua: COUNT_LUA });
    this.r = redis as ScriptedRedis;
  }

  get ready(): boolean {
    return this.r.status === "ready";
  }

  async gcra(key: string, limit: number, periodMs: number, cost: number): Promise<Decision> {
    const [ok, remaining, resetMs, retryAfterMs] = await this.r.enclaveGcra(this.prefix + key, limit, periodMs, cost);
    return { allowed: ok === 1, remaining, resetMs, retryAfterMs };
  }

  async count(key: string, amount: number, limit: number | null, expiresAtMs: number): Promise<CounterResult> {
    const [ok, used] = await this.r.enclaveCount(this.prefix + key, amount, limit ?? -1, expiresAtMs);
    return { allowed: ok === 1, used };
  }

  async peek(key: string): Promise<number> {
    return Number((await this.r.get(this.prefix + key)) ?? 0);
  }
}

export class LimiterUnavailableError extends Error {
  override name = "LimiterUnavailableError";
}

/**
 * Redis first; when Redis is not connected or a call fails, either a per-process store whose limits
 * are divided by the configured replica count ("local": N replicas together admit about the limit,
 * never N times it) or a refusal ("closed"). Counters (daily quotas) in "local" mode are divided too.
 */
export class FailoverStore implements LimiterStore {
  private readonly local = new MemoryStore();
  private degradedSince: number | null = null;

  constructor(
    private readonly redis: RedisStore,
    private readonly mode: "local" | "closed",
    private readonly replicas: number,
    private readonly onChange: (degraded: boolean, err?: unknown) => void = () => undefined,
  ) {}

  get degraded(): boolean {
    return this.degradedSince !== null;
  }

  private scale(limit: number): number {
    return Math.max(1, Math.floor(limit / this.replicas));
  }

  private async run<T>(shared: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (this.redis.ready) {
      try {
        const out = await shared();
        if (this.degradedSince !== null) {
          this.degradedSince = null;
          this.onChange(false);
        }
        return out;
      } catch (err) {
        this.markDegraded(err);
      }
    } else this.markDegraded();
    if (this.mode === "closed") throw new LimiterUnavailableError("rate limiter store unavailable");
    return fallback();
  }

  private markDegraded(err?: unknown) {
    if (this.degradedSince === null) {
      this.degradedSince = Date.now();
      this.onChange(true, err);
    }
  }

  gcra(key: string, limit: number, periodMs: number, cost: number): Promise<Decision> {
    return this.run(() => this.redis.gcra(key, limit, periodMs, cost), () => this.local.gcra(key, this.scale(limit), periodMs, cost));
  }

  count(key: string, amount: number, limit: number | null, expiresAtMs: number): Promise<CounterResult> {
    return this.run(
      () => this.redis.count(key, amount, limit, expiresAtMs),
      () => this.local.count(key, amount, limit === null ? null : this.scale(limit), expiresAtMs),
    );
  }

  peek(key: string): Promise<number> {
    return this.run(() => this.redis.peek(key), () => this.local.peek(key));
  }
}
