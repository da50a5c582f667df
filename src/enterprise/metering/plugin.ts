// Metering of HTTP operations. The Apollo plugin notes the operation (name, type, response body)
// on the context; when the HTTP response has finished, the record is completed synchronously with
// the latency (context creation → response finished, so serialization is included) and the bytes
// actually sent (the Content-Length express set for the serialized body) and handed to the meter.
// Nothing here awaits: metering adds no latency to the request.
import type { ApolloServerPlugin } from "@apollo/server";
import type { Response } from "express";
import type { OperationDefinitionNode } from "graphql";
import type { RequestContext } from "../../context/index.js";
import type { Metering } from "./service.js";
import { BILLABLE_FIELDS } from "./pricing.js";

interface Noted {
  name: string | null;
  type: string;
  operation?: OperationDefinitionNode;
  body?: { data?: Record<string, unknown> | null; errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> };
}

// A holder attached to the context when it is built; Apollo may hand plugins a shallow copy of the
// context object, which still points at the same holder.
const HOLDER = Symbol("metering");
type WithHolder = RequestContext & { [HOLDER]?: { noted?: Noted } };

export function meteringPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, operation, operationName, request, response }) {
          const holder = (contextValue as WithHolder)[HOLDER];
          if (!holder) return;
          holder.noted = {
            name: operationName ?? request.operationName ?? null,
            type: operation?.operation ?? "unknown",
            operation: operation ?? undefined,
            body: response.body.kind === "single" ? (response.body.singleResult as Noted["body"]) : undefined,
          };
        },
      };
    },
  };
}

/** Called where the HTTP context is built: meter the operation once its response has been sent. */
export function meterHttp(metering: Metering, ctx: RequestContext, res: Response): void {
  if (!metering.enabled) return;
  const started = performance.now();
  const holder: { noted?: Noted } = {};
  (ctx as WithHolder)[HOLDER] = holder;
  // "close" fires for every response, also when the client went away before it was sent (the
  // operation did its work, and may be billable).
  res.once("close", () => {
    const n = holder.noted;
    const org = ctx.principal?.organizationId;
    if (!n || !org) return;
    const len = Number(res.getHeader("content-length"));
    const billable = n.type === "mutation" ? billableUnits(n.operation, n.body?.data) : undefined;
    metering.record({
      organizationId: org,
      userId: ctx.principal?.userId ?? null,
      operationName: n.name,
      operationType: n.type,
      latencyMs: performance.now() - started,
      errorCodes: errorCodes(n.body?.errors),
      bytesOut: Number.isFinite(len) ? len : 0,
      generations: billable?.generations,
      executions: billable?.executions,
    });
  });
}

export function errorCodes(errors: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined): string[] {
  if (!errors?.length) return [];
  return errors.map((e) => (typeof e.extensions?.code === "string" ? e.extensions.code : "INTERNAL_SERVER_ERROR"));
}

/** Successful billable root fields of a mutation (aliases included). */
export function billableUnits(op: OperationDefinitionNode | undefined, data: Record<string, unknown> | null | undefined) {
  if (!op || !data) return undefined;
  let generations = 0;
  let executions = 0;
  for (const sel of op.selectionSet.selections) {
    if (sel.kind !== "Field") continue;
    const kind = BILLABLE_FIELDS[sel.name.value];
    if (!kind || data[sel.alias?.value ?? sel.name.value] == null) continue;
    if (kind === "generations") generations++;
    else executions++;
  }
  return { generations, executions };
}
