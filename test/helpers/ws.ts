// graphql-ws client helpers for integration tests: a real client (graphql-ws `createClient` over
// the `ws` package; Node 20 has no global WebSocket) that records every result, error and close,
// and a raw socket for protocol-level cases (no connection_init, …). Every wait is bounded.
import { createClient, type Client } from "graphql-ws";
import WebSocket from "ws";

export interface WsError {
  message: string;
  path?: readonly (string | number)[];
  extensions?: Record<string, any>;
}

export interface WsResult<T = any> {
  data?: T | null;
  errors?: WsError[];
}

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface WsSubscription<T = any> {
  /** Every `next` payload, in arrival order (including results that carry only errors). */
  readonly results: WsResult<T>[];
  /** Errors from `next` payloads and from `error` messages, in arrival order. */
  readonly errors: WsError[];
  /** How the operation ended, once it has: completed by the server, failed, or the socket closed. */
  readonly ended: Promise<"complete" | "error">;
  /** Resolve once `pred(results)` holds; reject after timeoutMs with what arrived so far. */
  until(pred: (results: WsResult<T>[]) => boolean, timeoutMs?: number): Promise<void>;
  /**
   * Make sure the server-side subscription is live: call `poke` every 50 ms until a result matching
   * `isPoke` arrives, then drop the poke results. (graphql-ws has no subscription acknowledgement,
   * and events published before the server subscribes are simply not seen.)
   */
  ready(poke: () => void | Promise<void>, isPoke: (r: WsResult<T>) => boolean, timeoutMs?: number): Promise<void>;
  unsubscribe(): void;
}

export interface WsConnection {
  client: Client;
  /** Close events seen by the client. */
  readonly closes: CloseInfo[];
  /** The first close. */
  readonly closed: Promise<CloseInfo>;
  subscribe<T = any>(query: string, variables?: Record<string, unknown>): WsSubscription<T>;
  dispose(): Promise<void>;
}

export function wsUrl(httpUrl: string): string {
  return httpUrl.replace(/^http/, "ws");
}

function toCloseInfo(e: unknown): CloseInfo {
  const ev = e as { code?: number; reason?: unknown };
  return { code: ev?.code ?? -1, reason: String(ev?.reason ?? "") };
}

/**
 * Connect eagerly (lazy: false, no retries). `token` becomes connectionParams.authorization
 * "Bearer <token>"; `connectionParams` overrides it entirely (pass {} for anonymous).
 */
export function connectWs(url: string, opts: { token?: string; connectionParams?: Record<string, unknown> } = {}): WsConnection {
  const closes: CloseInfo[] = [];
  let onClose!: (c: CloseInfo) => void;
  const closed = new Promise<CloseInfo>((resolve) => (onClose = resolve));
  const connectionParams = opts.connectionParams ?? (opts.token ? { authorization: `Bearer ${opts.token}` } : {});
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    retryAttempts: 0,
    shouldRetry: () => false,
    onNonLazyError: () => undefined, // recorded through on.closed
    on: {
      closed: (e) => {
        const c = toCloseInfo(e);
        closes.push(c);
        onClose(c);
      },
    },
  });

  return {
    client,
    closes,
    closed,
    subscribe<T>(query: string, variables?: Record<string, unknown>): WsSubscription<T> {
      const results: WsResult<T>[] = [];
      const errors: WsError[] = [];
      const waiters = new Set<() => void>();
      let ignore: ((r: WsResult<T>) => boolean) | undefined;
      const notify = () => { for (const w of [...waiters]) w(); };
      let end!: (how: "complete" | "error") => void;
      const ended = new Promise<"complete" | "error">((resolve) => (end = resolve));
      const unsubscribe = client.subscribe<T>({ query, variables }, {
        next(value) {
          const r = value as WsResult<T>;
          if (ignore?.(r)) return;
          results.push(r);
          if (r.errors) errors.push(...r.errors);
          notify();
        },
        error(err) {
          if (Array.isArray(err)) errors.push(...(err as WsError[]));
          else if (err && typeof err === "object" && "code" in err) errors.push({ message: `socket closed ${toCloseInfo(err).code}`, extensions: { closeCode: toCloseInfo(err).code } });
          else errors.push({ message: String((err as Error)?.message ?? err) });
          end("error");
          notify();
        },
        complete() {
          end("complete");
          notify();
        },
      });

      const until = (pred: (r: WsResult<T>[]) => boolean, timeoutMs = 5_000) =>
        new Promise<void>((resolve, reject) => {
          const check = () => {
            if (!pred(results)) return;
            waiters.delete(check);
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(new Error(`timed out after ${timeoutMs} ms; received ${JSON.stringify(results)}; errors ${JSON.stringify(errors)}`));
          }, timeoutMs);
          waiters.add(check);
          check();
        });

      return {
        results,
        errors,
        ended,
        until,
        async ready(poke, isPoke, timeoutMs = 5_000) {
          let stop = false;
          const loop = (async () => {
            while (!stop) {
              await poke();
              await new Promise((r) => setTimeout(r, 50));
            }
          })();
          try {
            await until((rs) => rs.some(isPoke) || errors.length > 0, timeoutMs);
          } finally {
            stop = true;
            await loop;
          }
          if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
          // Drop the pokes (a last one may still be in flight: it is dropped when it arrives).
          for (let i = results.length - 1; i >= 0; i--) if (isPoke(results[i]!)) results.splice(i, 1);
          ignore = isPoke;
        },
        unsubscribe,
      };
    },
    async dispose() {
      await client.dispose();
    },
  };
}

/** A raw WebSocket speaking no protocol by itself: for close-code and handshake cases. */
export function rawWs(url: string, protocol = "graphql-transport-ws"): { socket: WebSocket; opened: Promise<void>; closed: Promise<CloseInfo> } {
  const socket = new WebSocket(wsUrl(url), protocol);
  const opened = new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  const closed = new Promise<CloseInfo>((resolve) => socket.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  return { socket, opened, closed };
}
