// buildApp(config): the whole gateway, wired and ready, but not listening. main.ts listens;
// tests call start(0) to run the real app on a free port.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { expressMiddleware } from "@as-integrations/express5";
import cors from "cors";
import express from "express";
import type { GraphQLSchema } from "graphql";
import type { Config } from "./config/index.js";
import { AppError } from "./errors/app-error.js";
import { IdentityService } from "./auth/identity.service.js";
import { TokenService } from "./auth/jwt.js";
import { createContext } from "./context/index.js";
import type { Services } from "./context/services.js";
import { openDatabases, type Databases } from "./db/index.js";
import { createEnclavePubSub } from "./db/pubsub.js";
import { createRedis } from "./db/redis.js";
import { ApiKeyAuthenticator } from "./enterprise/api-keys/api-key.authenticator.js";
import { Invalidation } from "./enterprise/plans/invalidation.js";
import { PlanService } from "./enterprise/plans/plans.service.js";
import { QuotaService } from "./enterprise/plans/quotas.js";
import { authenticatedOf, limitsMiddleware } from "./enterprise/rate-limit/http.js";
import { RateLimitService } from "./enterprise/rate-limit/limiter.js";
import { createApollo } from "./graphql/server.js";
import { buildGatewaySchema } from "./graphql/schema.js";
import { healthRouter } from "./http/health.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { OrganizationRegistry } from "./tenancy/registry.js";
import { attachWebSocketServer } from "./ws/server.js";
import { Metering } from "./enterprise/metering/service.js";
import { meterHttp, meteringPlugin } from "./enterprise/metering/plugin.js";
import { seedDemo, type DemoSummary } from "../seeds/demo.js";
import { AuditService } from "./enterprise/audit/service.js";
import { auditRouter } from "./enterprise/audit/http.js";
import { platformChain } from "./enterprise/audit/recorder.js";
import { sessionAuditHook } from "./enterprise/audit/identity.js";

export interface App {
  services: Services;
  schema: GraphQLSchema;
  httpServer: Server;
  demo?: DemoSummary;
  /** Listen on the port (0: a free one); resolves to the base URL. */
  start(port?: number, host?: string): Promise<string>;
  /** Graceful stop: readiness fails, in-flight requests finish, sockets close, pools close. */
  stop(): Promise<void>;
}

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

