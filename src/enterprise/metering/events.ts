// Payloads carried on the pub/sub channels (JSON-safe: they cross Redis).

/** One replica's live figures for one organization over the last second (published only when there was traffic). */
export interface UsageTickPayload {
  organizationId: string;
  /** the replica that measured these figures (each replica publishes only its own measurements) */
  replicaId: string;
  /** ISO time the figures were published */
  at: string;
  windowSeconds: number;
  calls: number;
  errors: number;
  errorRate: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  bytesOut: number;
  /** operations today (UTC), all replicas' flushed counts plus this replica's unflushed ones */
  callsToday: number;
  apiCallsPerDay: number | null;
  quotaRemaining: number | null;
  generationsThisMonth: number;
  costToDateCents: number;
}

export type AlertKind = "QUOTA" | "ERROR_RATE" | "LATENCY_P95";
export type AlertSeverity = "WARNING" | "ERROR";

export interface AlertPayload {
  id: string;
  organizationId: string;
  kind: AlertKind;
  severity: AlertSeverity;
  message: string;
  value: number;
  threshold: number;
  at: string;
}

/** A credential that must stop working now: every replica closes the sockets using it (4403). */
export interface RevocationPayload {
  kind: "session" | "apiKey";
  id: string;
}
