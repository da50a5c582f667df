// Compliance report for a period: totals by category and type, authentication failures, denials,
// admin actions, security incidents, most active actors — as JSON, and rendered as a PDF.
import PDFDocument from "pdfkit";
import type { Knex } from "knex";
import type { Writable } from "node:stream";
import { applyFilter } from "./query.js";

export interface ComplianceReport {
  organizationId: string;
  from: string;
  to: string;
  generatedAt: string;
  totalEvents: number;
  byCategory: Array<{ category: string; count: number }>;
  byType: Array<{ eventType: string; count: number }>;
  bySeverity: Array<{ severity: string; count: number }>;
  authenticationFailures: number;
  lockouts: number;
  denials: number;
  adminActions: number;
  securityIncidents: number;
  topActors: Array<{ actorId: string | null; actorType: string; count: number }>;
  recentIncidents: Array<{ seq: number; occurredAt: string; eventType: string; severity: string; reason: string | null }>;
  chain: { ok: boolean; firstBrokenSeq: number | null; lastSeq: number | null } | null;
}

export async function buildReport(trx: Knex.Transaction, organizationId: string, from: Date, to: Date): Promise<Omit<ComplianceReport, "chain">> {
  const base = () => applyFilter(trx("audit_events"), { from, to });
  const [byCategory, byType, bySeverity, counts, topActors, incidents] = await Promise.all([
    base().select("category").count({ count: "*" }).groupBy("category").orderBy("count", "desc"),
    base().select("event_type as eventType").count({ count: "*" }).groupBy("event_type").orderBy("count", "desc"),
    base().select("severity").count({ count: "*" }).groupBy("severity"),
    base().select(trx.raw(`count(*) AS total,
      count(*) FILTER (WHERE category = 'authentication' AND result <> 'success') AS auth_failures,
      count(*) FILTER (WHERE event_type = 'auth.lockout') AS lockouts,
      count(*) FILTER (WHERE result = 'denied') AS denials,
      count(*) FILTER (WHERE category = 'admin') AS admin_actions,
      count(*) FILTER (WHERE category = 'security' AND result <> 'success' OR severity = 'critical') AS incidents`)).first(),
    base().select("actor_id as actorId", "actor_type as actorType").count({ count: "*" }).groupBy("actor_id", "actor_type").orderBy("count", "desc").limit(10),
    base().select("seq", "occurred_at", "event_type", "severity", "reason").where((q) => q.where("severity", "critical").orWhere((q2) => q2.where("category", "security").whereNot("result", "success")))
      .orderBy("seq", "desc").limit(20),
  ]);
  const n = (v: unknown) => Number(v ?? 0);
  return {
    organizationId,
    from: from.toISOString(),
    to: to.toISOString(),
    generatedAt: new Date().toISOString(),
    totalEvents: n(counts?.total),
    byCategory: byCategory.map((r: any) => ({ category: r.category, count: n(r.count) })),
    byType: byType.map((r: any) => ({ eventType: r.eventType, count: n(r.count) })),
    bySeverity: bySeverity.map((r: any) => ({ severity: r.severity, count: n(r.count) })),
    authenticationFailures: n(counts?.auth_failures),
    lockouts: n(counts?.lockouts),
    denials: n(counts?.denials),
    adminActions: n(counts?.admin_actions),
    securityIncidents: n(counts?.incidents),
    topActors: topActors.map((r: any) => ({ actorId: r.actorId, actorType: r.actorType, count: n(r.count) })),
    recentIncidents: incidents.map((r: any) => ({ seq: Number(r.seq), occurredAt: new Date(r.occurred_at).toISOString(), eventType: r.event_type, severity: r.severity, reason: r.reason })),
  };
}

/** Render the report as a PDF into `out` (streamed; the document is small). */
export function renderPdf(report: ComplianceReport, orgName: string, out: Writable): void {
  const doc = new PDFDocument({ size: "A4", margin: 50, info: { Title: `Audit compliance report — ${orgName}`, Author: "Enclave" } });
  doc.pipe(out);
  doc.fontSize(18).text("Audit compliance report", { underline: false });
  doc.moveDown(0.3).fontSize(11).text(`Organization: ${orgName} (${report.organizationId})`);
  doc.text(`Period: ${report.from} — ${report.to}`);
  doc.text(`Generated: ${report.generatedAt}`);
  if (report.chain) doc.text(`Chain verification: ${report.chain.ok ? "intact" : `BROKEN at sequence ${report.chain.firstBrokenSeq}`} (last sequence ${report.chain.lastSeq ?? "-"})`);
  doc.moveDown();
  doc.fontSize(14).text("Summary");
  doc.fontSize(11);
  for (const [label, v] of [
    ["Total events", report.totalEvents], ["Authentication failures", report.authenticationFailures], ["Lockouts", report.lockouts],
    ["Authorization denials", report.denials], ["Admin actions", report.adminActions], ["Security incidents", report.securityIncidents],
  ] as const) doc.text(`${label}: ${v}`);
  const table = (title: string, rows: Array<[string, number | string]>) => {
    doc.moveDown().fontSize(14).text(title).fontSize(10);
    if (!rows.length) doc.text("(none)");
    for (const [k, v] of rows) doc.text(`${k}  —  ${v}`);
  };
  table("Events by category", report.byCategory.map((r) => [r.category, r.count]));
  table("Events by type", report.byType.map((r) => [r.eventType, r.count]));
  table("Most active actors", report.topActors.map((r) => [`${r.actorType} ${r.actorId ?? "(none)"}`, r.count]));
  table("Recent security incidents", report.recentIncidents.map((r) => [`#${r.seq} ${r.occurredAt} ${r.eventType} (${r.severity})`, r.reason ?? ""]));
  doc.end();
}
