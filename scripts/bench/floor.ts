// The bench's floor: the least a server can do for the workload's three operations. A plain node
// `http` handler that parses the same JSON body, verifies the same JWT (KeyObject, HS256, issuer,
// audience, typ), checks the role, looks the organization up (cached 5 s, like the gateway's
// registry) and runs the gateway's SQL in the same kind of tenant transaction — one message
// `BEGIN; SELECT set_config('search_path', …, true); SET LOCAL ROLE …`, the queries, COMMIT — as the
// runtime role through a pg.Pool of the gateway's size. It answers JSON shaped like the GraphQL
// response. No GraphQL parsing, validation, execution, shield or DataLoader: what the gateway
// spends beyond this is its overhead.
//   Env: DATABASE_URL (privileged; the runtime URL is derived from it like the gateway does),
//   DATABASE_APP_ROLE, DATABASE_APP_PASSWORD, DATABASE_POOL_MAX, JWT_SECRET, JWT_ISSUER,
//   JWT_AUDIENCE, PORT, HOST.
import { createSecretKey } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import jwt from "jsonwebtoken";
import pg from "pg";

const env = process.env;
const APP_ROLE = env.DATABASE_APP_ROLE ?? "enclave_app";
const POOL_MAX = Number(env.DATABASE_POOL_MAX ?? 20);
const ISSUER = env.JWT_ISSUER ?? "enclave";
const AUDIENCE = env.JWT_AUDIENCE ?? "enclave-api";
if (!env.DATABASE_URL || !env.DATABASE_APP_PASSWORD || !env.JWT_SECRET) {
  console.error("floor: DATABASE_URL, DATABASE_APP_PASSWORD and JWT_SECRET are required");
  process.exit(1);
}
const key = createSecretKey(Buffer.from(env.JWT_SECRET, "utf8"));

const appUrl = new URL(env.DATABASE_URL);
appUrl.username = encodeURIComponent(APP_ROLE);
appUrl.password = encodeURIComponent(env.DATABASE_APP_PASSWORD);
const pool = new pg.Pool({ connectionString: appUrl.toString(), max: POOL_MAX, application_name: "enclave-floor", idleTimeoutMillis: 30_000 });
pool.on("error", (err) => console.error("floor: idle database connection failed:", err.message));

// ---- the gateway's SQL, as knex compiles it ----
const ITEM_COLUMNS = `"id", "project_id" as "projectId", "title", "status", "tags", "payload", "creator_id" as "creatorId", "created_at" as "createdAt", "updated_at" as "updatedAt"`;
const PROJECT_COLUMNS = `"id", "workspace_id" as "workspaceId", "name", "description", "created_at" as "createdAt", "updated_at" as "updatedAt"`;
const SQL = {
  org: `select "id", "slug", "name", "plan", "region", "status", "schema_version" as "schemaVersion", "created_at" as "createdAt", "updated_at" as "updatedAt" from "control"."organizations" where "id" = $1 limit $2`,
  listItems: `select ${ITEM_COLUMNS}, "created_at"::text as "_k" from "items" where "project_id" = $1 order by "created_at" desc, "id" desc limit $2`,
  getItem: `select ${ITEM_COLUMNS} from "items" where "id" = $1 limit $2`,
  getProject: `select ${PROJECT_COLUMNS} from "projects" where "id" = $1 limit $2`,
  insertItem: `insert into "items" ("creator_id", "payload", "project_id", "status", "tags", "title") values ($1, $2, $3, $4, $5, $6) returning ${ITEM_COLUMNS}`,
  projectsByIds: (n: number) => `select ${PROJECT_COLUMNS} from "projects" where "id" in (${placeholders(n)})`,
  membersByIds: (n: number) => `select "user_id" as "id", "email", "display_name" as "displayName", "role", "created_at" as "createdAt" from "members" where "user_id" in (${placeholders(n)})`,
};
function placeholders(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(", ");
}

