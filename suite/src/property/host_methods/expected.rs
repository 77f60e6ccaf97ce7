//! What the real hosts answer a worker→host call with `{}` params, by
//! method, fixture variant and host version profile (observed on every
//! published release from 2026.707.0 to 2026.916.1; docs/host-methods.md
//! lists it, docs/findings.md F28 says where the versions part).
//!
//! The host answers in a fixed order (contract-db-worker.md B1, B3), so most
//! of the table follows from three rules and only the handlers' own answers
//! are data:
//! 1. a method the host's version does not declare: `-32601`
//!    `Host does not handle method "<m>"`;
//! 2. a gated method whose capability the plugin lacks: `-32001`
//!    `Plugin "<id>" is missing required capability "<cap>" for method "<m>"`;
//! 3. otherwise the handler's answer to `{}` ([`handler`]): the empty params
//!    name no company, so the invocation-scope gate lets every call through.

use serde_json::{json, Value};

use super::fixture::{capabilities, Variant};
use super::methods::{HostMethod, Since};
use crate::profile::{CompanyGetWithoutId, Profile};
use crate::property::shapes::without_timestamps;

/// One answer as the worker saw it, ids replaced by placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The call succeeded with this result.
    Ok(Value),
    /// The JSON-RPC error.
    Err { code: i64, message: String },
}

impl Answer {
    /// From the worker's `{ok}` / `{error: {code, message}}`, with each
    /// `(value, placeholder)` replaced in messages.
    pub fn from_wire(wire: &Value, placeholders: &[(&str, &str)]) -> Answer {
        match wire.get("error") {
            Some(error) => {
                let mut message = error["message"]
                    .as_str()
                    .map(String::from)
                    .unwrap_or_else(|| error["message"].to_string());
                for (value, placeholder) in placeholders {
                    if !value.is_empty() {
                        message = message.replace(value, placeholder);
                    }
                }
                message = without_timestamps(&message);
                Answer::Err {
                    code: error["code"].as_i64().unwrap_or_default(),
                    message,
                }
            }
            None => Answer::Ok(wire.get("ok").cloned().unwrap_or(Value::Null)),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Answer::Ok(v) => json!({ "ok": v }),
            Answer::Err { code, message } => json!({ "code": code, "message": message }),
        }
    }
}

/// What a call must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Success, any result (the result is the host's data).
    Ok,
    /// Success with exactly this result.
    OkValue(Value),
    /// Exactly this error.
    Err { code: i64, message: String },
    /// Not compared: the answer depends on the host's data or state.
    Skip,
}

impl Expect {
    pub fn matches(&self, answer: &Answer) -> bool {
        match (self, answer) {
            (Expect::Skip, _) => true,
            (Expect::Ok, Answer::Ok(_)) => true,
            (Expect::OkValue(want), Answer::Ok(got)) => want == got,
            (
                Expect::Err { code, message },
                Answer::Err {
                    code: c,
                    message: m,
                },
            ) => code == c && message == m,
            _ => false,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Expect::Ok => json!({ "ok": "$any" }),
            Expect::OkValue(v) => json!({ "ok": v }),
            Expect::Err { code, message } => json!({ "code": code, "message": message }),
            Expect::Skip => json!("not compared"),
        }
    }

    fn err(code: i64, message: impl Into<String>) -> Expect {
        Expect::Err {
            code,
            message: message.into(),
        }
    }
}

/// `-32601`, the answer for a method the host has no handler for.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// `-32001`, the capability gate.
pub const CAPABILITY_DENIED: i64 = -32001;
/// `-32603`, a handler that threw without a plugin error code.
pub const INTERNAL_ERROR: i64 = -32603;

/// The newest methods a host of `profile` serves (the mock answers as
/// 2026.707.0 does).
pub fn served(profile: &Profile) -> Since {
    if profile.interaction_and_approval_methods {
        Since::V817
    } else {
        Since::V707
    }
}

/// The expected answer of `method` called with `{}` through `variant` on a
/// host of `profile`.
pub fn expect(method: &HostMethod, variant: Variant, profile: &Profile) -> Expect {
    let version = served(profile);
    if method.since > version {
        return Expect::err(
            METHOD_NOT_FOUND,
            format!("Host does not handle method \"{}\"", method.name),
        );
    }
    if let Some(cap) = method.capability {
        if !capabilities(variant, version).contains(&cap) {
            return Expect::err(
                CAPABILITY_DENIED,
                format!(
                    "Plugin \"{{pluginId}}\" is missing required capability \"{cap}\" for method \"{}\"",
                    method.name
                ),
            );
        }
    }
    handler(method.name, variant, profile)
}

