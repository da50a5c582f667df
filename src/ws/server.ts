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
import { errorCodes } from "../enterprise/metering/plugin.js";
import { sharedSubscribe } from "../enterprise/metering/shared-execution.js";

interface WsOperation { name: string | null; type: string; started: number; codes: string[]; bytes: number }

interface Extra extends Record<PropertyKey, unknown> {
  principal?: Principal | null;
  ip?: string;
  userAgent?: string;
  /** metering of operations in flight on this connection */
  ops?: Map<string, WsOperation>;
}

export function attachWebSocketServer(services: Services, schema: GraphQLSchema, httpServer: Server) {
  const wss = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: 1 << 20 });
  const g = services.config.graphql;
  const rules = [...specifiedRules, ...validationRules(g)];
  const formatError = createErrorFormatter({ logger: services.logger, exposeDetails: g.exposeErrorDetails });
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));
  const metering = services.metering;
  const meter = (principal: Principal | null | undefined, op: WsOperation, latencyMs: number | null) => {
    if (!principal?.organizationId) return;
    metering.record({
      organizationId: principal.organizationId, userId: principal.userId, operationName: op.name, operationType: op.type,
      latencyMs, errorCodes: op.codes, bytesOut: op.bytes,
    });
  };

  const handle = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema,
      // live usage fields: one execution per event and document, shared by the subscribers
      subscribe: sharedSubscribe,
      connectionInitWaitTimeout: 3_000,
      onConnect(ctx) {
        const auth = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const req = ctx.extra.request;
        ctx.extra.ip = req.socket.remoteAddress;
        ctx.extra.userAgent = req.headers["user-agent"];
        try {
          ctx.extra.principal = authenticate(services, typeof auth === "string" ? auth : undefined);
          // false: the organization is at its socket cap (the registry closed the socket with 4429)
          return metering.connections.register(ctx.extra.socket, ctx.extra.principal);
        } catch {
          return false; // 4403 Forbidden
        }
      },
      onClose(ctx) {
        metering.connections.unregister(ctx.extra.socket);
      },
      onSubscribe(ctx, id, payload): ExecutionArgs | readonly GraphQLError[] {
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
        if (operation.operation === "subscription") {
          const capped = metering.connections.subscriptionStarted(ctx.extra.socket, id);
          if (capped) return [capped];
        }
        const op: WsOperation = { name: payload.operationName ?? operation.name?.value ?? null, type: operation.operation, started: performance.now(), codes: [], bytes: 0 };
        (ctx.extra.ops ??= new Map()).set(id, op);
        // A subscription counts as one call when it starts; its lifetime is not a latency.
        if (op.type === "subscription") meter(ctx.extra.principal, op, null);
        const contextValue = createContext(services, ctx.extra.principal ?? null, {
          transport: "ws",
          client: { ip: ctx.extra.ip, userAgent: ctx.extra.userAgent },
          socket: ctx.extra.socket,
        });
        return { schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
      },
      onError: (ctx, id, _payload, errors) => {
        const formatted = format(errors);
        const op = ctx.extra.ops?.get(id);
        if (op) op.codes.push(...errorCodes(formatted));
        return formatted;
      },
      onNext: (ctx, id, _payload, _args, result) => {
        const out = result.errors ? { ...result, errors: format(result.errors) } : undefined;
        const op = ctx.extra.ops?.get(id);
        if (op && op.type !== "subscription") {
          if (out?.errors) op.codes.push(...errorCodes(out.errors));
          op.bytes += JSON.stringify(out ?? result).length; // queries/mutations over WS only (rare)
        }
        return out;
      },
      onComplete: (ctx, id) => {
        metering.connections.subscriptionEnded(ctx.extra.socket, id);
        const op = ctx.extra.ops?.get(id);
        if (!op) return;
        ctx.extra.ops!.delete(id);
        if (op.type !== "subscription") meter(ctx.extra.principal, op, performance.now() - op.started);
      },
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
