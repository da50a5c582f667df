// Every environment variable Enclave reads, validated once at boot into a frozen, typed config.
// Secrets have defaults only in development and test; production refuses to start without them.
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"])
  .transform((v) => v === "true" || v === "1" || v === "yes");

const DEV_JWT_SECRET = "enclave-development-only-jwt-secret-change-me";
const DEV_APP_DB_PASSWORD = "enclave-development-only-app-password";
const DEV_AUDIT_SIGNING_KEY = "enclave-development-only-audit-signing-key";

const envSchema = z
  .object({
    NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
    HOST: z.string().default("0.0.0.0"),
    PORT: z.coerce.number().int().min(0).max(65535).default(4000),
    LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional(),
    /** Privileged connection for migrations and provisioning. Unset: an embedded PostgreSQL is started. */
    DATABASE_URL: z.string().url().optional(),
    /** Runtime connection (non-superuser). Unset: derived from DATABASE_URL with the managed app role. */
    DATABASE_APP_URL: z.string().url().optional(),
    DATABASE_APP_ROLE: z.string().regex(/^[a-z_][a-z0-9_]{0,40}$/).default("enclave_app"),
    DATABASE_APP_PASSWORD: z.string().min(16).optional(),
    DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(500).default(20),
    DATABASE_CONTROL_POOL_MAX: z.coerce.number().int().min(1).max(100).default(5),
    DATA_DIR: z.string().default(".data"),
    /** Shared limits and cross-replica pub/sub. Unset: both are in-process. */
    REDIS_URL: z.string().url().optional(),
    EMBEDDED_PG_PORT: z.coerce.number().int().min(0).max(65535).default(5433),
    JWT_ALGORITHM: z.enum(["HS256", "RS256"]).default("HS256"),
    JWT_SECRET: z.string().min(32, "JWT_SECRET must be at least 32 characters").optional(),
    JWT_PRIVATE_KEY: z.string().optional(),
    JWT_PUBLIC_KEY: z.string().optional(),
    JWT_ISSUER: z.string().default("enclave"),
    JWT_AUDIENCE: z.string().default("enclave-api"),
    ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(86_400).default(900),
    REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(300).default(30 * 86_400),
    GRAPHQL_INTROSPECTION: bool.optional(),
    GRAPHQL_SANDBOX: bool.optional(),
    EXPOSE_ERROR_DETAILS: bool.optional(),
    SEED_DEMO: bool.optional(),
    TRUST_PROXY: bool.default(false),
    MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(6),
    MAX_QUERY_ALIASES: z.coerce.number().int().min(1).default(15),
    MAX_QUERY_DIRECTIVES: z.coerce.number().int().min(1).default(50),
    MAX_QUERY_TOKENS: z.coerce.number().int().min(10).default(1000),
    MAX_QUERY_COST: z.coerce.number().int().min(1).default(50_000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(25_000),
    /** Rate limits, cost budgets and the daily API-call quota (off: only for benchmarks and tests of other layers). */
    RATE_LIMITS_ENABLED: bool.default(true),
    /** Creation, storage and seat quotas. */
    QUOTAS_ENABLED: bool.default(true),
    /** Redis unreachable: "local" = per-process limits divided by RATE_LIMIT_REPLICAS; "closed" = refuse with 503. */
    RATE_LIMIT_REDIS_FAILURE: z.enum(["local", "closed"]).default("local"),
    RATE_LIMIT_REPLICAS: z.coerce.number().int().min(1).max(1000).default(1),
    RATE_LIMIT_KEY_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/).default("enclave:rl:"),
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: z.coerce.number().int().min(1).default(60),
    RATE_LIMIT_USER_PER_MINUTE: z.coerce.number().int().min(1).default(600),
    /** How long a replica trusts a cached API key record: revocation is effective everywhere within this. */
    API_KEY_CACHE_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
    API_KEY_USAGE_FLUSH_MS: z.coerce.number().int().min(100).default(10_000),
    /** Audit trail: off only for benchmarks (the per-mutation overhead figure). */
    AUDIT_ENABLED: bool.default(true),
    /** HMAC-SHA256 key signing audit checkpoints. */
    AUDIT_SIGNING_KEY: z.string().min(32, "AUDIT_SIGNING_KEY must be at least 32 characters").optional(),
    AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
    AUDIT_ARCHIVE_DIR: z.string().optional(),
    /** Metering and live usage (see docs/metering-and-subscriptions.md). */
    METERING_ENABLED: bool.default(true),
    METERING_FLUSH_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    METERING_STORAGE_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
    METERING_RETENTION_MINUTE_HOURS: z.coerce.number().int().min(1).default(48),
    METERING_RETENTION_HOUR_DAYS: z.coerce.number().int().min(1).default(90),
    METERING_RETENTION_DAY_DAYS: z.coerce.number().int().min(1).default(760),
    MAX_SUBSCRIPTIONS_PER_ORG: z.coerce.number().int().min(1).default(20_000),
    MAX_SOCKETS_PER_ORG: z.coerce.number().int().min(1).default(20_000),
    /** Prefix of every pub/sub channel (lets several deployments or test runs share one Redis). */
    PUBSUB_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{0,64}$/).default("enclave:"),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== "production") return;
    if (env.JWT_ALGORITHM === "HS256" && !env.JWT_SECRET)
      ctx.addIssue({ code: "custom", path: ["JWT_SECRET"], message: "is required in production" });
    if (env.JWT_ALGORITHM === "RS256" && (!env.JWT_PRIVATE_KEY || !env.JWT_PUBLIC_KEY))
      ctx.addIssue({ code: "custom", path: ["JWT_PRIVATE_KEY"], message: "JWT_PRIVATE_KEY and JWT_PUBLIC_KEY are required for RS256" });
    if (!env.AUDIT_SIGNING_KEY)
      ctx.addIssue({ code: "custom", path: ["AUDIT_SIGNING_KEY"], message: "is required in production" });
    if (!env.DATABASE_URL)
      ctx.addIssue({ code: "custom", path: ["DATABASE_URL"], message: "is required in production (the embedded database is for development)" });
    if (!env.DATABASE_APP_URL && !env.DATABASE_APP_PASSWORD)
      ctx.addIssue({ code: "custom", path: ["DATABASE_APP_PASSWORD"], message: "or DATABASE_APP_URL is required in production" });
  });

