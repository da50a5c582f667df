// Organization lifecycle (platform staff) and the current organization's profile.
import type { RequestContext } from "../../context/index.js";
import { badInput, conflict, forbidden, notFound } from "../../errors/app-error.js";
import { parseId } from "../../tenancy/naming.js";
import { provisionOrganization } from "../../tenancy/provisioning.js";
import { ORG_COLUMNS, type OrganizationRecord } from "../../tenancy/registry.js";
import { checkPageSize, decodeCursor, toPage } from "../common/connection.js";
import * as v from "../common/validation.js";
import { withControlStatements } from "../../tenancy/scope.js";
import { requestHoldsChainHead } from "../../enterprise/audit/service.js";
import { platformChain, tenantChain } from "../../enterprise/audit/recorder.js";
import type { CreateOrganizationInput, UpdateOrganizationInput } from "./organization.type.js";

export const REGIONS = ["default"] as const;

const orgs = (ctx: RequestContext) => ctx.services.db.control.withSchema("control").table("organizations");

export async function currentOrganization(ctx: RequestContext): Promise<OrganizationRecord> {
  const org = await ctx.services.registry.get(ctx.requireTenant().id);
  if (!org) throw notFound("Organization");
  return org;
}

export async function listOrganizations(ctx: RequestContext, args: { first: number; after?: string | null }) {
  const first = checkPageSize(args.first);
  const after = decodeCursor(args.after);
  const q = orgs(ctx).select(ORG_COLUMNS).select(ctx.services.db.control.raw(`created_at::text as "_k"`));
  if (after) q.whereRaw(`(created_at, id) < (?::timestamptz, ?::uuid)`, [after[0], after[1]]);
  const rows = await q.orderBy([{ column: "created_at", order: "desc" }, { column: "id", order: "desc" }]).limit(first + 1);
  return toPage(rows as Array<OrganizationRecord & { _k: string }>, first, async () => Number((await orgs(ctx).count({ n: "*" }).first())?.n ?? 0));
}

export async function createOrganization(ctx: RequestContext, input: CreateOrganizationInput): Promise<OrganizationRecord> {
  const region = input.region ?? "default";
  if (!(REGIONS as readonly string[]).includes(region)) throw badInput(`region must be one of: ${REGIONS.join(", ")}`, "region");
  const { organization, created } = await provisionOrganization(
    ctx.services.db.admin,
    { slug: input.slug, name: v.text(input.name, "name", 200), plan: input.plan ?? "free", region },
    {
      appRole: ctx.services.config.database.appRole,
      onProvisioned: async (trx, org) => {
        await ctx.services.audit.record(trx, platformChain(org.id), { type: "admin.organization.created", resourceType: "Organization", resourceId: org.id, after: { ...org } }, ctx);
      },
    },
  );
  if (!created) throw conflict("An organization with this slug already exists");
  return organization;
}

export async function updateOrganization(ctx: RequestContext, idInput: string, input: UpdateOrganizationInput): Promise<OrganizationRecord> {
  const id = parseId(idInput);
  const patch: Record<string, unknown> = {};
  if (input.name != null) patch.name = v.text(input.name, "name", 200);
  if (input.plan != null) patch.plan = input.plan;
  if (input.status != null) {
    if (input.status === "provisioning") throw badInput("status cannot be set to provisioning", "status");
    patch.status = input.status;
  }
  if (Object.keys(patch).length === 0) throw badInput("nothing to update");
  // A platform change runs in a transaction of its own. If this request's uncommitted tenant
  // transaction already changed this organization (it may hold the organization row), waiting for
  // it would never end: refuse instead.
  if (ctx.principal?.organizationId === id && requestHoldsChainHead(ctx))
    throw conflict("Send this mutation in its own request: an earlier mutation of this request is still uncommitted");
  const row = await ctx.services.db.control.transaction(async (trx) => {
    const before = await trx.withSchema("control").table("organizations").first(ORG_COLUMNS).where({ id }).forUpdate();
    const [updated] = await trx.withSchema("control").table("organizations").where({ id }).whereNot({ status: "provisioning" })
      .update({ ...patch, updated_at: trx.fn.now() }).returning(ORG_COLUMNS);
    if (!updated) throw notFound("Organization");
    const onlyPlan = Object.keys(patch).length === 1 && patch.plan !== undefined;
    await ctx.services.audit.record(trx, platformChain(id), {
      type: onlyPlan ? "admin.plan.changed" : "admin.organization.updated", resourceType: "Organization", resourceId: id, before, after: updated,
    }, ctx);
    return updated;
  });
  ctx.services.registry.invalidate(id);
  // Plan and status changes reach every replica's caches (and so its limits) at once.
  ctx.services.plans.invalidate(id);
  return row as OrganizationRecord;
}

export async function renameCurrentOrganization(ctx: RequestContext, name: string): Promise<OrganizationRecord> {
  const tenant = ctx.requireTenant();
  const id = tenant.id;
  const newName = v.text(name, "name", 200);
  // In the request's tenant transaction: the control-plane change and its audit event (tenant
  // chain) commit or roll back with the rest of the mutation operation.
  const row = await ctx.inTenant(async (trx) => {
    const { before, updated } = await withControlStatements(trx, tenant, async () => {
      const before = await trx.withSchema("control").table("organizations").first("name").where({ id });
      // Only an active organization may be changed by its members (as with every tenant request).
      const [updated] = await trx.withSchema("control").table("organizations").where({ id, status: "active" })
        .update({ name: newName, updated_at: trx.fn.now() }).returning(ORG_COLUMNS);
      if (!updated) throw forbidden("The organization is not active");
      return { before, updated };
    });
    await ctx.services.audit.record(trx, tenantChain(id), { type: "config.organization.renamed", resourceType: "Organization", resourceId: id, before, after: { name: newName } }, ctx);
    return updated;
  });
  ctx.afterCommit(() => ctx.services.registry.invalidate(id));
  return row as OrganizationRecord;
}
