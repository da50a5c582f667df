// Read side of the organization registry (control plane), with a short cache so the request path
// does not pay a control-plane query per request. Status changes take effect within CACHE_TTL_MS.
import type { Knex } from "knex";

export type OrganizationStatus = "provisioning" | "active" | "suspended";

export interface OrganizationRecord {
  id: string;
  slug: string;
  name: string;
  plan: string;
  region: string;
  status: OrganizationStatus;
  schemaVersion: number;
  createdAt: Date;
  updatedAt: Date;
}

const CACHE_TTL_MS = 5_000;

export const ORG_COLUMNS = [
  "id", "slug", "name", "plan", "region", "status",
  "schema_version as schemaVersion", "created_at as createdAt", "updated_at as updatedAt",
];

export class OrganizationRegistry {
  private cache = new Map<string, { at: number; org: OrganizationRecord | null }>();
  constructor(private readonly db: Knex) {}

  async get(id: string): Promise<OrganizationRecord | null> {
    const hit = this.cache.get(id);
    const now = Date.now();
    if (hit && now - hit.at < CACHE_TTL_MS) return hit.org;
    const org = ((await this.db.withSchema("control").table("organizations").first(ORG_COLUMNS).where({ id })) ?? null) as OrganizationRecord | null;
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(id, { at: now, org });
    return org;
  }

  invalidate(id: string): void {
    this.cache.delete(id);
  }
}