/// `ensureCompanyId`: the first thing most handlers do.
const COMPANY_REQUIRED: &str = "companyId is required for this operation";
/// A plugin without a `database` declaration asks `db.*` anything.
const NO_NAMESPACE: &str = "Plugin database namespace is not active";
/// `db.query`/`db.execute` read `sql.length` of the missing `sql`.
const NO_SQL: &str = "Cannot read properties of undefined (reading 'length')";
const NOT_DECLARED: &str = "Local folder key is not declared by this plugin manifest";
const TELEMETRY_NAME: &str =
    "Plugin telemetry event names must be lowercase slugs using letters, numbers, \"_\" or \"-\".";
/// The query builder's failure texts for the `undefined` keys, the same on
/// every version but `companies.get`'s: its query gained a column in
/// 2026.817.0, and from 824.0 it is not run at all (the answer is `null`).
pub const COMPANIES_GET_707: &str = r#"Failed query: select "companies"."id", "companies"."name", "companies"."description", "companies"."status", "companies"."issue_prefix", "companies"."issue_counter", "companies"."budget_monthly_cents", "companies"."spent_monthly_cents", "companies"."attachment_max_bytes", "companies"."default_responsible_user_id", "companies"."require_board_approval_for_new_agents", "companies"."feedback_data_sharing_enabled", "companies"."feedback_data_sharing_consent_at", "companies"."feedback_data_sharing_consent_by_user_id", "companies"."feedback_data_sharing_terms_version", "companies"."brand_color", "company_logos"."asset_id", "companies"."created_at", "companies"."updated_at" from "companies" left join "company_logos" on "company_logos"."company_id" = "companies"."id" where "companies"."id" = $1
params: "#;
pub const COMPANIES_GET_817: &str = r#"Failed query: select "companies"."id", "companies"."name", "companies"."description", "companies"."status", "companies"."issue_prefix", "companies"."issue_counter", "companies"."budget_monthly_cents", "companies"."spent_monthly_cents", "companies"."attachment_max_bytes", "companies"."default_responsible_user_id", "companies"."require_board_approval_for_new_agents", "companies"."interaction_resolver_governance", "companies"."feedback_data_sharing_enabled", "companies"."feedback_data_sharing_consent_at", "companies"."feedback_data_sharing_consent_by_user_id", "companies"."feedback_data_sharing_terms_version", "companies"."brand_color", "company_logos"."asset_id", "companies"."created_at", "companies"."updated_at" from "companies" left join "company_logos" on "company_logos"."company_id" = "companies"."id" where "companies"."id" = $1
params: "#;
pub const STATE_GET: &str = r#"Failed query: select "id", "plugin_id", "scope_kind", "scope_id", "namespace", "state_key", "value_json", "updated_at" from "plugin_state" where ("plugin_state"."plugin_id" = $1 and "plugin_state"."scope_kind" = $2 and "plugin_state"."namespace" = $3 and "plugin_state"."state_key" = $4 and "plugin_state"."scope_id" is null)
params: {pluginId},,default,"#;
pub const STATE_SET: &str = r#"Failed query: insert into "plugin_state" ("id", "plugin_id", "scope_kind", "scope_id", "namespace", "state_key", "value_json", "updated_at") values (default, $1, default, $2, $3, default, default, $4) on conflict ("plugin_id","scope_kind","scope_id","namespace","state_key") do update set "updated_at" = $5
params: {pluginId},,default,{timestamp},{timestamp}"#;
pub const STATE_DELETE: &str = r#"Failed query: delete from "plugin_state" where ("plugin_state"."plugin_id" = $1 and "plugin_state"."scope_kind" = $2 and "plugin_state"."namespace" = $3 and "plugin_state"."state_key" = $4 and "plugin_state"."scope_id" is null)
params: {pluginId},,default,"#;
pub const ENTITIES_UPSERT: &str = r#"Failed query: select "id", "plugin_id", "company_id", "entity_type", "scope_kind", "scope_id", "external_id", "title", "status", "data", "created_at", "updated_at" from "plugin_entities" where ("plugin_entities"."company_id" is null and "plugin_entities"."plugin_id" = $1 and "plugin_entities"."entity_type" = $2 and "plugin_entities"."external_id" = $3)
params: {pluginId},,"#;

