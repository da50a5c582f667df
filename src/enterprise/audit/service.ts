// The audit service held by Services: recorder, settings cache, live tail publishing, periodic
// signed checkpoints and chain verification.
import type { Knex } from "knex";
import type { Config } from "../../config/index.js";
import type { RequestContext } from "../../context/index.js";
import type { Databases } from "../../db/index.js";
import type { PubSub } from "../../db/pubsub.js";
import type { Logger } from "../../observability/logger.js";
import { signCheckpoint } from "./hash.js";
import { AppError } from "../../errors/app-error.js";
import { AuditRecorder, chainFor, fieldScope, tablesOf, type AuditChain, type AuditEventInput, type RecordedEvent } from "./recorder.js";
import { AuditSettingsCache } from "./settings.js";
import { checkpointsOf, verifyChain, type VerifyReport } from "./verify.js";

export const auditTopic = (chain: string) => `audit:${chain}`;


/**
 * Per-request state (HTTP): the request transaction that holds this organization's chain head (it
 * locked the head when it recorded an event; the lock lasts until the request commits or rolls
 * back), and the writes deferred until then.
 */
interface RequestAuditState {
  headTrx?: Knex.Transaction;
  deferred: Array<() => Promise<void>>;
}
const states = new WeakMap<RequestContext, RequestAuditState>();

export function requestState(ctx: RequestContext): RequestAuditState {
  let s = states.get(ctx);
  if (!s) {
    s = { deferred: [] };
    states.set(ctx, s);
    const state = s;
    const finish = ctx.finish.bind(ctx);
    ctx.finish = async (ok) => {
      try {
        await finish(ok);
      } finally {
        const run = state.deferred.splice(0);
        state.headTrx = undefined;
        for (const w of run) await w();
      }
    };
  }
  return s;
}

/** Whether an uncommitted transaction of this request holds its organization's chain head. */
export function requestHoldsChainHead(ctx: RequestContext): boolean {
  const trx = states.get(ctx)?.headTrx;
  return Boolean(trx && !trx.isCompleted());
}

export class AuditService {
  readonly recorder: AuditRecorder;
  readonly settings: AuditSettingsCache;
  private readonly dirty = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: { db: Databases; config: Config; logger: Logger; pubsub: PubSub }) {
    this.settings = new AuditSettingsCache(deps.db.control);
    this.recorder = new AuditRecorder({
      enabled: deps.config.audit.enabled,
      piiFields: async (orgId) => (await this.settings.get(orgId)).piiFields,
      published: (e: RecordedEvent) => deps.pubsub.publish("AUDIT_EVENT", auditTopic(e.chain), e),
      touched: (chain) => this.dirty.add(chain),
    });
  }

  get enabled() {
    return this.recorder.enabled;
  }

  /**
   * Append an event inside the caller's transaction (the change and its event commit together).
   * Tenant-organization mutations that also change control-plane rows (members, organization
   * rename, audit settings) run in the request's tenant transaction (withControlStatements), so
   * every tenant-chain event of a request goes through that one transaction. What still runs in a
   * transaction of its own — the identity service's session changes (login, refresh, switch,
   * logout) — cannot append to a chain whose head this request's uncommitted transaction holds:
   * it would wait for its own request forever, so it is refused with CONFLICT (the request rolls back).
   */
  async record(trx: Knex.Transaction, chain: AuditChain, input: AuditEventInput, ctx?: RequestContext) {
    const c = ctx ?? fieldScope.getStore()?.ctx;
    const held = c ? states.get(c)?.headTrx : undefined;
    if (held && held !== trx && !held.isCompleted() && chain.kind === "tenant") {
      throw new AppError("CONFLICT", "Send this mutation in its own request: an earlier mutation of this request is still uncommitted");
    }
    // The head is locked from the first append until `trx` ends: mark it before the lock is taken,
    // so a standalone write of this request (a sibling field's denial) waits instead of blocking on it.
    if (this.enabled && c?.transport === "http" && chain.kind === "tenant") requestState(c).headTrx = trx;
    return this.recorder.record(trx, chain, input, ctx);
  }

  /**
   * Record an event about something that did not change data (a denial, a failed login, a rate-limit
   * or quota refusal) in its own transaction. Over HTTP, if this request's transaction already holds
   * the chain head, the write waits until that transaction ends. Never throws.
   */
  async recordOutcome(ctx: RequestContext | undefined, input: AuditEventInput, chain: AuditChain = chainFor(ctx)): Promise<void> {
    if (!this.enabled) return;
    const write = () => this.recorder.recordStandalone(this.deps.db.control, chain, input, ctx);
    if (ctx && ctx.transport === "http" && requestHoldsChainHead(ctx)) return void requestState(ctx).deferred.push(write);
    await write();
  }

  /** Write a signed checkpoint of a chain's head (privileged connection). Returns its sequence number. */
  async checkpoint(chain: string, kind: "periodic" | "manual" = "periodic"): Promise<number | null> {
    const admin = this.deps.db.admin;
    const { rows: [head] } = await admin.raw(`SELECT last_seq, last_hash FROM ${tablesOf(chain).head}`);
    const seq = Number(head?.last_seq ?? 0);
    if (!seq) return null;
    const last = await admin.withSchema("control").table("audit_checkpoints").first("seq").where({ chain }).orderBy("seq", "desc");
    if (last && Number(last.seq) === seq && kind === "periodic") return seq;
    await admin.withSchema("control").table("audit_checkpoints")
      .insert({ chain, seq, hash: head.last_hash, kind, signature: signCheckpoint(this.deps.config.audit.signingKey, chain, seq, head.last_hash) });
    return seq;
  }

  /** Checkpoint every chain written since the last run. */
  async checkpointDirty(): Promise<void> {
    const chains = [...this.dirty];
    this.dirty.clear();
    for (const c of chains) {
      try {
        await this.checkpoint(c);
      } catch (err) {
        this.deps.logger.warn({ err, chain: c }, "audit checkpoint failed");
      }
    }
  }

  start(): void {
    const every = this.deps.config.audit.checkpointIntervalMs;
    if (every > 0 && !this.timer) this.timer = setInterval(() => void this.checkpointDirty(), every).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.checkpointDirty().catch(() => undefined);
  }

  /** Verify a chain on the given connection (admin, or a transaction in the tenant's scope). */
  async verify(chain: string, via?: Knex | Knex.Transaction): Promise<VerifyReport> {
    const cps = await checkpointsOf(this.deps.db.control, chain);
    return verifyChain(via ?? this.deps.db.admin, tablesOf(chain), chain, cps, this.deps.config.audit.signingKey);
  }
}
