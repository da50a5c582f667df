// Subscriptions over graphql-ws on the gateway's own port and path (SECURITY.md cases 14 and 27):
// a subscriber sees its own organization's item changes, published after commit, and never
// another organization's; credentials and permissions are checked at connect and subscribe time.
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { isAsyncIterable } from "graphql/jsutils/isAsyncIterable.js";
import { parse, subscribe, type ExecutionResult } from "graphql";
import { createContext, type RequestContext } from "../../src/context/index.js";
import { itemTopic } from "../../src/modules/items/item.events.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { createOrg, createSuperAdmin, type TestOrg } from "../helpers/factories.js";
import { connectWs, rawWs, type WsConnection, type WsSubscription } from "../helpers/ws.js";

let t: TestApp;
let A: TestOrg;
let B: TestOrg;
const open: WsConnection[] = [];

beforeAll(async () => {
  t = await startTestApp();
  A = await createOrg(t.app, "subs-a");
  B = await createOrg(t.app, "subs-b");
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((c) => c.dispose()));
});
afterAll(async () => t?.close());

const ITEM_CHANGED = `subscription($p: ID!) {
  itemChanged(projectId: $p) { kind item { id title status tags payload creator { displayName } } }
}`;

interface ItemChanged {
  itemChanged: { kind: "CREATED" | "UPDATED" | "DELETED"; item: { id: string; title: string; status: string; tags: string[]; payload: unknown; creator: { displayName: string } | null } };
}

function connect(token?: string, connectionParams?: Record<string, unknown>): WsConnection {
  const c = connectWs(t.url, { token, connectionParams });
  open.push(c);
  return c;
}

const PROBE_ID = "00000000-0000-4000-8000-00000000beef";

/** Subscribe to a project's item changes and wait until the subscription is live on the server. */
async function liveSubscription(org: TestOrg, projectId: string, token: string): Promise<WsSubscription<ItemChanged>> {
  const sub = connect(token).subscribe<ItemChanged>(ITEM_CHANGED, { p: projectId });
  await sub.ready(
    () => t.app.services.pubsub.publish("ITEM_CHANGED", itemTopic(org.id, projectId), {
      kind: "UPDATED",
      item: { id: PROBE_ID, projectId, title: "probe", status: "open", tags: [], payload: {}, creatorId: null, createdAt: new Date(), updatedAt: new Date() },
    }),
    (r) => r.data?.itemChanged.item.id === PROBE_ID,
  );
  return sub;
}

/** Resolve with the subscription's errors once it has failed (bounded). */
async function failure(sub: WsSubscription): Promise<string[]> {
  await sub.until(() => sub.errors.length > 0, 5_000);
  return sub.errors.map((e) => e.extensions?.code);
}

async function http<T = any>(query: string, variables: Record<string, unknown>, token: string): Promise<T> {
  const res = await t.gql<T>(query, variables, token);
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data as T;
}

const CREATE = `mutation($p: ID!, $t: String!) { createItem(input: { projectId: $p, title: $t, tags: ["x"], payload: { n: 1 } }) { id } }`;
const UPDATE = `mutation($id: ID!, $t: String!) { updateItem(id: $id, input: { title: $t, status: DONE }) { id } }`;
const DELETE = `mutation($id: ID!) { deleteItem(id: $id) }`;

