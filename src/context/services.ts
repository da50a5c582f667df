// The long-lived services a request can reach through its context. Built once in app.ts.
import type { Config } from "../config/index.js";
import type { Databases } from "../db/index.js";
import type { IdentityService } from "../auth/identity.service.js";
import type { TokenService } from "../auth/jwt.js";
import type { Logger } from "../observability/logger.js";
import type { OrganizationRegistry } from "../tenancy/registry.js";
import type { PubSub } from "../db/pubsub.js";
import type { Redis } from "ioredis";
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
  /** usage metering, live usage/alerts fan-out, WebSocket connection registry */
  metering: Metering;
}
