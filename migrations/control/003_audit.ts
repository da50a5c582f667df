// Audit trail, control plane: the append-only guard functions (shared by every tenant schema), the
// platform chain (super-admin and cross-tenant events), signed checkpoints of every chain, and the
// per-organization audit settings. Runs as the migration (admin) role.
import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Row trigger: audit rows are never updated; deleted only by the retention job, which runs on the
    -- privileged connection with enclave.audit_purge = 'on' (the runtime role has no DELETE grant at all).
    CREATE FUNCTION control.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' AND current_setting('enclave.audit_purge', true) = 'on' THEN
        RETURN OLD;
      END IF;
      RAISE EXCEPTION 'audit table %.% is append-only (% refused)', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
    END $$;

    -- Statement trigger: TRUNCATE is always refused.
    CREATE FUNCTION control.audit_no_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit table %.% cannot be truncated', TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
    END $$;

    -- Chain head: only moves forward, one sequence number at a time, never deleted.
    CREATE FUNCTION control.audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit chain head cannot be deleted' USING ERRCODE = 'insufficient_privilege';
      END IF;
      IF NEW.last_seq <> OLD.last_seq + 1 AND current_setting('enclave.audit_purge', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'audit chain head must advance by one' USING ERRCODE = 'insufficient_privilege';
      END IF;
      RETURN NEW;
    END $$;

    CREATE TABLE control.audit_events (
      seq bigint PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      occurred_at timestamptz NOT NULL,
      organization_id uuid,
      event_type text NOT NULL,
      category text NOT NULL,
      severity text NOT NULL,
      actor_type text NOT NULL,
      actor_id uuid,
      api_key_id uuid,
      ip text,
      user_agent text,
      session_id uuid,
      request_id text,
      resource_type text,
      resource_id text,
      result text NOT NULL,
      reason text,
      changes jsonb,
      metadata jsonb,
      prev_hash text NOT NULL,
      hash text NOT NULL
    );
    CREATE INDEX audit_events_time_idx ON control.audit_events (occurred_at, seq);
    CREATE INDEX audit_events_org_idx ON control.audit_events (organization_id, seq);
    CREATE INDEX audit_events_type_idx ON control.audit_events (event_type, seq);

    CREATE TABLE control.audit_chain (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      last_seq bigint NOT NULL,
      last_hash text NOT NULL
    );
    INSERT INTO control.audit_chain (last_seq, last_hash) VALUES (0, repeat('0', 64));

    -- Signed anchors of every chain: chain = 'platform' or the organization id.
    CREATE TABLE control.audit_checkpoints (
      id bigserial PRIMARY KEY,
      chain text NOT NULL,
      seq bigint NOT NULL,
      hash text NOT NULL,
      kind text NOT NULL CHECK (kind IN ('periodic', 'retention', 'manual')),
      created_at timestamptz NOT NULL DEFAULT now(),
      signature text NOT NULL
    );
    CREATE INDEX audit_checkpoints_chain_idx ON control.audit_checkpoints (chain, seq DESC, id DESC);

    CREATE TABLE control.audit_settings (
      organization_id uuid PRIMARY KEY REFERENCES control.organizations(id) ON DELETE CASCADE,
      read_audit text NOT NULL DEFAULT 'off' CHECK (read_audit IN ('off', 'sensitive', 'all')),
      sensitive_types text[] NOT NULL DEFAULT '{Member}',
      pii_fields text[] NOT NULL DEFAULT '{}',
      frameworks text[] NOT NULL DEFAULT '{}',
      retention_days integer CHECK (retention_days IS NULL OR retention_days BETWEEN 1 AND 36500),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON control.audit_events
      FOR EACH ROW EXECUTE FUNCTION control.audit_append_only();
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON control.audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION control.audit_no_truncate();
    CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON control.audit_checkpoints
      FOR EACH ROW EXECUTE FUNCTION control.audit_append_only();
    CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON control.audit_checkpoints
      FOR EACH STATEMENT EXECUTE FUNCTION control.audit_no_truncate();
    CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON control.audit_chain
      FOR EACH ROW EXECUTE FUNCTION control.audit_head_forward();
    CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON control.audit_chain
      FOR EACH STATEMENT EXECUTE FUNCTION control.audit_no_truncate();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS control.audit_settings, control.audit_checkpoints, control.audit_chain, control.audit_events;
    DROP FUNCTION IF EXISTS control.audit_append_only(), control.audit_no_truncate(), control.audit_head_forward();
  `);
}
