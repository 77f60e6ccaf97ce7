//! The rows the calls must leave, read from the host's database after the
//! last call and compared in names (ids replaced, see `calls::Names`).
//!
//! Each case that answers as it must contributes its [`Effect`]s; the
//! expected rows follow from them (contract-db-worker.md B2.2, B2.3, B5;
//! where the documents are silent, what 2026.707.0 and 916.1 leave,
//! docs/findings.md F29–F31):
//! - `activity_log`: one row per plugin mutation, `actor_type plugin`,
//!   `actor_id` the plugin's row id, the initiating agent in `agent_id`,
//!   the plugin in `details.sourcePluginId/Key` (B2.3; `activity.log`
//!   rows too, F30);
//! - `agent_wakeup_requests`: one row per woken issue, whatever its
//!   idempotency key (no de-duplication by key, B2.2 wakeup semantics);
//! - `issue_relations`: the last blocker set of each issue (replace, union,
//!   difference);
//! - `documents` / `document_revisions`: a new key is revision 1 with one
//!   revision row; a deleted key leaves neither;
//! - `issue_comments`, `plugin_state`: what was written, no more;
//! - `issues`: the plugin's issues, each with the project workspace it
//!   inherited (or none).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::names::Names;
use crate::db::HostDb;

/// A row a call leaves (names, not ids).
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// An `activity_log` row of the all-capabilities fixture.
    Activity {
        action: String,
        entity: String,
        /// The initiating agent (`agent_id`), if any.
        agent: Option<String>,
        /// `details.sourcePluginId/Key` name the plugin (every plugin row
        /// the hosts write, `activity.log`'s too: docs/findings.md F30).
        attributed: bool,
    },
    /// An `agent_wakeup_requests` row for `issue`.
    Wakeup { issue: String, key: Option<String> },
    /// An `issue_comments` row.
    Comment { issue: String, body: String },
    /// The document `key` of `issue` exists (revision 1) or not.
    Document {
        issue: String,
        key: String,
        present: bool,
    },
    /// The blockers of `issue` are now exactly these.
    Blockers {
        issue: String,
        blockers: Vec<String>,
    },
    /// `plugin_state` key (of scope `kind`) now holds `value` (`None`: deleted).
    State {
        key: String,
        kind: String,
        value: Option<Value>,
    },
    /// A plugin issue, with its project workspace.
    Issue {
        name: String,
        workspace: Option<String>,
    },
}

/// The expected rows, built from the effects in call order.
#[derive(Debug, Default)]
pub struct Expected {
    activity: Vec<Value>,
    wakeups: Vec<Value>,
    comments: Vec<Value>,
    documents: BTreeMap<(String, String), bool>,
    blockers: BTreeMap<String, Vec<String>>,
    state: BTreeMap<String, (String, Option<Value>)>,
    issues: BTreeMap<String, Option<String>>,
}

impl Expected {
    pub fn apply(&mut self, effect: &Effect) {
        match effect {
            Effect::Activity {
                action,
                entity,
                agent,
                attributed,
            } => self.activity.push(json!({
                "action": action,
                "entity_id": format!("{{{entity}}}"),
                "actor_type": "plugin",
                "actor_id": "{pluginAll}",
                "agent_id": agent.as_ref().map(|a| format!("{{{a}}}")),
                "source_plugin_id": attributed.then_some("{pluginAll}"),
                "source_plugin_key": attributed.then_some("{keyAll}"),
            })),
            Effect::Wakeup { issue, key } => self.wakeups.push(json!({
                "issue": format!("{{{issue}}}"),
                "idempotency_key": key,
                "source": "assignment",
                "requested_by_actor_type": "system",
            })),
            Effect::Comment { issue, body } => self.comments.push(json!({
                "issue": format!("{{{issue}}}"),
                "body": body,
            })),
            Effect::Document {
                issue,
                key,
                present,
            } => {
                self.documents
                    .insert((issue.clone(), key.clone()), *present);
            }
            Effect::Blockers { issue, blockers } => {
                self.blockers.insert(issue.clone(), blockers.clone());
            }
            Effect::State { key, kind, value } => {
                self.state
                    .insert(key.clone(), (kind.clone(), value.clone()));
            }
            Effect::Issue { name, workspace } => {
                self.issues.insert(name.clone(), workspace.clone());
            }
        }
    }

