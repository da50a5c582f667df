// graphql-ws on the HTTP server's port and path. The connection authenticates once in
// connection_init through the same code as HTTP; each operation gets its own context, the same
// parse/validation limits and cost check as HTTP, and masked errors.
import type { IncomingMessage, Server } from "node:http";
import proxyaddr from "proxy-addr";
import { GraphQLError, parse, specifiedRules, validate, getOperationAST, type ExecutionArgs, type GraphQLSchema } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { authenticateCredentials, bearerToken, createContext, type Principal } from "../context/index.js";
import type { Services } from "../context/services.js";
import type { ErrorCode } from "../errors/codes.js";
import { createErrorFormatter } from "../errors/mask.js";
import { assessCost, validationRules } from "../graphql/limits.js";
import { quotaExceeded } from "../enterprise/plans/quotas.js";
import { chargeCost } from "../enterprise/rate-limit/cost-budget.js";
import { AppError } from "../errors/app-error.js";
import { platformChain } from "../enterprise/audit/recorder.js";
import { errorCodes } from "../enterprise/metering/plugin.js";
import { sharedSubscribe } from "../enterprise/metering/shared-execution.js";

interface WsOperation { name: string | null; type: string; started: number; codes: string[]; bytes: number }

interface Extra extends Record<PropertyKey, unknown> {
  principal?: Principal | null;
  /** kept in memory only, to re-check revocation and expiry on every operation */
  apiKey?: string;
  ip?: string;
  userAgent?: string;
  /** metering of operations in flight on this connection */
  ops?: Map<string, WsOperation>;
}

