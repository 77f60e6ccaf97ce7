//! One host call of the `host-services` check: the method, the params, the
//! fixture it goes through, what the answer must be and the rows it must
//! leave; and the two things every comparison needs — ids turned into names
//! (`{companyA}`, `{root}`, …) and a matcher for answers whose other fields
//! are the host's own data.

use serde_json::{json, Value};

use super::rows::Effect;
use crate::property::host_methods::fixture::Variant;

/// Why a case is in the run; the report counts cases per method and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Valid params in the invocation's company.
    Valid,
    /// Missing, mistyped or unknown params (ids, keys, cycles, origins).
    Invalid,
    /// Valid params through the fixture without capabilities.
    CapabilityDenied,
    /// Ids of company B, or company B named inside an invocation of A.
    OtherCompany,
    /// Drawn from the run's seed (`--cases`).
    Drawn,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Valid => "valid",
            Kind::Invalid => "invalid",
            Kind::CapabilityDenied => "capability-denied",
            Kind::OtherCompany => "other-company",
            Kind::Drawn => "drawn",
        }
    }
}

/// What a call must answer, in names (ids replaced, see [`super::names::Names`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// Success whose result [`matches`] this pattern.
    Ok(Value),
    /// Exactly this JSON-RPC error.
    Err { code: i64, message: String },
}

impl Want {
    pub fn err(code: i64, message: impl Into<String>) -> Want {
        Want::Err {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Want::Ok(v) => json!({ "ok": v }),
            Want::Err { code, message } => json!({ "code": code, "message": message }),
        }
    }

    /// Whether `answer` (`{ok}` or `{error: {code, message}}`, named) is this.
    pub fn matches(&self, answer: &Value) -> bool {
        match (self, answer.get("error")) {
            (Want::Ok(pattern), None) => matches(pattern, answer.get("ok").unwrap_or(&Value::Null)),
            (Want::Err { code, message }, Some(e)) => {
                e["code"].as_i64() == Some(*code) && e["message"].as_str() == Some(message)
            }
            _ => false,
        }
    }
}

/// One call.
#[derive(Debug, Clone)]
pub struct Case {
    pub method: &'static str,
    pub label: String,
    pub kind: Kind,
    pub variant: Variant,
    pub params: Value,
    pub want: Want,
    /// A name for the id of the result (`ok.id`), for later calls and rows.
    pub bind: Option<String>,
    /// The rows the call leaves when it answers as it must.
    pub effects: Vec<Effect>,
    /// The JSON-RPC method sent, when it is not [`Case::method`] (a
    /// misspelling, counted under the method it misspells).
    pub wire: Option<&'static str>,
}

impl Case {
    pub fn new(method: &'static str, label: impl Into<String>, kind: Kind, params: Value) -> Case {
        Case {
            method,
            label: label.into(),
            kind,
            variant: Variant::All,
            params,
            want: Want::Ok(json!("$any")),
            bind: None,
            effects: Vec::new(),
            wire: None,
        }
    }

    pub fn ok(mut self, pattern: Value) -> Case {
        self.want = Want::Ok(pattern);
        self
    }

    pub fn err(mut self, code: i64, message: impl Into<String>) -> Case {
        self.want = Want::err(code, message);
        self
    }

    pub fn via(mut self, variant: Variant) -> Case {
        self.variant = variant;
        self
    }

    /// Sends `wire` as the method name instead.
    pub fn sent_as(mut self, wire: &'static str) -> Case {
        self.wire = Some(wire);
        self
    }

    pub fn bind(mut self, name: &str) -> Case {
        self.bind = Some(name.to_string());
        self
    }

    pub fn leaves(mut self, effect: Effect) -> Case {
        self.effects.push(effect);
        self
    }

    /// `method (label)`, as failures name the call.
    pub fn title(&self) -> String {
        format!("{} ({})", self.method, self.label)
    }
}

/// Whether `got` fits `pattern`: objects by the pattern's keys (others are
/// the host's data), arrays element by element, `"$any"`, `"$uuid"`,
/// `"$string"` and `"$array"` as wildcards, `{"$set": […]}` for an array in
/// any order and `{"$contains": […]}` for an array holding at least those.
pub fn matches(pattern: &Value, got: &Value) -> bool {
    match pattern {
        Value::String(s) if s == "$any" => true,
        Value::String(s) if s == "$uuid" => {
            got.as_str().is_some_and(|g| g == "{uuid}" || is_uuid(g))
        }
        Value::String(s) if s == "$string" => got.is_string(),
        Value::String(s) if s == "$array" => got.is_array(),
        Value::Object(o) if o.contains_key("$set") => {
            let (Some(want), Some(items)) = (o["$set"].as_array(), got.as_array()) else {
                return false;
            };
            want.len() == items.len() && contains_all(want, items)
        }
        Value::Object(o) if o.contains_key("$contains") => {
            let (Some(want), Some(items)) = (o["$contains"].as_array(), got.as_array()) else {
                return false;
            };
            contains_all(want, items)
        }
        Value::Object(o) => {
            let Some(g) = got.as_object() else {
                return false;
            };
            o.iter()
                .all(|(k, v)| matches(v, g.get(k).unwrap_or(&Value::Null)))
        }
        Value::Array(a) => got
            .as_array()
            .is_some_and(|g| g.len() == a.len() && a.iter().zip(g).all(|(p, v)| matches(p, v))),
        other => other == got,
    }
}

/// Each pattern of `want` fits a distinct item of `items`.
fn contains_all(want: &[Value], items: &[Value]) -> bool {
    let mut used = vec![false; items.len()];
    want.iter().all(|p| {
        let hit = items
            .iter()
            .enumerate()
            .find(|(i, v)| !used[*i] && matches(p, v));
        match hit {
            Some((i, _)) => {
                used[i] = true;
                true
            }
            None => false,
        }
    })
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok() && s.len() == 36
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_what_they_say() {
        let got = json!({"id": "0eed70df-2801-4e56-ad75-4233591f97b8", "list": [1, 2, 3], "x": 1});
        assert!(matches(
            &json!({"id": "$uuid", "list": {"$set": [3, 1, 2]}}),
            &got
        ));
        assert!(matches(&json!({"list": {"$contains": [2]}}), &got));
        assert!(!matches(&json!({"list": [1, 2]}), &got));
        assert!(!matches(&json!({"missing": 1}), &got));
        assert!(matches(&json!({"missing": null}), &got));
    }

    #[test]
    fn errors_match_code_and_message() {
        let want = Want::err(-32603, "Issue not found");
        assert!(want.matches(&json!({"error": {"code": -32603, "message": "Issue not found"}})));
        assert!(!want.matches(&json!({"error": {"code": -32001, "message": "Issue not found"}})));
        assert!(!want.matches(&json!({"ok": null})));
    }
}
