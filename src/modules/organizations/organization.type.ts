import { Field, ID, InputType, ObjectType, registerEnumType } from "type-graphql";
import { ConnectionType } from "../common/connection.js";

export enum OrganizationStatusEnum {
  PROVISIONING = "provisioning",
  ACTIVE = "active",
  SUSPENDED = "suspended",
}
registerEnumType(OrganizationStatusEnum, { name: "OrganizationStatus" });

export enum PlanEnum {
  FREE = "free",
  STARTER = "starter",
  PROFESSIONAL = "professional",
  ENTERPRISE = "enterprise",
}
registerEnumType(PlanEnum, { name: "Plan" });

@ObjectType({ description: "A tenant: its data lives in its own PostgreSQL schema." })
export class Organization {
  @Field(() => ID) id!: string;
  @Field(() => String) slug!: string;
  @Field(() => String) name!: string;
  @Field(() => PlanEnum) plan!: PlanEnum;
  @Field(() => String) region!: string;
  @Field(() => OrganizationStatusEnum) status!: OrganizationStatusEnum;
  @Field(() => Date) createdAt!: Date;
}

export const OrganizationConnection = ConnectionType(Organization, "Organization");

@InputType()
export class CreateOrganizationInput {
  @Field(() => String, { description: "3–40 lowercase letters, digits and hyphens; unique." }) slug!: string;
  @Field(() => String) name!: string;
  @Field(() => PlanEnum, { nullable: true }) plan?: PlanEnum | null;
  @Field(() => String, { nullable: true }) region?: string | null;
}

@InputType()
export class UpdateOrganizationInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => PlanEnum, { nullable: true }) plan?: PlanEnum | null;
  @Field(() => OrganizationStatusEnum, { nullable: true }) status?: OrganizationStatusEnum | null;
}
