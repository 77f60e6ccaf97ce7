//! `activity_log` writes, with the real host's redaction of `details`
//! (contract-http.md §8.1): secret-looking keys and JWT-looking strings
//! (which includes semver strings and 3–4 segment dotted keys) become
//! `***REDACTED***`.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::Result;

pub const REDACTED: &str = "***REDACTED***";

fn secret_key() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(r"(?i)(api[-_]?key|access[-_]?token|auth(?:_?token)?|authorization|bearer|secret|passwd|password|credential|jwt|private[-_]?key|cookie|connectionstring)")
            .expect("static regex")
    })
}

fn jwt_like() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| Regex::new(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+){2,3}$").expect("static regex"))
}

/// `sanitizeRecord`: object values only; strings inside arrays are kept.
pub fn sanitize(details: Value) -> Value {
    match details {
        Value::Object(map) => Value::Object(sanitize_map(map)),
        other => other,
    }
}

fn sanitize_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .map(|(k, v)| {
            let v = if secret_key().is_match(&k) && !v.is_null() {
                Value::String(REDACTED.into())
            } else {
                match v {
                    Value::String(s) if jwt_like().is_match(&s) => Value::String(REDACTED.into()),
                    Value::Object(m) => Value::Object(sanitize_map(m)),
                    Value::Array(a) => Value::Array(
                        a.into_iter()
                            .map(|x| match x {
                                Value::Object(m) => Value::Object(sanitize_map(m)),
                                other => other,
                            })
                            .collect(),
                    ),
                    other => other,
                }
            };
            (k, v)
        })
        .collect()
}

/// One activity row.
pub struct Activity<'a> {
    pub company_id: Uuid,
    pub actor_type: &'a str,
    pub actor_id: &'a str,
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub agent_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub details: Value,
}

pub async fn log(client: &impl crate::db::Db, a: Activity<'_>) -> Result<()> {
    let details = sanitize(a.details);
    client
        .execute(
            "INSERT INTO activity_log (company_id, actor_type, actor_id, action, entity_type, entity_id, agent_id, run_id, details)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &a.company_id,
                &a.actor_type,
                &a.actor_id,
                &a.action,
                &a.entity_type,
                &a.entity_id,
                &a.agent_id,
                &a.run_id,
                &details,
            ],
        )
        .await?;
    Ok(())
}

/// A run id as the FK column takes it: a non-UUID value cannot reference a
/// run, so it makes the write fail like the real host's insert does.
pub fn run_uuid(run_id: Option<&str>) -> Result<Option<Uuid>> {
    match run_id {
        None => Ok(None),
        Some(s) => Uuid::parse_str(s).map(Some).map_err(|_| {
            crate::error::Error::internal(format!("invalid input syntax for type uuid: \"{s}\""))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_semver_and_secret_keys() {
        let d = sanitize(
            json!({"version": "0.1.0", "pluginKey": "conformance.orchestration-smoke",
            "apiKey": "x", "nested": {"k": "a.b.c"}, "list": ["1.0.0"]}),
        );
        assert_eq!(
            d,
            json!({"version": REDACTED, "pluginKey": "conformance.orchestration-smoke",
            "apiKey": REDACTED, "nested": {"k": REDACTED}, "list": ["1.0.0"]})
        );
    }
}
