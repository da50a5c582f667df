// Control plane: the cross-tenant registries. Runs as the migration (admin) role.
import type { Knex } from "knex";

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE control.organizations (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      slug text NOT NULL UNIQUE,
      name text NOT NULL,
      plan text NOT NULL DEFAULT 'free',
      region text NOT NULL DEFAULT 'default',
      status text NOT NULL DEFAULT 'provisioning' CHECK (status IN ('provisioning', 'active', 'suspended')),
      schema_name text NOT NULL UNIQUE,
      schema_version integer NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE control.users (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      email text NOT NULL UNIQUE CHECK (email = lower(email)),
      display_name text NOT NULL,
      password_hash text,
      is_super_admin boolean NOT NULL DEFAULT false,
      disabled_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE control.memberships (
      user_id uuid NOT NULL REFERENCES control.users(id) ON DELETE CASCADE,
      organization_id uuid NOT NULL REFERENCES control.organizations(id) ON DELETE CASCADE,
      role text NOT NULL CHECK (role IN ('ADMIN', 'DEVELOPER', 'ANALYST', 'SERVICE_ACCOUNT')),
      created_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (user_id, organization_id)
    );
    CREATE INDEX memberships_org_idx ON control.memberships (organization_id, created_at);

    -- One row per refresh token; a family is one login. Rotation links child to parent.
    CREATE TABLE control.refresh_sessions (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      family_id uuid NOT NULL,
      parent_id uuid,
      user_id uuid NOT NULL REFERENCES control.users(id) ON DELETE CASCADE,
      organization_id uuid REFERENCES control.organizations(id) ON DELETE CASCADE,
      token_hash bytea NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      rotated_at timestamptz,
      revoked_at timestamptz,
      revoked_reason text,
      ip inet,
      user_agent text
    );
    CREATE INDEX refresh_sessions_family_idx ON control.refresh_sessions (family_id);
    CREATE INDEX refresh_sessions_user_idx ON control.refresh_sessions (user_id);

    -- Login failures per key ('email:…' or 'ip:…'), shared by every replica.
    CREATE TABLE control.login_throttle (
      key text PRIMARY KEY,
      failures integer NOT NULL DEFAULT 0,
      last_failure_at timestamptz NOT NULL DEFAULT now(),
      locked_until timestamptz
    );
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP TABLE control.login_throttle, control.refresh_sessions, control.memberships, control.users, control.organizations`);
}
