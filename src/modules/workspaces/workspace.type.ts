import { Field, ID, InputType, ObjectType } from "type-graphql";
import { ConnectionType } from "../common/connection.js";

@ObjectType({ description: "A workspace holds an organization's projects." })
export class Workspace {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date) updatedAt!: Date;
}

export const WorkspaceConnection = ConnectionType(Workspace, "Workspace");

@InputType()
export class CreateWorkspaceInput {
  @Field(() => String) name!: string;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType()
export class UpdateWorkspaceInput {
  @Field(() => String, { nullable: true }) name?: string | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}
