// Roles and permissions as data, in one place. Shield rules, the GraphQL `permissionMatrix` query
// and the README table are all derived from this file.
export const ORG_ROLES = ["ADMIN", "DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];
export const ROLES = ["SUPER_ADMIN", ...ORG_ROLES] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  "organization:read": "See the organization's profile",
  "organization:manage": "Rename the organization and change its settings",
  "member:read": "List members and their roles",
  "member:manage": "Add and remove members, change roles",
  "workspace:read": "List and read workspaces",
  "workspace:manage": "Create, rename and delete workspaces",
  "project:read": "List and read projects",
  "project:manage": "Create, update and delete projects",
  "item:read": "List, read and subscribe to items",
  "item:create": "Create items",
  "item:update": "Edit items",
  "item:delete": "Delete items",
  "analytics:read": "Read usage analytics",
  "audit:read": "Read the audit trail",
  "apikey:manage": "Create, rotate and revoke API keys",
  "webhook:manage": "Manage webhook endpoints",
  "platform:manage": "Create, suspend and inspect any organization (platform staff)",
} as const;
export type Permission = keyof typeof PERMISSIONS;

const ALL = Object.keys(PERMISSIONS) as Permission[];
const TENANT_ALL = ALL.filter((p) => p !== "platform:manage");

export const ROLE_PERMISSIONS: Record<Role, readonly Permission[]> = {
  // Platform staff: everything, in whichever organization they have switched into.
  SUPER_ADMIN: ALL,
  ADMIN: TENANT_ALL,
  DEVELOPER: [
    "organization:read", "member:read", "workspace:read", "project:read", "project:manage",
    "item:read", "item:create", "item:update",
  ],
  ANALYST: ["organization:read", "member:read", "workspace:read", "project:read", "item:read", "analytics:read"],
  SERVICE_ACCOUNT: ["organization:read", "workspace:read", "project:read", "item:read", "item:create", "item:update"],
};

const roleSets = new Map<Role, ReadonlySet<Permission>>(
  ROLES.map((r) => [r, new Set(ROLE_PERMISSIONS[r])]),
);

export function roleHas(role: Role, permission: Permission): boolean {
  return roleSets.get(role)?.has(permission) ?? false;
}

export function isOrgRole(value: unknown): value is OrgRole {
  return typeof value === "string" && (ORG_ROLES as readonly string[]).includes(value);
}
