//! The core schema, with the real host's table and column names for
//! everything the conformance suite inspects (contract-db-worker.md B5 and
//! A2, contract-http.md §8.1). Statements are idempotent (`IF NOT EXISTS`)
//! and run under an advisory lock so that several hosts may share a database.
//!
//! Columns the mock never writes are still declared when the real host has
//! them and the suite (or a plugin's whitelisted read) may look at them.

/// Advisory lock key of schema application ("mockhost" in ASCII).
pub const SCHEMA_LOCK_KEY: i64 = 0x6d6f_636b_686f_7374;

pub const CORE_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
  id text PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  email_verified boolean NOT NULL DEFAULT false,
  image text,
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS sessions (
  id text PRIMARY KEY,
  token text NOT NULL UNIQUE,
  user_id text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS instance_user_roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id text NOT NULL,
  role text NOT NULL DEFAULT 'instance_admin',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS instance_user_roles_user_role_unique_idx ON instance_user_roles (user_id, role);

CREATE TABLE IF NOT EXISTS board_api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id text NOT NULL,
  name text NOT NULL,
  key_hash text NOT NULL,
  last_used_at timestamptz,
  revoked_at timestamptz,
  expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS board_api_keys_key_hash_idx ON board_api_keys (key_hash);

CREATE TABLE IF NOT EXISTS companies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'active',
  issue_prefix text NOT NULL,
  issue_counter integer NOT NULL DEFAULT 0,
  budget_monthly_cents integer NOT NULL DEFAULT 0,
  spent_monthly_cents integer NOT NULL DEFAULT 0,
  attachment_max_bytes integer NOT NULL DEFAULT 10485760,
  default_responsible_user_id text,
  require_board_approval_for_new_agents boolean NOT NULL DEFAULT false,
  feedback_data_sharing_enabled boolean NOT NULL DEFAULT false,
  feedback_data_sharing_consent_at timestamptz,
  feedback_data_sharing_consent_by_user_id text,
  feedback_data_sharing_terms_version text,
  brand_color text,
  logo_asset_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS companies_issue_prefix_idx ON companies (issue_prefix);

CREATE TABLE IF NOT EXISTS company_memberships (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id) ON DELETE CASCADE,
  principal_type text NOT NULL,
  principal_id text NOT NULL,
  status text NOT NULL DEFAULT 'active',
  membership_role text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS company_memberships_company_principal_unique_idx
  ON company_memberships (company_id, principal_type, principal_id);

CREATE TABLE IF NOT EXISTS agents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  name text NOT NULL,
  role text NOT NULL DEFAULT 'general',
  title text,
  icon text,
  status text NOT NULL DEFAULT 'idle',
  reports_to uuid REFERENCES agents(id),
  capabilities text,
  adapter_type text NOT NULL DEFAULT 'process',
  adapter_config jsonb NOT NULL DEFAULT '{}'::jsonb,
  runtime_config jsonb NOT NULL DEFAULT '{}'::jsonb,
  default_environment_id uuid,
  budget_monthly_cents integer NOT NULL DEFAULT 0,
  spent_monthly_cents integer NOT NULL DEFAULT 0,
  pause_reason text,
  paused_at timestamptz,
  error_reason text,
  permissions jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_heartbeat_at timestamptz,
  metadata jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS agent_api_keys (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  agent_id uuid NOT NULL REFERENCES agents(id),
  company_id uuid NOT NULL REFERENCES companies(id),
  name text NOT NULL,
  key_hash text NOT NULL,
  scope jsonb NOT NULL DEFAULT '{"kind":"standard"}'::jsonb,
  responsible_user_id text,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS agent_api_keys_key_hash_idx ON agent_api_keys (key_hash);

CREATE TABLE IF NOT EXISTS agent_wakeup_requests (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  agent_id uuid NOT NULL REFERENCES agents(id),
  source text NOT NULL,
  trigger_detail text,
  reason text,
  payload jsonb,
  status text NOT NULL DEFAULT 'queued',
  coalesced_count integer NOT NULL DEFAULT 0,
  requested_by_actor_type text,
  requested_by_actor_id text,
  idempotency_key text,
  run_id uuid,
  requested_at timestamptz NOT NULL DEFAULT now(),
  claimed_at timestamptz,
  finished_at timestamptz,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS heartbeat_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  agent_id uuid NOT NULL REFERENCES agents(id),
  invocation_source text NOT NULL DEFAULT 'on_demand',
  trigger_detail text,
  status text NOT NULL DEFAULT 'queued',
  started_at timestamptz,
  finished_at timestamptz,
  error text,
  error_code text,
  exit_code integer,
  wakeup_request_id uuid REFERENCES agent_wakeup_requests(id),
  context_snapshot jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS issues (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  project_id uuid,
  project_workspace_id uuid,
  goal_id uuid,
  parent_id uuid REFERENCES issues(id),
  title text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'backlog',
  work_mode text NOT NULL DEFAULT 'standard',
  priority text NOT NULL DEFAULT 'medium',
  assignee_agent_id uuid REFERENCES agents(id),
  assignee_user_id text,
  checkout_run_id uuid REFERENCES heartbeat_runs(id) ON DELETE SET NULL,
  execution_run_id uuid REFERENCES heartbeat_runs(id) ON DELETE SET NULL,
  execution_agent_name_key text,
  execution_locked_at timestamptz,
  created_by_agent_id uuid REFERENCES agents(id),
  created_by_user_id text,
  responsible_user_id text,
  issue_number integer,
  identifier text,
  origin_kind text NOT NULL DEFAULT 'manual',
  origin_id text,
  origin_run_id text,
  origin_fingerprint text NOT NULL DEFAULT 'default',
  request_depth integer NOT NULL DEFAULT 0,
  billing_code text,
  assignee_adapter_overrides jsonb,
  execution_policy jsonb,
  execution_state jsonb,
  monitor_next_check_at timestamptz,
  monitor_wake_requested_at timestamptz,
  monitor_last_triggered_at timestamptz,
  monitor_attempt_count integer NOT NULL DEFAULT 0,
  monitor_notes text,
  monitor_scheduled_by text,
  execution_workspace_id uuid,
  execution_workspace_preference text,
  execution_workspace_settings jsonb,
  source_trust text,
  started_at timestamptz,
  completed_at timestamptz,
  cancelled_at timestamptz,
  hidden_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS issues_identifier_idx ON issues (identifier);
CREATE INDEX IF NOT EXISTS issues_company_origin_idx ON issues (company_id, origin_kind, origin_id);
CREATE INDEX IF NOT EXISTS issues_company_parent_idx ON issues (company_id, parent_id);

CREATE TABLE IF NOT EXISTS projects (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  goal_id uuid,
  name text NOT NULL,
  description text,
  status text NOT NULL DEFAULT 'backlog',
  lead_agent_id uuid REFERENCES agents(id),
  color text,
  icon text,
  env jsonb,
  execution_workspace_policy jsonb,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS project_workspaces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  project_id uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name text NOT NULL,
  source_type text NOT NULL DEFAULT 'local_path',
  cwd text,
  repo_url text,
  repo_ref text,
  default_ref text,
  visibility text NOT NULL DEFAULT 'default',
  metadata jsonb,
  is_primary boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS issue_relations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  issue_id uuid NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
  related_issue_id uuid NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
  type text NOT NULL,
  created_by_agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
  created_by_user_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS issue_relations_company_edge_uq
  ON issue_relations (company_id, issue_id, related_issue_id, type);

CREATE TABLE IF NOT EXISTS documents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  title text,
  format text NOT NULL DEFAULT 'markdown',
  latest_body text NOT NULL,
  latest_revision_id uuid,
  latest_revision_number integer NOT NULL DEFAULT 1,
  created_by_agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
  created_by_user_id text,
  updated_by_agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
  updated_by_user_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS document_revisions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  revision_number integer NOT NULL,
  title text,
  format text NOT NULL DEFAULT 'markdown',
  body text NOT NULL,
  change_summary text,
  created_by_agent_id uuid REFERENCES agents(id) ON DELETE SET NULL,
  created_by_user_id text,
  created_by_run_id uuid REFERENCES heartbeat_runs(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS document_revisions_document_revision_uq
  ON document_revisions (document_id, revision_number);

CREATE TABLE IF NOT EXISTS issue_documents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  issue_id uuid NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
  document_id uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
  key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS issue_documents_document_uq ON issue_documents (document_id);
CREATE UNIQUE INDEX IF NOT EXISTS issue_documents_company_issue_key_uq ON issue_documents (company_id, issue_id, key);

CREATE TABLE IF NOT EXISTS issue_comments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  issue_id uuid NOT NULL REFERENCES issues(id),
  author_agent_id uuid REFERENCES agents(id),
  author_user_id text,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by_run_id uuid REFERENCES heartbeat_runs(id) ON DELETE SET NULL,
  author_type text
);
CREATE INDEX IF NOT EXISTS issue_comments_company_issue_created_at_idx
  ON issue_comments (company_id, issue_id, created_at);

CREATE TABLE IF NOT EXISTS activity_log (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  actor_type text NOT NULL DEFAULT 'system',
  actor_id text NOT NULL,
  action text NOT NULL,
  entity_type text NOT NULL,
  entity_id text NOT NULL,
  agent_id uuid REFERENCES agents(id),
  details jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  run_id uuid REFERENCES heartbeat_runs(id)
);
CREATE INDEX IF NOT EXISTS activity_log_company_created_idx ON activity_log (company_id, created_at);

CREATE TABLE IF NOT EXISTS cost_events (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  agent_id uuid REFERENCES agents(id),
  issue_id uuid REFERENCES issues(id),
  project_id uuid,
  goal_id uuid,
  heartbeat_run_id uuid,
  billing_code text,
  provider text NOT NULL DEFAULT 'unknown',
  model text NOT NULL DEFAULT 'unknown',
  input_tokens integer NOT NULL DEFAULT 0,
  cached_input_tokens integer NOT NULL DEFAULT 0,
  output_tokens integer NOT NULL DEFAULT 0,
  cost_cents integer NOT NULL DEFAULT 0,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS budget_incidents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company_id uuid NOT NULL REFERENCES companies(id),
  scope_type text NOT NULL,
  scope_id text NOT NULL,
  metric text NOT NULL,
  window_kind text NOT NULL,
  threshold_type text NOT NULL,
  amount_limit integer NOT NULL,
  amount_observed integer NOT NULL,
  status text NOT NULL DEFAULT 'open',
  approval_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS plugins (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  plugin_key text NOT NULL,
  package_name text NOT NULL,
  version text NOT NULL,
  api_version integer NOT NULL DEFAULT 1,
  categories jsonb NOT NULL DEFAULT '[]'::jsonb,
  manifest_json jsonb NOT NULL,
  status text NOT NULL DEFAULT 'installed',
  install_order integer,
  package_path text,
  last_error text,
  installed_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS plugins_plugin_key_idx ON plugins (plugin_key);

CREATE TABLE IF NOT EXISTS plugin_config (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  plugin_id uuid NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
  config_json jsonb NOT NULL DEFAULT '{}'::jsonb,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS plugin_config_plugin_id_idx ON plugin_config (plugin_id);

CREATE TABLE IF NOT EXISTS plugin_state (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  plugin_id uuid NOT NULL REFERENCES plugins(id) ON DELETE CASCADE,
  scope_kind text NOT NULL,
  scope_id text,
  namespace text NOT NULL DEFAULT 'default',
  state_key text NOT NULL,
  value_json jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS plugin_state_unique_entry_idx
  ON plugin_state (plugin_id, scope_kind, scope_id, namespace, state_key) NULLS NOT DISTINCT;

CREATE TABLE IF NOT EXISTS plugin_database_namespaces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  plugin_id uuid NOT NULL,
  plugin_key text NOT NULL,
  namespace_name text NOT NULL,
  namespace_mode text DEFAULT 'schema' NOT NULL,
  status text DEFAULT 'active' NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE IF NOT EXISTS plugin_migrations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  plugin_id uuid NOT NULL,
  plugin_key text NOT NULL,
  namespace_name text NOT NULL,
  migration_key text NOT NULL,
  checksum text NOT NULL,
  plugin_version text NOT NULL,
  status text NOT NULL,
  started_at timestamp with time zone DEFAULT now() NOT NULL,
  applied_at timestamp with time zone,
  error_message text
);

DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'plugin_database_namespaces_plugin_id_plugins_id_fk') THEN
    ALTER TABLE plugin_database_namespaces ADD CONSTRAINT plugin_database_namespaces_plugin_id_plugins_id_fk
      FOREIGN KEY (plugin_id) REFERENCES public.plugins(id) ON DELETE cascade ON UPDATE no action;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'plugin_migrations_plugin_id_plugins_id_fk') THEN
    ALTER TABLE plugin_migrations ADD CONSTRAINT plugin_migrations_plugin_id_plugins_id_fk
      FOREIGN KEY (plugin_id) REFERENCES public.plugins(id) ON DELETE cascade ON UPDATE no action;
  END IF;
END $$;

CREATE UNIQUE INDEX IF NOT EXISTS plugin_database_namespaces_plugin_idx ON plugin_database_namespaces (plugin_id);
CREATE UNIQUE INDEX IF NOT EXISTS plugin_database_namespaces_namespace_idx ON plugin_database_namespaces (namespace_name);
CREATE INDEX IF NOT EXISTS plugin_database_namespaces_status_idx ON plugin_database_namespaces (status);
CREATE UNIQUE INDEX IF NOT EXISTS plugin_migrations_plugin_key_idx ON plugin_migrations (plugin_id, migration_key);
CREATE INDEX IF NOT EXISTS plugin_migrations_plugin_idx ON plugin_migrations (plugin_id);
CREATE INDEX IF NOT EXISTS plugin_migrations_status_idx ON plugin_migrations (status);
"#;
