// In-memory aggregation of every metered operation, flushed to the control plane in batches.
// record() is synchronous and allocation-light: nothing on the request path awaits metering.
//
// Aggregates are keyed by (organization, minute, operation name, operation type), each with a
// latency histogram (histogram.ts). A flush seals the current aggregates into a batch numbered
// (instance id, seq) and writes it in ONE transaction together with that key (store.ts); a batch
// whose write failed stays queued under the same key and is retried, so a write whose commit
// acknowledgement was lost is a no-op the second time. A new process has a new instance id, so a
// restart never replays anything. A crash loses what was recorded since the last successful flush.
import { randomUUID } from "node:crypto";
import { BUCKET_COUNT, bucketOf, newHistogram } from "./histogram.js";

export interface OperationRecord {
  organizationId: string;
  userId: string | null;
  operationName: string | null;
  operationType: string;
  /** null: not a latency sample (a subscription's start) */
  latencyMs: number | null;
  /** extensions.code of each error in the response */
  errorCodes: readonly string[];
  bytesOut: number;
  generations?: number;
  executions?: number;
  /** epoch ms; default now */
  at?: number;
}

export interface Aggregate {
  organizationId: string;
  minute: number; // epoch ms of the minute
  operationName: string;
  operationType: string;
  calls: number;
  errors: number;
  bytesOut: number;
  generations: number;
  executions: number;
  latencySumMs: number;
  hist: Float64Array;
}

export interface ErrorAggregate { organizationId: string; minute: number; code: string; count: number }
export interface ActiveUser { organizationId: string; day: string; userId: string }

export interface Batch {
  instanceId: string;
  seq: number;
  aggregates: Aggregate[];
  errors: ErrorAggregate[];
  users: ActiveUser[];
  /** per organization totals in this batch (to move from "unflushed" to "flushed" live figures) */
  perOrg: Map<string, OrgCounters>;
}

export interface OrgCounters { calls: number; generations: number; executions: number }

/** One organization's live state on this replica: the current second, and a decaying window for alerts. */
export interface LiveOrgState {
  second: { calls: number; errors: number; bytesOut: number; hist: Float64Array };
  /** exponentially decayed (time constant ≈ 60 s) counts and histogram, for alert evaluation */
  window: { calls: number; errors: number; hist: Float64Array };
  idleTicks: number;
}

const MAX_OPERATION_NAME = 100;
/** Distinct operation names kept per organization and minute; more are counted as "(other)". */
const MAX_NAMES_PER_ORG_MINUTE = 200;
const MAX_PENDING_BATCHES = 10_000;
const SEP = "\u0000";

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

export class Meter {
  readonly instanceId: string;
  private seq = 0;
  private aggregates = new Map<string, Aggregate>();
  private names = new Map<string, number>(); // org|minute -> distinct names
  private errors = new Map<string, ErrorAggregate>();
  private users = new Map<string, ActiveUser>();
  private perOrg = new Map<string, OrgCounters>();
  /** sealed batches not yet written, oldest first */
  readonly pending: Batch[] = [];
  /** recorded but not yet durably flushed, per organization */
  readonly unflushed = new Map<string, OrgCounters>();
  readonly live = new Map<string, LiveOrgState>();
  droppedBatches = 0;

  constructor(instanceId: string = randomUUID()) {
    this.instanceId = instanceId;
  }

