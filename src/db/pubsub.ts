// In-process pub/sub for subscriptions. Topics carry the organization id, so a subscriber can only
// ever match events of its own organization.
import { createPubSub } from "@graphql-yoga/subscription";
import type { ItemChangedPayload } from "../modules/items/item.events.js";
import type { RecordedEvent } from "../enterprise/audit/recorder.js";

export type PubSubChannels = {
  ITEM_CHANGED: [topicId: string, payload: ItemChangedPayload];
  /** topic: "audit:<organization id>" or "audit:platform" */
  AUDIT_EVENT: [topicId: string, payload: RecordedEvent];
};

export function createEnclavePubSub() {
  return createPubSub<PubSubChannels>();
}

export type PubSub = ReturnType<typeof createEnclavePubSub>;
