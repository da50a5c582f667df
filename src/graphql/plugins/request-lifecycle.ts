// Per-operation lifecycle over HTTP: cost is assessed before execution; the request's tenant
// transaction is committed (or, for a failed mutation, rolled back) before the response leaves;
// a response whose whole operation failed gets the HTTP status of its error code.
import type { ApolloServerPlugin } from "@apollo/server";
import type { RequestContext } from "../../context/index.js";
import { AppError } from "../../errors/app-error.js";
import { httpStatusFor } from "../../errors/mask.js";
import { chargeCost, settleCost, type CostExtension } from "../../enterprise/rate-limit/cost-budget.js";
import { assessCost } from "../limits.js";

export function requestLifecyclePlugin(maxCost: number): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue }) {
          if (!operation) return;
          // Over HTTP a subscription would run its resolver once, unguarded (rules guard `subscribe`).
          if (operation.operation === "subscription")
            throw new AppError("BAD_REQUEST", "Subscriptions are served over WebSocket (graphql-ws) at /graphql");
          const cost = assessCost(schema, document, operation, request.variables, maxCost);
          (contextValue as RequestContext & { cost?: unknown }).cost = cost;
          // Budget per organization and minute: refused here, before any resolver or SQL runs.
          try {
            (contextValue as RequestContext & { cost?: unknown }).cost = await chargeCost(contextValue, cost.requested, cost.maximum);
          } catch (err) {
            const ext = (err as { extensions?: { cost?: unknown } }).extensions?.cost;
            if (ext) (contextValue as RequestContext & { cost?: unknown }).cost = ext;
            throw err;
          }
        },
        async willSendResponse({ response, contextValue, operation, errors }) {
          const ctx = contextValue;
          const body = response.body.kind === "single" ? response.body.singleResult : undefined;
          const charged = (ctx as RequestContext & { cost?: CostExtension }).cost;
          if (charged && "throttleStatus" in charged && charged.throttleStatus === "PASS") await settleCost(ctx, charged, body?.data);
          const failed = Boolean(errors?.length) && operation?.operation === "mutation";
          try {
            await ctx.finish(!failed);
          } catch (err) {
            ctx.services.logger.error({ err, requestId: ctx.requestId }, "commit failed");
            if (body) {
              const e = new AppError("SERVICE_UNAVAILABLE", "The change could not be saved; retry shortly");
              body.data = null;
              body.errors = [{ message: e.message, extensions: { code: e.code } }];
            }
          }
          response.http.headers.set("x-request-id", ctx.requestId);
          if (body?.errors?.length && (body.data == null || Object.values(body.data).every((v) => v === null))) {
            response.http.status = httpStatusFor(body.errors[0]!.extensions?.code);
            const retryAfter = body.errors[0]!.extensions?.retryAfter;
            if (typeof retryAfter === "number") response.http.headers.set("retry-after", String(retryAfter));
          }
          const cost = (ctx as RequestContext & { cost?: unknown }).cost;
          if (body && cost) body.extensions = { ...body.extensions, cost };
        },
      };
    },
  };
}