// ---- errors ----
class Failure extends Error {
  constructor(readonly code: string, readonly status: number, message: string) { super(message); }
}
const unauthenticated = (m = "Invalid access token") => new Failure("UNAUTHENTICATED", 401, m);
const forbidden = (m = "Not allowed") => new Failure("FORBIDDEN", 403, m);
const badInput = (m: string) => new Failure("BAD_USER_INPUT", 400, m);
const notFound = (what: string) => new Failure("NOT_FOUND", 404, `${what} not found`);

// ---- auth ----
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const READ_ROLES = new Set(["ADMIN", "DEVELOPER", "ANALYST", "SERVICE_ACCOUNT"]);
const CREATE_ROLES = new Set(["ADMIN", "DEVELOPER", "SERVICE_ACCOUNT"]);

interface Principal { userId: string; orgId: string; role: string }

function authenticate(header: string | undefined): Principal {
  const m = header ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  if (!m) throw unauthenticated("Authorization must be 'Bearer <token>'");
  let decoded: jwt.Jwt;
  try {
    decoded = jwt.verify(m[1]!, key, { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE, clockTolerance: 5, complete: true });
  } catch {
    throw unauthenticated();
  }
  const p = decoded.payload as { sub?: unknown; sid?: unknown; org?: unknown; role?: unknown };
  if (decoded.header.typ !== "at+jwt" || typeof p.sub !== "string" || typeof p.sid !== "string") throw unauthenticated();
  if (typeof p.org !== "string" || typeof p.role !== "string" || !READ_ROLES.has(p.role)) throw forbidden("No organization selected");
  return { userId: p.sub, orgId: p.org, role: p.role };
}

// ---- tenant scope ----
const orgCache = new Map<string, { at: number; status: string | null }>();
async function orgStatus(id: string): Promise<string | null> {
  const hit = orgCache.get(id);
  const now = Date.now();
  if (hit && now - hit.at < 5_000) return hit.status;
  const { rows } = await pool.query(SQL.org, [id, 1]);
  const status = (rows[0]?.status as string | undefined) ?? null;
  orgCache.set(id, { at: now, status });
  return status;
}

const preludes = new Map<string, string>();
function prelude(orgId: string): string {
  let p = preludes.get(orgId);
  if (!p) {
    if (!UUID_RE.test(orgId)) throw unauthenticated();
    const hex = orgId.toLowerCase().replace(/-/g, "");
    p = `BEGIN; SELECT set_config('search_path', '"tenant_${hex}"', true); SET LOCAL ROLE "enclave_tenant_${hex}"`;
    preludes.set(orgId, p);
  }
  return p;
}

async function inTenant<T>(principal: Principal, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  if ((await orgStatus(principal.orgId)) !== "active") throw forbidden("The organization is not active");
  const c = await pool.connect();
  try {
    await c.query(prelude(principal.orgId));
    const out = await fn(c);
    await c.query("COMMIT");
    c.release();
    return out;
  } catch (err) {
    // Like the gateway: a rolled-back connection is discarded, not reused.
    await c.query("ROLLBACK").catch(() => undefined);
    c.release(true);
    throw err;
  }
}

function parseId(v: unknown, field: string): string {
  if (typeof v !== "string" || !UUID_RE.test(v)) throw badInput(`${field} must be a valid id`);
  return v.toLowerCase();
}

// ---- the three operations ----
type Vars = Record<string, any>;

async function q1(p: Principal, v: Vars) {
  const projectId = parseId(v.p, "projectId");
  return inTenant(p, async (c) => {
    const { rows } = await c.query(SQL.listItems, [projectId, 21]);
    if (rows.length === 0 && (await c.query(SQL.getProject, [projectId, 1])).rows.length === 0) throw notFound("Project");
    const page = rows.slice(0, 20);
    const ids = [...new Set(page.map((r) => r.creatorId).filter((x): x is string => x !== null))];
    const names = new Map<string, string>();
    if (ids.length) for (const m of (await c.query(SQL.membersByIds(ids.length), ids)).rows) names.set(m.id, m.displayName);
    const edges = page.map((r) => ({
      node: {
        id: r.id, title: r.title, status: String(r.status).toUpperCase(), tags: r.tags,
        creator: r.creatorId && names.has(r.creatorId) ? { displayName: names.get(r.creatorId) } : null,
      },
    }));
    return { items: { edges } };
  });
}

