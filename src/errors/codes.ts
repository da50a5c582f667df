// The one table of error codes: every error a client can see maps to a GraphQL
// `extensions.code` and an HTTP status here. Adding a code without its row fails to compile.
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "QUOTA_EXCEEDED"
  | "COST_LIMIT_EXCEEDED"
  | "GRAPHQL_PARSE_FAILED"
  | "GRAPHQL_VALIDATION_FAILED"
  | "BAD_REQUEST"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_SERVER_ERROR";

export interface ErrorSpec {
  /** HTTP status used when the error fails the whole operation. */
  http: number;
  /** What the code means, shown in the README's error table. */
  description: string;
}

export const ERROR_CODES = {
  UNAUTHENTICATED: { http: 401, description: "No valid credentials: missing, expired, malformed or revoked token, or wrong login." },
  FORBIDDEN: { http: 403, description: "Authenticated, but the role lacks the permission this field requires." },
  BAD_USER_INPUT: { http: 400, description: "An argument is invalid: malformed id, string too long, bad slug, out-of-range page size." },
  NOT_FOUND: { http: 404, description: "The object does not exist in the caller's organization (other organizations' ids look the same)." },
  CONFLICT: { http: 409, description: "The change collides with existing data (a slug or email already taken)." },
  RATE_LIMITED: { http: 429, description: "Too many requests, login attempts or query cost this minute; `extensions.retryAfter` (and the Retry-After header) say when to retry." },
  QUOTA_EXCEEDED: { http: 429, description: "A plan quota is used up; extensions name the quota, its limit and its reset." },
  COST_LIMIT_EXCEEDED: { http: 400, description: "The operation's computed cost exceeds the per-operation maximum or the plan's whole per-minute budget; rejected before execution." },
  GRAPHQL_PARSE_FAILED: { http: 400, description: "The document is not valid GraphQL syntax or exceeds the token limit." },
  GRAPHQL_VALIDATION_FAILED: { http: 400, description: "The document fails validation: unknown field, depth, alias or directive limits." },
  BAD_REQUEST: { http: 400, description: "The HTTP request itself is malformed (batch body, missing query, CSRF preflight)." },
  SERVICE_UNAVAILABLE: { http: 503, description: "A dependency (the database) is unreachable; retry shortly." },
  INTERNAL_SERVER_ERROR: { http: 500, description: "An unexpected failure. Details are logged with the request id, never sent." },
} as const satisfies Record<ErrorCode, ErrorSpec>;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === "string" && Object.hasOwn(ERROR_CODES, code);
}
