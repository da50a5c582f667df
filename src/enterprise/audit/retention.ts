// Retention: events older than the organization's retention period are archived to a gzip'd JSON
// lines file, a signed "retention" checkpoint anchors the chain at the last removed event, and the
// rows are then deleted — on the privileged connection, with the session setting the append-only
// trigger requires (the runtime role has no DELETE privilege at all). All in one transaction: if
// the archive cannot be written, nothing is deleted.
import { createWriteStream, mkdirSync } from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { createGzip } from "node:zlib";
import type { Knex } from "knex";
import { tenantRef } from "../../tenancy/scope.js";
import { signCheckpoint } from "./hash.js";
import { EVENT_COLUMNS, streamEvents } from "./query.js";
import { tablesOf, tenantChain, type AuditRecorder } from "./recorder.js";
import { load } from "./settings.js";

export interface RetentionResult {
  organizationId: string;
  retentionDays: number;
  removed: number;
  throughSeq: number | null;
  archive: string | null;
}

export async function runRetention(
  admin: Knex,
  orgId: string,
  opts: { archiveDir: string; signingKey: string; now?: Date; retentionDays?: number; recorder?: AuditRecorder },
): Promise<RetentionResult> {
  const settings = await load(admin, orgId);
  const days = opts.retentionDays ?? settings.effectiveRetentionDays;
  const cutoff = new Date((opts.now ?? new Date()).getTime() - days * 86_400_000);
  const t = tenantRef(orgId);
  const { events, head } = tablesOf(orgId);
  return admin.transaction(async (trx) => {
    // Serialise with writers of this chain while the cut is made.
    await trx.raw(`SELECT last_seq FROM ${head} FOR UPDATE`);
    const { rows: [last] } = await trx.raw(`SELECT seq, hash FROM ${events} WHERE occurred_at < ? ORDER BY seq DESC LIMIT 1`, [cutoff]);
    if (!last) return { organizationId: orgId, retentionDays: days, removed: 0, throughSeq: null, archive: null };
    const through = Number(last.seq);
    mkdirSync(opts.archiveDir, { recursive: true });
    const file = path.join(opts.archiveDir, `audit-${orgId}-through-${through}-${Date.now()}.jsonl.gz`);
    const lines = Readable.from((async function* () {
      for await (const row of streamEvents(trx, `${t.schema}.audit_events`, {}, EVENT_COLUMNS, 1_000, through)) yield `${JSON.stringify(row)}\n`;
    })());
    await pipeline(lines, createGzip(), createWriteStream(file, { flags: "wx" }));
    await trx.withSchema("control").table("audit_checkpoints").insert({
      chain: orgId, seq: through, hash: last.hash, kind: "retention", signature: signCheckpoint(opts.signingKey, orgId, through, last.hash),
    });
    await trx.raw(`SET LOCAL enclave.audit_purge = 'on'`);
    const removed = await trx.raw(`DELETE FROM ${events} WHERE seq <= ?`, [through]);
    await trx.raw(`SET LOCAL enclave.audit_purge = 'off'`);
    // The cut itself is an event of the chain (it follows the removed events' last hash).
    await opts.recorder?.record(trx, tenantChain(orgId), {
      type: "security.audit.retention", actor: { type: "system" }, resourceType: "AuditEvent",
      metadata: { throughSeq: through, removed: removed.rowCount, retentionDays: days, archive: path.basename(file) },
    });
    return { organizationId: orgId, retentionDays: days, removed: removed.rowCount as number, throughSeq: through, archive: file };
  });
}
