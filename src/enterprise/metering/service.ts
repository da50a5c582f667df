// Metering, wired: the in-memory meter, the periodic flush (idempotent batches), the per-second
// live tick (usageUpdated + alertRaised), the storage measurement and retention jobs, the
// connection registry and the live fan-out hub. Built once in app.ts (services.metering).
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Config } from "../../config/index.js";
import type { Databases } from "../../db/index.js";
import type { PubSub } from "../../db/pubsub.js";
import type { Logger } from "../../observability/logger.js";
import type { PlanLimits } from "../plans/catalog.js";
import { effectiveThresholds, evaluateAlerts, type AlertCandidate } from "./alerts.js";
import { ConnectionRegistry } from "./connections.js";
import type { AlertPayload, UsageTickPayload } from "./events.js";
import { percentiles } from "./histogram.js";
import { LiveHub } from "./live.js";
import { Meter, type OperationRecord } from "./meter.js";
import { GB, roundCents, totalCents } from "./pricing.js";
import { apiCallsRemaining } from "./quota.js";
import { applyRetention, loadBaselines, measureStorage, monthStart, writeBatch, type Baseline, type WriteHooks } from "./store.js";

const BASELINE_TTL_MS = 15_000;
const RETENTION_INTERVAL_MS = 3_600_000;

export interface MeteringDeps {
  config: Config;
  db: Databases;
  logger: Logger;
  pubsub: PubSub;
  redis: Redis | null;
  /** Effective plan limits with the organization's overrides (the plans service); default: the catalogue. */
  limitsFor?: (organizationId: string) => Promise<PlanLimits | null>;
}

export class Metering {
  /** false: record() is a no-op (METERING_ENABLED; the benchmark toggles it at runtime) */
  enabled: boolean;
  readonly meter: Meter;
  readonly hub: LiveHub;
  readonly connections: ConnectionRegistry;
  readonly replicaId: string;
  /** test hook for writeBatch */
  writeHooks: WriteHooks = {};
  private baselines = new Map<string, { at: number; b: Baseline }>();
  private localAlerts = new Map<string, number>();
  private timers: NodeJS.Timeout[] = [];
  private flushing?: Promise<void>;
  private ticking = false;
  private started = false;

  constructor(private readonly deps: MeteringDeps) {
    this.enabled = deps.config.metering.enabled;
    this.replicaId = randomUUID();
    this.meter = new Meter(this.replicaId);
    this.hub = new LiveHub(deps.pubsub, deps.logger);
    this.connections = new ConnectionRegistry(deps.pubsub, deps.config.metering, deps.logger);
  }

