// Audit trail operations on the privileged connection:
//   tsx scripts/audit.ts verify [--org <id>] [--platform]   walk chains; exit 1 if any is broken
//   tsx scripts/audit.ts checkpoint [--org <id>]            write signed checkpoints of chain heads
//   tsx scripts/audit.ts retention-run [--org <id>]         archive (jsonl.gz) and remove expired events
//   tsx scripts/audit.ts verify-archive --org <id> --file <archive.jsonl.gz>
//                                   recompute an archive's chain and match its end to the signed retention checkpoint
import "reflect-metadata";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { checkSignature, GENESIS_HASH, hashRow } from "../src/enterprise/audit/hash.js";
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
    case "verify-archive": {
      const file = flag("file");
      if (!org || !file) throw new Error("verify-archive needs --org and --file");
      const lines = gunzipSync(readFileSync(file)).toString("utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
      const problems: string[] = [];
      let prev: { seq: number; hash: string } | null = null;
      for (const row of lines) {
        const seq = Number(row.seq);
        if (prev && seq !== prev.seq + 1) problems.push(`gap before ${seq}`);
        if (prev ? row.prev_hash !== prev.hash : seq === 1 && row.prev_hash !== GENESIS_HASH) problems.push(`broken link at ${seq}`);
        const { hash, ...content } = row;
        if (hashRow(org, content) !== hash) problems.push(`hash mismatch at ${seq}`);
        prev = { seq, hash };
      }
      const cp = prev
        ? await db.admin.withSchema("control").table("audit_checkpoints").first("*").where({ chain: org, seq: prev.seq, kind: "retention" })
        : null;
      const anchored = Boolean(cp && cp.hash === prev!.hash && checkSignature(config.audit.signingKey, org, Number(cp.seq), cp.hash, cp.signature));
      if (!anchored) problems.push("the archive's last event does not match a signed retention checkpoint");
      console.log(JSON.stringify({ file, events: lines.length, firstSeq: lines[0]?.seq ?? null, lastSeq: prev?.seq ?? null, anchored, ok: problems.length === 0, problems: problems.slice(0, 20) }));
      if (problems.length) exitCode = 1;
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