  record(r: OperationRecord): void {
    const at = r.at ?? Date.now();
    const minute = at - (at % 60_000);
    const org = r.organizationId;
    // Only GraphQL names are kept: a client-chosen string (NUL, lone surrogates) would make the
    // batch's jsonb cast fail and block every later flush.
    let name = r.operationName && GRAPHQL_NAME.test(r.operationName) ? r.operationName.slice(0, MAX_OPERATION_NAME) : r.operationName ? "(invalid)" : "(anonymous)";
    let key = org + SEP + minute + SEP + name + SEP + r.operationType;
    let a = this.aggregates.get(key);
    if (!a) {
      const nk = org + SEP + minute;
      const n = this.names.get(nk) ?? 0;
      if (n >= MAX_NAMES_PER_ORG_MINUTE) {
        name = "(other)";
        key = org + SEP + minute + SEP + name + SEP + r.operationType;
        a = this.aggregates.get(key);
      } else this.names.set(nk, n + 1);
      if (!a) {
        a = { organizationId: org, minute, operationName: name, operationType: r.operationType, calls: 0, errors: 0, bytesOut: 0, generations: 0, executions: 0, latencySumMs: 0, hist: newHistogram() };
        this.aggregates.set(key, a);
      }
    }
    const failed = r.errorCodes.length > 0;
    const gens = r.generations ?? 0;
    const execs = r.executions ?? 0;
    const b = r.latencyMs === null ? -1 : bucketOf(r.latencyMs);
    a.calls++;
    if (failed) a.errors++;
    a.bytesOut += r.bytesOut;
    a.generations += gens;
    a.executions += execs;
    if (b >= 0) {
      a.latencySumMs += r.latencyMs!;
      a.hist[b]! += 1;
    }
    if (failed) {
      for (const code of new Set(r.errorCodes)) {
        const ek = org + SEP + minute + SEP + code;
        const e = this.errors.get(ek);
        if (e) e.count++;
        else this.errors.set(ek, { organizationId: org, minute, code: code.slice(0, 64), count: 1 });
      }
    }
    if (r.userId) {
      const day = new Date(minute).toISOString().slice(0, 10);
      const uk = org + SEP + day + SEP + r.userId;
      if (!this.users.has(uk)) this.users.set(uk, { organizationId: org, day, userId: r.userId });
    }
    addCounters(this.perOrg, org, 1, gens, execs);
    addCounters(this.unflushed, org, 1, gens, execs);

    let l = this.live.get(org);
    if (!l) {
      l = { second: { calls: 0, errors: 0, bytesOut: 0, hist: newHistogram() }, window: { calls: 0, errors: 0, hist: newHistogram() }, idleTicks: 0 };
      this.live.set(org, l);
    }
    l.second.calls++;
    if (failed) l.second.errors++;
    l.second.bytesOut += r.bytesOut;
    if (b >= 0) l.second.hist[b]! += 1;
  }

  /** Seal what was recorded since the last seal into a numbered batch (queued for writing). */
  seal(): Batch | null {
    if (this.aggregates.size === 0 && this.users.size === 0) return null;
    const batch: Batch = {
      instanceId: this.instanceId,
      seq: ++this.seq,
      aggregates: [...this.aggregates.values()],
      errors: [...this.errors.values()],
      users: [...this.users.values()],
      perOrg: this.perOrg,
    };
    this.aggregates = new Map();
    this.names = new Map();
    this.errors = new Map();
    this.users = new Map();
    this.perOrg = new Map();
    this.pending.push(batch);
    if (this.pending.length > MAX_PENDING_BATCHES) {
      const lost = this.pending.shift()!;
      this.droppedBatches++;
      this.settle(lost);
    }
    return batch;
  }

  /** A batch is durably written (or given up): its counts are no longer "unflushed". */
  settle(batch: Batch): void {
    for (const [org, c] of batch.perOrg) {
      const u = this.unflushed.get(org);
      if (!u) continue;
      u.calls -= c.calls;
      u.generations -= c.generations;
      u.executions -= c.executions;
      if (u.calls <= 0 && u.generations <= 0 && u.executions <= 0) this.unflushed.delete(org);
    }
  }

  /**
   * Advance the live state by one second: returns each organization's last-second figures (only
   * organizations with traffic) and folds them into the decaying alert window.
   */
  tick(decay = Math.exp(-1 / 60)): Array<{ organizationId: string; state: LiveOrgState; second: LiveOrgState["second"] }> {
    const out: Array<{ organizationId: string; state: LiveOrgState; second: LiveOrgState["second"] }> = [];
    for (const [org, l] of this.live) {
      const s = l.second;
      const w = l.window;
      w.calls = w.calls * decay + s.calls;
      w.errors = w.errors * decay + s.errors;
      for (let i = 0; i < BUCKET_COUNT; i++) w.hist[i] = w.hist[i]! * decay + s.hist[i]!;
      if (s.calls > 0) {
        out.push({ organizationId: org, state: l, second: s });
        l.second = { calls: 0, errors: 0, bytesOut: 0, hist: newHistogram() };
        l.idleTicks = 0;
      } else if (++l.idleTicks > 300) this.live.delete(org);
    }
    return out;
  }
}

function addCounters(map: Map<string, OrgCounters>, org: string, calls: number, generations: number, executions: number) {
  const c = map.get(org);
  if (c) {
    c.calls += calls;
    c.generations += generations;
    c.executions += executions;
  } else map.set(org, { calls, generations, executions });
}
