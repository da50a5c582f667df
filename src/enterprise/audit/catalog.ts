// The audit event catalogue as data: every event type with its category and default severity, the
// mapping of GraphQL mutations to event types, and retention per compliance framework.
export const CATEGORIES = [
  "authentication", "authorization", "data_access", "data_change", "configuration", "admin", "api", "security",
] as const;
export type AuditCategory = (typeof CATEGORIES)[number];

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type AuditSeverity = (typeof SEVERITIES)[number];

export const RESULTS = ["success", "failure", "denied"] as const;
export type AuditResult = (typeof RESULTS)[number];

export const ACTOR_TYPES = ["user", "api_key", "system", "anonymous"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

interface EventSpec {
  category: AuditCategory;
  severity: AuditSeverity;
  description: string;
}

export const EVENT_TYPES = {
  "auth.login.succeeded": { category: "authentication", severity: "info", description: "Password login succeeded" },
  "auth.login.failed": { category: "authentication", severity: "warning", description: "Password login failed (unknown user, wrong password, disabled)" },
  "auth.lockout": { category: "authentication", severity: "critical", description: "Login locked after repeated failures, or refused while locked" },
  "auth.token.refreshed": { category: "authentication", severity: "info", description: "Refresh token rotated" },
  "auth.token.refresh_failed": { category: "authentication", severity: "warning", description: "Refresh refused (unknown, expired or revoked token)" },
  "auth.token.reuse_detected": { category: "authentication", severity: "critical", description: "A rotated refresh token was replayed; its whole family was revoked" },
  "auth.token.invalid": { category: "authentication", severity: "warning", description: "An access token was rejected (bad signature, algorithm, expiry)" },
  "auth.logout": { category: "authentication", severity: "info", description: "A login (refresh family) was ended" },
  "auth.organization.switched": { category: "authentication", severity: "info", description: "Tokens issued for another organization" },
  "authz.denied": { category: "authorization", severity: "warning", description: "A field was refused for lack of permission or credentials" },
  "data.read": { category: "data_access", severity: "info", description: "Tenant data returned by a query (per the organization's read-audit setting)" },
  "data.export": { category: "data_access", severity: "warning", description: "Audit events exported or a compliance report produced" },
  "data.created": { category: "data_change", severity: "info", description: "A tenant object was created" },
  "data.updated": { category: "data_change", severity: "info", description: "A tenant object was changed" },
  "data.deleted": { category: "data_change", severity: "warning", description: "A tenant object was deleted" },
  "config.organization.renamed": { category: "configuration", severity: "info", description: "The organization was renamed" },
  "config.alerts.updated": { category: "configuration", severity: "info", description: "Usage alert thresholds changed" },
  "config.audit.updated": { category: "configuration", severity: "warning", description: "Audit settings (read auditing, PII fields, frameworks, retention) changed" },
  "admin.member.added": { category: "admin", severity: "warning", description: "A member was added" },
  "admin.member.role_changed": { category: "admin", severity: "warning", description: "A member's role was changed" },
  "admin.member.removed": { category: "admin", severity: "warning", description: "A member was removed" },
  "admin.organization.created": { category: "admin", severity: "warning", description: "An organization was provisioned (platform)" },
  "admin.organization.updated": { category: "admin", severity: "warning", description: "An organization's name or status was changed (platform)" },
  "admin.plan.changed": { category: "admin", severity: "warning", description: "An organization's plan was changed" },
  "admin.apikey.created": { category: "admin", severity: "warning", description: "An API key was created" },
  "admin.apikey.rotated": { category: "admin", severity: "warning", description: "An API key was rotated" },
  "admin.apikey.revoked": { category: "admin", severity: "warning", description: "An API key was revoked" },
  "api.mutation": { category: "api", severity: "info", description: "A mutation without a more specific event type" },
  "security.rate_limited": { category: "security", severity: "warning", description: "A request was refused by a rate limit" },
  "security.quota_exceeded": { category: "security", severity: "warning", description: "A request was refused because a plan quota is used up" },
  "security.audit.verified": { category: "security", severity: "info", description: "The audit chain was verified" },
  "security.audit.retention": { category: "security", severity: "warning", description: "Expired audit events were archived and removed" },
} as const satisfies Record<string, EventSpec>;
export type AuditEventType = keyof typeof EVENT_TYPES;

export function isEventType(t: string): t is AuditEventType {
  return Object.hasOwn(EVENT_TYPES, t);
}

/** Mutations whose event type is not the generic data.created/updated/deleted. */
export const MUTATION_EVENT_TYPES: Record<string, AuditEventType> = {
  login: "auth.login.succeeded",
  refreshToken: "auth.token.refreshed",
  logout: "auth.logout",
  switchOrganization: "auth.organization.switched",
  createOrganization: "admin.organization.created",
  updateOrganization: "admin.organization.updated",
  renameOrganization: "config.organization.renamed",
  addMember: "admin.member.added",
  updateMemberRole: "admin.member.role_changed",
  removeMember: "admin.member.removed",
  updateAuditSettings: "config.audit.updated",
  updateAlertThresholds: "config.alerts.updated",
  createApiKey: "admin.apikey.created",
  rotateApiKey: "admin.apikey.rotated",
  revokeApiKey: "admin.apikey.revoked",
  setPlanOverrides: "admin.plan.changed",
};

/** Mutations that act on the platform (control plane) rather than on the caller's organization. */
export const PLATFORM_MUTATIONS = new Set(["createOrganization", "updateOrganization", "setPlanOverrides"]);

export function eventTypeForMutation(field: string): AuditEventType {
  const mapped = MUTATION_EVENT_TYPES[field];
  if (mapped) return mapped;
  if (/^(create|add)[A-Z]/.test(field)) return "data.created";
  if (/^(update|rename|set)[A-Z]/.test(field)) return "data.updated";
  if (/^(delete|remove)[A-Z]/.test(field)) return "data.deleted";
  return "api.mutation";
}

/** Resource type of a mutation: its verb stripped ("deleteItem" → "Item"). */
export function resourceTypeForMutation(field: string, returnType: string): string {
  const m = /^(create|update|delete|add|remove|rename|set|rotate|revoke)([A-Z]\w*)$/.exec(field);
  if (m) return m[2] === "MemberRole" ? "Member" : m[2]!;
  return returnType;
}

/** Audit retention each compliance framework requires (days); an organization keeps the longest. */
export const FRAMEWORK_RETENTION_DAYS = {
  SOC2: 365, // SOC 2: one year of evidence for the Type II period
  HIPAA: 2190, // HIPAA §164.316(b)(2): six years
  GDPR: 2555, // GDPR: no fixed period; seven years as the product notes' default for accountability
  PCI_DSS: 365, // PCI DSS 10.5.1: at least twelve months
  CCPA: 730, // CCPA: 24 months of request records
  ISO27001: 1095, // ISO 27001: three years (one certification cycle)
  FEDRAMP: 1095, // FedRAMP / OMB M-21-31: 12 months active + 18 months cold storage, rounded up to three years
} as const;
export type ComplianceFramework = keyof typeof FRAMEWORK_RETENTION_DAYS;
export const DEFAULT_RETENTION_DAYS = 365;

export function retentionDays(frameworks: readonly string[], explicit: number | null | undefined): number {
  if (explicit) return explicit;
  let days = 0;
  for (const f of frameworks) days = Math.max(days, FRAMEWORK_RETENTION_DAYS[f as ComplianceFramework] ?? 0);
  return days || DEFAULT_RETENTION_DAYS;
}
