// The typed schema: type-graphql resolvers, then permission rules applied on top.
import type { GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { IdentityResolver } from "../modules/identity/identity.resolver.js";
import { ItemResolver } from "../modules/items/item.resolver.js";
import { MemberResolver } from "../modules/members/member.resolver.js";
import { OrganizationResolver } from "../modules/organizations/organization.resolver.js";
import { ProjectResolver } from "../modules/projects/project.resolver.js";
import { WorkspaceResolver } from "../modules/workspaces/workspace.resolver.js";
import { AnalyticsResolver } from "../enterprise/analytics/analytics.resolver.js";
import { applyPermissions } from "../permissions/shield.js";
import { ApiKeyResolver } from "../enterprise/api-keys/api-key.resolver.js";
import { PlanResolver } from "../enterprise/plans/plan.resolver.js";
import { applyMiddleware } from "graphql-middleware";
import { AuditResolver } from "../enterprise/audit/audit.resolver.js";
import { auditMiddleware } from "../enterprise/audit/middleware.js";
import { createEnclavePubSub, type PubSub } from "../db/pubsub.js";

export const resolvers = [
  IdentityResolver, OrganizationResolver, MemberResolver, WorkspaceResolver, ProjectResolver, ItemResolver,
  ApiKeyResolver, PlanResolver,
  AuditResolver,
  AnalyticsResolver,
] as const;

/** The schema without permission middleware: what is emitted to schema/schema.graphql. */
export function buildTypeSchema(pubSub: PubSub = createEnclavePubSub()): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: false, pubSub });
}

export async function buildGatewaySchema(pubSub: PubSub): Promise<GraphQLSchema> {
  // The audit wrapper goes outside the shield, so it also sees (and records) denials.
  const guarded = applyPermissions(await buildTypeSchema(pubSub));
  return applyMiddleware(guarded, auditMiddleware(guarded));
}
