// Metering: roll-ups per minute ('m'), hour ('h') and day ('d') written together by each flush,
// errors by code, daily active users, storage samples, applied flush keys (idempotency) and
// per-organization alert thresholds. No foreign keys to organizations: a flush must never fail
// because an organization was deleted meanwhile; retention removes old rows.
import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE control.usage_rollups (
      granularity "char" NOT NULL CHECK (granularity IN ('m', 'h', 'd')),
      organization_id uuid NOT NULL,
      bucket timestamptz NOT NULL,
      operation_name text NOT NULL,
      operation_type text NOT NULL,
      calls bigint NOT NULL DEFAULT 0,
      errors bigint NOT NULL DEFAULT 0,
      bytes_out bigint NOT NULL DEFAULT 0,
      generations bigint NOT NULL DEFAULT 0,
      executions bigint NOT NULL DEFAULT 0,
      latency_sum_ms double precision NOT NULL DEFAULT 0,
      latency_hist bigint[] NOT NULL DEFAULT '{}',
      PRIMARY KEY (organization_id, granularity, bucket, operation_name, operation_type)
    );
    CREATE INDEX usage_rollups_bucket_idx ON control.usage_rollups (granularity, bucket);

    CREATE TABLE control.usage_error_rollups (
      granularity "char" NOT NULL CHECK (granularity IN ('m', 'h', 'd')),
      organization_id uuid NOT NULL,
      bucket timestamptz NOT NULL,
      code text NOT NULL,
      count bigint NOT NULL DEFAULT 0,
      PRIMARY KEY (organization_id, granularity, bucket, code)
    );
    CREATE INDEX usage_error_rollups_bucket_idx ON control.usage_error_rollups (granularity, bucket);

    CREATE TABLE control.usage_active_users (
      organization_id uuid NOT NULL,
      day date NOT NULL,
      user_id uuid NOT NULL,
      PRIMARY KEY (organization_id, day, user_id)
    );
    CREATE INDEX usage_active_users_day_idx ON control.usage_active_users (day);

    CREATE TABLE control.usage_storage (
      organization_id uuid NOT NULL,
      measured_at timestamptz NOT NULL DEFAULT now(),
      bytes bigint NOT NULL,
      PRIMARY KEY (organization_id, measured_at)
    );

    -- One row per applied flush, written in the same transaction as its counters.
    CREATE TABLE control.usage_flushes (
      instance_id text NOT NULL,
      seq bigint NOT NULL,
      flushed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (instance_id, seq)
    );
    CREATE INDEX usage_flushes_at_idx ON control.usage_flushes (flushed_at);

    CREATE TABLE control.alert_settings (
      organization_id uuid PRIMARY KEY,
      thresholds jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE control.alert_settings, control.usage_flushes, control.usage_storage,
    control.usage_active_users, control.usage_error_rollups, control.usage_rollups`);
}
