// Pub/sub for subscriptions. Topics carry the organization id, so a subscriber can only ever match
// events of its own organization. With Redis (REDIS_URL) every replica shares one event stream
// (each published event reaches every replica's subscribers once); without it, in-process.
import { createPubSub } from "@graphql-yoga/subscription";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { Redis } from "ioredis";
import type { ItemChangedPayload } from "../modules/items/item.events.js";
import type { RecordedEvent } from "../enterprise/audit/recorder.js";
import type { AlertPayload, RevocationPayload, UsageTickPayload } from "../enterprise/metering/events.js";

export type PubSubChannels = {
  ITEM_CHANGED: [topicId: string, payload: ItemChangedPayload];
  /** topic: "audit:<organization id>" or "audit:platform" */
  AUDIT_EVENT: [topicId: string, payload: RecordedEvent];
  /** topic: organization id, or "all" (platform staff) */
  USAGE_UPDATED: [topicId: string, payload: UsageTickPayload];
  ALERT_RAISED: [topicId: string, payload: AlertPayload];
  /** topic: "all"; every replica closes the matching sockets */
  REVOKED: [topicId: string, payload: RevocationPayload];
};

export interface PubSubOptions {
  /** The shared Redis client (publishes); a duplicate connection is opened for subscribing. */
  redis?: Redis | null;
  /** Prepended to every channel name. */
  prefix?: string;
  /** Told about failed Redis commands (publish/subscribe while Redis is unreachable). */
  onError?: (err: Error, command: string) => void;
}

// Dates survive the JSON round trip through Redis (ITEM_CHANGED rows carry Date columns).
const serializer = {
  stringify: (message: unknown) =>
    JSON.stringify(message, function (this: Record<string, unknown>, key, value) {
      const raw = this[key];
      return raw instanceof Date ? { $date: raw.toISOString() } : value;
    }),
  parse: (message: string) =>
    JSON.parse(message, (_key, value) =>
      value && typeof value === "object" && typeof value.$date === "string" && Object.keys(value).length === 1 ? new Date(value.$date) : value),
};

export function createEnclavePubSub(opts: PubSubOptions = {}) {
  const prefix = opts.prefix ?? "";
  let subscribeClient: Redis | undefined;
  let inner: EventTarget;
  if (opts.redis) {
    subscribeClient = opts.redis.duplicate({ connectionName: "enclave-subscribe" });
    subscribeClient.on("error", () => undefined); // the shared client's listener logs; a Redis restart must not kill the process
    // The event target fires publish/subscribe without awaiting them: while Redis is unreachable their
    // rejections would be unhandled (and end the process). Catch and report them instead; events
    // published during an outage are lost (live figures resume with the next tick).
    const report = (command: string) => (err: Error) => opts.onError?.(err, command);
    const pub = opts.redis;
    const subc = subscribeClient;
    const publishClient = { publish: (channel: string, message: string) => pub.publish(channel, message).catch(report("publish")) };
    const safeSubscribe = {
      on: (event: string, fn: (...args: any[]) => void) => subc.on(event, fn),
      subscribe: (channel: string) => subc.subscribe(channel).catch(report("subscribe")),
      unsubscribe: (channel: string) => subc.unsubscribe(channel).catch(report("unsubscribe")),
    };
    inner = createRedisEventTarget({ publishClient: publishClient as never, subscribeClient: safeSubscribe as never, serializer }) as unknown as EventTarget;
  } else {
    inner = new EventTarget();
  }
  // Prefix channel names (the yoga pubsub listener only reads event.detail).
  const eventTarget = {
    addEventListener: (type: string, l: any, o?: unknown) => inner.addEventListener(prefix + type, l, o as never),
    removeEventListener: (type: string, l: any, o?: unknown) => inner.removeEventListener(prefix + type, l, o as never),
    dispatchEvent: (e: Event) => inner.dispatchEvent(new CustomEvent(prefix + e.type, { detail: (e as CustomEvent).detail })),
  };
  const pubsub = createPubSub<PubSubChannels>({ eventTarget: eventTarget as never });
  return Object.assign(pubsub, {
    distributed: Boolean(opts.redis),
    async close() {
      if (subscribeClient) await subscribeClient.quit().catch(() => undefined);
    },
  });
}

export type PubSub = ReturnType<typeof createEnclavePubSub>;
