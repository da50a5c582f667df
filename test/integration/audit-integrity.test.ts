// Tamper evidence of the audit trail: append-only for the runtime role (grants and triggers),
// edits/deletes/reorders/a cut tail detected at the right sequence number by a superuser attacker,
// one linear chain under concurrent writers, retention that keeps the chain verifiable, live tail.
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { quoteIdent } from "../../src/db/knex.js";
import { runRetention } from "../../src/enterprise/audit/retention.js";
import { tenantRef, withTenant } from "../../src/tenancy/scope.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { auditRows, eventsTable } from "../helpers/audit.js";
import { createOrg, type TestOrg } from "../helpers/factories.js";

let t: TestApp;
let org: TestOrg;

beforeAll(async () => {
  t = await startTestApp({ AUDIT_CHECKPOINT_INTERVAL_MS: "0" });
  org = await createOrg(t.app, "integrity");
});
afterAll(async () => t?.close());

async function items(o: TestOrg, n: number, prefix = "i"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = await t.gql(`mutation($p: ID!, $t: String!) { createItem(input: { projectId: $p, title: $t }) { id } }`, { p: o.projectId, t: `${prefix}${i}` }, o.users.DEVELOPER.token);
    expect(r.body.errors).toBeUndefined();
    ids.push(r.body.data.createItem.id);
  }
  return ids;
}

/** As a superuser attacker: statements with triggers disabled (session_replication_role = replica). */
async function tamper(sql: string, bindings: unknown[] = []) {
  await t.app.services.db.admin.transaction(async (trx) => {
    await trx.raw(`SET LOCAL session_replication_role = replica`);
    for (const s of sql.split(";").map((x) => x.trim()).filter(Boolean)) await trx.raw(s, bindings as never);
  });
}

const verify = (chain: string) => t.app.services.audit.verify(chain);

describe("append-only", () => {
  it("the runtime role cannot UPDATE, DELETE or TRUNCATE audit rows (tenant and platform)", async () => {
    await items(org, 1);
    const tenant = tenantRef(org.id);
    for (const sql of [`UPDATE audit_events SET reason = 'x'`, `DELETE FROM audit_events`, `TRUNCATE audit_events`, `DELETE FROM audit_chain`]) {
      await expect(withTenant(t.app.services.db.app, tenant, (trx) => trx.raw(sql)), sql).rejects.toThrow(/permission denied|append-only|cannot be/);
    }
    for (const sql of [`UPDATE control.audit_events SET reason = 'x'`, `DELETE FROM control.audit_events`, `TRUNCATE control.audit_events`, `DELETE FROM control.audit_checkpoints`]) {
      await expect(t.app.services.db.app.raw(sql), sql).rejects.toThrow(/permission denied/);
    }
    // Even the owner is stopped by the triggers unless it disables them.
    const table = eventsTable(org.id);
    await expect(t.app.services.db.admin.raw(`UPDATE ${table} SET reason = 'x'`)).rejects.toThrow(/append-only/);
    await expect(t.app.services.db.admin.raw(`DELETE FROM ${table}`)).rejects.toThrow(/append-only/);
    await expect(t.app.services.db.admin.raw(`TRUNCATE ${table}`)).rejects.toThrow(/cannot be truncated/);
    expect((await verify(org.id)).ok).toBe(true);
  });
});

