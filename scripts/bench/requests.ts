// The workload's three requests, the pools of pre-built (token, body) pairs (10 per organization
// and type), and the correctness check run once against each server before any load.
import { randomUUID } from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { TokenService } from "../../src/auth/jwt.js";
import type { Config } from "../../src/config/index.js";
import { makePayload, makeTags, makeTitle, pick, prng, type BenchOrg } from "./data.js";

export const REQUEST_TYPES = ["Q1", "Q2", "M1"] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const OPERATIONS: Record<RequestType, string> = {
  Q1: "query Q1($p: ID!) { items(projectId: $p, first: 20) { edges { node { id title status tags creator { displayName } } } } }",
  Q2: "query Q2($id: ID!) { item(id: $id) { id title project { name } } }",
  M1: "mutation M1($input: CreateItemInput!) { createItem(input: $input) { id } }",
};

export const PAIRS_PER_ORG = 10;
const WRITER_ROLES = new Set(["ADMIN", "DEVELOPER", "SERVICE_ACCOUNT"]);
const STATUS_ENUM = ["OPEN", "DONE", "ARCHIVED"] as const;

export interface Pair {
  authorization: string;
  body: string;
  /** What the pair is about (for the correctness check). */
  projectId?: string;
}

export function body(type: RequestType, variables: Record<string, unknown>): string {
  return JSON.stringify({ operationName: type, query: OPERATIONS[type], variables });
}

/** Tokens are issued by Enclave's own TokenService with the secret the servers get. */
export function tokenService(secret: string): TokenService {
  const jwt: Config["jwt"] = {
    algorithm: "HS256", secret, issuer: "enclave", audience: "enclave-api", accessTtlSeconds: 900, refreshTtlSeconds: 86_400,
  };
  return new TokenService(jwt);
}

const TOKEN_TTL_SECONDS = 4 * 3600; // outlives any run

export function buildPairs(orgs: BenchOrg[], tokens: TokenService): Record<RequestType, Pair[]> {
  const out: Record<RequestType, Pair[]> = { Q1: [], Q2: [], M1: [] };
  for (const org of orgs) {
    const writers = org.members.filter((m) => WRITER_ROLES.has(m.role));
    for (const type of REQUEST_TYPES) {
      const rnd = prng("pairs", type, org.slug);
      for (let j = 0; j < PAIRS_PER_ORG; j++) {
        const member = pick(rnd, type === "M1" ? writers : org.members);
        const token = tokens.signAccess({ sub: member.id, sid: randomUUID(), org: org.id, role: member.role }, TOKEN_TTL_SECONDS);
        const authorization = `Bearer ${token}`;
        const projectId = pick(rnd, org.projectIds);
        if (type === "Q1") out.Q1.push({ authorization, body: body("Q1", { p: projectId }), projectId });
        else if (type === "Q2") out.Q2.push({ authorization, body: body("Q2", { id: org.sampleItemIds[j]! }) });
        else {
          const input = { projectId, title: makeTitle(rnd, j), status: pick(rnd, STATUS_ENUM), tags: makeTags(rnd), payload: makePayload(rnd, j) };
          out.M1.push({ authorization, body: body("M1", { input }), projectId });
        }
      }
    }
  }
  return out;
}

interface GqlResult { status: number; body: { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> } }

export async function post(baseUrl: string, authorization: string, payload: string): Promise<GqlResult> {
  const res = await fetch(`${baseUrl}/graphql`, { method: "POST", headers: { "content-type": "application/json", authorization }, body: payload });
  return { status: res.status, body: (await res.json()) as GqlResult["body"] };
}

function expectOk(what: string, r: GqlResult) {
  if (r.status !== 200 || r.body.errors?.length) throw new Error(`${what}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 500)}`);
}

/**
 * Before any load: on each server, M1 creates an item and the next Q1 of that project (on either
 * server) lists it first; both servers answer Q1 and Q2 with the same data.
 */
export async function checkCorrectness(targets: Record<string, string>, pairs: Record<RequestType, Pair[]>): Promise<void> {
  const names = Object.keys(targets);
  for (const [writer, writerUrl] of Object.entries(targets)) {
    const m1 = pairs.M1[names.indexOf(writer) % pairs.M1.length]!;
    const created = await post(writerUrl, m1.authorization, m1.body);
    expectOk(`${writer} M1`, created);
    const id: unknown = created.body.data?.createItem?.id;
    if (typeof id !== "string") throw new Error(`${writer} M1 returned no id: ${JSON.stringify(created.body)}`);
    const title = JSON.parse(m1.body).variables.input.title as string;
    const answers: Record<string, { q1: unknown; q2: unknown }> = {};
    for (const [reader, readerUrl] of Object.entries(targets)) {
      const q1 = await post(readerUrl, m1.authorization, body("Q1", { p: m1.projectId }));
      expectOk(`${reader} Q1 after ${writer} M1`, q1);
      const first = q1.body.data?.items?.edges?.[0]?.node;
      if (first?.id !== id || first?.title !== title) {
        throw new Error(`${reader} Q1 after ${writer} M1 does not list the new item first: ${JSON.stringify(first)} (expected ${id})`);
      }
      if (q1.body.data.items.edges.length !== 20) throw new Error(`${reader} Q1 returned ${q1.body.data.items.edges.length} edges, not 20`);
      const q2 = await post(readerUrl, m1.authorization, body("Q2", { id }));
      expectOk(`${reader} Q2 of the new item`, q2);
      if (q2.body.data?.item?.title !== title) throw new Error(`${reader} Q2 of the new item: ${JSON.stringify(q2.body)}`);
      answers[reader] = { q1: q1.body.data, q2: q2.body.data };
    }
    const [a, b] = names;
    if (a && b && !isDeepStrictEqual(answers[a], answers[b])) {
      throw new Error(`${a} and ${b} answer differently:\n${JSON.stringify(answers[a])}\n${JSON.stringify(answers[b])}`);
    }
  }
  // One pair of each pool, on each server.
  for (const [name, url] of Object.entries(targets)) {
    for (const type of ["Q1", "Q2"] as const) {
      const p = pairs[type][0]!;
      expectOk(`${name} ${type}`, await post(url, p.authorization, p.body));
    }
  }
}
