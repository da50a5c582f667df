// Session changes (login, refresh, switch, logout, refresh-token reuse) recorded inside the
// identity service's own transactions: the tenant chain of the session's organization, else the
// platform chain.
import type { SessionAuditHook } from "../../auth/identity.service.js";
import { enterTenant, tenantRef } from "../../tenancy/scope.js";
import type { AuditEventType } from "./catalog.js";
import { fieldScope, platformChain, tenantChain } from "./recorder.js";
import type { AuditService } from "./service.js";

const TYPES: Record<Parameters<SessionAuditHook["record"]>[1]["kind"], AuditEventType> = {
  login: "auth.login.succeeded",
  refresh: "auth.token.refreshed",
  switch: "auth.organization.switched",
  logout: "auth.logout",
  reuse: "auth.token.reuse_detected",
};

export function sessionAuditHook(audit: AuditService): SessionAuditHook {
  return {
    async prepare(orgId) {
      if (orgId && audit.enabled) await audit.settings.get(orgId);
    },
    async record(trx, e) {
      if (!audit.enabled) return;
      const chain = e.organizationId ? tenantChain(e.organizationId) : platformChain(null);
      if (e.organizationId) await enterTenant(trx, tenantRef(e.organizationId));
      await audit.record(trx, chain, {
        type: TYPES[e.kind],
        result: e.kind === "reuse" ? "failure" : "success",
        reason: e.kind === "reuse" ? "A rotated refresh token was replayed; the session family was revoked" : null,
        resourceType: "Session",
        resourceId: e.familyId,
        actor: { type: "user", id: e.userId, sessionId: e.familyId },
        metadata: { operation: fieldScope.getStore()?.field ?? e.kind, organizationId: e.organizationId, role: e.role ?? null, ...(e.previousFamily ? { previousSession: e.previousFamily } : {}) },
      });
    },
  };
}
