// The benchmark's data set (WORKLOAD.md): 200 organizations provisioned through Enclave's own
// provisioning, each with 1 workspace, 5 projects, 10 members and 2,000 items. Everything inside a
// tenant is derived from SEED, so the same seed gives the same rows; rows are bulk-inserted with
// INSERT … SELECT FROM unnest(…) (one statement per table per organization) on the admin connection.
// Each organization's rows and its marker in control.bench_meta commit together, so a re-run
// loads only what is missing and otherwise reuses the data.
import { createHash } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Knex } from "knex";
import pg from "pg";
import { bootstrapDatabase } from "../../src/db/bootstrap.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/db/embedded.js";
import { ensureDatabase } from "../../src/db/index.js";
import { createKnex, quoteIdent } from "../../src/db/knex.js";
import { createLogger } from "../../src/observability/logger.js";
import type { OrgRole } from "../../src/permissions/matrix.js";
import { provisionOrganization } from "../../src/tenancy/provisioning.js";
import { tenantRef } from "../../src/tenancy/scope.js";

export const SEED = 20250101;
export const ORG_COUNT = 200;
export const PROJECTS_PER_ORG = 5;
export const ITEMS_PER_ORG = 2_000;
export const APP_ROLE = "enclave_app";
/** Every item the loader writes is older than this; anything newer was written by a bench run (M1). */
export const DATA_EPOCH = new Date("2025-01-01T00:00:00Z");
/** Changes whenever the generator changes, so stale data is reloaded instead of reused. */
const DATASET = `v1 seed=${SEED} projects=${PROJECTS_PER_ORG} members=10 items=${ITEMS_PER_ORG}`;

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const EMBEDDED_DIR = path.join(ROOT, ".data/bench");
const EMBEDDED_PORT = 5434;
const EMBEDDED_DB = "enclave_bench";
const LOAD_CONCURRENCY = 4;

