// Apollo Server for Enclave: limits, masking, the request lifecycle, landing page and draining.
import type { Server } from "node:http";
import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import {
  ApolloServerPluginLandingPageLocalDefault,
  ApolloServerPluginLandingPageProductionDefault,
} from "@apollo/server/plugin/landingPage/default";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import type { GraphQLSchema } from "graphql";
import type { RequestContext } from "../context/index.js";
import type { Services } from "../context/services.js";
import { createErrorFormatter } from "../errors/mask.js";
import { validationRules } from "./limits.js";
import { requestLifecyclePlugin } from "./plugins/request-lifecycle.js";

export function createApollo(services: Services, schema: GraphQLSchema, httpServer: Server, extraPlugins: ApolloServerPlugin<RequestContext>[] = []) {
  const g = services.config.graphql;
  const landing = g.sandbox
    ? ApolloServerPluginLandingPageLocalDefault({ embed: { initialState: { pollForSchemaUpdates: false } }, includeCookies: false })
    : services.config.isProduction
      ? ApolloServerPluginLandingPageDisabled()
      : ApolloServerPluginLandingPageProductionDefault({ footer: false });
  return new ApolloServer<RequestContext>({
    schema,
    introspection: g.introspection,
    includeStacktraceInErrorResponses: false,
    hideSchemaDetailsFromClientErrors: services.config.isProduction,
    formatError: createErrorFormatter({ logger: services.logger, exposeDetails: g.exposeErrorDetails }),
    validationRules: validationRules(g),
    parseOptions: { maxTokens: g.maxTokens },
    allowBatchedHttpRequests: false,
    // main.ts owns SIGTERM/SIGINT (readiness first, then drain); Apollo's own handler would race it.
    stopOnTerminationSignals: false,
    csrfPrevention: true,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      landing,
      requestLifecyclePlugin(g.maxCost),
      ...extraPlugins,
    ],
  });
}
