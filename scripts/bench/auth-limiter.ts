// What API key authentication and the limiter add per request, two ways:
//  1. per call, in process: CPU time (process.cpuUsage, robust on a shared machine) and wall time
//     of authenticating a JWT vs an API key, and of the limiter (in-process vs Redis);
//  2. end to end: one gateway per limiter setting (sharing one fresh database on the machine's
//     PostgreSQL), autocannon with 50 connections in a worker thread, JWT vs API key, on a cheap
//     operation (`organization`: registry cache, no SQL) and a hot read (20 items); each row is
//     the best of several short rounds, the rounds interleaved so load from other work spreads.
//   tsx scripts/bench/auth-limiter.ts   [BENCH_DATABASE_URL=…] [REDIS_URL=…] [BENCH_SECONDS=5]
import "reflect-metadata";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import autocannon from "autocannon";
import { buildApp, type App } from "../../src/app.js";
import { loadConfig } from "../../src/config/index.js";
import { authenticateCredentials } from "../../src/context/index.js";
import { openDatabases } from "../../src/db/index.js";
import { createKnex, quoteIdent } from "../../src/db/knex.js";
import { createLogger } from "../../src/observability/logger.js";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { tenantRef } from "../../src/tenancy/scope.js";

const SERVER = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 5_000);
const CONNECTIONS = 50;
const dbName = `enclave_bench_keys_${randomBytes(3).toString("hex")}`;

const dbUrl = new URL(SERVER);
dbUrl.pathname = `/${dbName}`;
const server = createKnex({ url: SERVER, poolMax: 1, applicationName: "bench-setup" });
await server.raw(`CREATE DATABASE ${quoteIdent(dbName)}`);

const env: Record<string, string | undefined> = {
  ...process.env, NODE_ENV: "production", LOG_LEVEL: "silent", SEED_DEMO: "false", DATABASE_URL: dbUrl.toString(),
  DATABASE_APP_PASSWORD: "bench-only-app-password-123", JWT_SECRET: "bench-only-jwt-secret-0123456789abcdef", DATABASE_POOL_MAX: "10",
};
delete env.REDIS_URL;
const baseConfig = loadConfig(env);
const logger = createLogger({ logLevel: "silent" });
const databases = await openDatabases(baseConfig, logger);
const apps: App[] = [];
let orgId = "";

