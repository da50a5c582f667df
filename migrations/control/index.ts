// Control-plane migrations in order. Imported statically so tsx, vitest and the built server
// all load the same list without filesystem discovery.
import type { Knex } from "knex";
import * as m001 from "./001_core.js";
import * as m004 from "./004_metering.js";

export interface ControlMigration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const controlMigrations: ControlMigration[] = [
  { name: "001_core", ...m001 },
  { name: "004_metering", ...m004 },
];

/** Runtime-role privileges on the control tables, per table (never ON ALL TABLES). */
export const controlGrants: Record<string, string> = {
  organizations: "SELECT, INSERT, UPDATE",
  users: "SELECT, INSERT, UPDATE",
  memberships: "SELECT, INSERT, UPDATE, DELETE",
  refresh_sessions: "SELECT, INSERT, UPDATE",
  login_throttle: "SELECT, INSERT, UPDATE, DELETE",
  // metering (004)
  usage_rollups: "SELECT, INSERT, UPDATE, DELETE",
  usage_error_rollups: "SELECT, INSERT, UPDATE, DELETE",
  usage_active_users: "SELECT, INSERT, DELETE",
  usage_storage: "SELECT, INSERT, DELETE",
  usage_flushes: "SELECT, INSERT, DELETE",
  alert_settings: "SELECT, INSERT, UPDATE",
};
