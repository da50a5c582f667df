// graphql-ws on the HTTP server's port and path. The connection authenticates once in
// connection_init through the same code as HTTP; each operation gets its own context, the same
// parse/validation limits and cost check as HTTP, and masked errors.
import type { Server } from "node:http";
import { GraphQLError, parse, specifiedRules, validate, getOperationAST, type ExecutionArgs, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { authenticate, createContext, type Principal } from "../context/index.js";
import type { Services } from "../context/services.js";
import { createErrorFormatter } from "../errors/mask.js";
import { assessCost, validationRules } from "../graphql/limits.js";
import { platformChain } from "../enterprise/audit/recorder.js";

interface Extra extends Record<PropertyKey, unknown> {
  principal?: Principal | null;
  ip?: string;
  userAgent?: string;
}

export function attachWebSocketServer(services: Services, schema: GraphQLSchema, httpServer: Server) {
  const wss = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: 1 << 20 });
  const g = services.config.graphql;
  const rules = [...specifiedRules, ...validationRules(g)];
  const formatError = createErrorFormatter({ logger: services.logger, exposeDetails: g.exposeErrorDetails });
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));

  const handle = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema,
      connectionInitWaitTimeout: 3_000,
      async onConnect(ctx) {
        const auth = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const req = ctx.extra.request;
        ctx.extra.ip = req.socket.remoteAddress;
        ctx.extra.userAgent = req.headers["user-agent"];
        try {
          ctx.extra.principal = authenticate(services, typeof auth === "string" ? auth : undefined);
          return true;
        } catch (err) {
          await services.audit.recordOutcome(undefined, {
            type: "auth.token.invalid", result: "failure", reason: (err as Error).message,
            actor: { type: "anonymous", ip: ctx.extra.ip ?? null, userAgent: ctx.extra.userAgent?.slice(0, 512) ?? null },
            metadata: { transport: "ws" },
          }, platformChain(null));
          return false; // 4403 Forbidden
        }
      },
      onSubscribe(ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] {
        let document;
        try {
          document = parse(payload.query, { maxTokens: g.maxTokens });
        } catch (err) {
          return [err instanceof GraphQLError ? err : new GraphQLError("Invalid query")];
        }
        const errors = validate(schema, document, rules);
        if (errors.length) return errors;
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [new GraphQLError("Operation not found")];
        try {
          assessCost(schema, document, operation, payload.variables ?? undefined, g.maxCost);
        } catch (err) {
          return [err as GraphQLError];
        }
        const contextValue = createContext(services, ctx.extra.principal ?? null, {
          transport: "ws",
          client: { ip: ctx.extra.ip, userAgent: ctx.extra.userAgent },
        });
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: format(result.errors) } : undefined,
    },
    wss,
  );
  return {
    wss,
    async dispose() {
      await handle.dispose();
    },
  };
}
