// API keys, per-organization plan overrides and durable quota counters (control plane).
import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The secret itself is never stored: only its SHA-256, a lookup prefix and its last four characters.
    CREATE TABLE control.api_keys (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      organization_id uuid NOT NULL REFERENCES control.organizations(id) ON DELETE CASCADE,
      created_by uuid NOT NULL REFERENCES control.users(id) ON DELETE CASCADE,
      name text NOT NULL,
      environment text NOT NULL CHECK (environment IN ('live', 'test')),
      lookup_prefix text NOT NULL UNIQUE,
      secret_hash bytea NOT NULL,
      last4 text NOT NULL,
      scopes text[] NOT NULL,
      rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
      ip_allowlist text[] NOT NULL DEFAULT '{}',
      expires_at timestamptz,
      revoked_at timestamptz,
      rotated_from uuid REFERENCES control.api_keys(id) ON DELETE SET NULL,
      rotated_to uuid REFERENCES control.api_keys(id) ON DELETE SET NULL,
      request_count bigint NOT NULL DEFAULT 0,
      last_used_at timestamptz,
      last_used_ip text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX api_keys_org_idx ON control.api_keys (organization_id, created_at DESC, id DESC);

    -- Per-organization overrides on top of the plan: null limit values fall back to the plan.
    CREATE TABLE control.plan_overrides (
      organization_id uuid PRIMARY KEY REFERENCES control.organizations(id) ON DELETE CASCADE,
      limits jsonb NOT NULL DEFAULT '{}',
      features_enabled text[] NOT NULL DEFAULT '{}',
      features_disabled text[] NOT NULL DEFAULT '{}',
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    -- Durable counters for period quotas (item creations per month), bumped in the creating transaction.
    CREATE TABLE control.quota_counters (
      organization_id uuid NOT NULL REFERENCES control.organizations(id) ON DELETE CASCADE,
      quota text NOT NULL,
      period_start date NOT NULL,
      used bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (organization_id, quota, period_start)
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE control.quota_counters, control.plan_overrides, control.api_keys`);
}