const MEMBER_ROLES: OrgRole[] = [
  "ADMIN", "ADMIN", "DEVELOPER", "DEVELOPER", "DEVELOPER", "DEVELOPER", "ANALYST", "ANALYST", "SERVICE_ACCOUNT", "SERVICE_ACCOUNT",
];
const FIRST = ["Ada", "Grace", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances", "Edsger", "Radia", "Alan", "Sophie", "Tim", "Hedy", "John", "Katherine"];
const LAST = ["Lovelace", "Hopper", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie", "Allen", "Dijkstra", "Perlman", "Kay", "Wilson", "Berners", "Lamarr", "Backus", "Johnson"];
const VERBS = ["Fix", "Add", "Refactor", "Document", "Remove", "Speed up", "Review", "Migrate", "Test", "Design"];
const NOUNS = ["login form", "billing page", "search index", "export job", "audit trail", "webhook retries", "API client", "dashboard", "onboarding flow", "cache layer", "release notes", "report builder"];
const TAGS = ["backend", "frontend", "bug", "feature", "ops", "security", "docs", "ux", "perf", "infra", "mobile", "data"];
const COMPONENTS = ["billing", "auth", "search", "reports", "notifications", "admin", "api", "storage"];
const WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"];
const STATUSES = ["open", "open", "open", "open", "open", "done", "done", "done", "archived", "archived"] as const;

// ---- deterministic generators ----

/** A uuid (v4-shaped) derived from the seed and a label: the same label always gives the same id. */
export function detUuid(...parts: Array<string | number>): string {
  const b = createHash("sha256").update(`${SEED}|${parts.join("|")}`).digest();
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.subarray(0, 16).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** mulberry32: a small, fast seeded PRNG. */
export function prng(...parts: Array<string | number>): () => number {
  let a = createHash("sha256").update(`${SEED}|${parts.join("|")}`).digest().readUInt32LE(0);
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
const int = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

export function slugOf(index: number): string {
  return `bench-${String(index).padStart(3, "0")}`;
}

export interface BenchMember {
  id: string;
  email: string;
  displayName: string;
  role: OrgRole;
}

export interface BenchOrg {
  index: number;
  id: string;
  slug: string;
  workspaceId: string;
  projectIds: string[];
  members: BenchMember[];
  /** Ten item ids of this organization, chosen by the seed (for Q2). */
  sampleItemIds: string[];
}

function membersOf(slug: string): BenchMember[] {
  const rnd = prng("members", slug);
  return MEMBER_ROLES.map((role, j) => ({
    id: detUuid("user", slug, j),
    email: `m${j}-${role.toLowerCase()}@${slug}.bench.test`,
    displayName: `${pick(rnd, FIRST)} ${pick(rnd, LAST)}`,
    role,
  }));
}

const itemId = (slug: string, k: number) => detUuid("item", slug, k);

function describeOrg(index: number, id: string): BenchOrg {
  const slug = slugOf(index);
  const rnd = prng("sample", slug);
  const sampleItemIds = Array.from({ length: 10 }, () => itemId(slug, Math.floor(rnd() * ITEMS_PER_ORG)));
  return {
    index,
    id,
    slug,
    workspaceId: detUuid("workspace", slug),
    projectIds: Array.from({ length: PROJECTS_PER_ORG }, (_, p) => detUuid("project", slug, p)),
    members: membersOf(slug),
    sampleItemIds,
  };
}

/** A payload of about 200 bytes of JSON. */
export function makePayload(rnd: () => number, k: number): Record<string, unknown> {
  const base = {
    priority: `p${int(rnd, 0, 3)}`,
    estimate: int(rnd, 1, 13),
    component: pick(rnd, COMPONENTS),
    ref: `ENC-${String(k).padStart(6, "0")}`,
    checklist: [pick(rnd, WORDS), pick(rnd, WORDS), pick(rnd, WORDS)],
    notes: "",
  };
  const target = int(rnd, 185, 215);
  const words: string[] = [];
  while (JSON.stringify({ ...base, notes: words.join(" ") }).length < target) words.push(pick(rnd, WORDS));
  return { ...base, notes: words.join(" ") };
}

export function makeTags(rnd: () => number): string[] {
  const n = int(rnd, 0, 4);
  const out = new Set<string>();
  while (out.size < n) out.add(pick(rnd, TAGS));
  return [...out];
}

export function makeTitle(rnd: () => number, k: number): string {
  return `${pick(rnd, VERBS)} ${pick(rnd, NOUNS)} (${pick(rnd, WORDS)} ${k})`;
}

interface ItemColumns {
  id: string[]; project: string[]; title: string[]; status: string[]; tags: string[]; payload: string[];
  creator: string[]; created: string[]; updated: string[];
}

function itemsOf(org: BenchOrg): ItemColumns {
  const rnd = prng("items", org.slug);
  const c: ItemColumns = { id: [], project: [], title: [], status: [], tags: [], payload: [], creator: [], created: [], updated: [] };
  const epoch = DATA_EPOCH.getTime();
  for (let k = 0; k < ITEMS_PER_ORG; k++) {
    const created = epoch - int(rnd, 60, 180 * 86_400) * 1000;
    const updated = Math.min(epoch - 1000, created + int(rnd, 0, 30 * 86_400) * 1000);
    c.id.push(itemId(org.slug, k));
    c.project.push(org.projectIds[k % PROJECTS_PER_ORG]!);
    c.title.push(makeTitle(rnd, k));
    c.status.push(pick(rnd, STATUSES));
    c.tags.push(makeTags(rnd).join(","));
    c.payload.push(JSON.stringify(makePayload(rnd, k)));
    c.creator.push(pick(rnd, org.members).id);
    c.created.push(new Date(created).toISOString());
    c.updated.push(new Date(updated).toISOString());
  }
  return c;
}

// ---- loading ----

async function loadOrganization(pool: pg.Pool, org: BenchOrg): Promise<void> {
  const s = quoteIdent(tenantRef(org.id).schema);
  const items = itemsOf(org);
  const m = org.members;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // A half-loaded organization cannot exist (one transaction), but an older data set can.
    await client.query(`TRUNCATE ${s}.items, ${s}.projects, ${s}.workspaces, ${s}.members`);
    await client.query(`DELETE FROM control.memberships WHERE organization_id = $1`, [org.id]);
    await client.query(`DELETE FROM control.users WHERE id = ANY($1::uuid[]) OR email = ANY($2::text[])`, [m.map((x) => x.id), m.map((x) => x.email)]);
    await client.query(
      `INSERT INTO control.users (id, email, display_name) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[])`,
      [m.map((x) => x.id), m.map((x) => x.email), m.map((x) => x.displayName)],
    );
    await client.query(
      `INSERT INTO control.memberships (user_id, organization_id, role) SELECT u, $2::uuid, r FROM unnest($1::uuid[], $3::text[]) AS t(u, r)`,
      [m.map((x) => x.id), org.id, m.map((x) => x.role)],
    );
    await client.query(
      `INSERT INTO ${s}.members (user_id, email, display_name, role) SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])`,
      [m.map((x) => x.id), m.map((x) => x.email), m.map((x) => x.displayName), m.map((x) => x.role)],
    );
    await client.query(`INSERT INTO ${s}.workspaces (id, name, description, created_at, updated_at) VALUES ($1, 'Main', 'Benchmark workspace', $2, $2)`,
      [org.workspaceId, DATA_EPOCH.toISOString()]);
    await client.query(
      `INSERT INTO ${s}.projects (id, workspace_id, name, created_at, updated_at) SELECT id, $2::uuid, name, $3::timestamptz, $3::timestamptz FROM unnest($1::uuid[], $4::text[]) AS t(id, name)`,
      [org.projectIds, org.workspaceId, DATA_EPOCH.toISOString(), org.projectIds.map((_, p) => `Project ${p + 1} of ${org.slug}`)],
    );
    await client.query(
      `INSERT INTO ${s}.items (id, project_id, title, status, tags, payload, creator_id, created_at, updated_at)
       SELECT id, project_id, title, status, CASE WHEN tags = '' THEN '{}'::text[] ELSE string_to_array(tags, ',') END, payload::jsonb, creator_id, created_at, updated_at
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::uuid[], $8::timestamptz[], $9::timestamptz[])
         AS t(id, project_id, title, status, tags, payload, creator_id, created_at, updated_at)`,
      [items.id, items.project, items.title, items.status, items.tags, items.payload, items.creator, items.created, items.updated],
    );
    await client.query(
      `INSERT INTO control.bench_meta (slug, organization_id, dataset) VALUES ($1, $2, $3)
       ON CONFLICT (slug) DO UPDATE SET organization_id = EXCLUDED.organization_id, dataset = EXCLUDED.dataset, loaded_at = now()`,
      [org.slug, org.id, DATASET],
    );
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function mapLimit<T>(list: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, list.length) }, async () => {
    while (next < list.length) await fn(list[next++]!);
  }));
}

export interface BenchData {
  /** Privileged URL (what the gateway gets as DATABASE_URL). */
  adminUrl: string;
  embedded: boolean;
  orgs: BenchOrg[];
  /** Organizations loaded in this run (0: everything was reused). */
  loadedNow: number;
  loadSeconds: number;
  close(): Promise<void>;
}

/**
 * Start (or reuse) the database, make sure the data set is complete, and describe it.
 * `appPassword` is what the gateway and the floor get as DATABASE_APP_PASSWORD.
 */
export async function prepareData(opts: { appPassword: string; log: (line: string) => void }): Promise<BenchData> {
  const { log } = opts;
  const logger = createLogger({ logLevel: "warn" });
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: EMBEDDED_DIR, port: EMBEDDED_PORT, logger });
    adminUrl = await ensureDatabase(embedded.url, EMBEDDED_DB);
    log(`database: embedded PostgreSQL on 127.0.0.1:${EMBEDDED_PORT} (${path.relative(ROOT, EMBEDDED_DIR)}), database ${EMBEDDED_DB}`);
  } else {
    log(`database: DATABASE_URL (${new URL(adminUrl).host}${new URL(adminUrl).pathname})`);
  }
  let admin: Knex | undefined;
  let pool: pg.Pool | undefined;
  try {
    admin = createKnex({ url: adminUrl, poolMax: LOAD_CONCURRENCY + 1, applicationName: "enclave-bench-load" });
    pool = new pg.Pool({ connectionString: adminUrl, max: LOAD_CONCURRENCY, application_name: "enclave-bench-load" });
    // pool.end() resolves before its sockets close; stopping the embedded server right after makes the
    // idle clients report "terminating connection due to administrator command". Expected, not fatal.
    let closing = false;
    pool.on("error", (err) => { if (!closing) log(`database connection error: ${err.message}`); });
    const started = performance.now();
    await bootstrapDatabase(admin, { appRole: APP_ROLE, appPassword: opts.appPassword });
    await pool.query(`CREATE TABLE IF NOT EXISTS control.bench_meta (
      slug text PRIMARY KEY, organization_id uuid NOT NULL, dataset text NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())`);

    // Every enterprise layer stays on during the bench (limiter, cost budget, quotas, audit); the
    // Enterprise plan has no limits, so they measure their cost without refusing the load.
    await pool.query(`UPDATE control.organizations SET plan = 'enterprise' WHERE slug LIKE 'bench-%' AND plan <> 'enterprise'`);
    const { rows: [{ db }] } = await pool.query<{ db: string }>("SELECT current_database() AS db");
    const { rows: existing } = await pool.query<{ id: string; slug: string; dataset: string | null }>(
      `SELECT o.id, o.slug, m.dataset FROM control.organizations o LEFT JOIN control.bench_meta m ON m.slug = o.slug
       WHERE o.slug LIKE 'bench-%' AND o.status = 'active'`);
    const known = new Map(existing.map((r) => [r.slug, r]));

    const orgs: BenchOrg[] = [];
    const missing: number[] = [];
    for (let i = 0; i < ORG_COUNT; i++) {
      const row = known.get(slugOf(i));
      if (row?.dataset === DATASET) orgs[i] = describeOrg(i, row.id);
      else missing.push(i);
    }
    if (missing.length) {
      log(`loading ${missing.length} of ${ORG_COUNT} organizations (${missing.length * ITEMS_PER_ORG} items)…`);
      let done = 0;
      await mapLimit(missing, LOAD_CONCURRENCY, async (i) => {
        const slug = slugOf(i);
        // Tenant roles are cluster-wide: ids include the database name, so two bench databases on one server never collide.
        const { organization } = await provisionOrganization(admin!, { slug, name: `Bench ${slug}`, id: detUuid("org", db, slug), plan: "enterprise" }, { appRole: APP_ROLE });
        const org = describeOrg(i, organization.id);
        await loadOrganization(pool!, org);
        orgs[i] = org;
        if (++done % 20 === 0 || done === missing.length) log(`  ${done}/${missing.length} organizations loaded (${((performance.now() - started) / 1000).toFixed(1)} s)`);
      });
      await pool.query("ANALYZE");
    }
    // Items created by earlier runs (M1) are newer than the data set: drop them so every run starts from the same rows.
    let removed = 0;
    await mapLimit(orgs, LOAD_CONCURRENCY, async (org) => {
      const res = await pool!.query(`DELETE FROM ${quoteIdent(tenantRef(org.id).schema)}.items WHERE created_at >= $1`, [DATA_EPOCH.toISOString()]);
      removed += res.rowCount ?? 0;
    });
    if (removed) log(`removed ${removed} items written by earlier runs`);
    const loadSeconds = (performance.now() - started) / 1000;
    log(missing.length
      ? `data ready: ${ORG_COUNT} organizations, ${ORG_COUNT * ITEMS_PER_ORG} items; loaded ${missing.length} in ${loadSeconds.toFixed(1)} s`
      : `data ready: reused ${ORG_COUNT} organizations, ${ORG_COUNT * ITEMS_PER_ORG} items (checked in ${loadSeconds.toFixed(1)} s)`);

    const adminKnex = admin;
    const adminPool = pool;
    return {
      adminUrl,
      embedded: Boolean(embedded),
      orgs,
      loadedNow: missing.length,
      loadSeconds,
      async close() {
        closing = true;
        await Promise.allSettled([adminKnex.destroy(), adminPool.end()]);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await Promise.allSettled([admin?.destroy(), pool?.end()]);
    await embedded?.stop();
    throw err;
  }
}
