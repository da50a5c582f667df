// The long-lived services a request can reach through its context. Built once in app.ts.
import type { Config } from "../config/index.js";
import type { Databases } from "../db/index.js";
import type { IdentityService } from "../auth/identity.service.js";
import type { TokenService } from "../auth/jwt.js";
import type { Logger } from "../observability/logger.js";
import type { OrganizationRegistry } from "../tenancy/registry.js";
import type { PubSub } from "../db/pubsub.js";
import type { Redis } from "ioredis";
import type { ApiKeyAuthenticator } from "../enterprise/api-keys/api-key.authenticator.js";
import type { PlanService } from "../enterprise/plans/plans.service.js";
import type { QuotaService } from "../enterprise/plans/quotas.js";
import type { RateLimitService } from "../enterprise/rate-limit/limiter.js";
import type { AuditService } from "../enterprise/audit/service.js";
import type { Metering } from "../enterprise/metering/service.js";

export interface Services {
  config: Config;
  db: Databases;
  logger: Logger;
  tokens: TokenService;
  identity: IdentityService;
  registry: OrganizationRegistry;
  pubsub: PubSub;
  /** null when REDIS_URL is unset */
  redis: Redis | null;
  plans: PlanService;
  quotas: QuotaService;
  apiKeys: ApiKeyAuthenticator;
  limits: RateLimitService;
  audit: AuditService;
  /** usage metering, live usage/alerts fan-out, WebSocket connection registry */
  metering: Metering;
}
