// Open WebSocket connections on this replica: closes a socket (4403) when its access token
// expires or its session / API key is revoked (revocations arrive on the shared REVOKED channel,
// so every replica closes its own sockets), and caps open subscriptions per organization.
import type { WebSocket } from "ws";
import type { Principal } from "../../context/index.js";
import type { PubSub } from "../../db/pubsub.js";
import { AppError } from "../../errors/app-error.js";
import type { Logger } from "../../observability/logger.js";
import type { RevocationPayload } from "./events.js";

export const CLOSE_FORBIDDEN = 4403;
/** The organization already has its maximum of open sockets on this replica. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Conn {
  socket: WebSocket;
  principal: Principal | null;
  timer?: NodeJS.Timeout;
  subscriptions: Set<string>;
}

export class ConnectionRegistry {
  private conns = new Map<WebSocket, Conn>();
  private bySession = new Map<string, Set<Conn>>();
  private byApiKey = new Map<string, Set<Conn>>();
  private perOrg = new Map<string, number>();
  private socketsPerOrg = new Map<string, number>();
  private stopListening?: () => Promise<void>;
  closedForRevocation = 0;

  private readonly maxSubscriptionsPerOrg: number;
  private readonly maxSocketsPerOrg: number;

  constructor(private readonly pubsub: PubSub, limits: { maxSubscriptionsPerOrg: number; maxSocketsPerOrg: number }, private readonly logger: Logger) {
    this.maxSubscriptionsPerOrg = limits.maxSubscriptionsPerOrg;
    this.maxSocketsPerOrg = limits.maxSocketsPerOrg;
  }

  /** Listen for revocations published by any replica. */
  start(): void {
    const it = this.pubsub.subscribe("REVOKED", "all");
    let stopped = false;
    void (async () => {
      try {
        for await (const r of it) this.closeMatching(r);
      } catch (err) {
        if (!stopped) this.logger.error({ err }, "revocation listener failed");
      }
    })();
    this.stopListening = async () => {
      stopped = true;
      await it.return?.(undefined);
    };
  }

  async stop(): Promise<void> {
    await this.stopListening?.();
    for (const c of this.conns.values()) if (c.timer) clearTimeout(c.timer);
  }

  /** Tell every replica to close the sockets that use this credential. */
  revoke(r: RevocationPayload): void {
    this.pubsub.publish("REVOKED", "all", r);
  }

  /** Track an authenticated connection; false (and the socket closed with 4429) when its organization is at its socket cap. */
  register(socket: WebSocket, principal: Principal | null): boolean {
    const org = principal?.organizationId;
    if (org) {
      const n = this.socketsPerOrg.get(org) ?? 0;
      if (n >= this.maxSocketsPerOrg) {
        socket.close(CLOSE_TOO_MANY_CONNECTIONS, "Too many connections for this organization");
        return false;
      }
      this.socketsPerOrg.set(org, n + 1);
    }
    const c: Conn = { socket, principal, subscriptions: new Set() };
    this.conns.set(socket, c);
    if (principal) {
      index(this.bySession, principal.sessionId, c);
      if (principal.apiKey) index(this.byApiKey, principal.apiKey.id, c);
      if (principal.expiresAt) {
        const ms = principal.expiresAt * 1000 - Date.now();
        if (ms <= 0) {
          socket.close(CLOSE_FORBIDDEN, "Token expired");
          return true;
        }
        c.timer = setTimeout(() => socket.close(CLOSE_FORBIDDEN, "Token expired"), Math.min(ms, MAX_TIMER_MS));
        c.timer.unref();
      }
    }
    return true;
  }

  unregister(socket: WebSocket): void {
    const c = this.conns.get(socket);
    if (!c) return;
    // Release the organization's subscription slots first: subscriptionEnded needs the connection.
    for (const id of [...c.subscriptions]) this.subscriptionEnded(socket, id);
    this.conns.delete(socket);
    if (c.timer) clearTimeout(c.timer);
    const org = c.principal?.organizationId;
    if (org) {
      const n = (this.socketsPerOrg.get(org) ?? 1) - 1;
      if (n <= 0) this.socketsPerOrg.delete(org);
      else this.socketsPerOrg.set(org, n);
    }
    if (c.principal) {
      unindex(this.bySession, c.principal.sessionId, c);
      if (c.principal.apiKey) unindex(this.byApiKey, c.principal.apiKey.id, c);
    }
  }

  /** Count a subscription against its organization; RATE_LIMITED when the cap is reached. */
  subscriptionStarted(socket: WebSocket, id: string): AppError | null {
    const c = this.conns.get(socket);
    const org = c?.principal?.organizationId;
    if (!c || !org || c.subscriptions.has(id)) return null;
    const n = this.perOrg.get(org) ?? 0;
    if (n >= this.maxSubscriptionsPerOrg) {
      return new AppError("RATE_LIMITED", `Your organization has reached its limit of ${this.maxSubscriptionsPerOrg} open subscriptions`, {
        retryAfter: 60, limit: this.maxSubscriptionsPerOrg,
      });
    }
    this.perOrg.set(org, n + 1);
    c.subscriptions.add(id);
    return null;
  }

  subscriptionEnded(socket: WebSocket, id: string): void {
    const c = this.conns.get(socket);
    const org = c?.principal?.organizationId;
    if (!c || !org || !c.subscriptions.delete(id)) return;
    const n = (this.perOrg.get(org) ?? 1) - 1;
    if (n <= 0) this.perOrg.delete(org);
    else this.perOrg.set(org, n);
  }

  openSubscriptions(organizationId: string): number {
    return this.perOrg.get(organizationId) ?? 0;
  }

  get size(): number {
    return this.conns.size;
  }

  private closeMatching(r: RevocationPayload): void {
    const set = r.kind === "session" ? this.bySession.get(r.id) : this.byApiKey.get(r.id);
    if (!set) return;
    for (const c of [...set]) {
      this.closedForRevocation++;
      c.socket.close(CLOSE_FORBIDDEN, r.kind === "session" ? "Session revoked" : "API key revoked");
    }
  }
}

function index(map: Map<string, Set<Conn>>, key: string, c: Conn) {
  let s = map.get(key);
  if (!s) map.set(key, (s = new Set()));
  s.add(c);
}
function unindex(map: Map<string, Set<Conn>>, key: string, c: Conn) {
  const s = map.get(key);
  if (!s) return;
  s.delete(c);
  if (!s.size) map.delete(key);
}