async function q2(p: Principal, v: Vars) {
  const id = parseId(v.id, "id");
  return inTenant(p, async (c) => {
    const item = (await c.query(SQL.getItem, [id, 1])).rows[0];
    if (!item) throw notFound("Item");
    const project = (await c.query(SQL.projectsByIds(1), [item.projectId])).rows[0];
    if (!project) throw notFound("Project");
    return { item: { id: item.id, title: item.title, project: { name: project.name } } };
  });
}

const STATUS_VALUES: Record<string, string> = { OPEN: "open", DONE: "done", ARCHIVED: "archived" };
async function m1(p: Principal, v: Vars) {
  if (!CREATE_ROLES.has(p.role)) throw forbidden();
  const input = v.input ?? {};
  const projectId = parseId(input.projectId, "projectId");
  const title = typeof input.title === "string" ? input.title.trim() : "";
  if (!title || title.length > 500) throw badInput("title must be 1 to 500 characters");
  const status = input.status == null ? "open" : STATUS_VALUES[input.status];
  if (!status) throw badInput("status is not an ItemStatus");
  const tags: string[] = Array.isArray(input.tags) ? [...new Set(input.tags.map((t: unknown) => String(t).trim()))] as string[] : [];
  if (tags.length > 20 || tags.some((t) => !t || t.length > 40)) throw badInput("bad tags");
  const payload = input.payload ?? {};
  if (typeof payload !== "object" || Array.isArray(payload) || Buffer.byteLength(JSON.stringify(payload)) > 16_384) throw badInput("bad payload");
  return inTenant(p, async (c) => {
    if ((await c.query(SQL.getProject, [projectId, 1])).rows.length === 0) throw notFound("Project");
    const { rows: [row] } = await c.query(SQL.insertItem, [p.userId, payload, projectId, status, tags, title]);
    return { createItem: { id: row.id } };
  });
}

const OPERATIONS: Record<string, (p: Principal, v: Vars) => Promise<unknown>> = { Q1: q1, Q2: q2, M1: m1 };

// ---- http ----
function send(res: ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(json) });
  res.end(json);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 256 * 1024) reject(new Failure("BAD_REQUEST", 413, "Request body too large"));
      else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  if (req.method === "GET" && req.url === "/readyz") {
    await pool.query("SELECT 1");
    return send(res, 200, { status: "ready" });
  }
  if (req.method !== "POST" || req.url !== "/graphql") return send(res, 404, { errors: [{ message: "Not found", extensions: { code: "NOT_FOUND" } }] });
  let body: { operationName?: unknown; variables?: unknown };
  try {
    body = JSON.parse(await readBody(req));
  } catch (err) {
    if (err instanceof Failure) throw err;
    throw new Failure("BAD_REQUEST", 400, "Malformed request body");
  }
  const op = typeof body.operationName === "string" ? OPERATIONS[body.operationName] : undefined;
  if (!op) throw new Failure("BAD_REQUEST", 400, "Unknown operation");
  const principal = authenticate(req.headers.authorization);
  const data = await op(principal, (body.variables ?? {}) as Vars);
  send(res, 200, { data });
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    const f = err instanceof Failure ? err : new Failure("INTERNAL_SERVER_ERROR", 500, "Internal server error");
    if (!(err instanceof Failure)) console.error("floor: unexpected error", err);
    if (!res.headersSent) send(res, f.status, { data: null, errors: [{ message: f.message, extensions: { code: f.code } }] });
  });
});

const port = Number(env.PORT ?? 4100);
const host = env.HOST ?? "127.0.0.1";
server.listen(port, host, () => console.log(`floor listening on http://${host}:${port}`));

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    // Finish what is in flight (the load generator may have just hung up on it), then close the pool.
    const force = setTimeout(() => server.closeAllConnections(), 5_000).unref();
    server.close(() => {
      clearTimeout(force);
      pool.end().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  });
}
