// Page sizes, cursors and input bounds (no database): everything the API accepts is bounded and
// anything PostgreSQL would refuse is refused first, as BAD_USER_INPUT.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { AppError } from "../../src/errors/app-error.js";
import { checkPageSize, decodeCursor, encodeCursor, MAX_PAGE_SIZE } from "../../src/modules/common/connection.js";
import * as v from "../../src/modules/common/validation.js";

function badInput(fn: () => unknown, field?: string): AppError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("BAD_USER_INPUT");
    if (field) expect((err as AppError).extensions.field).toBe(field);
    return err as AppError;
  }
  throw new Error("expected BAD_USER_INPUT");
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("checkPageSize", () => {
  it("accepts 1..100 and refuses the rest", () => {
    expect(checkPageSize(1)).toBe(1);
    expect(checkPageSize(MAX_PAGE_SIZE)).toBe(100);
    for (const n of [0, -1, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) badInput(() => checkPageSize(n), "first");
  });
});

describe("cursors", () => {
  const id = randomUUID();

  it("round-trip the keys the database produces", () => {
    for (const key of ["2026-01-31 12:00:00.123456+00", "2026-01-31 12:00:00+00", "1999-12-31 23:59:59.5+05:30", "2024-02-29 00:00:00-03"]) {
      expect(decodeCursor(encodeCursor([key, id]))).toEqual([key, id]);
    }
    expect(decodeCursor(encodeCursor(["Any title, even 'quoted' or \"odd\" ☃", id]), "text")).toEqual(["Any title, even 'quoted' or \"odd\" ☃", id]);
    expect(decodeCursor(encodeCursor([null, id]))).toEqual([null, id]);
    expect(decodeCursor(encodeCursor(["2026-01-31 12:00:00+00", id.toUpperCase()]))).toEqual(["2026-01-31 12:00:00+00", id]);
    expect(decodeCursor(null)).toBeNull();
    expect(decodeCursor(undefined)).toBeNull();
  });

  it("fit the longest title the API accepts, even one JSON escapes", () => {
    const title = "\u0001".repeat(500);
    expect(decodeCursor(encodeCursor([title, id]), "text")).toEqual([title, id]);
  });

  it.each([
    ["garbage", "garbage"],
    ["empty", ""],
    ["not JSON", Buffer.from("nope").toString("base64url")],
    ["an object", b64({ k: 1, id })],
    ["one element", b64(["2026-01-01 00:00:00+00"])],
    ["three elements", b64(["2026-01-01 00:00:00+00", id, 1])],
    ["a number key", b64([1, id])],
    ["not a date", b64(["not a date", id])],
    ["Feb 30", b64(["2026-02-30 00:00:00+00", id])],
    ["hour 25", b64(["2026-01-01 25:00:00+00", id])],
    ["year 0", b64(["0000-01-01 00:00:00+00", id])],
    ["offset +99", b64(["2026-01-01 00:00:00+99", id])],
    ["ISO T format", b64(["2026-01-01T00:00:00Z", id])],
    ["SQL in the key", b64(["2026-01-01 00:00:00+00'; DROP TABLE items; --", id])],
    ["36 hyphens as id", b64(["2026-01-01 00:00:00+00", "-".repeat(36)])],
    ["a quote in the id", b64(["2026-01-01 00:00:00+00", `${id.slice(0, 35)}'`])],
    ["too long", "A".repeat(5_000)],
  ])("refuse %s", (_name, cursor) => {
    const e = badInput(() => decodeCursor(cursor), "after");
    expect(e.message).toBe("after is not a valid cursor");
  });

  it("a text key holding NUL is refused; a title key where a timestamp is expected is refused", () => {
    badInput(() => decodeCursor(b64(["a\u0000b", id]), "text"), "after");
    badInput(() => decodeCursor(b64(["A title", id]), "timestamp"), "after");
  });
});

describe("text", () => {
  it("trims, and bounds the trimmed length", () => {
    expect(v.text("  hi  ", "name", 5)).toBe("hi");
    expect(v.text("x".repeat(5), "name", 5)).toBe("xxxxx");
    badInput(() => v.text("x".repeat(6), "name", 5), "name");
    badInput(() => v.text("   ", "name", 5), "name");
    expect(v.optionalText("", "d", 5)).toBe("");
    expect(v.optionalText(null, "d", 5)).toBeNull();
    expect(v.optionalText(undefined, "d", 5)).toBeUndefined();
  });

  it("refuses NUL and non-strings", () => {
    badInput(() => v.text("a\u0000b", "title", 50), "title");
    badInput(() => v.text(12 as unknown as string, "title", 50), "title");
  });
});

describe("tags", () => {
  it("bounds count and length and removes duplicates", () => {
    expect(v.tags(["a", " a ", "b"])).toEqual(["a", "b"]);
    expect(v.tags(Array.from({ length: v.MAX_TAGS }, (_, i) => `${i}`))).toHaveLength(20);
    badInput(() => v.tags(Array.from({ length: v.MAX_TAGS + 1 }, (_, i) => `${i}`)), "tags");
    expect(v.tags(["x".repeat(v.MAX_TAG_LENGTH)])).toHaveLength(1);
    badInput(() => v.tags(["x".repeat(v.MAX_TAG_LENGTH + 1)]), "tags");
    badInput(() => v.tags([""]), "tags");
  });
});

describe("payload", () => {
  const nested = (levels: number) => {
    let value: Record<string, unknown> = {};
    for (let i = 1; i < levels; i++) value = { n: value };
    return value;
  };

  it("bounds the JSON size at 16 KiB", () => {
    const exact = { s: "x".repeat(v.MAX_PAYLOAD_BYTES - `{"s":""}`.length) };
    expect(v.payload(exact)).toBe(exact);
    badInput(() => v.payload({ s: "x".repeat(v.MAX_PAYLOAD_BYTES) }), "payload");
    // Bytes, not characters.
    badInput(() => v.payload({ s: "é".repeat(v.MAX_PAYLOAD_BYTES / 2) }), "payload");
  });

  it("bounds nesting at MAX_PAYLOAD_DEPTH levels, arrays included", () => {
    expect(() => v.payload(nested(v.MAX_PAYLOAD_DEPTH))).not.toThrow();
    badInput(() => v.payload(nested(v.MAX_PAYLOAD_DEPTH + 1)), "payload");
    let arr: unknown = 1;
    for (let i = 0; i < 5_000; i++) arr = [arr];
    badInput(() => v.payload({ a: arr }), "payload");
  });

  it("refuses NUL and unpaired surrogates anywhere, keys included", () => {
    for (const bad of [{ a: "\u0000" }, { "k\u0000": 1 }, { a: [1, { b: "x\u0000" }] }, { a: "\ud800" }, { a: "x\udfff" }, { a: "\\\u0000" }]) {
      badInput(() => v.payload(bad), "payload");
    }
  });

  it("accepts text that merely looks like an escape, and real surrogate pairs", () => {
    for (const ok of [{ a: "\\u0000" }, { a: "\\\\u0000" }, { a: "\\ud800" }, { a: "😀" }, { "\\u0000": true }]) expect(v.payload(ok)).toBe(ok);
  });
});
