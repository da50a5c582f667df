// assessCost against the real schema (no database): page sizes multiply through nesting,
// fragments and aliases count, variables and their defaults are honoured, limits throw.
import "reflect-metadata";
import { getOperationAST, parse, type GraphQLSchema } from "graphql";
import { beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors/app-error.js";
import { assessCost } from "../../src/graphql/limits.js";
import { buildTypeSchema } from "../../src/graphql/schema.js";
import { MAX_PAGE_SIZE } from "../../src/modules/common/connection.js";

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildTypeSchema();
});

function cost(query: string, variables?: Record<string, unknown>, maximum = 50_000) {
  const document = parse(query);
  const operation = getOperationAST(document)!;
  return assessCost(schema, document, operation, variables, maximum);
}

function thrown(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error("expected an error");
}

describe("assessCost", () => {
  it("a query without connections costs 1", () => {
    expect(cost(`{ me { role } }`)).toEqual({ requested: 1, maximum: 50_000 });
    expect(cost(`mutation { createWorkspace(input: { name: "x" }) { id } }`).requested).toBe(1);
  });

  it("a connection costs its page size", () => {
    expect(cost(`{ workspaces(first: 10) { totalCount } }`).requested).toBe(10);
  });

  it("nested connections multiply", () => {
    const q = `{ workspaces(first: 10) { edges { node { projects(first: 5) { edges { node { items(first: 3) { totalCount } } } } } } } }`;
    expect(cost(q).requested).toBe(10 + 10 * 5 + 10 * 5 * 3);
  });

  it("nested 100 × 100 × 100 → COST_LIMIT_EXCEEDED carrying the cost", () => {
    const q = `{ workspaces(first: 100) { edges { node { projects(first: 100) { edges { node { items(first: 100) { totalCount } } } } } } } }`;
    const e = thrown(() => cost(q));
    expect(e.extensions).toMatchObject({ code: "COST_LIMIT_EXCEEDED", cost: { requested: 1_010_100, maximum: 50_000 } });
    expect(e.message).toMatch(/1010100 exceeds the maximum of 50000/);
  });

  it("a cost equal to the maximum passes; one more fails", () => {
    expect(cost(`{ workspaces(first: 100) { totalCount } }`, undefined, 100).requested).toBe(100);
    expect(thrown(() => cost(`{ workspaces(first: 100) { totalCount } }`, undefined, 99)).code).toBe("COST_LIMIT_EXCEEDED");
  });

  it("aliases add up", () => {
    expect(cost(`{ a: workspaces(first: 50) { totalCount } b: workspaces(first: 50) { totalCount } }`).requested).toBe(100);
  });

  it("fragments, inline fragments and repeated spreads count like inline selections", () => {
    const inline = cost(`{ workspaces(first: 4) { edges { node { projects(first: 6) { totalCount } } } } }`).requested;
    expect(cost(`{ workspaces(first: 4) { ...W } } fragment W on WorkspaceConnection { edges { node { ...P } } } fragment P on Workspace { projects(first: 6) { totalCount } }`).requested).toBe(inline);
    expect(cost(`{ workspaces(first: 4) { edges { node { ... on Workspace { projects(first: 6) { totalCount } } } } } }`).requested).toBe(inline);
    expect(cost(`{ ...Q ...Q } fragment Q on Query { workspaces(first: 4) { totalCount } }`).requested).toBe(8);
  });

  it("a self-referencing fragment (invalid, but reachable by a buggy caller) terminates", () => {
    const q = `{ workspaces(first: 2) { edges { node { ...W } } } } fragment W on Workspace { projects(first: 2) { edges { node { workspace { ...W } } } } }`;
    expect(cost(q).requested).toBe(2 + 4);
  });

  it("subscriptions are costed too", () => {
    expect(cost(`subscription { itemChanged(projectId: "x") { item { project { items(first: 10) { totalCount } } } } }`).requested).toBe(10);
  });

  it("introspection is free", () => {
    expect(cost(`{ __schema { types { name } } __typename }`).requested).toBe(1);
  });

  it.each([0, -1, MAX_PAGE_SIZE + 1, 1_000_000])("first: %i → BAD_USER_INPUT naming the field", (n) => {
    const e = thrown(() => cost(`{ workspaces(first: ${n}) { totalCount } }`));
    expect(e.extensions).toMatchObject({ code: "BAD_USER_INPUT", field: "first" });
    expect(e.message).toMatch(/Query\.workspaces/);
  });

  it("page sizes are checked on nested connections too", () => {
    const e = thrown(() => cost(`{ workspaces(first: 1) { edges { node { projects(first: 101) { totalCount } } } } }`));
    expect(e.message).toMatch(/Workspace\.projects/);
  });

  it("variables: the value sent, else the declared default; anything else is refused", () => {
    const q = `query($n: Int) { workspaces(first: $n) { totalCount } }`;
    expect(cost(q, { n: 7 }).requested).toBe(7);
    expect(cost(`query($n: Int = 9) { workspaces(first: $n) { totalCount } }`, {}).requested).toBe(9);
    expect(cost(`query($n: Int = 9) { workspaces(first: $n) { totalCount } }`, undefined).requested).toBe(9);
    expect(cost(`query($n: Int = 9) { workspaces(first: $n) { totalCount } }`, { n: 3 }).requested).toBe(3);
    for (const vars of [{ n: 101 }, { n: 0 }, { n: 1.5 }, { n: "5" }, { n: null }, {}, undefined]) {
      expect(thrown(() => cost(q, vars)).code, JSON.stringify(vars)).toBe("BAD_USER_INPUT");
    }
    expect(thrown(() => cost(`query($n: Int = 101) { workspaces(first: $n) { totalCount } }`)).code).toBe("BAD_USER_INPUT");
    // An explicit null overrides the default, as in execution.
    expect(thrown(() => cost(`query($n: Int = 5) { workspaces(first: $n) { totalCount } }`, { n: null })).code).toBe("BAD_USER_INPUT");
  });

  it("a variable named like an Object.prototype key is not read from the prototype", () => {
    expect(thrown(() => cost(`query($constructor: Int) { workspaces(first: $constructor) { totalCount } }`, {})).code).toBe("BAD_USER_INPUT");
  });
});
