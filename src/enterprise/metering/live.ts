// Local fan-out for live subscriptions. Each (channel, topic) is subscribed on the shared pub/sub
// ONCE per replica, however many local subscribers it has; every event is handed to each local
// subscriber's bounded queue. A slow subscriber never blocks the others and never grows memory:
// when its queue is full the oldest event is dropped (usage figures coalesce to the latest), and
// while its socket's send buffer is above a threshold new events for it are dropped.
import type { WebSocket } from "ws";
import type { PubSub, PubSubChannels } from "../../db/pubsub.js";
import type { Logger } from "../../observability/logger.js";

type LiveChannel = "USAGE_UPDATED" | "ALERT_RAISED";
type PayloadOf<C extends LiveChannel> = PubSubChannels[C][1];

/** Above this many bytes waiting in a socket's send buffer, events for it are dropped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;

export interface LiveSubscribeOptions {
  socket?: WebSocket;
  /** queue bound; the oldest event is dropped beyond it */
  maxQueue: number;
}

class Subscriber<T> implements AsyncIterableIterator<T> {
  private queue: T[] = [];
  private waiter?: (r: IteratorResult<T>) => void;
  private done = false;
  dropped = 0;

  constructor(private readonly opts: LiveSubscribeOptions, private readonly onEnd: (s: Subscriber<T>) => void) {}

  push(value: T): void {
    if (this.done) return;
    const socket = this.opts.socket;
    if (socket && socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w({ value, done: false });
      return;
    }
    if (this.queue.length >= this.opts.maxQueue) {
      this.queue.shift();
      this.dropped++;
    }
    this.queue.push(value);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiter = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.queue = [];
      this.onEnd(this);
      const w = this.waiter;
      this.waiter = undefined;
      w?.({ value: undefined, done: true });
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(): Promise<IteratorResult<T>> {
    return this.return();
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

interface Topic {
  subscribers: Set<Subscriber<any>>;
  source: AsyncIterator<unknown> & { return?: (v?: unknown) => Promise<unknown> };
}

export class LiveHub {
  private topics = new Map<string, Topic>();
  delivered = 0;

  constructor(private readonly pubsub: PubSub, private readonly logger: Logger) {}

  subscribe<C extends LiveChannel>(channel: C, topic: string, opts: LiveSubscribeOptions): AsyncIterableIterator<PayloadOf<C>> {
    const key = `${channel}:${topic}`;
    let t = this.topics.get(key);
    if (!t) {
      const source = (this.pubsub.subscribe as (c: string, t: string) => unknown)(channel, topic) as Topic["source"];
      const created: Topic = { subscribers: new Set(), source };
      this.topics.set(key, created);
      void this.pump(key, created);
      t = created;
    }
    const topicRef = t;
    const sub = new Subscriber<PayloadOf<C>>(opts, (s) => {
      topicRef.subscribers.delete(s);
      if (topicRef.subscribers.size === 0 && this.topics.get(key) === topicRef) {
        this.topics.delete(key);
        void topicRef.source.return?.(undefined);
      }
    });
    t.subscribers.add(sub);
    return sub;
  }

  subscriberCount(): number {
    let n = 0;
    for (const t of this.topics.values()) n += t.subscribers.size;
    return n;
  }

  private async pump(key: string, t: Topic): Promise<void> {
    try {
      for (;;) {
        const r = await t.source.next();
        if (r.done) break;
        for (const s of t.subscribers) s.push(r.value);
        this.delivered += t.subscribers.size;
      }
    } catch (err) {
      this.logger.error({ err, key }, "live topic failed");
      for (const s of [...t.subscribers]) void s.return();
    }
  }

  async stop(): Promise<void> {
    for (const t of [...this.topics.values()]) for (const s of [...t.subscribers]) await s.return();
  }
}
