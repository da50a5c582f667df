// Writing audit events. recordAuditEvent(trx, chain, event) appends one event to a chain inside the
// caller's transaction: it locks the chain head (one linear order under concurrency), hashes the
// event over the previous hash, inserts it and advances the head. A rolled-back transaction
// therefore leaves neither the change nor its event.
//
// The GraphQL audit middleware runs each root field inside an AsyncLocalStorage scope; any event
// recorded within it (by a service, in its own transaction) marks the field as audited, so the
// middleware does not write a second one, and inherits the actor (user/API key, IP, user agent,
// session, request id) from the request context.
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Knex } from "knex";
import type { RequestContext } from "../../context/index.js";
import { quoteIdent } from "../../db/knex.js";
import { tenantRef, withTenant, type TenantRef } from "../../tenancy/scope.js";
import { EVENT_TYPES, type ActorType, type AuditEventType, type AuditResult, type AuditSeverity } from "./catalog.js";
import { hashRow, type AuditRow } from "./hash.js";
import { diff, redact } from "./redact.js";

export type AuditChain = { kind: "tenant"; tenant: TenantRef } | { kind: "platform"; organizationId?: string | null };

export const tenantChain = (orgId: string): AuditChain => ({ kind: "tenant", tenant: tenantRef(orgId) });
export const platformChain = (organizationId?: string | null): AuditChain => ({ kind: "platform", organizationId: organizationId ?? null });
export const chainKey = (c: AuditChain) => (c.kind === "tenant" ? c.tenant.id : "platform");
/** The events and head tables of a chain ("platform" or an organization id), quoted for SQL. */
export function tablesOf(chain: string) {
  const s = chain === "platform" ? "control" : quoteIdent(tenantRef(chain).schema);
  return { events: `${s}.audit_events`, head: `${s}.audit_chain` };
}
export const chainTables = (c: AuditChain) => tablesOf(chainKey(c));

export interface AuditActor {
  type: ActorType;
  id: string | null;
  apiKeyId: string | null;
  ip: string | null;
  userAgent: string | null;
  sessionId: string | null;
  requestId: string | null;
}

export interface AuditEventInput {
  type: AuditEventType;
  severity?: AuditSeverity;
  result?: AuditResult;
  reason?: string | null;
  resourceType?: string | null;
  resourceId?: string | null;
  /** Values before/after the change; only changed fields are kept, secrets and PII fields redacted. */
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
  actor?: Partial<AuditActor>;
}

/** What a service can add to the event the middleware writes for the current root field. */
export interface AuditEnrichment {
  type?: AuditEventType;
  resourceType?: string;
  resourceId?: string;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  metadata?: Record<string, unknown>;
}

export interface FieldScope {
  ctx?: RequestContext;
  field?: string;
  /** events recorded for this field (services set it; the middleware then writes none) */
  recorded: number;
  enrich: AuditEnrichment;
}

export const fieldScope = new AsyncLocalStorage<FieldScope>();

/** Add resource/before/after details to the event of the current mutation. */
export function enrichAudit(details: AuditEnrichment): void {
  const s = fieldScope.getStore();
  if (s) Object.assign(s.enrich, details, { metadata: { ...s.enrich.metadata, ...details.metadata } });
}

export function actorFromContext(ctx: RequestContext | undefined): AuditActor {
  const p = ctx?.principal;
  return {
    type: p ? (p.apiKey ? "api_key" : "user") : ctx ? "anonymous" : "system",
    id: p?.userId ?? null,
    apiKeyId: p?.apiKey?.id ?? null,
    ip: ctx?.client.ip ?? null,
    userAgent: ctx?.client.userAgent?.slice(0, 512) ?? null,
    sessionId: p && !p.apiKey ? p.sessionId : null,
    requestId: ctx?.requestId ?? null,
  };
}

export interface RecordedEvent extends AuditRow {
  chain: string;
}

export interface RecorderDeps {
  enabled: boolean;
  piiFields(orgId: string): Promise<readonly string[]>;
  /** called once the writing transaction has committed */
  published(event: RecordedEvent): void;
  /** a chain was appended to (for periodic checkpoints) */
  touched(chain: string): void;
}

export class AuditRecorder {
  /** Appends through one transaction run one after another (parallel query fields share a transaction). */
  private readonly queues = new WeakMap<Knex.Transaction, Promise<unknown>>();

  constructor(private readonly deps: RecorderDeps) {}

