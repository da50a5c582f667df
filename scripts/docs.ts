// Regenerate (or check) the README tables that are derived from code: the error-code table and the
// permission matrix.   tsx scripts/docs.ts [write|check]
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { renderGeneratedSections } from "./docs-sections.js";

const file = fileURLToPath(new URL("../README.md", import.meta.url));
const current = readFileSync(file, "utf8");
const next = renderGeneratedSections(current);
if (process.argv[2] === "write") {
  writeFileSync(file, next);
  console.log("README.md generated sections updated");
} else if (next !== current) {
  console.error("README.md generated sections are out of date: run `npm run docs`.");
  process.exit(1);
}
