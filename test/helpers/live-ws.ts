// A graphql-ws client for tests: subscribe, collect events, and observe how the socket closed.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface Sub<T = any> {
  events: T[];
  errors: any[];
  completed: boolean;
  stop(): void;
  /** resolves when n events have arrived (rejects after timeoutMs) */
  waitFor(n: number, timeoutMs?: number): Promise<T[]>;
  /** resolves with the first error (rejects after timeoutMs) */
  waitForError(timeoutMs?: number): Promise<any>;
}

export interface WsConn {
  client: Client;
  closed: Promise<{ code: number; reason: string }>;
  subscribe<T = any>(query: string, variables?: Record<string, unknown>, pick?: (data: any) => T): Sub<T>;
  dispose(): Promise<void>;
}

export function connectWs(httpUrl: string, token?: string): WsConn {
  const url = httpUrl.replace(/^http/, "ws");
  let onClosed!: (v: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((r) => (onClosed = r));
  const client = createClient({
    url,
    webSocketImpl: WebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    on: { closed: (e: any) => onClosed({ code: e?.code, reason: String(e?.reason ?? "") }) },
    onNonLazyError: () => undefined,
  });
  return {
    client,
    closed,
    subscribe(query, variables, pick = (d) => d) {
      const sub: Sub = {
        events: [], errors: [], completed: false, stop: () => undefined,
        waitFor: (n, timeoutMs = 10_000) => waitUntil(() => sub.events.length >= n, timeoutMs, `${n} events`).then(() => sub.events),
        waitForError: (timeoutMs = 10_000) => waitUntil(() => sub.errors.length > 0, timeoutMs, "an error").then(() => sub.errors[0]),
      };
      sub.stop = client.subscribe({ query, variables }, {
        next: (v: any) => (v.errors ? sub.errors.push(...v.errors) : sub.events.push(pick(v.data))),
        error: (e: any) => sub.errors.push(...(Array.isArray(e) ? e : [e])),
        complete: () => (sub.completed = true),
      });
      return sub;
    },
    dispose: () => client.dispose() as Promise<void>,
  };
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
