// Control-plane migrations in order. Imported statically so tsx, vitest and the built server
// all load the same list without filesystem discovery.
import type { Knex } from "knex";
import * as m001 from "./001_core.js";
import * as m002 from "./002_api_keys_plans.js";
import * as m003 from "./003_audit.js";
import * as m004 from "./004_metering.js";

export interface ControlMigration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const controlMigrations: ControlMigration[] = [
  { name: "001_core", ...m001 },
  { name: "002_api_keys_plans", ...m002 },
  { name: "003_audit", ...m003 },
  { name: "004_metering", ...m004 },
];

/** Runtime-role privileges on the control tables, per table (never ON ALL TABLES). */
export const controlGrants: Record<string, string> = {
  organizations: "SELECT, INSERT, UPDATE",
  users: "SELECT, INSERT, UPDATE",
  memberships: "SELECT, INSERT, UPDATE, DELETE",
  refresh_sessions: "SELECT, INSERT, UPDATE",
  login_throttle: "SELECT, INSERT, UPDATE, DELETE",
  api_keys: "SELECT, INSERT, UPDATE",
  plan_overrides: "SELECT, INSERT, UPDATE, DELETE",
  quota_counters: "SELECT, INSERT, UPDATE",
  // audit trail: append-only for the runtime role (no UPDATE/DELETE/TRUNCATE on events or checkpoints)
  audit_events: "SELECT, INSERT",
  audit_chain: "SELECT, UPDATE",
  audit_checkpoints: "SELECT",
  audit_settings: "SELECT, INSERT, UPDATE",
  // metering (004)
  usage_rollups: "SELECT, INSERT, UPDATE, DELETE",
  usage_error_rollups: "SELECT, INSERT, UPDATE, DELETE",
  usage_active_users: "SELECT, INSERT, DELETE",
  usage_storage: "SELECT, INSERT, DELETE",
  usage_flushes: "SELECT, INSERT, DELETE",
  alert_settings: "SELECT, INSERT, UPDATE",
};
