//! Reading worker→host params the way the real host does: missing and
//! `null` are the same, ids that are not UUIDs fail with Postgres' own
//! wording, and list windows follow `parseWindowValue`/`applyWindow`.

use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};

/// A string param (`None` when missing or not a string).
pub fn s<'a>(p: &'a Value, key: &str) -> Option<&'a str> {
    p.get(key).and_then(Value::as_str)
}

/// The required `companyId` of a company-scoped method.
pub fn company(p: &Value) -> Result<Uuid> {
    match s(p, "companyId") {
        Some(c) if !c.is_empty() => Uuid::parse_str(c)
            .map_err(|_| Error::internal(format!("invalid input syntax for type uuid: \"{c}\""))),
        _ => Err(Error::internal("companyId is required for this operation")),
    }
}

/// An optional UUID param.
pub fn uuid_param(p: &Value, key: &str) -> Result<Option<Uuid>> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(v)) => Uuid::parse_str(v)
            .map(Some)
            .map_err(|_| Error::internal(format!("invalid input syntax for type uuid: \"{v}\""))),
        Some(other) => Err(Error::internal(format!("invalid uuid: {other}"))),
    }
}

/// JS `String(v)` of a param given as something else than a string
/// (`5` → `"5"`); `None` when missing or `null`.
pub fn js_string(p: &Value, key: &str) -> Option<String> {
    match p.get(key)? {
        Value::Null => None,
        Value::String(t) => Some(t.clone()),
        other => Some(other.to_string()),
    }
}

/// `raw.trim()` of a string param the host trims: a missing one and one
/// of another type fail the way JavaScript does.
pub fn trimmed<'a>(p: &'a Value, key: &str, var: &str) -> Result<&'a str> {
    match p.get(key) {
        Some(Value::String(t)) => Ok(t.trim()),
        None => Err(Error::internal(
            "Cannot read properties of undefined (reading 'trim')",
        )),
        Some(Value::Null) => Err(Error::internal(
            "Cannot read properties of null (reading 'trim')",
        )),
        Some(_) => Err(Error::internal(format!("{var}.trim is not a function"))),
    }
}

/// The ids a host iterates (`for (const id of value)`): an array's string
/// items, a string's characters; `None` when missing or `null`.
pub fn id_items(p: &Value, key: &str) -> Option<Vec<String>> {
    match p.get(key)? {
        Value::Null => None,
        Value::Array(a) => Some(
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
        ),
        Value::String(t) => Some(t.chars().map(String::from).collect()),
        _ => Some(Vec::new()),
    }
}

/// An optional array of UUIDs.
pub fn uuid_list(p: &Value, key: &str) -> Result<Option<Vec<Uuid>>> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                let t = v.as_str().unwrap_or_default();
                Uuid::parse_str(t).map_err(|_| {
                    Error::internal(format!("invalid input syntax for type uuid: \"{t}\""))
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(Error::internal(format!("{key} must be an array"))),
    }
}

/// The actor fields a mutation carries (`actorAgentId`, `actorUserId`,
/// `actorRunId`), recorded on activity rows as the initiator.
pub struct PluginActor {
    pub agent: Option<Uuid>,
    pub user: Option<String>,
    pub run: Option<String>,
}

impl PluginActor {
    pub fn from_params(p: &Value) -> Result<Self> {
        Ok(PluginActor {
            agent: uuid_param(p, "actorAgentId")?,
            user: s(p, "actorUserId").map(String::from),
            run: s(p, "actorRunId").map(String::from),
        })
    }

    pub fn none() -> Self {
        PluginActor {
            agent: None,
            user: None,
            run: None,
        }
    }
}

/// `parseWindowValue`: a finite number (or numeric string), floored, ≥ 0.
fn window_value(v: Option<&Value>) -> Option<usize> {
    let n = match v? {
        Value::Number(n) => n.as_f64()?,
        Value::String(t) if !t.trim().is_empty() => t.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    n.is_finite().then(|| n.floor().max(0.0) as usize)
}

/// `applyWindow`: `rows.slice(offset, offset + limit)`.
pub fn apply_window(rows: Vec<Value>, p: &Value) -> Vec<Value> {
    let offset = window_value(p.get("offset")).unwrap_or(0);
    let limit = window_value(p.get("limit")).unwrap_or(usize::MAX);
    rows.into_iter().skip(offset).take(limit).collect()
}

/// JS `s.slice(0, n)` (UTF-16 code units, never splitting a character here).
pub fn js_prefix(s: &str, n: usize) -> String {
    let mut units = 0;
    s.chars()
        .take_while(|c| {
            units += c.len_utf16();
            units <= n
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(json!({}), 0, 3)]
    #[case(json!({"limit": 2}), 0, 2)]
    #[case(json!({"limit": "1", "offset": 1}), 1, 1)]
    #[case(json!({"limit": 1.9, "offset": -4}), 0, 1)]
    #[case(json!({"limit": "x", "offset": 5}), 3, 0)]
    #[case(json!({"limit": true}), 0, 3)]
    fn windows(#[case] p: Value, #[case] first: usize, #[case] len: usize) {
        let rows: Vec<Value> = (0..3).map(|i| json!(i)).collect();
        let got = apply_window(rows, &p);
        assert_eq!(got.len(), len);
        if len > 0 {
            assert_eq!(got[0], json!(first));
        }
    }

    #[test]
    fn snippet_is_a_utf16_prefix() {
        assert_eq!(js_prefix("abcdef", 3), "abc");
        assert_eq!(js_prefix("ab😀c", 3), "ab");
        assert_eq!(js_prefix("ab😀c", 4), "ab😀");
        assert_eq!(js_prefix("ab", 120), "ab");
    }
}
