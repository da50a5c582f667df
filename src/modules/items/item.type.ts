import { Field, ID, ObjectType, registerEnumType } from "type-graphql";
import { GraphQLJSONObject } from "graphql-scalars";
import { ConnectionType } from "../common/connection.js";

export enum ItemStatusEnum {
  OPEN = "open",
  DONE = "done",
  ARCHIVED = "archived",
}
registerEnumType(ItemStatusEnum, { name: "ItemStatus" });

export enum ItemChangeKindEnum {
  CREATED = "CREATED",
  UPDATED = "UPDATED",
  DELETED = "DELETED",
}
registerEnumType(ItemChangeKindEnum, { name: "ItemChangeKind" });

@ObjectType({ description: "A unit of work in a project." })
export class Item {
  @Field(() => ID) id!: string;
  @Field(() => String) title!: string;
  @Field(() => ItemStatusEnum) status!: ItemStatusEnum;
  @Field(() => [String]) tags!: string[];
  @Field(() => GraphQLJSONObject) payload!: Record<string, unknown>;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date) updatedAt!: Date;
  projectId!: string;
  creatorId!: string | null;
}

export const ItemConnection = ConnectionType(Item, "Item");

@ObjectType()
export class ItemChangedEvent {
  @Field(() => ItemChangeKindEnum) kind!: ItemChangeKindEnum;
  @Field(() => Item, { description: "The item after the change (before it, for DELETED)." }) item!: Item;
}