export async function buildApp(config: Config, opts: { logger?: Logger; databases?: Databases } = {}): Promise<App> {
  const logger = opts.logger ?? createLogger(config);
  const db = opts.databases ?? (await openDatabases(config, logger));
  const tokens = new TokenService(config.jwt);
  const registry = new OrganizationRegistry(db.control);
  const redis = createRedis(config.redisUrl, logger);
  const invalidation = new Invalidation(redis, config.limits.keyPrefix, logger);
  const plans = new PlanService(db.control, registry, invalidation);
  const limits = new RateLimitService(config, plans, logger);
  const pubsub = createEnclavePubSub({
    redis,
    prefix: config.pubsubPrefix,
    onError: (err, command) => logger.warn({ err: err.message, command }, "pub/sub: Redis command failed"),
  });
  const services: Services = {
    config,
    db,
    logger,
    tokens,
    registry,
    identity: new IdentityService(db.control, tokens, registry, config.jwt.refreshTtlSeconds, logger),
    pubsub,
    redis,
    plans,
    quotas: new QuotaService(db.control, plans, config),
    apiKeys: new ApiKeyAuthenticator(db.control, plans, logger, config.apiKeys, invalidation),
    limits,
    audit: new AuditService({ db, config, logger, pubsub }),
    metering: new Metering({ config, db, logger, pubsub, redis, limitsFor: async (id) => (await plans.resolve(id))?.limits ?? null }),
  };
  if (!(await limits.connect())) logger.warn("rate limiter: Redis not reachable at start; using the configured fail-safe");
  services.audit.start();
  services.identity.audit = sessionAuditHook(services.audit);
  services.identity.onRevoked = (familyId) => services.metering.connections.revoke({ kind: "session", id: familyId });
  const demo = config.seedDemo ? await seedDemo(db.admin, config.database.appRole) : undefined;

  const schema = await buildGatewaySchema(services.pubsub);
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", config.trustProxy);
  const httpServer = createServer(app);
  const ws = attachWebSocketServer(services, schema, httpServer, app.get("trust proxy fn"));
  const apollo = createApollo(services, schema, httpServer, [
    { async serverWillStart() { return { async drainServer() { await ws.dispose(); } }; } },
    meteringPlugin(),
  ]);
  await apollo.start();

  let draining = false;
  // Every response carries x-request-id, also those refused before GraphQL runs (CSRF, batch, bad JSON).
  app.use((req, res, next) => {
    const given = req.headers["x-request-id"];
    res.locals.requestId = typeof given === "string" && REQUEST_ID_RE.test(given) ? given : randomUUID();
    res.setHeader("x-request-id", res.locals.requestId);
    next();
  });
  app.use(healthRouter(db.control, () => draining));
  // Audit downloads: the same authentication (JWT or API key) and rate limits as /graphql.
  app.use("/audit", limitsMiddleware(services));
  app.use(auditRouter(services));
  app.use(
    "/graphql",
    cors<cors.CorsRequest>(),
    limitsMiddleware(services),
    express.json({ limit: "256kb" }),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        const requestId = res.locals.requestId as string;
        const client = { ip: req.ip, userAgent: req.headers["user-agent"] };
        const auth = authenticatedOf(res);
        if (auth?.error) {
          if (!(auth.error instanceof AppError)) {
            logger.error({ err: auth.error, requestId }, "authentication failed");
            throw new AppError("SERVICE_UNAVAILABLE", "Authentication is unavailable; retry shortly");
          }
          // A rejected credential is a security event (platform chain: the token names no trusted organization).
          await services.audit.recordOutcome(undefined, {
            type: "auth.token.invalid", result: "failure", reason: auth.error.message,
            actor: { type: "anonymous", ip: client.ip ?? null, userAgent: client.userAgent?.slice(0, 512) ?? null, requestId },
          }, platformChain(null));
          throw auth.error;
        }
        const ctx = createContext(services, auth?.principal ?? null, { client, requestId, transport: "http" });
        meterHttp(services.metering, ctx, res);
        return ctx;
      },
    }),
  );
  // Malformed JSON bodies and oversize payloads: a clear 400/413, never a stack.
  app.use((err: Error & { status?: number; type?: string }, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (res.headersSent) return next(err);
    const status = err.status && err.status >= 400 && err.status < 500 ? err.status : 500;
    if (status === 500) logger.error({ err }, "http error");
    res.status(status).json({ errors: [{ message: status === 500 ? "Internal server error" : "Malformed request body", extensions: { code: status === 500 ? "INTERNAL_SERVER_ERROR" : "BAD_REQUEST" } }] });
  });

  services.metering.start();
  let stopping: Promise<void> | undefined;
  return {
    services,
    schema,
    httpServer,
    demo,
    start(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        httpServer.once("error", reject);
        httpServer.listen(port, host, () => {
          const addr = httpServer.address() as AddressInfo;
          const shownHost = host === "0.0.0.0" || host === "::" ? "localhost" : host;
          resolve(`http://${shownHost}:${addr.port}`);
        });
      });
    },
    stop() {
      stopping ??= (async () => {
        draining = true;
        const deadline = setTimeout(() => logger.warn("shutdown deadline passed; forcing close"), config.shutdownTimeoutMs).unref();
        try {
          if (httpServer.listening) await apollo.stop();
          else { await ws.dispose(); await apollo.stop(); }
        } finally {
          clearTimeout(deadline);
          await services.apiKeys.stop().catch((err) => logger.warn({ err }, "api key usage flush failed at shutdown"));
          await services.limits.stop();
          invalidation.stop();
          await services.audit.stop();
          await services.metering.stop();
          await services.pubsub.close();
          await services.redis?.quit().catch(() => undefined);
          if (!opts.databases) await db.close();
        }
      })();
      return stopping;
    },
  };
}
