// The price list as data (figures from the product notes). Amounts are US cents and may be
// fractional; they are rounded only for display.
export interface PriceLine {
  metric: "API_CALLS" | "GENERATIONS" | "STORAGE" | "EXECUTIONS";
  description: string;
  unit: string;
  /** cents per unit */
  unitPriceCents: number;
}

export const PRICING: Record<PriceLine["metric"], PriceLine> = {
  API_CALLS: { metric: "API_CALLS", description: "API calls: $0.01 per 100 calls", unit: "call", unitPriceCents: 1 / 100 },
  GENERATIONS: { metric: "GENERATIONS", description: "Generations (item creations): $0.50 each", unit: "generation", unitPriceCents: 50 },
  STORAGE: { metric: "STORAGE", description: "Storage: $0.10 per GB-month", unit: "GB-month", unitPriceCents: 10 },
  EXECUTIONS: { metric: "EXECUTIONS", description: "Agent/job executions: $0.02 each", unit: "execution", unitPriceCents: 2 },
};

/** Root mutation fields whose successful result is a billable unit. */
export const BILLABLE_FIELDS: Record<string, "generations" | "executions"> = {
  createItem: "generations",
};

export const GB = 1024 ** 3;

export interface UsageQuantities {
  calls: number;
  generations: number;
  executions: number;
  /** storage in GB-months */
  storageGbMonths: number;
}

export interface CostLine {
  metric: PriceLine["metric"];
  quantity: number;
  unitPriceCents: number;
  amountCents: number;
}

export function costLines(q: UsageQuantities): CostLine[] {
  const line = (metric: PriceLine["metric"], quantity: number): CostLine => ({
    metric, quantity, unitPriceCents: PRICING[metric].unitPriceCents, amountCents: quantity * PRICING[metric].unitPriceCents,
  });
  return [line("API_CALLS", q.calls), line("GENERATIONS", q.generations), line("STORAGE", q.storageGbMonths), line("EXECUTIONS", q.executions)];
}

export function totalCents(q: UsageQuantities): number {
  return costLines(q).reduce((s, l) => s + l.amountCents, 0);
}

export function roundCents(c: number): number {
  return Math.round(c * 100) / 100;
}
