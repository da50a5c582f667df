import type { ItemRow } from "./item.repository.js";

export type ItemChangeKind = "CREATED" | "UPDATED" | "DELETED";

export interface ItemChangedPayload {
  kind: ItemChangeKind;
  item: ItemRow;
}

/** Topic id for an item's project: organization first, so no subscriber can match another tenant. */
export function itemTopic(organizationId: string, projectId: string): string {
  return `${organizationId}:${projectId}`;
}
