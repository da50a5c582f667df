// Alert thresholds (defaults from the product notes; each organization may override them) and
// their evaluation against one replica's live window.
import { z } from "zod";
import { quantile } from "./histogram.js";
import type { AlertKind, AlertSeverity } from "./events.js";

export const thresholdsSchema = z.object({
  quotaWarningPercent: z.number().min(1).max(1000),
  quotaErrorPercent: z.number().min(1).max(1000),
  errorRatePercent: z.number().min(0).max(100),
  p95WarningMs: z.number().min(1).max(600_000),
  p95ErrorMs: z.number().min(1).max(600_000),
  /** below this many operations in the window, error rate and latency are not judged */
  minCalls: z.number().int().min(1).max(1_000_000),
});
export type AlertThresholds = z.infer<typeof thresholdsSchema>;

export const DEFAULT_THRESHOLDS: AlertThresholds = Object.freeze({
  quotaWarningPercent: 80,
  quotaErrorPercent: 100,
  errorRatePercent: 5,
  p95WarningMs: 500,
  p95ErrorMs: 1000,
  minCalls: 20,
});

export function effectiveThresholds(stored: unknown): AlertThresholds {
  const parsed = thresholdsSchema.partial().safeParse(stored ?? {});
  return { ...DEFAULT_THRESHOLDS, ...(parsed.success ? parsed.data : {}) };
}

export interface AlertCandidate {
  kind: AlertKind;
  severity: AlertSeverity;
  value: number;
  threshold: number;
  message: string;
  /** alerts with the same dedupe key are raised once per cooldown */
  dedupeKey: string;
  cooldownMs: number;
}

const WINDOW_COOLDOWN_MS = 5 * 60_000;

export function evaluateAlerts(input: {
  organizationId: string;
  thresholds: AlertThresholds;
  callsToday: number;
  apiCallsPerDay: number | null;
  window: { calls: number; errors: number; hist: ArrayLike<number> };
  day: string;
}): AlertCandidate[] {
  const t = input.thresholds;
  const out: AlertCandidate[] = [];
  const org = input.organizationId;
  if (input.apiCallsPerDay) {
    const pct = (input.callsToday / input.apiCallsPerDay) * 100;
    const sev: AlertSeverity | null = pct >= t.quotaErrorPercent ? "ERROR" : pct >= t.quotaWarningPercent ? "WARNING" : null;
    if (sev) {
      const threshold = sev === "ERROR" ? t.quotaErrorPercent : t.quotaWarningPercent;
      out.push({
        kind: "QUOTA", severity: sev, value: round(pct), threshold,
        message: `API calls today are at ${round(pct)}% of the daily quota (${input.callsToday} of ${input.apiCallsPerDay})`,
        dedupeKey: `QUOTA:${org}:${input.day}:${sev}`, cooldownMs: 86_400_000,
      });
    }
  }
  const w = input.window;
  if (w.calls >= t.minCalls) {
    const rate = (w.errors / w.calls) * 100;
    if (rate > t.errorRatePercent) {
      out.push({
        kind: "ERROR_RATE", severity: "ERROR", value: round(rate), threshold: t.errorRatePercent,
        message: `Error rate over the last minute is ${round(rate)}% (threshold ${t.errorRatePercent}%)`,
        dedupeKey: `ERROR_RATE:${org}:ERROR`, cooldownMs: WINDOW_COOLDOWN_MS,
      });
    }
    const p95 = quantile(w.hist, 0.95);
    if (p95 !== null) {
      const sev: AlertSeverity | null = p95 > t.p95ErrorMs ? "ERROR" : p95 > t.p95WarningMs ? "WARNING" : null;
      if (sev) {
        const threshold = sev === "ERROR" ? t.p95ErrorMs : t.p95WarningMs;
        out.push({
          kind: "LATENCY_P95", severity: sev, value: round(p95), threshold,
          message: `p95 latency over the last minute is ${round(p95)} ms (threshold ${threshold} ms)`,
          dedupeKey: `LATENCY_P95:${org}:${sev}`, cooldownMs: WINDOW_COOLDOWN_MS,
        });
      }
    }
  }
  return out;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
