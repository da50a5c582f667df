// Relay-style cursor connections. `first` is required and bounded (1..100); cursors are opaque
// base64url strings holding the sort key and the id (keyset pagination, no OFFSET).
import { ArgsType, Field, Int, ObjectType, type ClassType } from "type-graphql";
import { badInput } from "../../errors/app-error.js";

export const MAX_PAGE_SIZE = 100;

@ObjectType()
export class PageInfo {
  @Field(() => Boolean) hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, { description: `Page size, 1 to ${MAX_PAGE_SIZE}.` }) first!: number;
  @Field(() => String, { nullable: true, description: "Cursor from a previous page's pageInfo.endCursor." }) after?: string | null;
}

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: PageInfo;
  readonly totalCount: Promise<number>;
}

export function ConnectionType<T extends object>(node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field(() => String) cursor!: string;
    @Field(() => node) node!: T;
  }
  @ObjectType(`${name}Connection`)
  class Connection {
    @Field(() => [Edge]) edges!: Edge[];
    @Field(() => PageInfo) pageInfo!: PageInfo;
    /** Runs a COUNT only when a client asks for it. */
    @Field(() => Int, { description: "Total matching rows (costs one extra query)." })
    totalCount!: number;
  }
  return Connection;
}

export function checkPageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE}`, "first");
  return first;
}

export type CursorKey = [sortValue: string | null, id: string];

export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor(cursor: string | null | undefined): CursorKey | null {
  if (cursor == null) return null;
  try {
    if (cursor.length > 512) throw new Error();
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 2 && (typeof v[0] === "string" || v[0] === null) && typeof v[1] === "string" && /^[0-9a-f-]{36}$/.test(v[1])) return v as CursorKey;
  } catch {
    /* fall through */
  }
  throw badInput("after is not a valid cursor", "after");
}

/** Build a page from rows fetched with LIMIT first+1. */
export function toPage<T extends { id: string }>(rows: Array<T & { _k?: string | null }>, first: number, count: () => Promise<number>): Page<T> {
  const hasNextPage = rows.length > first;
  const slice = hasNextPage ? rows.slice(0, first) : rows;
  const edges = slice.map((r) => {
    const { _k, ...node } = r;
    return { cursor: encodeCursor([_k ?? null, r.id]), node: node as unknown as T };
  });
  let counted: Promise<number> | undefined;
  return {
    edges,
    pageInfo: { hasNextPage, endCursor: edges.length ? edges[edges.length - 1]!.cursor : null },
    // A getter: the COUNT query runs only when a client selects totalCount.
    get totalCount() {
      return (counted ??= count());
    },
  };
}
