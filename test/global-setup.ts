// One database per test run. With DATABASE_URL, a fresh database is created on that server (and
// dropped afterwards); without it, an embedded PostgreSQL is started in a temporary folder, so
// `npm test` needs nothing installed. Tenant roles (cluster-wide) created by the run are dropped too.
import "reflect-metadata";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { createKnex, quoteIdent } from "../src/db/knex.js";
import { bootstrapDatabase } from "../src/db/bootstrap.js";
import { ensureDatabase } from "../src/db/index.js";
import { startEmbeddedPostgres } from "../src/db/embedded.js";
import { createLogger } from "../src/observability/logger.js";
import { freePort } from "./helpers/net.js";


export default async function setup() {
  const logger = createLogger({ logLevel: "warn" });
  const serverUrl = process.env.DATABASE_URL;
  let embeddedStop: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  let base = serverUrl;
  if (!base) {
    dataDir = mkdtempSync(path.join(tmpdir(), "enclave-test-"));
    const emb = await startEmbeddedPostgres({ dataDir, port: await freePort(), logger });
    embeddedStop = emb.stop;
    base = emb.url;
  }
  const name = `enclave_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const url = await ensureDatabase(base, name);
  const admin = createKnex({ url, poolMax: 2, applicationName: "enclave-test-setup" });
  await bootstrapDatabase(admin, { appRole: "enclave_app", appPassword: "enclave-development-only-app-password" });
  await admin.destroy();

  process.env.DATABASE_URL = url;
  process.env.ENCLAVE_TEST_DB = process.env.ENCLAVE_TEST_DB ?? (serverUrl ? "external" : "embedded");

  return async () => {
    const k = createKnex({ url, poolMax: 1, applicationName: "enclave-test-teardown" });
    let roles: string[] = [];
    try {
      const { rows } = await k.raw(`SELECT 'enclave_tenant_' || replace(id::text, '-', '') AS role FROM control.organizations`);
      roles = rows.map((r: { role: string }) => r.role);
    } finally {
      await k.destroy();
    }
    const server = createKnex({ url: base!, poolMax: 1, applicationName: "enclave-test-teardown" });
    try {
      await server.raw(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      for (const r of roles) await server.raw(`DROP ROLE IF EXISTS ${quoteIdent(r)}`).catch(() => undefined);
    } finally {
      await server.destroy();
    }
    await embeddedStop?.();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
}
