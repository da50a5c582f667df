import { Field, ID, InputType, ObjectType } from "type-graphql";
import { ConnectionType } from "../common/connection.js";

@ObjectType({ description: "A project groups items inside a workspace." })
export class Project {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date) updatedAt!: Date;
  workspaceId!: string;
}

export const ProjectConnection = ConnectionType(Project, "Project");

@InputType()
export class CreateProjectInput {
  @Field(() => ID) workspaceId!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class UpdateProjectInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}
