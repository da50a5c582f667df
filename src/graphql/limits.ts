// Limits applied to every operation, over HTTP and WebSocket alike, before anything executes:
// depth, aliases and directives (graphql-armor validation rules), tokens (parser), page sizes and
// cost (computed from connection sizes, GitHub-style node counting).
import {
  Kind, getNamedType, isObjectType,
  type DocumentNode, type FragmentDefinitionNode, type GraphQLObjectType, type GraphQLSchema,
  type OperationDefinitionNode, type SelectionSetNode, type ValidationContext, type ValidationRule, type ValueNode,
  type GraphQLError,
} from "graphql";
import { maxAliasesRule } from "@escape.tech/graphql-armor-max-aliases";
import { maxDepthRule } from "@escape.tech/graphql-armor-max-depth";
import { maxDirectivesRule } from "@escape.tech/graphql-armor-max-directives";
import type { Config } from "../config/index.js";
import { AppError, badInput } from "../errors/app-error.js";
import { MAX_PAGE_SIZE } from "../modules/common/connection.js";

export function validationRules(g: Config["graphql"]): ValidationRule[] {
  // Report as ordinary validation errors (GRAPHQL_VALIDATION_FAILED) instead of throwing.
  const report = { propagateOnRejection: false, onReject: [(ctx: ValidationContext | null, err: GraphQLError) => ctx?.reportError(err)] };
  return [
    maxDepthRule({ n: g.maxDepth, ignoreIntrospection: true, exposeLimits: true, ...report }),
    maxAliasesRule({ n: g.maxAliases, exposeLimits: true, ...report }),
    maxDirectivesRule({ n: g.maxDirectives, exposeLimits: true, ...report }),
  ] as unknown as ValidationRule[];
}

export interface CostReport {
  requested: number;
  maximum: number;
}

/**
 * Compute an operation's cost before execution: every connection costs its page size times the
 * page sizes of the connections around it. Throws BAD_USER_INPUT for a page size outside
 * 1..MAX_PAGE_SIZE and COST_LIMIT_EXCEEDED above the maximum.
 */
export function assessCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | undefined,
  maximum: number,
): CostReport {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const root = schema.getRootType(operation.operation);
  if (!root) return { requested: 0, maximum };

  const intValue = (node: ValueNode): unknown => {
    if (node.kind === Kind.INT) return Number(node.value);
    if (node.kind === Kind.VARIABLE) {
      const name = node.name.value;
      if (variables && Object.hasOwn(variables, name)) return variables[name];
      // An omitted variable takes its declared default (`query($n: Int = 10)`), as execution will.
      const fallback = operation.variableDefinitions?.find((d) => d.variable.name.value === name)?.defaultValue;
      return fallback ? intValue(fallback) : undefined;
    }
    return undefined;
  };

  const walk = (set: SelectionSetNode, type: GraphQLObjectType, multiplier: number, seen: Set<string>): number => {
    let cost = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith("__")) continue;
        const def = type.getFields()[sel.name.value];
        if (!def) continue;
        let childMultiplier = multiplier;
        const pageArg = def.args.find((a) => a.name === "first");
        if (pageArg) {
          const node = sel.arguments?.find((a) => a.name.value === "first");
          const first = node ? intValue(node.value) : pageArg.defaultValue;
          if (typeof first !== "number" || !Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE)
            throw badInput(`first must be between 1 and ${MAX_PAGE_SIZE} on ${type.name}.${def.name}`, "first");
          cost += multiplier * first;
          childMultiplier = multiplier * first;
        }
        const named = getNamedType(def.type);
        if (sel.selectionSet && isObjectType(named)) cost += walk(sel.selectionSet, named, childMultiplier, seen);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        const cond = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) : type;
        if (isObjectType(cond)) cost += walk(sel.selectionSet, cond, multiplier, seen);
      } else {
        const frag = fragments.get(sel.name.value);
        if (!frag || seen.has(frag.name.value)) continue;
        const cond = schema.getType(frag.typeCondition.name.value);
        if (isObjectType(cond)) cost += walk(frag.selectionSet, cond, multiplier, new Set([...seen, frag.name.value]));
      }
    }
    return cost;
  };

  const requested = Math.max(1, walk(operation.selectionSet, root, 1, new Set()));
  if (requested > maximum)
    throw new AppError("COST_LIMIT_EXCEEDED", `Operation cost ${requested} exceeds the maximum of ${maximum}`, { cost: { requested, maximum } });
  return { requested, maximum };
}
