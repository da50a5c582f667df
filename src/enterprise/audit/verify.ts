// Walking a chain: every event's hash is recomputed over the previous event's hash; sequence gaps,
// broken links, edited rows, a cut tail (the head or a signed checkpoint points past the last row)
// and checkpoints whose signature or hash does not match are reported. The first broken sequence
// number is the earliest of all problems.
import type { Knex } from "knex";
import { checkSignature, GENESIS_HASH, hashRow, HASHED_COLUMNS, type AuditRow } from "./hash.js";

export interface VerifyProblem {
  seq: number;
  kind: "gap" | "broken_link" | "hash_mismatch" | "tail_truncated" | "checkpoint_mismatch" | "checkpoint_signature";
  message: string;
}

export interface VerifyReport {
  chain: string;
  ok: boolean;
  eventsChecked: number;
  firstSeq: number | null;
  lastSeq: number | null;
  headSeq: number;
  checkpointsChecked: number;
  firstBrokenSeq: number | null;
  gaps: Array<{ from: number; to: number }>;
  problems: VerifyProblem[];
}

export interface CheckpointRow {
  id: number;
  chain: string;
  seq: number;
  hash: string;
  kind: string;
  created_at: Date;
  signature: string;
}

const BATCH = 5_000;
const MAX_PROBLEMS = 100;

/**
 * `events` reads the chain's rows (a transaction in the tenant's scope, or the admin connection);
 * checkpoints are read separately from the control plane by the caller.
 */
export async function verifyChain(
  db: Knex | Knex.Transaction,
  tables: { events: string; head: string },
  chain: string,
  checkpoints: CheckpointRow[],
  signingKey: string,
): Promise<VerifyReport> {
  const problems: VerifyProblem[] = [];
  const gaps: Array<{ from: number; to: number }> = [];
  const add = (p: VerifyProblem) => { if (problems.length < MAX_PROBLEMS) problems.push(p); };
  const { rows: [head] } = await db.raw(`SELECT last_seq, last_hash FROM ${tables.head}`);
  const headSeq = Number(head?.last_seq ?? 0);

  const validCps: CheckpointRow[] = [];
  for (const cp of checkpoints) {
    if (!checkSignature(signingKey, chain, Number(cp.seq), cp.hash, cp.signature)) {
      add({ seq: Number(cp.seq), kind: "checkpoint_signature", message: `checkpoint ${cp.id} at seq ${cp.seq} has an invalid signature` });
    } else validCps.push(cp);
  }
  const cpAt = new Map<number, CheckpointRow[]>();
  for (const cp of validCps) cpAt.set(Number(cp.seq), [...(cpAt.get(Number(cp.seq)) ?? []), cp]);

  let prevSeq: number | null = null;
  let prevHash: string | null = null;
  let firstSeq: number | null = null;
  let count = 0;
  let after = 0;
  for (;;) {
    const { rows } = await db.raw(`SELECT ${HASHED_COLUMNS.join(", ")}${tables.events.startsWith("control.") ? ", organization_id" : ""}
      FROM ${tables.events} WHERE seq > ? ORDER BY seq LIMIT ${BATCH}`, [after]);
    for (const r of rows as AuditRow[]) {
      const seq = Number(r.seq);
      if (prevSeq === null) {
        firstSeq = seq;
        // The chain must start at 1 from genesis, or just after a signed retention cut.
        if (seq === 1) {
          if (r.prev_hash !== GENESIS_HASH) add({ seq, kind: "broken_link", message: "the first event does not start from the genesis hash" });
        } else {
          const anchor = (cpAt.get(seq - 1) ?? []).find((c) => c.hash === r.prev_hash);
          if (!anchor) {
            const from = Math.max(1, ...validCps.filter((c) => Number(c.seq) < seq && c.kind === "retention").map((c) => Number(c.seq) + 1));
            gaps.push({ from, to: seq - 1 });
            add({ seq: from, kind: "gap", message: `events ${from}..${seq - 1} are missing and no signed retention checkpoint covers them` });
          }
        }
      } else if (seq !== prevSeq + 1) {
        gaps.push({ from: prevSeq + 1, to: seq - 1 });
        add({ seq: prevSeq + 1, kind: "gap", message: `events ${prevSeq + 1}..${seq - 1} are missing` });
      } else if (r.prev_hash !== prevHash) {
        add({ seq, kind: "broken_link", message: `event ${seq} does not link to event ${prevSeq}` });
      }
      const { hash, ...content } = r;
      const recomputed = hashRow(chain, content as Omit<AuditRow, "hash">);
      if (recomputed !== hash) add({ seq, kind: "hash_mismatch", message: `event ${seq} was modified after it was written` });
      for (const cp of cpAt.get(seq) ?? []) {
        if (cp.hash !== hash) add({ seq, kind: "checkpoint_mismatch", message: `checkpoint ${cp.id} signed a different hash for event ${seq}` });
      }
      prevSeq = seq;
      prevHash = hash;
      count++;
    }
    if (rows.length < BATCH) break;
    after = Number(rows[rows.length - 1].seq);
  }

  const lastSeq = prevSeq;
  const retentionCut = Math.max(0, ...validCps.filter((c) => c.kind === "retention").map((c) => Number(c.seq)));
  const end = lastSeq ?? retentionCut;
  if (headSeq > end) add({ seq: end + 1, kind: "tail_truncated", message: `the chain head is at ${headSeq} but the last event is ${end}` });
  else if (lastSeq !== null && headSeq === lastSeq && head.last_hash !== prevHash)
    add({ seq: lastSeq, kind: "hash_mismatch", message: `the chain head's hash does not match event ${lastSeq}` });
  const beyond = validCps.filter((c) => Number(c.seq) > end && c.kind !== "retention");
  const beyondRetention = validCps.filter((c) => Number(c.seq) > end && c.kind === "retention" && Number(c.seq) > headSeq);
  if (beyond.length || beyondRetention.length) {
    const maxCp = Math.max(...[...beyond, ...beyondRetention].map((c) => Number(c.seq)));
    add({ seq: end + 1, kind: "tail_truncated", message: `a signed checkpoint covers event ${maxCp} but the last event is ${end}` });
  }
  problems.sort((a, b) => a.seq - b.seq);
  return {
    chain,
    ok: problems.length === 0,
    eventsChecked: count,
    firstSeq,
    lastSeq,
    headSeq,
    checkpointsChecked: checkpoints.length,
    firstBrokenSeq: problems[0]?.seq ?? null,
    gaps,
    problems,
  };
}

export async function checkpointsOf(db: Knex, chain: string): Promise<CheckpointRow[]> {
  return db.withSchema("control").table("audit_checkpoints").select("*").where({ chain }).orderBy("seq");
}