export function attachWebSocketServer(
  services: Services,
  schema: GraphQLSchema,
  httpServer: Server,
  trust: (addr: string, i: number) => boolean = () => false,
) {
  const clientAddress = (req: IncomingMessage) => proxyaddr(req, trust);
  const wss = new WebSocketServer({ server: httpServer, path: "/graphql", maxPayload: 1 << 20 });
  const g = services.config.graphql;
  const rules = [...specifiedRules, ...validationRules(g)];
  const formatError = createErrorFormatter({ logger: services.logger, exposeDetails: g.exposeErrorDetails });
  const format = (errors: readonly GraphQLError[]) => errors.map((e) => formatError(e.toJSON(), e));
  // Parse and validation errors carry no code of their own; give them the codes Apollo uses over
  // HTTP (else they are masked as INTERNAL_SERVER_ERROR), and hide field suggestions in production.
  const coded = (e: GraphQLError, code: ErrorCode) =>
    new GraphQLError(services.config.isProduction ? e.message.replace(/ ?Did you mean(.+?)\?$/, "") : e.message, {
      nodes: e.nodes, source: e.source, positions: e.positions, originalError: e.originalError,
      extensions: { ...e.extensions, code },
    });

  /** A socket opened with an API key closes (4403) once the key is revoked, expired or rotated out. */
  function watchKey(socket: import("ws").WebSocket, presented: string, ip: string | undefined) {
    const every = Math.max(1_000, services.config.apiKeys.cacheTtlMs);
    const timer = setInterval(() => {
      services.apiKeys.authenticate(presented, ip, { countUse: false }).catch((err) => {
        if (err instanceof GraphQLError && socket.readyState === socket.OPEN) socket.close(4403, "Forbidden");
      });
    }, every);
    timer.unref();
    socket.once("close", () => clearInterval(timer));
  }

  /** The same request limits and daily quota as the HTTP middleware, per WebSocket operation. */
  async function admitOperation(principal: Principal | null, ip: string | undefined) {
    if (!services.limits.enabled) return;
    const { verdict, day } = await services.limits.admitRequest(principal, ip);
    if (verdict.denied) {
      const retryAfter = Math.max(1, Math.ceil(verdict.denied.decision.retryAfterMs / 1000));
      throw new AppError("RATE_LIMITED", `Rate limit exceeded (${verdict.denied.policy.name}: ${verdict.denied.policy.limit} requests per minute)`, { retryAfter });
    }
    if (day && !day.allowed) throw quotaExceeded("apiCallsPerDay", day.limit!, day.resetsAt);
  }

  const metering = services.metering;
  const meter = (principal: Principal | null | undefined, op: WsOperation, latencyMs: number | null) => {
    if (!principal?.organizationId) return;
    metering.record({
      organizationId: principal.organizationId, userId: principal.userId, operationName: op.name, operationType: op.type,
      latencyMs, errorCodes: op.codes, bytesOut: op.bytes,
    });
  };

  /** A refusal as a GraphQL error; anything unexpected (a database or Redis failure) is logged and reported as unavailable. */
  const unavailable = (err: unknown): GraphQLError => {
    if (err instanceof GraphQLError) return err;
    services.logger.error({ err }, "websocket operation could not be admitted");
    return new AppError("SERVICE_UNAVAILABLE", "A dependency is unavailable; retry shortly");
  };

  const handle = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema,
      // live usage fields: one execution per event and document, shared by the subscribers
      subscribe: sharedSubscribe,
      connectionInitWaitTimeout: 3_000,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const auth = params.authorization ?? params.Authorization;
        const key = params["x-api-key"] ?? params["X-API-Key"] ?? params.apiKey;
        const req = ctx.extra.request;
        // The same client address as HTTP's req.ip (TRUST_PROXY honoured): allowlists and per-address limits use it.
        ctx.extra.ip = clientAddress(req);
        ctx.extra.userAgent = req.headers["user-agent"];
        try {
          const credentials = { authorization: typeof auth === "string" ? auth : undefined, apiKey: typeof key === "string" ? key : undefined, ip: ctx.extra.ip };
          ctx.extra.principal = await authenticateCredentials(services, credentials);
          if (ctx.extra.principal?.apiKey) {
            const presented = (ctx.extra.apiKey = credentials.apiKey ?? bearerToken(credentials.authorization)!);
            watchKey(ctx.extra.socket, presented, ctx.extra.ip);
          }
        } catch (err) {
          // A database or Redis failure is not a bad credential: log it and let graphql-ws close with 4500.
          if (!(err instanceof GraphQLError)) {
            services.logger.error({ err }, "websocket authentication failed");
            throw new Error("authentication unavailable");
          }
          await services.audit.recordOutcome(undefined, {
            type: "auth.token.invalid", result: "failure", reason: (err as Error).message,
            actor: { type: "anonymous", ip: ctx.extra.ip ?? null, userAgent: ctx.extra.userAgent?.slice(0, 512) ?? null },
            metadata: { transport: "ws" },
          }, platformChain(null));
          return false; // 4403 Forbidden
        }
        // false: the organization is at its socket cap (the registry closed the socket with 4429)
        return metering.connections.register(ctx.extra.socket, ctx.extra.principal);
      },
      onClose(ctx) {
        metering.connections.unregister(ctx.extra.socket);
      },
      async onSubscribe(ctx, id, payload): Promise<ExecutionArgs | readonly GraphQLError[]> {
        let document;
        try {
          document = parse(payload.query, { maxTokens: g.maxTokens });
        } catch (err) {
          return [coded(err instanceof GraphQLError ? err : new GraphQLError("Invalid query"), "GRAPHQL_PARSE_FAILED")];
        }
        const errors = validate(schema, document, rules);
        if (errors.length) return errors.map((e) => coded(e, "GRAPHQL_VALIDATION_FAILED"));
        const operation = getOperationAST(document, payload.operationName);
        if (!operation) return [coded(new GraphQLError("Operation not found"), "BAD_REQUEST")];
        let principal = ctx.extra.principal ?? null;
        try {
          // A revoked or expired key stops working on open sockets too (cached for at most API_KEY_CACHE_TTL_MS).
          if (ctx.extra.apiKey) principal = ctx.extra.principal = await services.apiKeys.authenticate(ctx.extra.apiKey, ctx.extra.ip);
          await admitOperation(principal, ctx.extra.ip);
        } catch (err) {
          return [unavailable(err)];
        }
        const contextValue = createContext(services, principal, {
          transport: "ws",
          client: { ip: ctx.extra.ip, userAgent: ctx.extra.userAgent },
          socket: ctx.extra.socket,
        });
        try {
          const cost = assessCost(schema, document, operation, payload.variables ?? undefined, g.maxCost);
          await chargeCost(contextValue, cost.requested, cost.maximum);
        } catch (err) {
          return [unavailable(err)];
        }
        // Only an admitted operation takes a subscription slot and is metered (graphql-ws calls
        // onComplete only for operations that started, so a refused one must hold nothing).
        if (operation.operation === "subscription") {
          const capped = metering.connections.subscriptionStarted(ctx.extra.socket, id);
          if (capped) return [capped];
        }
        const op: WsOperation = { name: payload.operationName ?? operation.name?.value ?? null, type: operation.operation, started: performance.now(), codes: [], bytes: 0 };
        (ctx.extra.ops ??= new Map()).set(id, op);
        // A subscription counts as one call when it starts; its lifetime is not a latency.
        if (op.type === "subscription") meter(principal, op, null);
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
