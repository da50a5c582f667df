// Opens Enclave's two connection pools: the privileged one (migrations, provisioning) and the
// runtime one (every request; a non-superuser login role that can only reach a tenant by SET ROLE).
import type { Knex } from "knex";
import type { Config } from "../config/index.js";
import type { Logger } from "../observability/logger.js";
import { createKnex, withCredentials } from "./knex.js";
import { bootstrapDatabase } from "./bootstrap.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded.js";

export interface Databases {
  /** privileged: migrations, provisioning */
  admin: Knex;
  /** runtime role: tenant-scoped request transactions */
  app: Knex;
  /**
   * runtime role: control-plane reads and writes (login, registry, memberships). A separate pool so a
   * request that holds a tenant transaction never waits on its own pool for a control-plane query.
   */
  control: Knex;
  embedded?: EmbeddedDatabase;
  close(): Promise<void>;
}

const EMBEDDED_DB_NAME = "enclave";

export async function openDatabases(config: Config, logger: Logger): Promise<Databases> {
  let embedded: EmbeddedDatabase | undefined;
  let adminUrl = config.database.adminUrl;
  if (!adminUrl) {
    embedded = await startEmbeddedPostgres({ dataDir: config.dataDir, port: config.database.embeddedPort, logger });
    adminUrl = await ensureDatabase(embedded.url, EMBEDDED_DB_NAME);
  }
  const admin = createKnex({ url: adminUrl, poolMax: 4, applicationName: "enclave-admin" });
  try {
    const managed = !config.database.appUrl;
    await bootstrapDatabase(admin, { appRole: config.database.appRole, appPassword: managed ? config.database.appPassword : undefined });
    const appUrl = config.database.appUrl ?? withCredentials(adminUrl, config.database.appRole, config.database.appPassword);
    const app = createKnex({ url: appUrl, poolMax: config.database.poolMax, applicationName: "enclave" });
    const control = createKnex({ url: appUrl, poolMax: config.database.controlPoolMax, applicationName: "enclave-control" });
    return {
      admin,
      app,
      control,
      embedded,
      async close() {
        await Promise.allSettled([app.destroy(), control.destroy(), admin.destroy()]);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await admin.destroy();
    await embedded?.stop();
    throw err;
  }
}

/** Create `name` on the server behind `url` if missing; return the URL pointing at it. */
export async function ensureDatabase(url: string, name: string): Promise<string> {
  const k = createKnex({ url, poolMax: 1, applicationName: "enclave-setup" });
  try {
    const { rows } = await k.raw("SELECT 1 FROM pg_database WHERE datname = ?", [name]);
    if (rows.length === 0) await k.raw(`CREATE DATABASE "${name.replace(/"/g, '""')}"`).catch((e) => {
      if (e.code !== "42P04") throw e; // created concurrently
    });
  } finally {
    await k.destroy();
  }
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
