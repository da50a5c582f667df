// Express middleware in front of /graphql: authenticate once (the principal is handed to the
// context builder through res.locals), then apply the request rate limits and the daily API-call
// quota before any GraphQL work. Every response carries RateLimit-Policy / RateLimit; a refusal is
// HTTP 429 with Retry-After and RATE_LIMITED (or QUOTA_EXCEEDED).
import type { NextFunction, Request, Response } from "express";
import { authenticateCredentials, type Principal } from "../../context/index.js";
import type { Services } from "../../context/services.js";
import { AppError } from "../../errors/app-error.js";
import { quotaExceeded } from "../plans/quotas.js";
import { rateLimitHeaders } from "./limiter.js";
import { LimiterUnavailableError } from "./store.js";

export interface Authenticated {
  principal: Principal | null;
  /** thrown again by the context builder, so the client gets the usual UNAUTHENTICATED response */
  error?: unknown;
}

export function authenticatedOf(res: Response): Authenticated | undefined {
  return res.locals.enclaveAuth as Authenticated | undefined;
}

function refuse(res: Response, err: AppError, retryAfterSeconds?: number) {
  if (retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(retryAfterSeconds));
  const { http: _http, ...extensions } = err.extensions as Record<string, unknown>;
  res.status((err.extensions.http as { status: number }).status).json({ errors: [{ message: err.message, extensions }] });
}

export function limitsMiddleware(services: Services) {
  const limits = services.limits;
  return async (req: Request, res: Response, next: NextFunction) => {
    if (req.method === "OPTIONS") return next();
    const apiKey = req.headers["x-api-key"];
    const auth: Authenticated = { principal: null };
    try {
      auth.principal = await authenticateCredentials(services, {
        authorization: req.headers.authorization,
        apiKey: typeof apiKey === "string" ? apiKey : undefined,
        ip: req.ip,
      });
    } catch (err) {
      auth.error = err;
    }
    res.locals.enclaveAuth = auth;
    if (auth.error instanceof AppError && auth.error.code === "RATE_LIMITED") {
      return refuse(res, auth.error, auth.error.extensions.retryAfter as number);
    }
    if (!limits.enabled) return next();
    try {
      const { verdict, day } = await limits.admitRequest(auth.principal, req.ip);
      const headers = rateLimitHeaders(verdict.outcomes);
      if (headers) {
        res.setHeader("RateLimit-Policy", headers.policy);
        res.setHeader("RateLimit", headers.state);
      }
      if (verdict.denied) {
        const retryAfter = Math.max(1, Math.ceil(verdict.denied.decision.retryAfterMs / 1000));
        const { name, limit } = verdict.denied.policy;
        return refuse(res, new AppError("RATE_LIMITED", `Rate limit exceeded (${name}: ${limit} requests per minute)`, { retryAfter, policy: name, limit }), retryAfter);
      }
      if (day && !day.allowed) {
        const e = quotaExceeded("apiCallsPerDay", day.limit!, day.resetsAt);
        return refuse(res, e, e.extensions.retryAfter as number);
      }
      next();
    } catch (err) {
      if (err instanceof LimiterUnavailableError) {
        return refuse(res, new AppError("SERVICE_UNAVAILABLE", "Rate limiting is unavailable; retry shortly", { retryAfter: 5 }), 5);
      }
      next(err);
    }
  };
}