export type Env = z.infer<typeof envSchema>;

export interface Config {
  env: Env["NODE_ENV"];
  isProduction: boolean;
  host: string;
  port: number;
  logLevel: NonNullable<Env["LOG_LEVEL"]>;
  dataDir: string;
  redisUrl?: string;
  database: {
    adminUrl?: string;
    appUrl?: string;
    appRole: string;
    appPassword: string;
    poolMax: number;
    controlPoolMax: number;
    embeddedPort: number;
  };
  jwt: {
    algorithm: "HS256" | "RS256";
    secret?: string;
    privateKey?: string;
    publicKey?: string;
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
    refreshTtlSeconds: number;
  };
  graphql: {
    introspection: boolean;
    sandbox: boolean;
    exposeErrorDetails: boolean;
    maxDepth: number;
    maxAliases: number;
    maxDirectives: number;
    maxTokens: number;
    maxCost: number;
  };
  limits: {
    rateLimitsEnabled: boolean;
    quotasEnabled: boolean;
    redisFailure: "local" | "closed";
    replicas: number;
    keyPrefix: string;
    anonymousPerMinute: number;
    userPerMinute: number;
  };
  apiKeys: {
    cacheTtlMs: number;
    usageFlushMs: number;
  };
  seedDemo: boolean;
  trustProxy: boolean;
  shutdownTimeoutMs: number;
  audit: {
    enabled: boolean;
    signingKey: string;
    checkpointIntervalMs: number;
    archiveDir: string;
  };
  metering: {
    enabled: boolean;
    flushIntervalMs: number;
    storageIntervalMs: number;
    retention: { minuteHours: number; hourDays: number; dayDays: number };
    maxSubscriptionsPerOrg: number;
    maxSocketsPerOrg: number;
  };
  pubsubPrefix: string;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parse the environment once. Throws a ConfigError naming every bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(env)"}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const prod = e.NODE_ENV === "production";
  const config: Config = {
    env: e.NODE_ENV,
    isProduction: prod,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL ?? (e.NODE_ENV === "test" ? "warn" : "info"),
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL,
    database: {
      adminUrl: e.DATABASE_URL,
      appUrl: e.DATABASE_APP_URL,
      appRole: e.DATABASE_APP_ROLE,
      appPassword: e.DATABASE_APP_PASSWORD ?? DEV_APP_DB_PASSWORD,
      poolMax: e.DATABASE_POOL_MAX,
      controlPoolMax: e.DATABASE_CONTROL_POOL_MAX,
      embeddedPort: e.EMBEDDED_PG_PORT,
    },
    jwt: {
      algorithm: e.JWT_ALGORITHM,
      secret: e.JWT_SECRET ?? (e.JWT_ALGORITHM === "HS256" ? DEV_JWT_SECRET : undefined),
      privateKey: e.JWT_PRIVATE_KEY?.replace(/\\n/g, "\n"),
      publicKey: e.JWT_PUBLIC_KEY?.replace(/\\n/g, "\n"),
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSeconds: e.ACCESS_TOKEN_TTL_SECONDS,
      refreshTtlSeconds: e.REFRESH_TOKEN_TTL_SECONDS,
    },
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? !prod,
      sandbox: e.GRAPHQL_SANDBOX ?? !prod,
      exposeErrorDetails: e.EXPOSE_ERROR_DETAILS ?? e.NODE_ENV === "development",
      maxDepth: e.MAX_QUERY_DEPTH,
      maxAliases: e.MAX_QUERY_ALIASES,
      maxDirectives: e.MAX_QUERY_DIRECTIVES,
      maxTokens: e.MAX_QUERY_TOKENS,
      maxCost: e.MAX_QUERY_COST,
    },
    limits: {
      rateLimitsEnabled: e.RATE_LIMITS_ENABLED,
      quotasEnabled: e.QUOTAS_ENABLED,
      redisFailure: e.RATE_LIMIT_REDIS_FAILURE,
      replicas: e.RATE_LIMIT_REPLICAS,
      keyPrefix: e.RATE_LIMIT_KEY_PREFIX,
      anonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
      userPerMinute: e.RATE_LIMIT_USER_PER_MINUTE,
    },
    apiKeys: { cacheTtlMs: e.API_KEY_CACHE_TTL_MS, usageFlushMs: e.API_KEY_USAGE_FLUSH_MS },
    seedDemo: e.SEED_DEMO ?? !prod,
    trustProxy: e.TRUST_PROXY,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    audit: {
      enabled: e.AUDIT_ENABLED,
      signingKey: e.AUDIT_SIGNING_KEY ?? DEV_AUDIT_SIGNING_KEY,
      checkpointIntervalMs: e.AUDIT_CHECKPOINT_INTERVAL_MS,
      archiveDir: e.AUDIT_ARCHIVE_DIR ?? `${e.DATA_DIR}/audit-archive`,
    },
    metering: {
      enabled: e.METERING_ENABLED,
      flushIntervalMs: e.METERING_FLUSH_INTERVAL_MS,
      storageIntervalMs: e.METERING_STORAGE_INTERVAL_MS,
      retention: { minuteHours: e.METERING_RETENTION_MINUTE_HOURS, hourDays: e.METERING_RETENTION_HOUR_DAYS, dayDays: e.METERING_RETENTION_DAY_DAYS },
      maxSubscriptionsPerOrg: e.MAX_SUBSCRIPTIONS_PER_ORG,
      maxSocketsPerOrg: e.MAX_SOCKETS_PER_ORG,
    },
    pubsubPrefix: e.PUBSUB_PREFIX,
  };
  return deepFreeze(config);
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v && typeof v === "object") deepFreeze(v);
  return Object.freeze(o);
}
