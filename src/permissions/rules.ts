// Every root field's access rule, in one table. A root field missing here is denied by the
// shield's fallback (and a test fails), so adding a field forces a decision about who may call it.
import type { Feature } from "../enterprise/plans/catalog.js";
import type { Permission } from "./matrix.js";

/** "public": anyone; "authenticated": any valid credential; otherwise a permission from the matrix. */
export type FieldRule = "public" | "authenticated" | Permission;

export const ROOT_FIELD_RULES: Record<"Query" | "Mutation" | "Subscription", Record<string, FieldRule>> = {
  Query: {
    me: "authenticated",
    permissionMatrix: "authenticated",
    organization: "organization:read",
    organizations: "platform:manage",
    members: "member:read",
    workspaces: "workspace:read",
    workspace: "workspace:read",
    projects: "project:read",
    project: "project:read",
    items: "item:read",
    item: "item:read",
    apiKeys: "apikey:manage",
    apiKey: "apikey:manage",
    plans: "authenticated",
    organizationPlan: "organization:read",
    features: "organization:read",
    feature: "organization:read",
    quotaUsage: "organization:read",
    organizationsUsage: "platform:manage",
    auditEvents: "audit:read",
    verifyAuditTrail: "audit:read",
    complianceReport: "audit:read",
    auditSettings: "audit:read",
    auditEventTypes: "authenticated",
    // metering and analytics (enterprise/analytics)
    usage: "analytics:read",
    analyticsSummary: "analytics:read",
    activeUsers: "analytics:read",
    usageCost: "analytics:read",
    usageExport: "analytics:read",
    currentUsage: "analytics:read",
    pricing: "authenticated",
    alertThresholds: "analytics:read",
    platformAnalyticsSummary: "platform:manage",
    topTenants: "platform:manage",
  },
  Mutation: {
    login: "public",
    refreshToken: "public",
    logout: "public",
    switchOrganization: "authenticated",
    createOrganization: "platform:manage",
    updateOrganization: "platform:manage",
    renameOrganization: "organization:manage",
    addMember: "member:manage",
    updateMemberRole: "member:manage",
    removeMember: "member:manage",
    createWorkspace: "workspace:manage",
    updateWorkspace: "workspace:manage",
    deleteWorkspace: "workspace:manage",
    createProject: "project:manage",
    updateProject: "project:manage",
    deleteProject: "project:manage",
    createItem: "item:create",
    updateItem: "item:update",
    deleteItem: "item:delete",
    createApiKey: "apikey:manage",
    rotateApiKey: "apikey:manage",
    revokeApiKey: "apikey:manage",
    setPlanOverrides: "platform:manage",
    updateAuditSettings: "organization:manage",
    updateAlertThresholds: "organization:manage",
  },
  Subscription: {
    itemChanged: "item:read",
    auditEventRecorded: "audit:read",
    usageUpdated: "analytics:read",
    alertRaised: "analytics:read",
    platformUsageUpdated: "platform:manage",
    platformAlertRaised: "platform:manage",
  },
};

/** Fields that also need a plan feature of the caller's organization ("Type.field" → feature), on top of their rule. */
export const FIELD_FEATURES: Record<string, Feature> = {
  "Mutation.createApiKey": "api_keys",
  "Mutation.rotateApiKey": "api_keys",
};

/** Nested fields that expose another resource carry their own rule; other nested fields follow their parent. */
export const NESTED_FIELD_RULES: Record<string, Record<string, FieldRule>> = {
  Workspace: { projects: "project:read" },
  Project: { items: "item:read", workspace: "workspace:read" },
  Item: { project: "project:read" },
  // Item.creator shows a Member to anyone who reads the item: its id and display name only.
  Member: { email: "member:read", role: "member:read", createdAt: "member:read" },
};
