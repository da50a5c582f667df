import { GraphQLJSONObject } from "graphql-scalars";
import { Arg, Args, Ctx, Mutation, Query, Resolver, Root, Subscription } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { badInput, forbidden } from "../../errors/app-error.js";
import { PageArgs } from "../../modules/common/connection.js";
import { parseId } from "../../tenancy/naming.js";
import { withControlStatements } from "../../tenancy/scope.js";
import { EVENT_TYPES, FRAMEWORK_RETENTION_DAYS } from "./catalog.js";
import type { RecordedEvent } from "./recorder.js";
import { platformChain, tenantChain } from "./recorder.js";
import { countEvents, decodeSeqCursor, encodeSeqCursor, listEvents, type AuditFilterValues } from "./query.js";
import { buildReport, type ComplianceReport } from "./report.js";
import { auditTopic } from "./service.js";
import { fromRow, load } from "./settings.js";
import {
  AuditEvent, AuditEventConnection, AuditEventFilter, AuditEventTypeInfo, AuditSettingsType, AuditVerification, UpdateAuditSettingsInput,
} from "./audit.type.js";

const MAX_SEARCH = 200;

export function toNode(r: Record<string, any>): AuditEvent {
  return {
    id: r.id,
    sequence: Number(r.seq),
    occurredAt: new Date(r.occurred_at),
    eventType: r.event_type,
    category: r.category,
    severity: r.severity,
    actor: { type: r.actor_type, userId: r.actor_id, apiKeyId: r.api_key_id, ip: r.ip, userAgent: r.user_agent, sessionId: r.session_id, requestId: r.request_id },
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    result: r.result,
    reason: r.reason,
    changes: r.changes ?? null,
    metadata: r.metadata ?? null,
    hash: r.hash,
    prevHash: r.prev_hash,
  };
}

export function filterValues(f: AuditEventFilter | null | undefined): AuditFilterValues {
  if (!f) return {};
  if (f.search != null && f.search.length > MAX_SEARCH) throw badInput(`search must be at most ${MAX_SEARCH} characters`, "filter.search");
  if ((f.eventTypes?.length ?? 0) > 50) throw badInput("at most 50 event types", "filter.eventTypes");
  return {
    from: f.from ?? null,
    to: f.to ?? null,
    actorId: f.actorId != null ? parseId(f.actorId, "filter.actorId") : null,
    eventTypes: f.eventTypes ?? null,
    categories: f.categories ?? null,
    severities: f.severities ?? null,
    results: f.results ?? null,
    resourceType: f.resourceType ? f.resourceType.slice(0, 100) : null,
    resourceId: f.resourceId ? f.resourceId.slice(0, 200) : null,
    search: f.search?.trim() || null,
  };
}

export function period(from: Date, to: Date): { from: Date; to: Date } {
  if (!(from instanceof Date) || !(to instanceof Date) || Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || from >= to)
    throw badInput("from must be before to", "from");
  return { from, to };
}

