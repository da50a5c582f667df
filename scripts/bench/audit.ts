// Audit measurements (numbers for docs/audit.md):
//   tsx scripts/bench/audit.ts overhead [--n 400]      createItem latency with auditing on vs AUDIT_ENABLED=false
//   tsx scripts/bench/audit.ts million [--count 1000000] generate a valid 1M-event chain in a scratch
//                                                        tenant, then time the API's queries (EXPLAIN) and verification
// Needs DATABASE_URL (a scratch database: it creates organizations in it). The million-event
// organization is kept for `million --reuse`; drop it (and its cluster-wide tenant role) afterwards.
import "reflect-metadata";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { buildApp } from "../../src/app.js";
import { loadConfig } from "../../src/config/index.js";
import { quoteIdent } from "../../src/db/knex.js";
import { EVENT_TYPES } from "../../src/enterprise/audit/catalog.js";
import { GENESIS_HASH, hashRow, type AuditRow } from "../../src/enterprise/audit/hash.js";
import { buildReport } from "../../src/enterprise/audit/report.js";
import { countEvents, listEvents, type AuditFilterValues } from "../../src/enterprise/audit/query.js";
import { tenantRef, withTenant } from "../../src/tenancy/scope.js";
import { dropOrganization } from "../../src/tenancy/provisioning.js";
import { createOrg } from "../../test/helpers/factories.js";

const [command, ...rest] = process.argv.slice(2);
const arg = (n: string, d: number) => {
  const i = rest.indexOf(`--${n}`);
  return i >= 0 ? Number(rest[i + 1]) : d;
};
const base = { ...process.env, NODE_ENV: "test", SEED_DEMO: "false", LOG_LEVEL: "warn", AUDIT_CHECKPOINT_INTERVAL_MS: "0" } as NodeJS.ProcessEnv;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const r2 = (x: number) => Math.round(x * 100) / 100;

async function overhead() {
  const n = arg("n", 400);
  const out: Record<string, unknown> = {};
  for (const enabled of ["true", "false", "true", "false"]) {
    const app = await buildApp(loadConfig({ ...base, AUDIT_ENABLED: enabled }));
    const url = `${await app.start(0, "127.0.0.1")}/graphql`;
    const org = await createOrg(app, "bench");
    const token = org.users.DEVELOPER.token;
    const body = JSON.stringify({ query: `mutation($p: ID!) { createItem(input: { projectId: $p, title: "bench" }) { id } }`, variables: { p: org.projectId } });
    const call = async () => {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
      if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    for (let i = 0; i < 50; i++) await call();
    const lat: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await call();
      lat.push(performance.now() - t0);
    }
    const ac = await autocannon({ url, method: "POST", connections: 10, duration: 5, headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body });
    const key = `audit_${enabled === "true" ? "on" : "off"}`;
    const prev = (out[key] as any[]) ?? [];
    prev.push({ sequential: { n, mean: r2(lat.reduce((a, b) => a + b, 0) / n), p50: r2(pct(lat, 50)), p95: r2(pct(lat, 95)), p99: r2(pct(lat, 99)) }, concurrent10: { rps: ac.requests.average, p50: ac.latency.p50, p99: ac.latency.p99, errors: ac.errors + ac.non2xx } });
    out[key] = prev;
    await dropOrganization(app.services.db.admin, org.id); // its role is cluster-wide
    await app.stop();
  }
  console.log(JSON.stringify(out, null, 2));
}

