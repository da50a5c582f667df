import { Arg, Args, Ctx, ID, Int, Mutation, Query, Resolver } from "type-graphql";
import type { RequestContext } from "../../context/index.js";
import { PageArgs } from "../../modules/common/connection.js";
import * as keys from "./api-key.service.js";
import { ApiKey, ApiKeyConnection, ApiKeySecret, CreateApiKeyInput } from "./api-key.type.js";

@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Query(() => ApiKeyConnection, { description: "API keys of the current organization, newest first." })
  apiKeys(
    @Ctx() ctx: RequestContext,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("includeInactive", () => Boolean, { nullable: true, description: "Include revoked and expired keys." }) includeInactive?: boolean,
  ) {
    return keys.listApiKeys(ctx, { ...page, includeInactive });
  }

  @Query(() => ApiKey, { description: "One API key, with its usage." })
  apiKey(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    return keys.getApiKey(ctx, id);
  }

  @Mutation(() => ApiKeySecret, { description: "Create an API key. The secret is in this response only." })
  createApiKey(@Ctx() ctx: RequestContext, @Arg("input", () => CreateApiKeyInput) input: CreateApiKeyInput) {
    return keys.createApiKey(ctx, input);
  }

  @Mutation(() => ApiKeySecret, { description: "Replace a key with a new one; the old key keeps working for overlapSeconds (default 3600)." })
  rotateApiKey(
    @Ctx() ctx: RequestContext,
    @Arg("id", () => ID) id: string,
    @Arg("overlapSeconds", () => Int, { nullable: true }) overlapSeconds?: number,
  ) {
    return keys.rotateApiKey(ctx, id, overlapSeconds);
  }

  @Mutation(() => ApiKey, { description: "Revoke a key at once (every replica refuses it within seconds)." })
  revokeApiKey(@Ctx() ctx: RequestContext, @Arg("id", () => ID) id: string) {
    return keys.revokeApiKey(ctx, id);
  }
}
