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
import { createEnclavePubSub, type PubSub } from "../db/pubsub.js";

export const resolvers = [
  IdentityResolver, OrganizationResolver, MemberResolver, WorkspaceResolver, ProjectResolver, ItemResolver,
  AnalyticsResolver,
] as const;

/** The schema without permission middleware: what is emitted to schema/schema.graphql. */
export function buildTypeSchema(pubSub: PubSub = createEnclavePubSub()): Promise<GraphQLSchema> {
  return buildSchema({ resolvers, validate: false, pubSub });
}

export async function buildGatewaySchema(pubSub: PubSub): Promise<GraphQLSchema> {
  return applyPermissions(await buildTypeSchema(pubSub));
}