async function million() {
  const count = arg("count", 1_000_000);
  const app = await buildApp(loadConfig(base));
  const reuse = rest.includes("--reuse")
    ? await app.services.db.admin.withSchema("control").table("organizations").first("id").where("slug", "like", "million-%").orderBy("created_at", "desc")
    : null;
  const org = reuse ?? (await createOrg(app, "million"));
  const tenant = tenantRef(org.id);
  const admin = app.services.db.admin;
  const table = `${tenant.schema}.audit_events`;
  const types = Object.entries(EVENT_TYPES);
  const actors = Array.from({ length: 200 }, () => crypto.randomUUID());
  const resources = Array.from({ length: 50_000 }, () => crypto.randomUUID());
  const start = Date.now() - 365 * 86_400_000;
  const step = (365 * 86_400_000) / count;
  let prev = GENESIS_HASH;
  const t0 = performance.now();
  if (!reuse) {
  const BATCH = 900;
  for (let s = 1; s <= count; s += BATCH) {
    const rows: AuditRow[] = [];
    for (let seq = s; seq < Math.min(count + 1, s + BATCH); seq++) {
      const [type, spec] = types[(seq * 7919) % types.length]!;
      const denied = seq % 50 === 0;
      const content: Omit<AuditRow, "hash"> = {
        seq, id: crypto.randomUUID(), occurred_at: new Date(Math.floor(start + seq * step)), event_type: type, category: spec.category,
        severity: spec.severity, actor_type: "user", actor_id: actors[seq % actors.length]!, api_key_id: null, ip: `10.0.${seq % 250}.${seq % 200}`,
        user_agent: "bench/1.0", session_id: null, request_id: `req-${seq}`, resource_type: "Item", resource_id: resources[(seq * 31) % resources.length]!,
        result: denied ? "denied" : "success", reason: denied ? "Requires permission item:delete" : null,
        changes: { title: { before: `t${seq - 1}`, after: `t${seq}` } }, metadata: { operation: "updateItem" }, prev_hash: prev,
      };
      const hash = hashRow(org.id, content);
      rows.push({ ...content, hash });
      prev = hash;
    }
    await admin.table(table).insert(rows.map((r) => ({ ...r, changes: JSON.stringify(r.changes), metadata: JSON.stringify(r.metadata) })));
    if (s % 100_000 < BATCH) process.stderr.write(`${s}…`);
  }
  await admin.transaction(async (trx) => {
    await trx.raw(`SET LOCAL enclave.audit_purge = 'on'`);
    await trx.raw(`UPDATE ${quoteIdent(tenant.schema)}.audit_chain SET last_seq = ?, last_hash = ?`, [count, prev]);
  });
  await admin.raw(`ANALYZE ${quoteIdent(tenant.schema)}.audit_events`);
  }
  const genSeconds = r2((performance.now() - t0) / 1000);
  const { rows: [size] } = await admin.raw(`SELECT pg_size_pretty(pg_total_relation_size('${quoteIdent(tenant.schema)}.audit_events')) AS total, pg_size_pretty(pg_relation_size('${quoteIdent(tenant.schema)}.audit_events')) AS heap`);

  const db = app.services.db.app;
  const now = Date.now();
  const { rows: [sample] } = await admin.raw(`SELECT actor_id, resource_id FROM ${quoteIdent(tenant.schema)}.audit_events WHERE seq = ?`, [Math.floor(count / 3)]);
  const sampleActor: string = sample.actor_id;
  const sampleResource: string = sample.resource_id;
  const cases: Array<[string, AuditFilterValues, number | null]> = [
    ["newest page (no filter)", {}, null],
    ["deep page (after seq 500000)", {}, Math.floor(count / 2)],
    ["time range: one day, 60 days ago", { from: new Date(now - 61 * 86_400_000), to: new Date(now - 60 * 86_400_000) }, null],
    ["actor", { actorId: sampleActor }, null],
    ["event types (2)", { eventTypes: ["auth.login.failed", "auth.lockout"] }, null],
    ["resource", { resourceType: "Item", resourceId: sampleResource }, null],
    ["result denied", { results: ["denied"] }, null],
    ["severity critical + last 30 days", { severities: ["critical"], from: new Date(now - 30 * 86_400_000) }, null],
    ["free text 'item:delete'", { search: "item:delete" }, null],
    ["free text request id", { search: "req-777777" }, null],
  ];
  const results: unknown[] = [];
  for (const [name, f, after] of cases) {
    const times: number[] = [];
    let n = 0;
    for (let i = 0; i < 7; i++) {
      const t1 = performance.now();
      n = (await withTenant(db, tenant, (trx) => listEvents(trx, f, 50, after))).length;
      times.push(performance.now() - t1);
    }
    const plan = await withTenant(db, tenant, async (trx) => {
      const q = (await import("../../src/enterprise/audit/query.js")).applyFilter(trx("audit_events").select("seq"), f);
      if (after != null) q.where("seq", "<", after);
      const sql = q.orderBy("seq", "desc").limit(51).toSQL();
      const { rows } = await trx.raw(`EXPLAIN (ANALYZE, COSTS OFF) ${sql.sql}`, sql.bindings as never);
      return rows.map((r: any) => r["QUERY PLAN"]).filter((l: string) => /Scan|Index|Sort|Limit|Execution/.test(l)).map((l: string) => l.trim()).slice(0, 4);
    });
    results.push({ query: name, rows: n, p50_ms: r2(pct(times.slice(2), 50)), max_ms: r2(Math.max(...times.slice(2))), plan });
  }
  const tc0 = performance.now();
  const total = await withTenant(db, tenant, (trx) => countEvents(trx, { eventTypes: ["auth.login.failed"] }));
  const countMs = r2(performance.now() - tc0);
  const rp0 = performance.now();
  await withTenant(db, tenant, (trx) => buildReport(trx, org.id, new Date(now - 30 * 86_400_000), new Date(now)));
  const report30 = r2(performance.now() - rp0);
  const rp1 = performance.now();
  await withTenant(db, tenant, (trx) => buildReport(trx, org.id, new Date(now - 366 * 86_400_000), new Date(now)));
  const report365 = r2(performance.now() - rp1);
  const v0 = performance.now();
  const v = await app.services.audit.verify(org.id);
  const verifySeconds = r2((performance.now() - v0) / 1000);
  console.log(JSON.stringify({ count, genSeconds, size, queries: results, totalCount_eventType: { total, ms: countMs }, report_30d_ms: report30, report_365d_ms: report365, verify: { ok: v.ok, events: v.eventsChecked, seconds: verifySeconds } }, null, 2));
  await app.stop();
}

if (command === "overhead") await overhead();
else if (command === "million") await million();
else console.error("usage: tsx scripts/bench/audit.ts overhead [--n 400] | million [--count 1000000]");
process.exit(0);