    /// Every table's expected rows next to the ones the host has; a list of
    /// `(table, expected, actual)` that differ.
    pub async fn compare(&self, db: &HostDb, names: &Names) -> Vec<(String, Value, Value)> {
        let mut out = Vec::new();
        let plugin = names.id("pluginAll").unwrap_or_default().to_string();
        let key = names.id("keyAll").unwrap_or_default().to_string();
        let mut check = |table: &str, expected: Vec<Value>, actual: Result<Vec<Value>, String>| {
            let actual = match actual {
                Ok(rows) => rows.iter().map(|r| names.value(r)).collect::<Vec<_>>(),
                Err(e) => vec![json!({ "query failed": e })],
            };
            if sorted(&expected) != sorted(&actual) {
                out.push((
                    table.to_string(),
                    super::clipped(&json!(sorted(&expected))),
                    super::clipped(&json!(sorted(&actual))),
                ));
            }
        };
        let rows = db
            .rows(
                "SELECT action, entity_id, actor_type, actor_id, agent_id::text AS agent_id,
                        details->>'sourcePluginId' AS source_plugin_id,
                        details->>'sourcePluginKey' AS source_plugin_key
                 FROM activity_log
                 WHERE actor_id = $1 OR details->>'sourcePluginId' = $1",
                &[json!(plugin)],
            )
            .await;
        check("activity_log", self.activity.clone(), rows);
        let rows = db
            .rows(
                "SELECT payload->>'issueId' AS issue, idempotency_key, source, requested_by_actor_type
                 FROM agent_wakeup_requests WHERE requested_by_actor_id = $1",
                &[json!(plugin)],
            )
            .await;
        check("agent_wakeup_requests", self.wakeups.clone(), rows);
        let issues = |list: Vec<&String>| -> String {
            list.into_iter()
                .filter_map(|n| names.id(n))
                .collect::<Vec<_>>()
                .join(",")
        };
        let commented = issues(
            self.comments
                .iter()
                .filter_map(|c| c["issue"].as_str())
                .map(|s| s.trim_matches(|c| c == '{' || c == '}').to_string())
                .collect::<Vec<_>>()
                .iter()
                .collect(),
        );
        let rows = db
            .rows(
                "SELECT issue_id::text AS issue, body FROM issue_comments
                 WHERE issue_id::text = ANY(string_to_array($1, ','))",
                &[json!(commented)],
            )
            .await;
        check("issue_comments", self.comments.clone(), rows);
        let doc_issues = issues(self.documents.keys().map(|(i, _)| i).collect());
        let rows = db
            .rows(
                "SELECT idoc.issue_id::text AS issue, idoc.key, d.latest_revision_number AS latest,
                        (SELECT count(*) FROM document_revisions r WHERE r.document_id = d.id)::int AS revisions,
                        (SELECT max(r.revision_number) FROM document_revisions r WHERE r.document_id = d.id) AS last
                 FROM issue_documents idoc JOIN documents d ON d.id = idoc.document_id
                 WHERE idoc.issue_id::text = ANY(string_to_array($1, ','))",
                &[json!(doc_issues)],
            )
            .await;
        let docs = self
            .documents
            .iter()
            .filter(|(_, present)| **present)
            .map(|((issue, key), _)| {
                json!({"issue": format!("{{{issue}}}"), "key": key, "latest": 1, "revisions": 1, "last": 1})
            })
            .collect();
        check("documents", docs, rows);
        let blocked = issues(self.blockers.keys().collect());
        let rows = db
            .rows(
                "SELECT related_issue_id::text AS issue, issue_id::text AS blocker FROM issue_relations
                 WHERE type = 'blocks' AND related_issue_id::text = ANY(string_to_array($1, ','))",
                &[json!(blocked)],
            )
            .await;
        let relations = self
            .blockers
            .iter()
            .flat_map(|(issue, list)| {
                list.iter()
                    .map(move |b| json!({"issue": format!("{{{issue}}}"), "blocker": format!("{{{b}}}")}))
            })
            .collect();
        check("issue_relations", relations, rows);
        let rows = db
            .rows(
                "SELECT state_key, scope_kind, value_json FROM plugin_state WHERE plugin_id::text = $1",
                &[json!(plugin)],
            )
            .await;
        let state = self
            .state
            .iter()
            .filter_map(|(k, (kind, v))| {
                v.as_ref()
                    .map(|v| json!({"state_key": k, "scope_kind": kind, "value_json": v}))
            })
            .collect();
        check("plugin_state", state, rows);
        let rows = db
            .rows(
                "SELECT id::text AS issue, project_workspace_id::text AS workspace FROM issues
                 WHERE origin_kind = $1 OR origin_kind LIKE $2",
                &[
                    json!(format!("plugin:{key}")),
                    json!(format!("plugin:{key}:%")),
                ],
            )
            .await;
        let issues = self
            .issues
            .iter()
            .map(|(n, w)| {
                json!({"issue": format!("{{{n}}}"), "workspace": w.as_ref().map(|w| format!("{{{w}}}"))})
            })
            .collect();
        check("issues", issues, rows);
        out
    }
}

/// Rows in a stable order (their JSON text), for comparing multisets.
fn sorted(rows: &[Value]) -> Vec<Value> {
    let mut v = rows.to_vec();
    v.sort_by_key(|r| r.to_string());
    v
}