  get enabled() {
    return this.deps.enabled;
  }

  /**
   * Append one event to `chain` inside `trx`. A lock does not block its own transaction, so two
   * appends through one transaction at once would read the same head: they are queued instead.
   */
  record(trx: Knex.Transaction, chain: AuditChain, input: AuditEventInput, ctx?: RequestContext): Promise<RecordedEvent | null> {
    const scope = fieldScope.getStore();
    if (scope) scope.recorded++;
    if (!this.deps.enabled) return Promise.resolve(null);
    const context = ctx ?? scope?.ctx;
    const run = (this.queues.get(trx) ?? Promise.resolve()).catch(() => undefined).then(() => this.append(trx, chain, input, context));
    this.queues.set(trx, run);
    return run;
  }

  private async append(trx: Knex.Transaction, chain: AuditChain, input: AuditEventInput, context: RequestContext | undefined): Promise<RecordedEvent | null> {
    const spec = EVENT_TYPES[input.type];
    const orgForPii = chain.kind === "tenant" ? chain.tenant.id : chain.organizationId;
    const pii = orgForPii ? await this.deps.piiFields(orgForPii) : [];
    const actor = { ...actorFromContext(context), ...input.actor };
    const changes = input.before || input.after ? diff(input.before, input.after, pii) : null;
    const t = chainTables(chain);
    // The timestamp comes from the database clock once the head is locked: it grows with seq.
    const { rows: [head] } = await trx.raw(`SELECT last_seq, last_hash, date_trunc('milliseconds', clock_timestamp()) AS now FROM ${t.head} FOR UPDATE`);
    const seq = Number(head.last_seq) + 1;
    const key = chainKey(chain);
    const content: Omit<AuditRow, "hash"> = {
      seq,
      id: randomUUID(),
      occurred_at: head.now as Date,
      event_type: input.type,
      category: spec.category,
      severity: input.severity ?? spec.severity,
      actor_type: actor.type,
      actor_id: actor.id,
      api_key_id: actor.apiKeyId,
      ip: actor.ip,
      user_agent: actor.userAgent,
      session_id: actor.sessionId,
      request_id: actor.requestId,
      resource_type: input.resourceType ?? null,
      resource_id: input.resourceId ?? null,
      result: input.result ?? "success",
      reason: input.reason?.replace(/\u0000/g, "").slice(0, 1000) ?? null,
      changes: changes && Object.keys(changes).length ? changes : null,
      metadata: input.metadata ? (redact(input.metadata, pii) as Record<string, unknown>) : null,
      prev_hash: head.last_hash as string,
    };
    if (chain.kind === "platform") content.organization_id = chain.organizationId ?? null;
    const hash = hashRow(key, content);
    const row: AuditRow = { ...content, hash };
    await trx.raw(`INSERT INTO ${t.events} (${Object.keys(row).join(", ")}) VALUES (${Object.keys(row).map(() => "?").join(", ")})`,
      Object.values(row).map((v) => (v !== null && typeof v === "object" && !(v instanceof Date) ? JSON.stringify(v) : v)) as Knex.Value[]);
    await trx.raw(`UPDATE ${t.head} SET last_seq = ?, last_hash = ?`, [seq, hash]);
    const event: RecordedEvent = { ...row, chain: key };
    const done = (trx as unknown as { executionPromise?: Promise<unknown> }).executionPromise;
    const after = () => {
      this.deps.touched(key);
      this.deps.published(event);
    };
    if (done) done.then(after, () => undefined);
    return event;
  }

  /**
   * Record an event in its own short transaction (failures, denials, refusals: the change they
   * describe did not happen, so there is no transaction to share). Never throws.
   */
  async recordStandalone(db: Knex, chain: AuditChain, input: AuditEventInput, ctx?: RequestContext): Promise<void> {
    try {
      if (chain.kind === "tenant") await withTenant(db, chain.tenant, (trx) => this.record(trx, chain, input, ctx));
      else await db.transaction((trx) => this.record(trx, chain, input, ctx));
    } catch (err) {
      ctx?.services.logger.error({ err, type: input.type }, "audit event could not be written");
    }
  }
}

/** The chain an event of this context belongs to: its organization's, else the platform's. */
export function chainFor(ctx: RequestContext | undefined, organizationId?: string | null): AuditChain {
  const org = organizationId ?? ctx?.principal?.organizationId;
  return org ? tenantChain(org) : platformChain(null);
}
