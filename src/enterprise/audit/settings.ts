// Per-organization audit settings (control.audit_settings), cached briefly so read auditing costs
// one in-memory lookup per query when it is off.
import type { Knex } from "knex";
import { retentionDays } from "./catalog.js";

export type ReadAuditMode = "off" | "sensitive" | "all";

export interface AuditSettings {
  organizationId: string;
  readAudit: ReadAuditMode;
  sensitiveTypes: string[];
  piiFields: string[];
  frameworks: string[];
  retentionDays: number | null;
  effectiveRetentionDays: number;
}

const TTL_MS = 5_000;

export function defaults(organizationId: string): AuditSettings {
  return { organizationId, readAudit: "off", sensitiveTypes: ["Member"], piiFields: [], frameworks: [], retentionDays: null, effectiveRetentionDays: retentionDays([], null) };
}

export function fromRow(r: Record<string, any>): AuditSettings {
  return {
    organizationId: r.organization_id,
    readAudit: r.read_audit,
    sensitiveTypes: r.sensitive_types ?? [],
    piiFields: r.pii_fields ?? [],
    frameworks: r.frameworks ?? [],
    retentionDays: r.retention_days ?? null,
    effectiveRetentionDays: retentionDays(r.frameworks ?? [], r.retention_days),
  };
}

export class AuditSettingsCache {
  private cache = new Map<string, { at: number; value: Promise<AuditSettings> }>();
  constructor(private readonly db: Knex) {}

  get(orgId: string): Promise<AuditSettings> {
    const hit = this.cache.get(orgId);
    const now = Date.now();
    if (hit && now - hit.at < TTL_MS) return hit.value;
    const value = load(this.db, orgId).catch((err) => {
      this.cache.delete(orgId);
      throw err;
    });
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(orgId, { at: now, value });
    return value;
  }

  invalidate(orgId: string) {
    this.cache.delete(orgId);
  }
}

export async function load(db: Knex, orgId: string): Promise<AuditSettings> {
  const row = await db.withSchema("control").table("audit_settings").first("*").where({ organization_id: orgId });
  return row ? fromRow(row) : defaults(orgId);
}