describe("item change events", () => {
  it("A's developer receives A's CREATED, UPDATED and DELETED events with item fields and creator", async () => {
    const sub = await liveSubscription(A, A.projectId, A.users.DEVELOPER.token);
    const { createItem } = await http(CREATE, { p: A.projectId, t: "watched" }, A.users.DEVELOPER.token);
    await http(UPDATE, { id: createItem.id, t: "watched, edited" }, A.users.DEVELOPER.token);
    await http(DELETE, { id: createItem.id }, A.users.ADMIN.token); // DEVELOPER lacks item:delete
    await sub.until((rs) => rs.length >= 3);
    const creator = { displayName: `DEVELOPER of ${A.slug}` };
    expect(sub.results).toEqual([
      { data: { itemChanged: { kind: "CREATED", item: { id: createItem.id, title: "watched", status: "OPEN", tags: ["x"], payload: { n: 1 }, creator } } } },
      { data: { itemChanged: { kind: "UPDATED", item: { id: createItem.id, title: "watched, edited", status: "DONE", tags: ["x"], payload: { n: 1 }, creator } } } },
      { data: { itemChanged: { kind: "DELETED", item: { id: createItem.id, title: "watched, edited", status: "DONE", tags: ["x"], payload: { n: 1 }, creator } } } },
    ]);
    expect(sub.errors).toEqual([]);
  });

  it("B's item changes are never delivered to A's subscriber", async () => {
    const subA = await liveSubscription(A, A.projectId, A.users.DEVELOPER.token);
    // B watches its own project, to prove B's events really were published.
    const subB = await liveSubscription(B, B.projectId, B.users.DEVELOPER.token);
    const { createItem: bItem } = await http(CREATE, { p: B.projectId, t: "b-private" }, B.users.DEVELOPER.token);
    await http(UPDATE, { id: bItem.id, t: "b-private, edited" }, B.users.DEVELOPER.token);
    await http(DELETE, { id: bItem.id }, B.users.ADMIN.token);
    await subB.until((rs) => rs.length >= 3);
    expect(subB.results.map((r) => r.data?.itemChanged.kind)).toEqual(["CREATED", "UPDATED", "DELETED"]);

    // Events reach a socket in publication order: once A's own later event has arrived, any leaked
    // B event would already be there. A short bounded wait on top, for anything out of order.
    const { createItem: aItem } = await http(CREATE, { p: A.projectId, t: "a-after-b" }, A.users.DEVELOPER.token);
    await subA.until((rs) => rs.some((r) => r.data?.itemChanged.item.id === aItem.id));
    await new Promise((r) => setTimeout(r, 300));
    expect(subA.results.map((r) => [r.data?.itemChanged.kind, r.data?.itemChanged.item.id])).toEqual([["CREATED", aItem.id]]);
    expect(JSON.stringify(subA.results)).not.toContain("b-private");
    expect(subA.errors).toEqual([]);
  });

  it("a rolled-back mutation publishes nothing (events go out after commit)", async () => {
    const sub = await liveSubscription(A, A.projectId, A.users.ADMIN.token);
    const failed = await t.gql(
      `mutation($p: ID!, $x: ID!) { a: createItem(input: { projectId: $p, title: "never committed" }) { id } b: deleteItem(id: $x) }`,
      { p: A.projectId, x: randomUUID() },
      A.users.ADMIN.token,
    );
    expect(failed.body.errors?.map((e) => e.extensions?.code)).toEqual(["NOT_FOUND"]);
    const { createItem } = await http(CREATE, { p: A.projectId, t: "committed" }, A.users.ADMIN.token);
    await sub.until((rs) => rs.length >= 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(sub.results.map((r) => r.data?.itemChanged.item.title)).toEqual(["committed"]);
    expect(sub.results[0]!.data?.itemChanged.item.id).toBe(createItem.id);
  });
});

describe("subscribe-time checks", () => {
  it("A subscribing to B's project gets NOT_FOUND, the same answer as for a project that does not exist", async () => {
    const conn = connect(A.users.ADMIN.token);
    const toB = conn.subscribe(ITEM_CHANGED, { p: B.projectId });
    expect(await failure(toB)).toEqual(["NOT_FOUND"]);
    const nowhere = conn.subscribe(ITEM_CHANGED, { p: randomUUID() });
    expect(await failure(nowhere)).toEqual(["NOT_FOUND"]);
    expect(toB.errors[0]!.message).toBe(nowhere.errors[0]!.message);
    expect(JSON.stringify(toB.errors)).not.toMatch(/tenant_|select|from/i);
    // The socket itself stays open and usable for A's own project.
    const own = conn.subscribe(ITEM_CHANGED, { p: A.projectId });
    await new Promise((r) => setTimeout(r, 200));
    expect(own.errors).toEqual([]);
    expect(conn.closes).toEqual([]);
  });

  it("a malformed project id is BAD_USER_INPUT", async () => {
    const sub = connect(A.users.ADMIN.token).subscribe(ITEM_CHANGED, { p: "not-an-id" });
    expect(await failure(sub)).toEqual(["BAD_USER_INPUT"]);
  });

  it("anonymous: the connection is accepted but the subscription is refused with UNAUTHENTICATED, before any event", async () => {
    const conn = connect(undefined, {});
    const sub = conn.subscribe(ITEM_CHANGED, { p: A.projectId });
    expect(await failure(sub)).toEqual(["UNAUTHENTICATED"]);
    expect(sub.results.every((r) => r.data == null)).toBe(true);
    await sub.ended;
  });

  it("the item:read rule guards subscribe itself, not only each delivered event", async () => {
    // Every organization role holds item:read, so take A's developer and withdraw the permission
    // from the context: the shield must refuse before the subscribe resolver opens anything.
    const base = createContext(t.app.services, { userId: A.users.DEVELOPER.id, sessionId: randomUUID(), superAdmin: false, organizationId: A.id, role: "DEVELOPER" }, { transport: "ws", client: {} });
    const run = (ctx: RequestContext) => subscribe({ schema: t.app.schema, document: parse(ITEM_CHANGED), variableValues: { p: A.projectId }, contextValue: ctx });
    const denied = (await run({ ...base, can: (p) => p !== "item:read" && base.can(p) })) as ExecutionResult;
    expect(isAsyncIterable(denied)).toBe(false);
    expect(denied.errors?.map((e) => [e.extensions?.code, e.message])).toEqual([["FORBIDDEN", "Requires permission item:read"]]);
    // Positive control: the unchanged context subscribes.
    const allowed = await run(base);
    expect(isAsyncIterable(allowed)).toBe(true);
    await (allowed as AsyncGenerator).return?.(undefined);
  });

  it("a super admin with no organization selected gets FORBIDDEN at subscribe time", async () => {
    const root = await createSuperAdmin(t.app);
    const sub = connect(root.token).subscribe(ITEM_CHANGED, { p: A.projectId });
    expect(await failure(sub)).toEqual(["FORBIDDEN"]);
  });
});

describe("connection-level checks", () => {
  it("an invalid token in connectionParams closes the socket with 4403", async () => {
    const forged = A.users.ADMIN.token.slice(0, -4) + (A.users.ADMIN.token.endsWith("AAAA") ? "BBBB" : "AAAA");
    for (const authorization of [`Bearer ${forged}`, "Bearer not.a.jwt", "Basic abc"]) {
      const conn = connect(undefined, { authorization });
      const sub = conn.subscribe(ITEM_CHANGED, { p: A.projectId });
      const closed = await Promise.race([conn.closed, new Promise<null>((r) => setTimeout(() => r(null), 5_000))]);
      expect(closed?.code, authorization).toBe(4403);
      expect(sub.results).toEqual([]);
    }
  });

  it("no connection_init within 3 s closes the socket with 4408", async () => {
    const ws = rawWs(t.url);
    await ws.opened;
    expect(ws.socket.protocol).toBe("graphql-transport-ws");
    const closed = await Promise.race([ws.closed, new Promise<null>((r) => setTimeout(() => r(null), 6_000))]);
    expect(closed?.code).toBe(4408);
  }, 10_000);
});
