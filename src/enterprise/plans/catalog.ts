// Plans as data (figures from the product notes). `null` means unlimited. Organizations may carry
// overrides on top of their plan (see the plans service); this file is the catalogue only.
export const PLAN_IDS = ["free", "starter", "professional", "enterprise"] as const;
export type PlanId = (typeof PLAN_IDS)[number];

export const FEATURES = {
  api_keys: "Create API keys for machines and scripts",
  webhooks: "Signed webhooks",
  audit_export: "Export the audit trail and compliance reports",
  advanced_analytics: "Usage analytics beyond the current period",
  sso: "Single sign-on",
  custom_retention: "Choose audit retention explicitly",
  data_residency: "Choose the region that stores the organization's data",
} as const;
export type Feature = keyof typeof FEATURES;

export interface PlanLimits {
  /** GraphQL operations per UTC day */
  apiCallsPerDay: number | null;
  /** item creations ("generations") per calendar month */
  generationsPerMonth: number | null;
  storageBytes: number | null;
  /** members (seats) */
  members: number | null;
  /** requests per minute per organization (rate limit) */
  requestsPerMinute: number | null;
  /** query cost budget per minute per organization */
  costPerMinute: number | null;
}

export interface Plan {
  id: PlanId;
  name: string;
  /** monthly price in US cents; null: custom pricing */
  priceCentsPerMonth: number | null;
  limits: PlanLimits;
  features: readonly Feature[];
}

const GB = 1024 ** 3;

export const PLANS: Record<PlanId, Plan> = {
  free: {
    id: "free",
    name: "Free",
    priceCentsPerMonth: 0,
    limits: { apiCallsPerDay: 1_000, generationsPerMonth: 100, storageBytes: 1 * GB, members: 5, requestsPerMinute: 60, costPerMinute: 5_000 },
    features: [],
  },
  starter: {
    id: "starter",
    name: "Starter",
    priceCentsPerMonth: 4_900,
    limits: { apiCallsPerDay: 10_000, generationsPerMonth: 500, storageBytes: 10 * GB, members: 10, requestsPerMinute: 300, costPerMinute: 25_000 },
    features: ["api_keys", "webhooks"],
  },
  professional: {
    id: "professional",
    name: "Professional",
    priceCentsPerMonth: 19_900,
    limits: { apiCallsPerDay: 50_000, generationsPerMonth: 2_000, storageBytes: 50 * GB, members: 25, requestsPerMinute: 1_200, costPerMinute: 100_000 },
    features: ["api_keys", "webhooks", "audit_export", "advanced_analytics"],
  },
  enterprise: {
    id: "enterprise",
    name: "Enterprise",
    priceCentsPerMonth: null,
    limits: { apiCallsPerDay: null, generationsPerMonth: null, storageBytes: null, members: null, requestsPerMinute: null, costPerMinute: null },
    features: ["api_keys", "webhooks", "audit_export", "advanced_analytics", "sso", "custom_retention", "data_residency"],
  },
};

export function isPlanId(v: unknown): v is PlanId {
  return typeof v === "string" && (PLAN_IDS as readonly string[]).includes(v);
}