export async function complianceReport(ctx: RequestContext, from: Date, to: Date): Promise<ComplianceReport> {
  const org = ctx.requireTenant().id;
  const p = period(from, to);
  const report = await ctx.inTenant((trx) => buildReport(trx, org, p.from, p.to));
  const v = await ctx.inTenant((trx) => ctx.services.audit.verify(org, trx));
  return { ...report, chain: { ok: v.ok, firstBrokenSeq: v.firstBrokenSeq, lastSeq: v.lastSeq } };
}

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: "Your organization's audit events, newest first." })
  async auditEvents(
    @Ctx() ctx: RequestContext,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => AuditEventFilter, { nullable: true }) filter?: AuditEventFilter,
  ) {
    const f = filterValues(filter);
    const after = decodeSeqCursor(page.after);
    const rows = await ctx.inTenant((trx) => listEvents(trx, f, page.first, after));
    const hasNextPage = rows.length > page.first;
    const edges = rows.slice(0, page.first).map((r) => ({ cursor: encodeSeqCursor(Number(r.seq)), node: toNode(r) }));
    let counted: Promise<number> | undefined;
    return {
      edges,
      pageInfo: { hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      get totalCount() {
        return (counted ??= ctx.inTenant((trx) => countEvents(trx, f)));
      },
    };
  }

  @Query(() => AuditVerification, { description: "Walk the audit chain: hashes, sequence gaps, the head and the signed checkpoints." })
  async verifyAuditTrail(@Ctx() ctx: RequestContext, @Arg("platform", () => Boolean, { defaultValue: false, description: "Verify the platform chain (platform staff)." }) platform: boolean) {
    const summary = (v: { ok: boolean; eventsChecked: number; firstBrokenSeq: number | null; lastSeq: number | null }) => ({
      type: "security.audit.verified" as const, result: v.ok ? ("success" as const) : ("failure" as const),
      severity: v.ok ? ("info" as const) : ("critical" as const), resourceType: "AuditChain",
      reason: v.ok ? null : `chain broken at sequence ${v.firstBrokenSeq}`,
      metadata: { eventsChecked: v.eventsChecked, lastSeq: v.lastSeq, firstBrokenSeq: v.firstBrokenSeq },
    });
    if (platform) {
      if (!ctx.can("platform:manage")) throw forbidden("Requires permission platform:manage");
      const v = await ctx.services.audit.verify("platform", ctx.services.db.control);
      await ctx.services.audit.recordOutcome(ctx, { ...summary(v), resourceId: "platform" }, platformChain(null));
      return v;
    }
    const org = ctx.requireTenant().id;
    const v = await ctx.inTenant((trx) => ctx.services.audit.verify(org, trx));
    // Recorded after the walk (the report covers the chain as it was before this event).
    await ctx.services.audit.recordOutcome(ctx, { ...summary(v), resourceId: org });
    return v;
  }

  @Query(() => GraphQLJSONObject, { description: "Compliance report for [from, to): totals, failures, denials, admin actions, incidents, top actors." })
  complianceReport(@Ctx() ctx: RequestContext, @Arg("from", () => Date) from: Date, @Arg("to", () => Date) to: Date) {
    return complianceReport(ctx, from, to);
  }

  @Query(() => AuditSettingsType)
  auditSettings(@Ctx() ctx: RequestContext) {
    return load(ctx.services.db.control, ctx.requireTenant().id);
  }

  @Query(() => [AuditEventTypeInfo], { description: "The catalogue of audit event types." })
  auditEventTypes(): AuditEventTypeInfo[] {
    return Object.entries(EVENT_TYPES).map(([name, s]) => ({ name, category: s.category as never, severity: s.severity as never, description: s.description }));
  }

  @Mutation(() => AuditSettingsType, { description: "Change read auditing, PII fields, compliance frameworks or retention." })
  async updateAuditSettings(@Ctx() ctx: RequestContext, @Arg("input", () => UpdateAuditSettingsInput) input: UpdateAuditSettingsInput) {
    const tenant = ctx.requireTenant();
    const patch: Record<string, unknown> = {};
    const names = (list: string[], field: string) => {
      if (list.length > 50 || list.some((s) => !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(s))) throw badInput(`${field} must be up to 50 names`, field);
      return list;
    };
    if (input.readAudit != null) patch.read_audit = input.readAudit;
    if (input.sensitiveTypes != null) patch.sensitive_types = names(input.sensitiveTypes, "sensitiveTypes");
    if (input.piiFields != null) patch.pii_fields = names(input.piiFields, "piiFields");
    if (input.frameworks != null) patch.frameworks = input.frameworks.filter((f) => f in FRAMEWORK_RETENTION_DAYS);
    if (input.retentionDays != null) {
      if (input.retentionDays < 0 || input.retentionDays > 36500) throw badInput("retentionDays must be 0..36500", "retentionDays");
      patch.retention_days = input.retentionDays === 0 ? null : input.retentionDays;
    }
    if (!Object.keys(patch).length) throw badInput("nothing to update");
    // In the request's tenant transaction (control-plane row, then the event on the tenant chain).
    const settings = await ctx.inTenant(async (trx) => {
      const { before, after } = await withControlStatements(trx, tenant, async () => {
        const before = await load(trx as never, tenant.id);
        const [row] = await trx.withSchema("control").table("audit_settings")
          .insert({ organization_id: tenant.id, ...patch })
          .onConflict("organization_id").merge({ ...patch, updated_at: trx.fn.now() })
          .returning("*");
        return { before, after: fromRow(row) };
      });
      await ctx.services.audit.record(trx, tenantChain(tenant.id), {
        type: "config.audit.updated", resourceType: "AuditSettings", resourceId: tenant.id,
        before: before as never, after: after as never,
      }, ctx);
      return after;
    });
    ctx.afterCommit(() => ctx.services.audit.settings.invalidate(tenant.id));
    return settings;
  }

  @Subscription(() => AuditEvent, {
    description: "Live tail of your organization's audit events.",
    subscribe: ({ context }) => {
      const ctx = context as RequestContext;
      const orgId = ctx.requireTenant().id;
      return ctx.services.pubsub.subscribe("AUDIT_EVENT", auditTopic(orgId));
    },
  })
  auditEventRecorded(@Root() payload: RecordedEvent): AuditEvent {
    return toNode(payload as never);
  }
}
