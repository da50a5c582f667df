// The permission matrix pinned as a literal. The integration tests derive their expectations from
// src/permissions, so a loosened rule would pass them; this file fails on any change, on purpose:
// update it together with the README's generated table when a change is intended.
import { describe, expect, it } from "vitest";
import { ROLE_PERMISSIONS } from "../../src/permissions/matrix.js";
import { ROOT_FIELD_RULES } from "../../src/permissions/rules.js";

describe("permission matrix", () => {
  it("grants exactly these permissions per organization role", () => {
    expect(Object.fromEntries(Object.entries(ROLE_PERMISSIONS).filter(([r]) => r !== "SUPER_ADMIN").map(([r, p]) => [r, [...p].sort()]))).toEqual({
      ADMIN: [
        "analytics:read", "apikey:manage", "audit:read", "item:create", "item:delete", "item:read", "item:update", "member:manage",
        "member:read", "organization:manage", "organization:read", "project:manage", "project:read", "webhook:manage",
        "workspace:manage", "workspace:read",
      ],
      DEVELOPER: ["item:create", "item:read", "item:update", "member:read", "organization:read", "project:manage", "project:read", "workspace:read"],
      ANALYST: ["analytics:read", "item:read", "member:read", "organization:read", "project:read", "workspace:read"],
      SERVICE_ACCOUNT: ["item:create", "item:read", "item:update", "organization:read", "project:read", "workspace:read"],
    });
  });

  it("keeps public and platform-only fields as they are", () => {
    const byRule = (rule: string) =>
      Object.entries(ROOT_FIELD_RULES).flatMap(([root, fields]) => Object.entries(fields).filter(([, r]) => r === rule).map(([f]) => `${root}.${f}`)).sort();
    expect(byRule("public")).toEqual(["Mutation.login", "Mutation.logout", "Mutation.refreshToken"]);
    expect(byRule("platform:manage")).toEqual([
      "Mutation.createOrganization", "Mutation.setPlanOverrides", "Mutation.updateOrganization",
      "Query.organizations", "Query.organizationsUsage", "Query.platformAnalyticsSummary", "Query.topTenants",
      "Subscription.platformAlertRaised", "Subscription.platformUsageUpdated",
    ]);
    expect(ROOT_FIELD_RULES.Mutation.deleteItem).toBe("item:delete");
    expect(ROOT_FIELD_RULES.Query.auditEvents).toBe("audit:read");
  });
});
