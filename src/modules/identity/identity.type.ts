import { Field, ID, InputType, Int, ObjectType } from "type-graphql";
import { OrgRoleEnum } from "../members/member.type.js";
import { Organization } from "../organizations/organization.type.js";

@ObjectType()
export class User {
  @Field(() => ID) id!: string;
  @Field(() => String) email!: string;
  @Field(() => String) displayName!: string;
  @Field(() => Boolean) isSuperAdmin!: boolean;
}

@ObjectType()
export class Membership {
  @Field(() => Organization) organization!: Organization;
  @Field(() => OrgRoleEnum) role!: OrgRoleEnum;
}

@ObjectType({ description: "The authenticated caller." })
export class Me {
  @Field(() => User) user!: User;
  @Field(() => Organization, { nullable: true, description: "The organization tokens are scoped to." }) organization!: Organization | null;
  @Field(() => OrgRoleEnum, { nullable: true }) role!: OrgRoleEnum | null;
  @Field(() => [String], { description: "Permissions in the current organization." }) permissions!: string[];
  @Field(() => [Membership]) memberships!: Membership[];
}

@ObjectType()
export class AuthPayload {
  @Field(() => String) accessToken!: string;
  @Field(() => String, { description: "Single use: each refresh returns a new one. Reusing an old one revokes the login." }) refreshToken!: string;
  @Field(() => String) tokenType!: string;
  @Field(() => Int, { description: "Access token lifetime in seconds." }) expiresIn!: number;
  @Field(() => ID, { nullable: true }) organizationId!: string | null;
  @Field(() => OrgRoleEnum, { nullable: true }) role!: OrgRoleEnum | null;
}

@ObjectType()
export class PermissionInfo {
  @Field(() => String) name!: string;
  @Field(() => String) description!: string;
}

@ObjectType()
export class RolePermissions {
  @Field(() => String) role!: string;
  @Field(() => [String]) permissions!: string[];
}

@ObjectType({ description: "The permission matrix: which role holds which permission." })
export class PermissionMatrix {
  @Field(() => [PermissionInfo]) permissions!: PermissionInfo[];
  @Field(() => [RolePermissions]) roles!: RolePermissions[];
}

@InputType()
export class LoginInput {
  @Field(() => String) email!: string;
  @Field(() => String) password!: string;
  @Field(() => ID, { nullable: true, description: "Organization to act in; defaults to your first membership." })
  organizationId?: string | null;
}