  /** Hot path: synchronous, never throws, never awaits. */
  record(r: OperationRecord): void {
    if (!this.enabled) return;
    try {
      this.meter.record(r);
    } catch (err) {
      this.deps.logger.error({ err }, "metering record failed");
    }
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.connections.start();
    if (!this.enabled) return;
    const m = this.deps.config.metering;
    const every = (ms: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch((err) => this.deps.logger.warn({ err: (err as Error).message }, "metering job failed")), ms);
      t.unref();
      this.timers.push(t);
    };
    every(1_000, () => this.tick());
    every(m.flushIntervalMs, () => this.flush());
    every(m.storageIntervalMs, () => this.measureStorage());
    every(RETENTION_INTERVAL_MS, () => applyRetention(this.deps.db.control, m.retention));
    const first = setTimeout(() => void this.measureStorage().catch(() => undefined), 2_000);
    first.unref();
    this.timers.push(first);
  }

  /** Graceful stop: timers off, the last flush written, live subscribers ended. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    if (this.enabled) {
      // A flush already running sealed before the last records: wait for it, then flush again.
      await this.flush().catch(() => undefined);
      await this.flush().catch((err) => this.deps.logger.error({ err }, "final metering flush failed"));
    }
    await this.connections.stop();
    await this.hub.stop();
  }

  /** Seal the current aggregates and write every pending batch, oldest first. Never runs twice at once. */
  flush(): Promise<void> {
    this.flushing ??= this.doFlush().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async doFlush(): Promise<void> {
    this.meter.seal();
    const touched = new Set<string>();
    while (this.meter.pending.length) {
      const batch = this.meter.pending[0]!;
      try {
        await writeBatch(this.deps.db.control, batch, this.writeHooks);
      } catch (err) {
        this.deps.logger.warn({ err: (err as Error).message, seq: batch.seq, pending: this.meter.pending.length }, "metering flush failed; will retry");
        break;
      }
      this.meter.pending.shift();
      for (const org of batch.perOrg.keys()) touched.add(org);
      // Reload the flushed figures before the counts stop being "unflushed", so live totals never dip.
      await this.refreshBaselines([...batch.perOrg.keys()]).catch(() => undefined);
      this.meter.settle(batch);
    }
  }

  async measureStorage(): Promise<number> {
    const n = await measureStorage(this.deps.db.admin);
    this.baselines.clear();
    return n;
  }

  private async refreshBaselines(orgIds: string[]): Promise<void> {
    if (!orgIds.length) return;
    const loaded = await loadBaselines(this.deps.db.control, orgIds);
    const limitsFor = this.deps.limitsFor;
    if (limitsFor) {
      await Promise.all([...loaded].map(async ([id, b]) => {
        b.apiCallsPerDay = (await limitsFor(id).catch(() => null))?.apiCallsPerDay;
      }));
    }
    const at = Date.now();
    for (const [id, b] of loaded) this.baselines.set(id, { at, b });
  }

  private async baselinesFor(orgIds: string[]): Promise<Map<string, Baseline>> {
    const now = Date.now();
    const stale = orgIds.filter((id) => {
      const c = this.baselines.get(id);
      return !c || now - c.at > BASELINE_TTL_MS;
    });
    if (stale.length) await this.refreshBaselines(stale);
    if (this.baselines.size > 50_000) this.baselines.clear();
    const out = new Map<string, Baseline>();
    for (const id of orgIds) {
      const c = this.baselines.get(id);
      if (c) out.set(id, c.b);
    }
    return out;
  }

  /** Current live totals of one organization (flushed by every replica + unflushed here). */
  async liveTotals(organizationId: string) {
    const b = (await this.baselinesFor([organizationId])).get(organizationId);
    return this.totalsFrom(organizationId, b);
  }

  private totalsFrom(organizationId: string, b: Baseline | undefined) {
    const u = this.meter.unflushed.get(organizationId);
    const callsToday = (b?.callsToday ?? 0) + (u?.calls ?? 0);
    const now = new Date();
    const start = monthStart(now);
    const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
    const elapsed = (now.getTime() - start.getTime()) / (next.getTime() - start.getTime());
    const generations = (b?.generationsMonth ?? 0) + (u?.generations ?? 0);
    const cost = totalCents({
      calls: (b?.callsMonth ?? 0) + (u?.calls ?? 0),
      generations,
      executions: (b?.executionsMonth ?? 0) + (u?.executions ?? 0),
      storageGbMonths: ((b?.storageBytes ?? 0) / GB) * elapsed,
    });
    const quota = apiCallsRemaining(b?.plan, callsToday, b?.apiCallsPerDay);
    return { callsToday, generationsThisMonth: generations, costToDateCents: roundCents(cost), apiCallsPerDay: quota.limit, quotaRemaining: quota.remaining };
  }

  /** Once a second: publish each organization's last-second figures (only with traffic), then judge alerts. */
  async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const active = this.meter.tick();
      if (!active.length) return;
      const baselines = await this.baselinesFor(active.map((a) => a.organizationId)).catch((err) => {
        this.deps.logger.warn({ err: (err as Error).message }, "live baselines unavailable");
        return new Map<string, Baseline>();
      });
      const at = new Date().toISOString();
      const day = at.slice(0, 10);
      for (const { organizationId, state, second } of active) {
        const b = baselines.get(organizationId);
        const totals = this.totalsFrom(organizationId, b);
        const p = percentiles(second.hist);
        const payload: UsageTickPayload = {
          organizationId, replicaId: this.replicaId, at, windowSeconds: 1,
          calls: second.calls, errors: second.errors, errorRate: second.calls ? second.errors / second.calls : 0,
          p50Ms: p.p50, p95Ms: p.p95, p99Ms: p.p99, bytesOut: second.bytesOut, ...totals,
        };
        this.deps.pubsub.publish("USAGE_UPDATED", organizationId, payload);
        this.deps.pubsub.publish("USAGE_UPDATED", "all", payload);
        const candidates = evaluateAlerts({
          organizationId, thresholds: effectiveThresholds(b?.thresholds), callsToday: totals.callsToday,
          apiCallsPerDay: totals.apiCallsPerDay, window: state.window, day,
        });
        for (const c of candidates) void this.raise(organizationId, c, at);
      }
    } finally {
      this.ticking = false;
    }
  }

  /** Raise an alert once per cooldown across all replicas (Redis SET NX), or per process without Redis. */
  private async raise(organizationId: string, c: AlertCandidate, at: string): Promise<void> {
    const key = `${this.deps.config.pubsubPrefix}alert:${c.dedupeKey}`;
    if (this.deps.redis) {
      const ok = await this.deps.redis.set(key, this.replicaId, "PX", c.cooldownMs, "NX").catch(() => null);
      if (ok !== "OK") return;
    } else {
      const now = Date.now();
      if ((this.localAlerts.get(key) ?? 0) > now) return;
      if (this.localAlerts.size > 10_000) this.localAlerts.clear();
      this.localAlerts.set(key, now + c.cooldownMs);
    }
    const payload: AlertPayload = {
      id: randomUUID(), organizationId, kind: c.kind, severity: c.severity, message: c.message, value: c.value, threshold: c.threshold, at,
    };
    this.deps.pubsub.publish("ALERT_RAISED", organizationId, payload);
    this.deps.pubsub.publish("ALERT_RAISED", "all", payload);
  }

  /** Forget cached thresholds/baselines of an organization (after its alert settings change). */
  invalidate(organizationId: string): void {
    this.baselines.delete(organizationId);
  }
}
