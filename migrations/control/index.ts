// Control-plane migrations in order. Imported statically so tsx, vitest and the built server
// all load the same list without filesystem discovery.
import type { Knex } from "knex";
import * as m001 from "./001_core.js";

export interface ControlMigration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

export const controlMigrations: ControlMigration[] = [{ name: "001_core", ...m001 }];

/** Runtime-role privileges on the control tables, per table (never ON ALL TABLES). */
export const controlGrants: Record<string, string> = {
  organizations: "SELECT, INSERT, UPDATE",
  users: "SELECT, INSERT, UPDATE",
  memberships: "SELECT, INSERT, UPDATE, DELETE",
  refresh_sessions: "SELECT, INSERT, UPDATE",
  login_throttle: "SELECT, INSERT, UPDATE, DELETE",
};
