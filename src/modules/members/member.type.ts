import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { ConnectionType } from "../common/connection.js";

export enum OrgRoleEnum {
  ADMIN = "ADMIN",
  DEVELOPER = "DEVELOPER",
  ANALYST = "ANALYST",
  SERVICE_ACCOUNT = "SERVICE_ACCOUNT",
}
registerEnumType(OrgRoleEnum, { name: "OrgRole", description: "A member's role within an organization." });

@ObjectType({ description: "A user's membership in the current organization." })
export class Member {
  @Field(() => ID, { description: "The user's id." }) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String) displayName!: string;
  @Field(() => OrgRoleEnum) role!: OrgRoleEnum;
  @Field(() => Date) createdAt!: Date;
}

export const MemberConnection = ConnectionType(Member, "Member");

@InputType()
export class AddMemberInput {
  @Field(() => String) email!: string;
  @Field(() => String, { description: "Used when the user does not exist yet." }) displayName!: string;
  @Field(() => OrgRoleEnum) role!: OrgRoleEnum;
  @Field(() => String, { nullable: true, description: "Initial password, required when the user does not exist yet." })
  password?: string | null;
}