/// The handler's own answer to `{}`, once both gates let the call through.
fn handler(method: &str, variant: Variant, profile: &Profile) -> Expect {
    let internal = |m: &str| Expect::err(INTERNAL_ERROR, m);
    match method {
        // Data of the host: that they succeed is the rule.
        "companies.list" => Expect::Ok,
        "db.namespace" if variant == Variant::Database => Expect::Ok,
        "config.get" => Expect::OkValue(json!({})),
        "localFolders.declarations" | "entities.list" => Expect::OkValue(json!([])),
        "events.subscribe" | "log" | "metrics.write" | "span.record" => Expect::OkValue(Value::Null),
        "companies.get" => match profile.company_get_without_id {
            CompanyGetWithoutId::QueryFails => internal(COMPANIES_GET_707),
            CompanyGetWithoutId::QueryFailsWithGovernance => internal(COMPANIES_GET_817),
            CompanyGetWithoutId::Null => Expect::OkValue(Value::Null),
        },
        "db.namespace" | "db.query" | "db.execute" if variant != Variant::Database => {
            internal(NO_NAMESPACE)
        }
        "db.query" | "db.execute" => internal(NO_SQL),
        "events.emit" => internal("Plugin \"{pluginKey}\" must provide a non-empty event name."),
        "http.fetch" => internal("Invalid URL: undefined"),
        "secrets.resolve" if !profile.secret_ref_error_shows_shape => {
            internal("Invalid secret reference: <empty>")
        }
        "secrets.resolve" => internal(
            "Invalid secret reference for plugin: <empty>. Use { type: \"secret_ref\", secretId, version? }",
        ),
        "telemetry.track" => internal(TELEMETRY_NAME),
        "localFolders.status" | "localFolders.list" | "localFolders.readText" => {
            internal(NOT_DECLARED)
        }
        "state.get" => internal(STATE_GET),
        "state.set" => internal(STATE_SET),
        "state.delete" => internal(STATE_DELETE),
        "entities.upsert" => internal(ENTITIES_UPSERT),
        // Every other handler starts with `ensureCompanyId`.
        _ => internal(COMPANY_REQUIRED),
    }
}

#[cfg(test)]
mod tests {
    use super::super::methods::METHODS;
    use super::*;
    use crate::profile::{for_version, PROFILE_707, PROFILE_916};

    fn method(name: &str) -> &'static HostMethod {
        METHODS.iter().find(|m| m.name == name).unwrap()
    }

    #[test]
    fn timestamps_become_placeholders() {
        assert_eq!(
            without_timestamps("p: x,2026-12-07T04:30:43.774Z,2026-12-07T04:30:43.777Z é"),
            "p: x,{timestamp},{timestamp} é"
        );
    }

    #[test]
    fn rules_apply_in_the_hosts_order() {
        // Not declared before 916: not found, whatever the capabilities.
        let e = expect(
            method("approvals.list"),
            Variant::NoCapabilities,
            &PROFILE_707,
        );
        assert!(matches!(
            e,
            Expect::Err {
                code: METHOD_NOT_FOUND,
                ..
            }
        ));
        // Capability before the handler.
        let e = expect(method("projects.list"), Variant::Database, &PROFILE_916);
        assert!(matches!(
            e,
            Expect::Err {
                code: CAPABILITY_DENIED,
                ..
            }
        ));
        // Ungated: the handler answers for every variant.
        for v in Variant::ALL {
            assert_eq!(
                expect(method("entities.list"), v, &PROFILE_707),
                Expect::OkValue(json!([]))
            );
        }
        assert_eq!(
            expect(method("db.query"), Variant::All, &PROFILE_707),
            Expect::err(INTERNAL_ERROR, NO_NAMESPACE)
        );
        assert_eq!(
            expect(method("goals.create"), Variant::All, &PROFILE_916),
            Expect::err(INTERNAL_ERROR, COMPANY_REQUIRED)
        );
    }

    /// Where the published versions part (docs/findings.md F28): each row is
    /// a version and what it answers for the three calls that change.
    #[test]
    fn versions_part_where_they_were_pinned() {
        let not_found = Expect::err(
            METHOD_NOT_FOUND,
            "Host does not handle method \"approvals.list\"",
        );
        let company = Expect::err(INTERNAL_ERROR, COMPANY_REQUIRED);
        let old_secret = Expect::err(INTERNAL_ERROR, "Invalid secret reference: <empty>");
        let rows = [
            ("2026.707.0", &not_found, COMPANIES_GET_707, true),
            ("2026.722.0", &not_found, COMPANIES_GET_707, false),
            ("2026.817.0", &company, COMPANIES_GET_817, false),
            ("2026.824.0", &company, "", false),
            ("2026.916.1", &company, "", false),
        ];
        for (version, approvals, companies_get, old_secrets) in rows {
            let p = for_version(Some(version));
            let call = |m| expect(method(m), Variant::All, p);
            assert_eq!(&call("approvals.list"), approvals, "{version}");
            let want = if companies_get.is_empty() {
                Expect::OkValue(Value::Null)
            } else {
                Expect::err(INTERNAL_ERROR, companies_get)
            };
            assert_eq!(call("companies.get"), want, "{version}");
            assert_eq!(
                call("secrets.resolve") == old_secret,
                old_secrets,
                "{version}"
            );
        }
    }

    #[test]
    fn wire_answers_are_read_with_placeholders() {
        let wire = json!({"error": {"code": -32001, "message": "Plugin \"p-1\" is missing"}});
        assert_eq!(
            Answer::from_wire(&wire, &[("p-1", "{pluginId}")]),
            Answer::Err {
                code: -32001,
                message: "Plugin \"{pluginId}\" is missing".into()
            }
        );
        assert_eq!(
            Answer::from_wire(&json!({"ok": null}), &[]),
            Answer::Ok(Value::Null)
        );
    }
}
