import { describe, expect, it } from "vitest";
import { Meter } from "../../src/enterprise/metering/meter.js";

const base = { organizationId: "00000000-0000-4000-8000-000000000001", userId: null, operationType: "query", latencyMs: 1, errorCodes: [], bytesOut: 10 };

describe("Meter", () => {
  it("keeps only GraphQL operation names, so a client-chosen string cannot poison a flush", () => {
    const m = new Meter("test");
    for (const operationName of ["Q1", "bad\u0000name", "\ud800", "1starts-with-digit", null]) m.record({ ...base, operationName });
    const names = m.seal()!.aggregates.map((a) => a.operationName).sort();
    expect(names).toEqual(["(anonymous)", "(invalid)", "Q1"]);
  });
});
