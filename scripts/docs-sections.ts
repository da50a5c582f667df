import { ERROR_CODES } from "../src/errors/codes.js";
import { PERMISSIONS, ROLE_PERMISSIONS, ROLES, type Permission } from "../src/permissions/matrix.js";

export function errorsTable(): string {
  const rows = Object.entries(ERROR_CODES).map(([code, s]) => `| \`${code}\` | ${s.http} | ${s.description} |`);
  return ["| code | HTTP | meaning |", "|---|---|---|", ...rows].join("\n");
}

export function permissionsTable(): string {
  const head = `| permission | ${ROLES.join(" | ")} | meaning |`;
  const sep = `|---|${ROLES.map(() => ":-:").join("|")}|---|`;
  const rows = (Object.keys(PERMISSIONS) as Permission[]).map(
    (p) => `| \`${p}\` | ${ROLES.map((r) => (ROLE_PERMISSIONS[r].includes(p) ? "✓" : "")).join(" | ")} | ${PERMISSIONS[p]} |`,
  );
  return [head, sep, ...rows].join("\n");
}

const SECTIONS: Record<string, () => string> = { errors: errorsTable, permissions: permissionsTable };

export function renderGeneratedSections(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const re = new RegExp(`(<!-- generated:${name}:start -->)[\\s\\S]*?(<!-- generated:${name}:end -->)`);
    if (!re.test(out)) throw new Error(`README.md lacks the generated:${name} markers`);
    out = out.replace(re, `$1\n${render()}\n$2`);
  }
  return out;
}
