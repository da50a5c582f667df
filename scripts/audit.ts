// Audit trail operations on the privileged connection:
//   tsx scripts/audit.ts verify [--org <id>] [--platform]   walk chains; exit 1 if any is broken
//   tsx scripts/audit.ts checkpoint [--org <id>]            write signed checkpoints of chain heads
//   tsx scripts/audit.ts retention-run [--org <id>]         archive (jsonl.gz) and remove expired events
import "reflect-metadata";
import { loadConfig } from "../src/config/index.js";
import { openDatabases } from "../src/db/index.js";
import { createEnclavePubSub } from "../src/db/pubsub.js";
import { runRetention } from "../src/enterprise/audit/retention.js";
import { AuditService } from "../src/enterprise/audit/service.js";
import { createLogger } from "../src/observability/logger.js";
import { parseId } from "../src/tenancy/naming.js";

const [command, ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? (rest[i + 1] ?? "") : undefined;
};

const config = loadConfig({ ...process.env, SEED_DEMO: "false" });
const logger = createLogger(config);
const db = await openDatabases(config, logger);
const audit = new AuditService({ db, config, logger, pubsub: createEnclavePubSub() });
let exitCode = 0;
try {
  const org = flag("org");
  const orgs: string[] = org
    ? [parseId(org, "org")]
    : (await db.admin.withSchema("control").table("organizations").select("id").where({ status: "active" }).orderBy("created_at")).map((r) => r.id);
  switch (command) {
    case "verify": {
      const chains = [...(rest.includes("--platform") || !org ? ["platform"] : []), ...(rest.includes("--platform") && !org ? [] : orgs)];
      for (const chain of chains) {
        const report = await audit.verify(chain);
        console.log(JSON.stringify(report));
        if (!report.ok) exitCode = 1;
      }
      break;
    }
    case "checkpoint": {
      for (const chain of [...(org ? [] : ["platform"]), ...orgs]) console.log(JSON.stringify({ chain, seq: await audit.checkpoint(chain, "manual") }));
      break;
    }
    case "retention-run": {
      for (const id of orgs) {
        const r = await runRetention(db.admin, id, { archiveDir: config.audit.archiveDir, signingKey: config.audit.signingKey, recorder: audit.recorder });
        console.log(JSON.stringify(r));
      }
      break;
    }
    default:
      console.error("usage: tsx scripts/audit.ts verify [--org <id>] [--platform] | checkpoint [--org <id>] | retention-run [--org <id>]");
      exitCode = 2;
  }
} finally {
  await db.close();
}
process.exit(exitCode);
