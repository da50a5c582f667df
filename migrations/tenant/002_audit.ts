// Audit trail, tenant side: the organization's hash-chained, append-only event log and its chain
// head. The tenant role may only INSERT/SELECT events and advance the head by one; UPDATE, DELETE
// and TRUNCATE are refused by grants and by triggers (control.audit_* functions, migration 003).
import type { TenantMigrationContext } from "./index.js";

export async function up({ trx, grant }: TenantMigrationContext): Promise<void> {
  await trx.raw(`
    CREATE TABLE audit_events (
      seq bigint PRIMARY KEY,
      id uuid NOT NULL UNIQUE,
      occurred_at timestamptz NOT NULL,
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
      hash text NOT NULL,
      search tsvector GENERATED ALWAYS AS (to_tsvector('simple',
        event_type || ' ' || coalesce(resource_type, '') || ' ' || coalesce(resource_id, '') || ' ' ||
        coalesce(reason, '') || ' ' || coalesce(request_id, '') || ' ' || coalesce(ip, ''))) STORED
    );
    CREATE INDEX audit_events_time_idx ON audit_events (occurred_at, seq);
    CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, seq);
    CREATE INDEX audit_events_type_idx ON audit_events (event_type, seq);
    CREATE INDEX audit_events_resource_idx ON audit_events (resource_type, resource_id, seq);
    CREATE INDEX audit_events_notable_idx ON audit_events (seq) WHERE result <> 'success' OR severity <> 'info';
    CREATE INDEX audit_events_search_idx ON audit_events USING gin (search);

    CREATE TABLE audit_chain (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      last_seq bigint NOT NULL,
      last_hash text NOT NULL
    );
    INSERT INTO audit_chain (last_seq, last_hash) VALUES (0, repeat('0', 64));

    CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
      FOR EACH ROW EXECUTE FUNCTION control.audit_append_only();
    CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
      FOR EACH STATEMENT EXECUTE FUNCTION control.audit_no_truncate();
    CREATE TRIGGER audit_chain_forward BEFORE UPDATE OR DELETE ON audit_chain
      FOR EACH ROW EXECUTE FUNCTION control.audit_head_forward();
    CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
      FOR EACH STATEMENT EXECUTE FUNCTION control.audit_no_truncate();
  `);
  await grant(["audit_events"], "SELECT, INSERT");
  await grant(["audit_chain"], "SELECT, UPDATE");
}
