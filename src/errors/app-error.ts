import { GraphQLError } from "graphql";
import { ERROR_CODES, type ErrorCode } from "./codes.js";

/** A domain error that is safe to show to clients: its message and extensions are public. */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { ...extensions, code, http: { status: ERROR_CODES[code].http } } });
    this.code = code;
  }
}

export const unauthenticated = (message = "Authentication required") => new AppError("UNAUTHENTICATED", message);
export const forbidden = (message = "You do not have permission to do this") => new AppError("FORBIDDEN", message);
export const badInput = (message: string, field?: string) =>
  new AppError("BAD_USER_INPUT", message, field ? { field } : {});
export const notFound = (type: string) => new AppError("NOT_FOUND", `${type} not found`);
export const conflict = (message: string) => new AppError("CONFLICT", message);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new AppError("RATE_LIMITED", message, { retryAfter: retryAfterSeconds });
