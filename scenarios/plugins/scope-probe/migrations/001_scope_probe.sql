-- probe_runs: one row per probe call, written by the control attempt of the worker.
-- The schema is the host-derived namespace of this plugin and must be spelled out in full.
-- Keep these comments free of apostrophes: the host strips quoted literals before comments.
CREATE TABLE plugin_scope_probe_b862ea62fe.probe_runs (
  id uuid PRIMARY KEY,
  route_key text NOT NULL,
  request_company_id uuid NOT NULL,
  target_company_id uuid,
  target_issue_id uuid,
  outcomes jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