describe("tamper detection names the first broken sequence", () => {
  it("an edited row", async () => {
    const o = await createOrg(t.app, "tamper-edit");
    await items(o, 5);
    expect((await verify(o.id)).ok).toBe(true);
    await tamper(`UPDATE ${eventsTable(o.id)} SET reason = 'innocent' WHERE seq = 3`);
    const v = await verify(o.id);
    expect(v).toMatchObject({ ok: false, firstBrokenSeq: 3 });
    expect(v.problems[0]!.kind).toBe("hash_mismatch");
  });

  it("a deleted row", async () => {
    const o = await createOrg(t.app, "tamper-del");
    await items(o, 5);
    await tamper(`DELETE FROM ${eventsTable(o.id)} WHERE seq = 4`);
    const v = await verify(o.id);
    expect(v).toMatchObject({ ok: false, firstBrokenSeq: 4, gaps: [{ from: 4, to: 4 }] });
  });

  it("reordered rows", async () => {
    const o = await createOrg(t.app, "tamper-order");
    await items(o, 5);
    const tb = eventsTable(o.id);
    await tamper(`UPDATE ${tb} SET seq = -2 WHERE seq = 2; UPDATE ${tb} SET seq = 2 WHERE seq = 3; UPDATE ${tb} SET seq = 3 WHERE seq = -2`);
    const v = await verify(o.id);
    expect(v).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it("a cut tail: detected by the head, and by a signed checkpoint even when the head is rewound", async () => {
    const o = await createOrg(t.app, "tamper-tail");
    await items(o, 6);
    expect(await t.app.services.audit.checkpoint(o.id)).toBe(6);
    const tb = eventsTable(o.id);
    await tamper(`DELETE FROM ${tb} WHERE seq >= 5`);
    expect(await verify(o.id)).toMatchObject({ ok: false, firstBrokenSeq: 5 });
    const [four] = (await auditRows(t.app, o.id, 3)).filter((r) => Number(r.seq) === 4);
    await tamper(`UPDATE ${quoteIdent(tenantRef(o.id).schema)}.audit_chain SET last_seq = 4, last_hash = ?`, [four.hash]);
    const v = await verify(o.id);
    expect(v).toMatchObject({ ok: false, firstBrokenSeq: 5 });
    expect(v.problems.map((p) => p.kind)).toContain("tail_truncated");
  });

  it("a forged checkpoint signature", async () => {
    const o = await createOrg(t.app, "tamper-cp");
    await items(o, 2);
    await t.app.services.db.admin.withSchema("control").table("audit_checkpoints").insert({ chain: o.id, seq: 2, hash: "f".repeat(64), kind: "manual", signature: "00".repeat(32) });
    expect((await verify(o.id)).problems.map((p) => p.kind)).toEqual(["checkpoint_signature"]);
  });
});

describe("concurrency", () => {
  it("concurrent writers produce one linear chain", async () => {
    const o = await createOrg(t.app, "concurrent");
    await Promise.all(Array.from({ length: 16 }, (_, i) => items(o, 2, `c${i}-`)));
    const rows = await auditRows(t.app, o.id);
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
    expect((await verify(o.id)).ok).toBe(true);
  });
});

describe("retention", () => {
  it("archives expired events, anchors the cut with a signed checkpoint, and the chain stays verifiable", async () => {
    const o = await createOrg(t.app, "retention");
    await items(o, 3, "old");
    await new Promise((r) => setTimeout(r, 20));
    await items(o, 2, "new");
    const rows = await auditRows(t.app, o.id);
    const cutoffAfter = new Date(rows[2].occurred_at).getTime() + 1;
    const archiveDir = mkdtempSync(path.join(tmpdir(), "audit-archive-"));
    const res = await runRetention(t.app.services.db.admin, o.id, {
      archiveDir, signingKey: t.config.audit.signingKey, retentionDays: 1, now: new Date(cutoffAfter + 86_400_000), recorder: t.app.services.audit.recorder,
    });
    expect(res).toMatchObject({ removed: 3, throughSeq: 3 });
    const archived = gunzipSync(readFileSync(res.archive!)).toString().trim().split("\n").map((l) => JSON.parse(l));
    expect(archived.map((r) => Number(r.seq))).toEqual([1, 2, 3]);
    expect(archived[2].hash).toBe(rows[2].hash);
    const kept = await auditRows(t.app, o.id);
    expect(kept.map((r) => [Number(r.seq), r.event_type])).toEqual([[4, "data.created"], [5, "data.created"], [6, "security.audit.retention"]]);
    expect(kept[2]).toMatchObject({ actor_type: "system", metadata: { throughSeq: 3, removed: 3 } });
    const v = await verify(o.id);
    expect(v).toMatchObject({ ok: true, firstSeq: 4, lastSeq: 6 });
    await items(o, 1, "later");
    expect((await verify(o.id)).ok).toBe(true);
    // Deleting the first retained row is still detected.
    await tamper(`DELETE FROM ${eventsTable(o.id)} WHERE seq = 4`);
    expect(await verify(o.id)).toMatchObject({ ok: false, firstBrokenSeq: 4 });
  });
});

describe("live tail", () => {
  it("admins receive their own organization's events only", async () => {
    const b = await createOrg(t.app, "tail-other");
    const client = createClient({ url: t.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${org.users.ADMIN.token}` }, lazy: false, retryAttempts: 0 });
    const got: any[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.subscribe({ query: `subscription { auditEventRecorded { eventType resourceType resourceId metadata } }` }, {
        next: (m) => { got.push(m); if (got.length === 1) resolve(); },
        error: reject,
        complete: () => undefined,
      });
    });
    await new Promise((r) => setTimeout(r, 200));
    await items(b, 1, "other-org"); // first: a leak would arrive first
    const [mine] = await items(org, 1, "mine");
    await done;
    await new Promise((r) => setTimeout(r, 200)); // room for a late leak
    await client.dispose();
    expect(got).toHaveLength(1);
    expect(got[0].data.auditEventRecorded).toMatchObject({ eventType: "data.created", resourceType: "Item", resourceId: mine });
  });
});

describe("WebSocket mutations", () => {
  it("commit with their event, and a failed one leaves neither change nor event", async () => {
    const o = await createOrg(t.app, "ws-mut");
    const client = createClient({ url: t.url.replace(/^http/, "ws"), webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${o.users.DEVELOPER.token}` }, retryAttempts: 0 });
    const run = (query: string, variables: Record<string, unknown>) => new Promise<any>((resolve, reject) => {
      let out: any;
      client.subscribe({ query, variables }, { next: (m) => (out = m), error: reject, complete: () => resolve(out) });
    });
    const ok = await run(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "over ws" }) { id } }`, { p: o.projectId });
    expect(ok.errors).toBeUndefined();
    const rows = await auditRows(t.app, o.id);
    expect(rows.map((r) => [r.event_type, r.resource_id])).toEqual([["data.created", ok.data.createItem.id]]);
    const bad = await run(`mutation($p: ID!) { createItem(input: { projectId: $p, title: "${"x".repeat(600)}" }) { id } }`, { p: o.projectId });
    expect(bad.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(await auditRows(t.app, o.id, 1)).toEqual([]);
    await client.dispose();
    expect((await verify(o.id)).ok).toBe(true);
  });
});

describe("rejected WebSocket credentials", () => {
  it("are audited on the platform chain", async () => {
    const before = (await auditRows(t.app, "platform")).length;
    // The platform chain is shared with test files running at the same time: find this socket's event by its user agent.
    const agent = `audit-integrity-${Date.now()}`;
    const code = await new Promise<number>((resolve) => {
      const ws = new WebSocket(t.url.replace(/^http/, "ws"), "graphql-transport-ws", { headers: { "user-agent": agent } });
      ws.on("open", () => ws.send(JSON.stringify({ type: "connection_init", payload: { authorization: "Bearer forged.token.here" } })));
      ws.on("close", (c) => resolve(c));
    });
    expect(code).toBe(4403);
    const rows = (await auditRows(t.app, "platform")).slice(before).filter((r) => r.user_agent === agent);
    expect(rows.map((r) => [r.event_type, r.metadata?.transport])).toEqual([["auth.token.invalid", "ws"]]);
  });
});