try {
  const { organization } = await provisionOrganization(databases.admin, { slug: "bench-keys", name: "Bench", plan: "professional" }, { appRole: baseConfig.database.appRole });
  orgId = organization.id;
  const schema = quoteIdent(tenantRef(orgId).schema);
  const [user] = await databases.admin.withSchema("control").table("users").insert({ email: "admin@bench.test", display_name: "Bench admin" }).returning("id");
  await databases.admin.withSchema("control").table("memberships").insert({ user_id: user.id, organization_id: orgId, role: "ADMIN" });
  const { rows: [ws] } = await databases.admin.raw(`INSERT INTO ${schema}.workspaces (name) VALUES ('W') RETURNING id`);
  const { rows: [project] } = await databases.admin.raw(`INSERT INTO ${schema}.projects (workspace_id, name) VALUES (?, 'P') RETURNING id`, [ws.id]);
  await databases.admin.raw(`INSERT INTO ${schema}.items (project_id, title, tags) SELECT ?, 'item ' || g, '{a,b}' FROM generate_series(1, 200) g`, [project.id]);
  // Every bucket is exercised but none refuses: professional plan with very high overrides.
  await databases.admin.withSchema("control").table("plan_overrides").insert({
    organization_id: orgId,
    limits: JSON.stringify({ requestsPerMinute: 1e9, costPerMinute: 1e9, apiCallsPerDay: 1e9 }),
  });

  const start = async (extra: Record<string, string>) => {
    const config = loadConfig({ ...env, RATE_LIMIT_USER_PER_MINUTE: "1000000000", RATE_LIMIT_KEY_PREFIX: `bench:${randomBytes(4).toString("hex")}:`, ...extra });
    const app = await buildApp(config, { databases, logger });
    apps.push(app);
    return { app, url: `${await app.start(0, "127.0.0.1")}/graphql` };
  };

  const first = await start({ RATE_LIMITS_ENABLED: "false" });
  const jwt = first.app.services.tokens.signAccess({ sub: user.id, sid: "bench", org: orgId, role: "ADMIN" }, 3600);
  const made = (await fetch(first.url, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${jwt}` },
    body: JSON.stringify({ query: `mutation { createApiKey(input: { name: "bench", scopes: ["organization:read", "item:read"] }) { secret } }` }),
  }).then((r) => r.json())) as { data: { createApiKey: { secret: string } } };
  const key = made.data.createApiKey.secret;

  const CHEAP = JSON.stringify({ query: "{ organization { id name } }" });
  const HOT = JSON.stringify({ query: `{ items(projectId: "${project.id}", first: 20) { edges { node { id title status tags } } } }` });

  const gateways = {
    off: first,
    "in-process": await start({ RATE_LIMITS_ENABLED: "true" }),
    Redis: await start({ RATE_LIMITS_ENABLED: "true", REDIS_URL: REDIS }),
  };
  const creds = { JWT: { authorization: `Bearer ${jwt}` }, "API key": { "x-api-key": key } } as const;

  // 1. Per call, in process.
  const perCall = async (fn: () => Promise<unknown>, n = ITERATIONS) => {
    for (let i = 0; i < 500; i++) await fn();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const wall = ((performance.now() - t0) * 1000) / n;
    const c = process.cpuUsage(c0);
    return { cpu: (c.user + c.system) / n, wall };
  };
  const s0 = first.app.services;
  const jwtPrincipal = await authenticateCredentials(s0, { authorization: `Bearer ${jwt}` });
  const keyPrincipal = await authenticateCredentials(s0, { apiKey: key, ip: "127.0.0.1" });
  const micro: Array<[string, { cpu: number; wall: number }]> = [
    ["authenticate JWT (HS256)", await perCall(() => authenticateCredentials(s0, { authorization: `Bearer ${jwt}` }))],
    ["authenticate API key (cached record)", await perCall(() => authenticateCredentials(s0, { apiKey: key, ip: "127.0.0.1" }))],
  ];
  for (const name of ["in-process", "Redis"] as const) {
    const l = gateways[name].app.services.limits;
    const limiter = async (principal: typeof jwtPrincipal) => {
      await l.admitRequest(principal, "127.0.0.1");
      const d = await l.costBudget(orgId, 1e9, 100);
      await l.costBudget(orgId, 1e9, -99);
      return d;
    };
    micro.push([`limiter ${name}, JWT caller (org + user buckets, daily count, cost charge + refund)`, await perCall(() => limiter(jwtPrincipal))]);
    micro.push([`limiter ${name}, API key caller (org bucket, daily count, cost charge + refund)`, await perCall(() => limiter(keyPrincipal))]);
  }

  // 2. End to end.
  const best: Record<string, { rps: number; p50: number; p99: number; bad: number }> = {};
  const ops = [["organization", CHEAP], ["items(first: 20)", HOT]] as const;
  for (let round = 0; round < ROUNDS; round++) {
    for (const [limiter, g] of Object.entries(gateways)) {
      for (const [auth, headers] of Object.entries(creds)) {
        for (const [op, body] of ops) {
          const opts = { url: g.url, method: "POST" as const, connections: CONNECTIONS, workers: 1, headers: { "content-type": "application/json", ...headers }, body };
          if (round === 0) await autocannon({ ...opts, duration: 1 }); // warm-up: JIT, pools, caches
          const r = await autocannon({ ...opts, duration: SECONDS });
          const k = `${auth}|${limiter}|${op}`;
          const m = { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, bad: r.non2xx + r.errors };
          if (!best[k] || m.rps > best[k]!.rps) best[k] = m;
          console.error(round, k, m);
        }
      }
    }
  }

  console.log(`\n${new Date().toISOString()}, load average ${loadavg().map((x) => x.toFixed(1)).join(" ")} (2 cores)\n`);
  console.log(`Per call (${ITERATIONS} calls, sequential):\n`);
  console.log("| step | CPU µs/call | wall µs/call |");
  console.log("|---|---:|---:|");
  for (const [name, m] of micro) console.log(`| ${name} | ${m.cpu.toFixed(1)} | ${m.wall.toFixed(1)} |`);
  console.log(`\nEnd to end (${CONNECTIONS} connections, best of ${ROUNDS} × ${SECONDS} s):\n`);
  console.log("| credential | limiter | operation | req/s | p50 ms | p99 ms | non-2xx |");
  console.log("|---|---|---|---:|---:|---:|---:|");
  for (const [k, m] of Object.entries(best)) console.log(`| ${k.split("|").join(" | ")} | ${m.rps} | ${m.p50} | ${m.p99} | ${m.bad} |`);
} finally {
  for (const a of apps) await a.stop().catch(() => undefined);
  await databases.close();
  await server.raw(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`).catch(() => undefined);
  if (orgId) await server.raw(`DROP ROLE IF EXISTS ${quoteIdent(tenantRef(orgId).role)}`).catch(() => undefined);
  await server.destroy();
}
