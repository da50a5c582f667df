// graphql-shield, applied lean: rules guard the root fields (fallback: deny) and the few nested
// fields listed in NESTED_FIELD_RULES. Plain object fields are not wrapped, so a list of 20 items
// does not pay a permission middleware per scalar.
import type { GraphQLFieldMap, GraphQLSchema } from "graphql";
import { isObjectType } from "graphql";
import { applyMiddleware, type IMiddlewareFieldMap } from "graphql-middleware";
import { allow, chain, deny, rule, shield } from "graphql-shield";
import { requiresFeature } from "../enterprise/plans/feature-rule.js";
import type { RequestContext } from "../context/index.js";
import { AppError, forbidden, unauthenticated } from "../errors/app-error.js";
import type { Permission } from "./matrix.js";
import { FIELD_FEATURES, NESTED_FIELD_RULES, ROOT_FIELD_RULES, type FieldRule } from "./rules.js";

const isAuthenticated = rule({ cache: "contextual" })((_p, _a, ctx: RequestContext) => (ctx.principal ? true : unauthenticated()));

type ShieldRule = ReturnType<ReturnType<typeof rule>>;
const permissionRules = new Map<Permission, ShieldRule>();
function can(permission: Permission) {
  let r = permissionRules.get(permission);
  if (!r) {
    r = rule(`can:${permission}`, { cache: "contextual" })((_p, _a, ctx: RequestContext) => {
      if (!ctx.principal) return unauthenticated();
      return ctx.can(permission) ? true : forbidden(`Requires permission ${permission}`);
    });
    permissionRules.set(permission, r);
  }
  return r;
}

function toShieldRule(spec: FieldRule) {
  if (spec === "public") return allow;
  if (spec === "authenticated") return isAuthenticated;
  return can(spec);
}

const ROOTS = ["Query", "Mutation", "Subscription"] as const;

export function applyPermissions(schema: GraphQLSchema): GraphQLSchema {
  const ruleTree: Record<string, Record<string, unknown>> = {};
  for (const [type, fields] of Object.entries({ ...ROOT_FIELD_RULES, ...NESTED_FIELD_RULES })) {
    ruleTree[type] = Object.fromEntries(Object.entries(fields).map(([f, spec]) => {
      const feature = FIELD_FEATURES[`${type}.${f}`];
      // chain, not and: `and` runs its rules concurrently, so a refused caller would still look the plan up.
      return [f, feature ? chain(toShieldRule(spec), requiresFeature(feature)) : toShieldRule(spec)];
    }));
  }
  const generator = shield(ruleTree as never, {
    fallbackRule: deny,
    fallbackError: () => new AppError("FORBIDDEN", "This field is not available to you"),
    allowExternalErrors: true,
  });
  const full = generator.generate(schema) as IMiddlewareFieldMap;
  const lean: IMiddlewareFieldMap = {};
  for (const root of ROOTS) if (full[root]) lean[root] = full[root];
  for (const [type, fields] of Object.entries(NESTED_FIELD_RULES)) {
    const generated = full[type] as Record<string, unknown> | undefined;
    if (generated) lean[type] = Object.fromEntries(Object.keys(fields).map((f) => [f, generated[f]])) as never;
  }

  // graphql-middleware wraps `resolve`; a subscription field must be guarded at `subscribe` time,
  // so hide `resolve` while applying, making the middleware wrap `subscribe` instead.
  const subscription = schema.getSubscriptionType();
  const hidden = new Map<string, unknown>();
  if (subscription) {
    for (const [name, field] of Object.entries(subscription.getFields())) {
      hidden.set(name, field.resolve);
      field.resolve = undefined;
    }
  }
  const guarded = applyMiddleware(schema, lean);
  if (subscription) {
    for (const [name, resolve] of hidden) (subscription.getFields()[name] as { resolve?: unknown }).resolve = resolve;
    const out = guarded.getSubscriptionType();
    if (out) for (const [name, resolve] of hidden) (out.getFields() as GraphQLFieldMap<unknown, unknown>)[name]!.resolve = resolve as never;
  }
  return guarded;
}

/** Root fields present in the schema but absent from the rule table (they are denied). */
export function unruledRootFields(schema: GraphQLSchema): string[] {
  const out: string[] = [];
  for (const root of ROOTS) {
    const type = schema.getType(root);
    if (!type || !isObjectType(type)) continue;
    for (const f of Object.keys(type.getFields())) if (!(f in (ROOT_FIELD_RULES[root] ?? {}))) out.push(`${root}.${f}`);
  }
  return out;
}
