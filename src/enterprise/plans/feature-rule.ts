// graphql-shield rule: the field needs a feature of the caller's organization (plan plus overrides).
import { rule } from "graphql-shield";
import type { RequestContext } from "../../context/index.js";
import { AppError, unauthenticated } from "../../errors/app-error.js";
import type { Feature } from "./catalog.js";

type ShieldRule = ReturnType<ReturnType<typeof rule>>;
const rules = new Map<Feature, ShieldRule>();

export function requiresFeature(feature: Feature): ShieldRule {
  let r = rules.get(feature);
  if (!r) {
    r = rule(`feature:${feature}`, { cache: "contextual" })(async (_p, _a, ctx: RequestContext) => {
      if (!ctx.principal) return unauthenticated();
      const orgId = ctx.principal.organizationId;
      if (orgId && (await ctx.services.plans.hasFeature(orgId, feature))) return true;
      return new AppError("FORBIDDEN", `This needs the ${feature} feature, which the organization's plan does not include`, { feature });
    });
    rules.set(feature, r);
  }
  return r;
}
