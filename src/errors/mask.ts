// Error normalisation at the edge: known codes pass through, everything else becomes an opaque
// INTERNAL_SERVER_ERROR. The original is logged with the request id. This function never throws.
import type { GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { ERROR_CODES, isErrorCode, type ErrorCode } from "./codes.js";
import type { Logger } from "../observability/logger.js";

const APOLLO_CODE_MAP: Record<string, ErrorCode> = {
  GRAPHQL_PARSE_FAILED: "GRAPHQL_PARSE_FAILED",
  GRAPHQL_VALIDATION_FAILED: "GRAPHQL_VALIDATION_FAILED",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  BAD_REQUEST: "BAD_REQUEST",
  OPERATION_RESOLUTION_FAILURE: "BAD_REQUEST",
  PERSISTED_QUERY_NOT_FOUND: "BAD_REQUEST",
  PERSISTED_QUERY_NOT_SUPPORTED: "BAD_REQUEST",
};

export function createErrorFormatter(opts: { logger: Logger; exposeDetails: boolean }) {
  return function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
    try {
      const rawCode = formatted.extensions?.code;
      const code = isErrorCode(rawCode) ? rawCode : typeof rawCode === "string" && Object.hasOwn(APOLLO_CODE_MAP, rawCode) ? APOLLO_CODE_MAP[rawCode] : undefined;
      if (code && code !== "INTERNAL_SERVER_ERROR") {
        const { http: _http, stacktrace: _stack, ...rest } = formatted.extensions ?? {};
        return { ...formatted, extensions: { ...rest, code } };
      }
      const original = unwrapResolverError(error);
      opts.logger.error({ err: original, path: formatted.path }, "unexpected error");
      return {
        message: "Internal server error",
        locations: formatted.locations,
        path: formatted.path,
        extensions: {
          code: "INTERNAL_SERVER_ERROR",
          ...(opts.exposeDetails && original instanceof Error ? { detail: original.message } : {}),
        },
      };
    } catch {
      return { message: "Internal server error", extensions: { code: "INTERNAL_SERVER_ERROR" } };
    }
  };
}

export function httpStatusFor(code: unknown): number {
  return isErrorCode(code) ? ERROR_CODES[code].http : 500;
}
