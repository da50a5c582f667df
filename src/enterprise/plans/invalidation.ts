// Cross-replica cache invalidation over Redis pub/sub: a plan change or a revoked key is dropped
// from every replica's cache at once instead of within the cache TTL. Best effort by design: with
// Redis down, caches still expire after their TTL (the database stays the source of truth).
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "../../observability/logger.js";

export type InvalidationKind = "organization" | "apiKey";

export class Invalidation {
  private readonly handlers = new Map<InvalidationKind, (id: string) => void>();
  private readonly origin = randomUUID();
  private readonly channel: string;
  private sub: Redis | null = null;

  constructor(private readonly redis: Redis | null, prefix: string, private readonly logger: Logger) {
    this.channel = `${prefix}invalidate`;
    if (!redis) return;
    const sub = (this.sub = redis.duplicate({ connectionName: "enclave-invalidation" }));
    sub.on("error", () => undefined);
    sub.on("message", (_channel: string, message: string) => this.receive(message));
    sub.subscribe(this.channel).catch((err: Error) => logger.warn({ err: err.message }, "cache invalidation: subscribe failed"));
  }

  on(kind: InvalidationKind, handler: (id: string) => void): void {
    this.handlers.set(kind, handler);
  }

  /** Drop the entry here at once and tell the other replicas. */
  publish(kind: InvalidationKind, id: string): void {
    this.handlers.get(kind)?.(id);
    this.redis?.publish(this.channel, JSON.stringify({ kind, id, origin: this.origin })).catch(() => undefined);
  }

  private receive(message: string) {
    try {
      const m = JSON.parse(message) as { kind?: InvalidationKind; id?: unknown; origin?: string };
      if (m.origin === this.origin || typeof m.id !== "string" || !m.kind) return;
      this.handlers.get(m.kind)?.(m.id);
    } catch {
      this.logger.warn("cache invalidation: malformed message ignored");
    }
  }

  stop(): void {
    this.sub?.disconnect();
  }
}
