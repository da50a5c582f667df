// Relay-style cursor connections. `first` is required and bounded (1..100); cursors are opaque
// base64url strings holding the sort key and the id (keyset pagination, no OFFSET).
import { ArgsType, Field, Int, ObjectType, type ClassType } from "type-graphql";
import { badInput } from "../../errors/app-error.js";
import { isUuid } from "../../tenancy/naming.js";

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

/** Room for a 500-character title sort key, even one made of characters JSON escapes. */
const MAX_CURSOR_LENGTH = 4_096;

// A timestamptz as PostgreSQL prints it (`created_at::text`): "2026-01-31 12:00:00.123456+00".
const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::[0-5]\d){0,2}$/;

function isTimestampText(value: string): boolean {
  const m = TIMESTAMP_RE.exec(value);
  if (!m) return false;
  const [y, mo, d, h, mi, s, tz] = m.slice(1).map(Number) as [number, number, number, number, number, number, number];
  const day = new Date(0);
  day.setUTCFullYear(y, mo - 1, d);
  return y >= 1 && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h < 24 && mi < 60 && s < 60 && tz <= 15;
}

/**
 * Decode a client-supplied cursor. Its sort key is checked against what the query will cast it
 * to (a timestamp, or text without NUL), so a forged cursor is BAD_USER_INPUT, never a SQL error.
 */
export function decodeCursor(cursor: string | null | undefined, sort: "timestamp" | "text" = "timestamp"): CursorKey | null {
  if (cursor == null) return null;
  try {
    if (cursor.length > MAX_CURSOR_LENGTH) throw new Error();
    const v = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(v) && v.length === 2 && isUuid(v[1])) {
      const key = v[0];
      const keyOk = key === null || (typeof key === "string" && (sort === "text" ? !key.includes("\u0000") : isTimestampText(key)));
      if (keyOk) return [key, v[1].toLowerCase()];
    }
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
