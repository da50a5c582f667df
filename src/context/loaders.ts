// Per-request DataLoaders: relations in a list cost one query per relation, not one per row.
import DataLoader from "dataloader";
import type { RequestContext } from "./index.js";
import { membersByIds } from "../modules/members/member.repository.js";
import { projectsByIds } from "../modules/projects/project.repository.js";
import { workspacesByIds } from "../modules/workspaces/workspace.repository.js";
import type { MemberRow } from "../modules/members/member.repository.js";
import type { ProjectRow } from "../modules/projects/project.repository.js";
import type { WorkspaceRow } from "../modules/workspaces/workspace.repository.js";

export interface Loaders {
  member: DataLoader<string, MemberRow | null>;
  project: DataLoader<string, ProjectRow | null>;
  workspace: DataLoader<string, WorkspaceRow | null>;
}

function byId<T extends { id: string }>(ids: readonly string[], rows: T[]): (T | null)[] {
  const map = new Map(rows.map((r) => [r.id, r]));
  return ids.map((id) => map.get(id) ?? null);
}

export function createLoaders(ctx: RequestContext): Loaders {
  // Created lazily: most requests touch one loader or none.
  let member: Loaders["member"] | undefined;
  let project: Loaders["project"] | undefined;
  let workspace: Loaders["workspace"] | undefined;
  return {
    get member() {
      return (member ??= new DataLoader(async (ids) => byId(ids, await ctx.inTenant((trx) => membersByIds(trx, ids)))));
    },
    get project() {
      return (project ??= new DataLoader(async (ids) => byId(ids, await ctx.inTenant((trx) => projectsByIds(trx, ids)))));
    },
    get workspace() {
      return (workspace ??= new DataLoader(async (ids) => byId(ids, await ctx.inTenant((trx) => workspacesByIds(trx, ids)))));
    },
  };
}
