import { Field, ID, InputType, registerEnumType } from "type-graphql";
import { GraphQLJSONObject } from "graphql-scalars";
import { ItemStatusEnum } from "./item.type.js";

export enum ItemOrderField {
  CREATED_AT = "created_at",
  UPDATED_AT = "updated_at",
  TITLE = "title",
}
registerEnumType(ItemOrderField, { name: "ItemOrderField" });

export enum OrderDirection {
  ASC = "asc",
  DESC = "desc",
}
registerEnumType(OrderDirection, { name: "OrderDirection" });

@InputType()
export class ItemFilter {
  @Field(() => ItemStatusEnum, { nullable: true }) status?: ItemStatusEnum | null;
  @Field(() => String, { nullable: true, description: "Items carrying this tag." }) tag?: string | null;
  @Field(() => String, { nullable: true, description: "Case-insensitive substring of the title." }) search?: string | null;
}

@InputType()
export class ItemOrder {
  @Field(() => ItemOrderField, { defaultValue: ItemOrderField.CREATED_AT }) field!: ItemOrderField;
  @Field(() => OrderDirection, { defaultValue: OrderDirection.DESC }) direction!: OrderDirection;
}

@InputType()
export class CreateItemInput {
  @Field(() => ID) projectId!: string;
  @Field(() => String) title!: string;
  @Field(() => ItemStatusEnum, { nullable: true }) status?: ItemStatusEnum | null;
  @Field(() => [String], { nullable: true }) tags?: string[] | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) payload?: Record<string, unknown> | null;
}

@InputType()
export class UpdateItemInput {
  @Field(() => String, { nullable: true }) title?: string | null;
  @Field(() => ItemStatusEnum, { nullable: true }) status?: ItemStatusEnum | null;
  @Field(() => [String], { nullable: true }) tags?: string[] | null;
  @Field(() => GraphQLJSONObject, { nullable: true }) payload?: Record<string, unknown> | null;
}
