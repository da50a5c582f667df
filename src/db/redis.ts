// The optional Redis connection (REDIS_URL). Without it every feature that can share state across
// replicas (rate limits, pub/sub) runs in-process.
import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.js";

export function createRedis(url: string | undefined, logger: Logger, name = "enclave"): Redis | null {
  if (!url) return null;
  const client = new Redis(url, { connectionName: name, maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  // Without an error listener ioredis logs unhandled errors; a Redis restart must not kill the process.
  client.on("error", (err) => logger.warn({ err: err.message }, "redis error"));
  return client;
}
