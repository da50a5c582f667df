// Benchmark: many live subscribers on one gateway process while the query load runs.
//   npx tsx scripts/bench/subscribers.ts [--subscribers 10000] [--orgs 20] [--duration 15] [--warmup 5] [--connections 50]
// Phases (each gateway is a separate child process; subscribers connect from another child):
//   1+2. query load with metering OFF and ON, alternating in short windows in the same gateway process
//        (--ab-rounds windows of --ab-window s each) so machine noise hits both alike → the cost of metering
//   3. N subscribers connect (usageUpdated); RSS delta / N → memory per subscriber
//   4. query load again with N subscribers receiving per-second updates → delivery latency p50/p99
// Database: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); a fresh database
// enclave_bench_subs_<random> is created there and dropped afterwards.
import "reflect-metadata";
import { fork, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { TokenService } from "../../src/auth/jwt.js";
import { loadConfig } from "../../src/config/index.js";
import { bootstrapDatabase } from "../../src/db/bootstrap.js";
import { ensureDatabase } from "../../src/db/index.js";
import { createKnex, quoteIdent } from "../../src/db/knex.js";
import { tenantRef } from "../../src/tenancy/scope.js";
import { createOrg } from "../../test/helpers/factories.js";
import type { App } from "../../src/app.js";
import { Meter } from "../../src/enterprise/metering/meter.js";
import { writeBatch } from "../../src/enterprise/metering/store.js";

/** CPU cost of metering itself, independent of the load on the machine: record() and one flush. */
async function meteringMicro(db: import("knex").Knex, orgIds: string[]) {
  const meter = new Meter();
  const names = Array.from({ length: 10 }, (_, i) => `Op${i}`);
  const n = 200_000;
  for (let i = 0; i < 20_000; i++) meter.record({ organizationId: orgIds[i % orgIds.length]!, userId: null, operationName: names[i % 10]!, operationType: "query", latencyMs: (i % 97) + 0.5, errorCodes: [], bytesOut: 900 });
  meter.seal();
  meter.pending.length = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    meter.record({ organizationId: orgIds[i % orgIds.length]!, userId: null, operationName: names[i % 10]!, operationType: i % 7 ? "query" : "mutation",
      latencyMs: (i % 97) + 0.5, errorCodes: i % 50 ? [] : ["NOT_FOUND"], bytesOut: 900 });
  }
  const recordNs = Number(process.hrtime.bigint() - t0) / n;
  const batch = meter.seal()!;
  const t1 = process.hrtime.bigint();
  await writeBatch(db, batch);
  const flushMs = Number(process.hrtime.bigint() - t1) / 1e6;
  return { recordNsPerOperation: Math.round(recordNs), flushAggregates: batch.aggregates.length, flushMs: Math.round(flushMs * 10) / 10 };
}

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const N = arg("subscribers", 10_000);
const ORGS = arg("orgs", 20);
const DURATION = arg("duration", 15);
const WARMUP = arg("warmup", 5);
const CONNECTIONS = arg("connections", 50);
const AB_ROUNDS = arg("ab-rounds", 3);
const AB_WINDOW = arg("ab-window", 5);

const serverUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const dbName = `enclave_bench_subs_${randomBytes(3).toString("hex")}`;
const JWT_SECRET = "bench-only-secret-bench-only-secret-0123456789";
const APP_PASSWORD = "bench-only-app-password-0123";

function env(metering: boolean, dbUrl: string): NodeJS.ProcessEnv {
  const { REDIS_URL: _omit, ...rest } = process.env; // one process: in-process pub/sub
  return {
    ...rest, NODE_ENV: "production", LOG_LEVEL: "fatal", DATABASE_URL: dbUrl, DATABASE_APP_PASSWORD: APP_PASSWORD,
    JWT_SECRET, ACCESS_TOKEN_TTL_SECONDS: "3600", SEED_DEMO: "false", METERING_ENABLED: String(metering),
    MAX_SUBSCRIPTIONS_PER_ORG: String(N + 100), DATABASE_POOL_MAX: "20",
  };
}

