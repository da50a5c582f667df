// Authenticated HTTP downloads: GET /audit/export?format=csv|json&from&to (streamed rows, never the
// whole range in memory) and GET /audit/report.pdf?from&to. Same credentials and context as
// /graphql; requires audit:read; only the caller's organization; each download is itself audited.
import { Router, type Request, type Response } from "express";
import { createContext, type RequestContext } from "../../context/index.js";
import type { Services } from "../../context/services.js";
import { AppError, badInput, forbidden } from "../../errors/app-error.js";
import { httpStatusFor } from "../../errors/mask.js";
import { withTenant } from "../../tenancy/scope.js";
import { complianceReport, period } from "./audit.resolver.js";
import { EVENT_COLUMNS, streamEvents } from "./query.js";
import { renderPdf } from "./report.js";
import { authenticatedOf } from "../rate-limit/http.js";

const CSV_COLUMNS = EVENT_COLUMNS;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return "";
  const s = v instanceof Date ? v.toISOString() : typeof v === "object" ? JSON.stringify(v) : String(v);
  // Quote always; neutralise spreadsheet formulas.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return `"${safe.replace(/"/g, '""')}"`;
}

function dateParam(v: unknown, name: string, fallback: Date): Date {
  if (v === undefined) return fallback;
  const d = new Date(String(v));
  if (typeof v !== "string" || Number.isNaN(d.getTime())) throw badInput(`${name} must be an ISO date`, name);
  return d;
}

/** The caller, as authenticated by the limits middleware in front of these routes (JWT or API key). */
function context(services: Services, req: Request, res: Response): RequestContext {
  const auth = authenticatedOf(res);
  if (auth?.error) throw auth.error;
  const ctx = createContext(services, auth?.principal ?? null, {
    client: { ip: req.ip, userAgent: req.headers["user-agent"] },
    requestId: res.locals.requestId as string,
    transport: "http",
  });
  if (!ctx.principal) throw new AppError("UNAUTHENTICATED", "Authentication required");
  if (!ctx.can("audit:read")) throw forbidden("Requires permission audit:read");
  ctx.requireTenant();
  return ctx;
}

function fail(res: Response, err: unknown, services: Services) {
  const code = err instanceof AppError ? err.code : "INTERNAL_SERVER_ERROR";
  if (code === "INTERNAL_SERVER_ERROR") services.logger.error({ err }, "audit download failed");
  if (res.headersSent) return void res.destroy();
  res.status(httpStatusFor(code)).json({ errors: [{ message: err instanceof AppError ? err.message : "Internal server error", extensions: { code } }] });
}

export function auditRouter(services: Services): Router {
  const r = Router();

  r.get("/audit/export", async (req, res) => {
    let ctx: RequestContext;
    try {
      ctx = context(services, req, res);
    } catch (err) {
      return fail(res, err, services);
    }
    try {
      const format = req.query.format ?? "json";
      if (format !== "csv" && format !== "json") throw badInput("format must be csv or json", "format");
      // An open-ended range ends after the export's own event, which is therefore included.
      const { from, to } = period(dateParam(req.query.from, "from", new Date(0)), dateParam(req.query.to, "to", new Date(Date.now() + 60_000)));
      const types = typeof req.query.eventType === "string" ? req.query.eventType.split(",").slice(0, 50) : null;
      const tenant = ctx.requireTenant();
      // The export is recorded (and committed) before any row leaves; inTenant also refuses a suspended organization.
      await ctx.inTenant((trx) => services.audit.record(trx, { kind: "tenant", tenant }, {
        type: "data.export", resourceType: "AuditEvent", metadata: { format, from: from.toISOString(), to: to.toISOString(), eventTypes: types },
      }, ctx));
      await ctx.finish(true);
      await withTenant(services.db.app, tenant, async (trx) => {
        res.status(200);
        res.setHeader("content-type", format === "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8");
        res.setHeader("content-disposition", `attachment; filename="audit-${tenant.id}.${format}"`);
        res.setHeader("x-request-id", ctx.requestId);
        // A client that goes away never drains: wake on close too, so the transaction (and its pooled connection) ends.
        const write = (chunk: string) => (res.write(chunk) ? Promise.resolve() : new Promise<void>((ok) => {
          const done = () => { res.off("drain", done); res.off("close", done); ok(); };
          res.once("drain", done);
          res.once("close", done);
        }));
        await write(format === "csv" ? `${CSV_COLUMNS.join(",")}\n` : "[\n");
        let first = true;
        for await (const row of streamEvents(trx, "audit_events", { from, to, eventTypes: types })) {
          if (res.destroyed) break;
          if (format === "csv") await write(`${CSV_COLUMNS.map((c) => csvCell(row[c])).join(",")}\n`);
          else {
            await write(`${first ? "" : ",\n"}${JSON.stringify(row)}`);
            first = false;
          }
        }
        if (format === "json") await write("\n]\n");
        res.end();
      });
    } catch (err) {
      fail(res, err, services);
    }
  });

  r.get("/audit/report.pdf", async (req, res) => {
    let ctx: RequestContext | undefined;
    try {
      ctx = context(services, req, res);
      const { from, to } = period(dateParam(req.query.from, "from", new Date(Date.now() - 30 * 86_400_000)), dateParam(req.query.to, "to", new Date()));
      const tenant = ctx.requireTenant();
      const report = await complianceReport(ctx, from, to);
      await ctx.inTenant((trx) => services.audit.record(trx, { kind: "tenant", tenant }, {
        type: "data.export", resourceType: "ComplianceReport", metadata: { format: "pdf", from: from.toISOString(), to: to.toISOString() },
      }, ctx));
      await ctx.finish(true);
      const org = await services.registry.get(tenant.id);
      res.status(200).setHeader("content-type", "application/pdf");
      res.setHeader("content-disposition", `attachment; filename="audit-report-${tenant.id}.pdf"`);
      renderPdf(report, org?.name ?? tenant.id, res);
    } catch (err) {
      await ctx?.finish(false).catch(() => undefined);
      fail(res, err, services);
    }
  });
  return r;
}
