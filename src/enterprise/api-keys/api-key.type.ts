import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { ConnectionType } from "../../modules/common/connection.js";

export enum ApiKeyEnvironmentEnum {
  LIVE = "live",
  TEST = "test",
}
registerEnumType(ApiKeyEnvironmentEnum, { name: "ApiKeyEnvironment", description: "sk_live_ or sk_test_ keys." });

export enum ApiKeyStatusEnum {
  ACTIVE = "ACTIVE",
  ROTATING = "ROTATING",
  EXPIRED = "EXPIRED",
  REVOKED = "REVOKED",
}
registerEnumType(ApiKeyStatusEnum, { name: "ApiKeyStatus", description: "ROTATING: replaced by a newer key, valid until the overlap window ends." });

@ObjectType()
export class ApiKeyUsage {
  @Field(() => Float, { description: "Requests authenticated with this key (flushed every few seconds)." }) requestCount!: number;
  @Field(() => Date, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => String, { nullable: true, description: "Client address of the last use." }) lastUsedIp!: string | null;
}

@ObjectType({ description: "An API key. The secret is shown once, at creation or rotation, and never again." })
export class ApiKey {
  @Field(() => ID) id!: string;
  @Field(() => String) name!: string;
  @Field(() => ApiKeyEnvironmentEnum) environment!: ApiKeyEnvironmentEnum;
  @Field(() => String, { description: "The start of the key (sk_live_ and six characters), to recognise it." }) prefix!: string;
  @Field(() => String, { description: "The last four characters of the key." }) last4!: string;
  @Field(() => [String], { description: "Permissions the key carries (a subset of its creator's)." }) scopes!: string[];
  @Field(() => ApiKeyStatusEnum) status!: ApiKeyStatusEnum;
  @Field(() => Int, { nullable: true, description: "Requests per minute for this key, on top of the organization's limit." }) rateLimitPerMinute!: number | null;
  @Field(() => [String], { description: "CIDRs the key may be used from; empty: anywhere." }) ipAllowlist!: string[];
  @Field(() => ID, { description: "The user who created (or rotated in) the key." }) createdBy!: string;
  @Field(() => Date) createdAt!: Date;
  @Field(() => Date, { nullable: true }) expiresAt!: Date | null;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
  @Field(() => ID, { nullable: true, description: "The key this one replaced." }) rotatedFromId!: string | null;
  @Field(() => ID, { nullable: true, description: "The key that replaced this one." }) rotatedToId!: string | null;
  @Field(() => ApiKeyUsage) usage!: ApiKeyUsage;
}

export const ApiKeyConnection = ConnectionType(ApiKey, "ApiKey");

@ObjectType({ description: "A new key and its secret. Store the secret now: it cannot be shown again." })
export class ApiKeySecret {
  @Field(() => ApiKey) apiKey!: ApiKey;
  @Field(() => String, { description: "The full key, shown only in this response." }) secret!: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String) name!: string;
  @Field(() => [String], { description: "Permissions for the key; each must be one you hold." }) scopes!: string[];
  @Field(() => ApiKeyEnvironmentEnum, { nullable: true, description: "Default LIVE." }) environment?: ApiKeyEnvironmentEnum | null;
  @Field(() => Date, { nullable: true }) expiresAt?: Date | null;
  @Field(() => Int, { nullable: true }) rateLimitPerMinute?: number | null;
  @Field(() => [String], { nullable: true, description: "CIDRs such as 203.0.113.0/24 or 2001:db8::/32." }) ipAllowlist?: string[] | null;
}
