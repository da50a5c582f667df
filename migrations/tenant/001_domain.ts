// The first tenant tables: workspaces, projects, items, and a projection of the organization's
// members (so tenant queries never read the control plane). Runs with search_path set to the tenant schema.
import type { TenantMigrationContext } from "./index.js";

export async function up({ trx, grant }: TenantMigrationContext): Promise<void> {
  await trx.raw(`
    CREATE TABLE workspaces (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      name text NOT NULL,
      description text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE projects (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      name text NOT NULL,
      description text,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX projects_workspace_idx ON projects (workspace_id, created_at DESC, id DESC);
    CREATE TABLE members (
      user_id uuid PRIMARY KEY,
      email text NOT NULL,
      display_name text NOT NULL,
      role text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE items (
      id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
      project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
      title text NOT NULL,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'archived')),
      tags text[] NOT NULL DEFAULT '{}',
      payload jsonb NOT NULL DEFAULT '{}',
      creator_id uuid,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX items_project_created_idx ON items (project_id, created_at DESC, id DESC);
    CREATE INDEX items_project_updated_idx ON items (project_id, updated_at DESC, id DESC);
    CREATE INDEX items_tags_idx ON items USING gin (tags);
  `);
  await grant(["workspaces", "projects", "members", "items"], "SELECT, INSERT, UPDATE, DELETE");
}
