// Name/description validation shared by workspaces and projects.
import { badInput } from "../../errors/app-error.js";
import * as v from "./validation.js";

export const MAX_NAME = 200;
export const MAX_DESCRIPTION = 2_000;

export function namedValues(input: { name: string; description?: string | null }) {
  return { name: v.text(input.name, "name", MAX_NAME), description: v.optionalText(input.description, "description", MAX_DESCRIPTION) ?? null };
}

export function namedPatch(input: { name?: string | null; description?: string | null }) {
  const patch: { name?: string; description?: string | null } = {};
  if (input.name != null) patch.name = v.text(input.name, "name", MAX_NAME);
  if (input.description !== undefined) patch.description = v.optionalText(input.description, "description", MAX_DESCRIPTION) ?? null;
  if (Object.keys(patch).length === 0) throw badInput("nothing to update");
  return patch;
}