function waitMsg<T = any>(child: ChildProcess, type: string, timeoutMs = 600_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${type}`)), timeoutMs);
    const on = (m: any) => {
      if (m?.type === type) {
        clearTimeout(timer);
        child.off("message", on);
        resolve(m);
      }
    };
    child.on("message", on);
  });
}

function spawn(script: string, childEnv: NodeJS.ProcessEnv, extraArgs: string[] = []): ChildProcess {
  return fork(path.join(here, script), [], { env: childEnv, execArgv: ["--import", "tsx", ...extraArgs], stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

async function startGateway(metering: boolean, dbUrl: string) {
  const child = spawn("subscribers-gateway.ts", env(metering, dbUrl), ["--expose-gc", "--max-old-space-size=4096"]);
  const { url } = await waitMsg<{ url: string }>(child, "ready", 120_000);
  return {
    child, url,
    mem: async () => {
      child.send({ type: "mem" });
      return waitMsg<{ rss: number; heapUsed: number; subscribers: number; connections: number; delivered: number }>(child, "mem");
    },
    stop: async () => {
      child.send({ type: "stop" });
      await waitMsg(child, "stopped", 60_000).catch(() => child.kill());
    },
  };
}

async function load(url: string, requests: Array<{ headers: Record<string, string>; body: string }>, seconds: number) {
  const r = await autocannon({
    url: `${url}/graphql`, connections: CONNECTIONS, duration: seconds, method: "POST",
    requests: requests.map((x) => ({ method: "POST", path: "/graphql", headers: x.headers, body: x.body })),
  });
  return { rps: Math.round(r.requests.average), p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, total: r.requests.total };
}

async function main() {
  console.log(`subscribers bench: N=${N} orgs=${ORGS} duration=${DURATION}s warmup=${WARMUP}s connections=${CONNECTIONS}`);
  const dbUrl = await ensureDatabase(serverUrl, dbName);
  const admin = createKnex({ url: dbUrl, poolMax: 4, applicationName: "enclave-bench-seed" });
  const result: Record<string, unknown> = {
    date: new Date().toISOString(), machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGb: Math.round(os.totalmem() / 2 ** 30) },
    params: { subscribers: N, orgs: ORGS, duration: DURATION, warmup: WARMUP, connections: CONNECTIONS },
    loadAverageAtStart: os.loadavg(),
  };
  const orgRoles: string[] = [];
  try {
    await bootstrapDatabase(admin, { appRole: "enclave_app", appPassword: APP_PASSWORD });
    const config = loadConfig(env(true, dbUrl));
    const tokens = new TokenService(config.jwt);
    const fakeApp = { services: { db: { admin }, config, tokens } } as unknown as App;
    const analysts: string[] = [];
    const requests: Array<{ headers: Record<string, string>; body: string }> = [];
    const query = `query Hot($p: ID!) { items(projectId: $p, first: 20) { edges { node { title status tags creator { displayName } } } } }`;
    for (let i = 0; i < ORGS; i++) {
      const o = await createOrg(fakeApp, "bench");
      orgRoles.push(`enclave_tenant_${o.id.replace(/-/g, "")}`);
      const schema = quoteIdent(tenantRef(o.id).schema);
      await admin.raw(`INSERT INTO ${schema}.items (project_id, title, tags, payload, creator_id)
        SELECT ?, 'item ' || g, ARRAY['a','b'], jsonb_build_object('n', g, 'text', repeat('x', 150)), ? FROM generate_series(1, 200) g`, [o.projectId, o.users.DEVELOPER.id]);
      analysts.push(o.users.ANALYST.token);
      requests.push({ headers: { "content-type": "application/json", authorization: `Bearer ${o.users.DEVELOPER.token}` }, body: JSON.stringify({ query, variables: { p: o.projectId } }) });
    }

    const orgIds = requests.map((r) => JSON.parse(r.body).variables.p as string); // any uuids do for the micro-benchmark
    result.meteringMicro = await meteringMicro(admin, orgIds);
    console.log(`metering micro: record() ${(result.meteringMicro as any).recordNsPerOperation} ns/operation; one flush of ${(result.meteringMicro as any).flushAggregates} aggregates (×3 roll-ups) ${(result.meteringMicro as any).flushMs} ms`);
    {
      const gw = await startGateway(true, dbUrl);
      await load(gw.url, requests, WARMUP);
      // 1 + 2: metering off and on, alternating windows in one process.
      const ab: Record<"off" | "on", { total: number; seconds: number; p50: number[]; p99: number[] }> = {
        off: { total: 0, seconds: 0, p50: [], p99: [] }, on: { total: 0, seconds: 0, p50: [], p99: [] },
      };
      for (let i = 0; i < AB_ROUNDS * 2; i++) {
        const enabled = i % 2 === 1;
        gw.child.send({ type: "metering", enabled });
        await waitMsg(gw.child, "metering");
        const r = await load(gw.url, requests, AB_WINDOW);
        const k = enabled ? "on" : "off";
        ab[k].total += r.total; ab[k].seconds += AB_WINDOW; ab[k].p50.push(r.p50); ab[k].p99.push(r.p99);
      }
      const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
      for (const k of ["off", "on"] as const) {
        const r = { rps: Math.round(ab[k].total / ab[k].seconds), p50: median(ab[k].p50), p99: median(ab[k].p99), total: ab[k].total, windows: ab[k].p50.length };
        console.log(`query load, metering ${k.padEnd(3)}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (median of ${r.windows} windows)`);
        result[k === "on" ? "queryMeteringOn" : "queryMeteringOff"] = r;
      }
      gw.child.send({ type: "metering", enabled: true });
      await waitMsg(gw.child, "metering");

      // 3: N subscribers
      const before = await gw.mem();
      const client = spawn("subscribers-client.ts", { ...process.env }, ["--max-old-space-size=4096"]);
      await waitMsg(client, "alive", 60_000);
      const t0 = Date.now();
      client.send({ type: "start", url: gw.url + "/graphql", tokens: analysts, n: N, batch: 250 });
      const connected = await waitMsg(client, "connected");
      const connectSeconds = (Date.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 3_000));
      const after = await gw.mem();
      const perSub = (after.rss - before.rss) / N;
      console.log(`${connected.acked}/${N} connected in ${connectSeconds.toFixed(1)} s; server subscribers ${after.subscribers}, connections ${after.connections}; RSS ${(before.rss / 2 ** 20).toFixed(0)} → ${(after.rss / 2 ** 20).toFixed(0)} MiB = ${(perSub / 1024).toFixed(1)} KiB per subscriber (heap ${((after.heapUsed - before.heapUsed) / N / 1024).toFixed(1)} KiB)`);
      result.subscribers = { connected: connected.acked, connectSeconds, serverSubscribers: after.subscribers, rssBeforeMiB: before.rss / 2 ** 20, rssAfterMiB: after.rss / 2 ** 20, rssPerSubscriberKiB: perSub / 1024, heapPerSubscriberKiB: (after.heapUsed - before.heapUsed) / N / 1024 };

      // 4: load with subscribers receiving
      await load(gw.url, requests, WARMUP);
      await new Promise((r) => setTimeout(r, 3_000)); // quiet: no traffic, no events in flight
      client.send({ type: "reset" });
      await waitMsg(client, "reset");
      const handedBefore = (await gw.mem()).delivered;
      const withSubs = await load(gw.url, requests, DURATION);
      await new Promise((r) => setTimeout(r, 3_000)); // the last ticks drain
      client.send({ type: "report" });
      const rep = await waitMsg(client, "report");
      const handed = (await gw.mem()).delivered - handedBefore;
      console.log(`query load with ${N} subscribers: ${withSubs.rps} req/s, p50 ${withSubs.p50} ms, p99 ${withSubs.p99} ms`);
      console.log(`delivery: ${rep.received} events received of ${handed} fanned out by the gateway (~${Math.round(rep.received / DURATION)}/s; an organization gets an event only in seconds with traffic), latency p50 ${rep.p50} ms, p99 ${rep.p99} ms, max ${rep.max} ms, closed ${rep.closed}, errors ${rep.errors}`);
      result.queryWithSubscribers = withSubs;
      result.delivery = { received: rep.received, fannedOut: handed, perSecond: rep.received / DURATION, p50Ms: rep.p50, p99Ms: rep.p99, maxMs: rep.max, closed: rep.closed, errors: rep.errors };
      client.send({ type: "stop" });
      await new Promise((r) => setTimeout(r, 2_000)); // let in-flight requests finish
      await gw.stop();
    }
    const off = (result.queryMeteringOff as { rps: number }).rps;
    const on = (result.queryMeteringOn as { rps: number }).rps;
    result.meteringThroughputCost = { ratioOnOff: Math.round((on / off) * 1000) / 1000 };
    result.loadAverageAtEnd = os.loadavg();
    console.log(`metering throughput ratio on/off: ${(on / off).toFixed(3)}`);
  } finally {
    await admin.destroy();
    const server = createKnex({ url: serverUrl, poolMax: 1, applicationName: "enclave-bench-teardown" });
    await server.raw(`DROP DATABASE IF EXISTS ${quoteIdent(dbName)} WITH (FORCE)`).catch(() => undefined);
    for (const r of orgRoles) await server.raw(`DROP ROLE IF EXISTS ${quoteIdent(r)}`).catch(() => undefined);
    await server.destroy();
  }
  const out = path.join(here, "../../bench/results", `subscribers-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + "\n");
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

await main();
process.exit(0);
