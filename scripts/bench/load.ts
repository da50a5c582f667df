// One load phase with autocannon: N connections POSTing a pair picked at random per request from
// a pool; an error is a connection error/timeout, a non-2xx status, or a body carrying "errors".
import autocannon from "autocannon";
import type { Pair } from "./requests.js";

export interface Figures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  /** Requests that failed: connection errors + timeouts + non-2xx + bodies with "errors". */
  errors: number;
  requests: number;
  durationSeconds: number;
  latencyAverage: number;
  breakdown: { connectionErrors: number; timeouts: number; non2xx: number; errorBodies: number; statusCodes: Record<string, number> };
  /** Up to three failed responses as the client saw them (status and the start of the body). */
  samples: string[];
}

export async function runLoad(opts: { url: string; pairs: Pair[]; connections: number; seconds: number; title: string }): Promise<Figures> {
  const { pairs } = opts;
  let errorBodies = 0;
  let non2xx = 0;
  const samples: string[] = [];
  const instance = autocannon({
    url: `${opts.url}/graphql`,
    title: opts.title,
    connections: opts.connections,
    duration: opts.seconds,
    method: "POST",
    requests: [{
      setupRequest(req) {
        const p = pairs[Math.floor(Math.random() * pairs.length)]!;
        req.headers = { "content-type": "application/json", authorization: p.authorization };
        req.body = p.body;
        return req;
      },
      onResponse(status, body) {
        const bad = status < 200 || status > 299;
        if (bad) non2xx++;
        else if (body.includes('"errors"')) errorBodies++;
        else return;
        if (samples.length < 3) samples.push(`${status} ${body.slice(0, 300)}`);
      },
    }],
  });
  const result = await instance;
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = Number(v?.count ?? 0);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + non2xx + errorBodies,
    requests: result.requests.total,
    durationSeconds: result.duration,
    latencyAverage: result.latency.average,
    breakdown: { connectionErrors: result.errors - result.timeouts, timeouts: result.timeouts, non2xx, errorBodies, statusCodes },
    samples,
  };
}
