import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderGeneratedSections } from "../../scripts/docs-sections.js";
import { ERROR_CODES } from "../../src/errors/codes.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("README stays in step with the code", () => {
  it("has the generated error and permission tables up to date (npm run docs)", () => {
    expect(renderGeneratedSections(readme)).toBe(readme);
  });

  it("documents every error code with its HTTP status", () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) expect(readme).toContain(`| \`${code}\` | ${spec.http} |`);
  });
});
