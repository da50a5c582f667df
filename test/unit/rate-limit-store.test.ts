import { describe, expect, it } from "vitest";
import { FailoverStore, gcraStep, LimiterUnavailableError, MemoryStore, type RedisStore } from "../../src/enterprise/rate-limit/store.js";
import { rateLimitHeaders } from "../../src/enterprise/rate-limit/limiter.js";

const MIN = 60_000;

describe("GCRA", () => {
  it("admits the limit at once, then one request per emission interval", () => {
    let tat: number | undefined;
    const now = 1_000_000_000;
    const admitted: boolean[] = [];
    for (let i = 0; i < 7; i++) {
      const { decision, next } = gcraStep(tat, now, 6, MIN, 1);
      admitted.push(decision.allowed);
      if (next !== null) tat = next;
    }
    expect(admitted).toEqual([true, true, true, true, true, true, false]);
    const denied = gcraStep(tat, now, 6, MIN, 1).decision;
    expect(denied.retryAfterMs).toBe(10_000);
    expect(denied.remaining).toBe(0);
    // 10 s later exactly one more request fits
    expect(gcraStep(tat, now + 10_000_000, 6, MIN, 1).decision.allowed).toBe(true);
  });

  it("reports remaining and reset, and refunds with a negative cost", () => {
    const now = 5_000_000_000;
    const a = gcraStep(undefined, now, 100, MIN, 40);
    expect(a.decision).toMatchObject({ allowed: true, remaining: 60, resetMs: 24_000 });
    const b = gcraStep(a.next!, now, 100, MIN, -30);
    expect(b.decision.remaining).toBe(90);
    const c = gcraStep(b.next!, now, 100, MIN, -500);
    expect(c.next).toBe(now);
    expect(c.decision.remaining).toBe(100);
  });

  it("never admits a cost larger than the limit", () => {
    const d = gcraStep(undefined, 1, 50, MIN, 51).decision;
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(MIN);
  });

  it("formats the IETF RateLimit headers", () => {
    const h = rateLimitHeaders([
      { policy: { name: "org", limit: 60, periodMs: MIN }, decision: { allowed: true, remaining: 59, resetMs: 1_000, retryAfterMs: 0 } },
      { policy: { name: "user", limit: 600, periodMs: MIN }, decision: { allowed: true, remaining: 599, resetMs: 100, retryAfterMs: 0 } },
    ]);
    expect(h).toEqual({ policy: `"org";q=60;w=60, "user";q=600;w=60`, state: `"org";r=59;t=1, "user";r=599;t=1` });
  });
});

describe("MemoryStore", () => {
  it("counts up to a limit and no further", async () => {
    const s = new MemoryStore();
    const exp = Date.now() + 60_000;
    expect((await s.count("k", 1, 2, exp)).allowed).toBe(true);
    expect((await s.count("k", 1, 2, exp)).allowed).toBe(true);
    expect(await s.count("k", 1, 2, exp)).toEqual({ allowed: false, used: 2 });
    expect(await s.peek("k")).toBe(2);
  });
});

describe("FailoverStore with Redis unreachable", () => {
  const down = { ready: false } as unknown as RedisStore;

  it('"local": per-process limits divided by the replica count', async () => {
    const s = new FailoverStore(down, "local", 3, () => undefined);
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await s.gcra("org:x", 6, MIN, 1)).allowed);
    expect(results).toEqual([true, true, false, false, false]);
    expect(s.degraded).toBe(true);
  });

  it('"closed": refuses instead of guessing', async () => {
    const s = new FailoverStore(down, "closed", 1, () => undefined);
    await expect(s.gcra("org:x", 6, MIN, 1)).rejects.toBeInstanceOf(LimiterUnavailableError);
    await expect(s.count("calls:x", 1, 10, Date.now() + 1000)).rejects.toBeInstanceOf(LimiterUnavailableError);
  });

  it("falls back when a Redis call fails, and recovers", async () => {
    let fail = true;
    const flaky = {
      ready: true,
      gcra: async () => {
        if (fail) throw new Error("connection lost");
        return { allowed: true, remaining: 99, resetMs: 1, retryAfterMs: 0 };
      },
    } as unknown as RedisStore;
    const events: boolean[] = [];
    const s = new FailoverStore(flaky, "local", 2, (d) => events.push(d));
    expect((await s.gcra("k", 4, MIN, 1)).remaining).toBe(1); // local: 4 / 2 replicas = 2, one used
    fail = false;
    expect((await s.gcra("k", 4, MIN, 1)).remaining).toBe(99);
    expect(events).toEqual([true, false]);
  });
});
