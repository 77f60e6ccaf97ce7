//! Comparing two hosts' host-service answers call by call.
//!
//! The `host-services` check records every call it made and what came back
//! (`details.answers`: `{call, answer}`, ids already replaced by the names
//! the check gave them). Both hosts get the same calls in the same order, so
//! the lists must pair up label by label. For each pair:
//!
//! - an error (`{error: {code, message}}`) must be the same code and, after
//!   [`normalize`], the same message;
//! - a result (`{ok: …}`) must have the same *shape*: the same keys with
//!   values of the same JSON types, recursively, arrays by the shapes their
//!   elements take. The values themselves are the check's model's business:
//!   calls of one phase go out concurrently, so a list or subtree may see a
//!   sibling call's write on one host and not on the other, and issue
//!   numbers follow the order the writes landed in.
//!
//! Left out on both sides: fields the real host derives and the mock host
//! does not ([`NOT_DERIVED_BY_THE_MOCK`], each listed in mock-host/README.md).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::compare::normalize;

/// Derived fields the mock host does not compute, with why they are left out.
pub const NOT_DERIVED_BY_THE_MOCK: &[(&str, &str)] = &[
    (
        "orgChainHealth",
        "agents: the reporting chain's health summary",
    ),
    (
        "blockerAttention",
        "issue lists: the blockers' attention summary",
    ),
    (
        "terminalBlockers",
        "relations: the blockers' own unresolved blockers",
    ),
];

/// Differences between the `details.answers` of check `id` in two reports'
/// entries `left` and `right`, one line each.
pub fn answer_differences(
    id: &str,
    left_name: &str,
    left: &Value,
    right_name: &str,
    right: &Value,
) -> Vec<String> {
    let answers = |c: &Value| c["details"]["answers"].as_array().cloned();
    let (Some(l), Some(r)) = (answers(left), answers(right)) else {
        return Vec::new();
    };
    let mut diffs = Vec::new();
    if l.len() != r.len() {
        diffs.push(format!(
            "{id}: {} host calls answered in {left_name}, {} in {right_name}",
            l.len(),
            r.len()
        ));
    }
    for (a, b) in l.iter().zip(&r) {
        let call = a["call"].as_str().unwrap_or_default();
        if a["call"] != b["call"] {
            diffs.push(format!(
                "{id}: the calls differ in order: {left_name} {call}, {right_name} {}",
                b["call"]
            ));
            break;
        }
        if let Some(difference) = one_answer(&a["answer"], &b["answer"]) {
            diffs.push(format!(
                "{id}: {call}: {difference} ({left_name} {}, {right_name} {})",
                clip(&a["answer"]),
                clip(&b["answer"])
            ));
        }
    }
    diffs
}

/// Why two answers to the same call differ, if they do.
fn one_answer(a: &Value, b: &Value) -> Option<String> {
    match (a.get("error"), b.get("error")) {
        (Some(x), Some(y)) => (normalize(x) != normalize(y)).then(|| "the errors differ".into()),
        (None, None) => {
            let (x, y) = (shape(&a["ok"]), shape(&b["ok"]));
            (x != y).then(|| format!("the results differ in shape: {}", first_gap(&x, &y)))
        }
        _ => Some("one host answered an error, the other a result".into()),
    }
}

/// A value's shape: its JSON type, with object keys and array elements'
/// shapes (each distinct shape once, in order).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    Null,
    Bool,
    Number,
    String,
    Array(Vec<Shape>),
    Object(BTreeMap<String, Shape>),
}

pub fn shape(value: &Value) -> Shape {
    match value {
        Value::Null => Shape::Null,
        Value::Bool(_) => Shape::Bool,
        Value::Number(_) => Shape::Number,
        Value::String(_) => Shape::String,
        Value::Array(items) => {
            let mut shapes: Vec<Shape> = items.iter().map(shape).collect();
            shapes.sort();
            shapes.dedup();
            Shape::Array(shapes)
        }
        Value::Object(map) => Shape::Object(
            map.iter()
                .filter(|(k, _)| !NOT_DERIVED_BY_THE_MOCK.iter().any(|(f, _)| f == k))
                .map(|(k, v)| (k.clone(), shape(v)))
                .collect(),
        ),
    }
}

/// The first key or type where two shapes part, as a path.
fn first_gap(a: &Shape, b: &Shape) -> String {
    fn walk(a: &Shape, b: &Shape, path: &str) -> Option<String> {
        match (a, b) {
            (Shape::Object(x), Shape::Object(y)) => {
                for key in x.keys().chain(y.keys()) {
                    let here = format!("{path}.{key}");
                    match (x.get(key), y.get(key)) {
                        (Some(p), Some(q)) => {
                            if let Some(gap) = walk(p, q, &here) {
                                return Some(gap);
                            }
                        }
                        (Some(_), None) => return Some(format!("{here} only on the left")),
                        (None, Some(_)) => return Some(format!("{here} only on the right")),
                        (None, None) => {}
                    }
                }
                None
            }
            (Shape::Array(x), Shape::Array(y)) if x.len() == 1 && y.len() == 1 => {
                walk(&x[0], &y[0], &format!("{path}[]"))
            }
            _ => (a != b).then(|| format!("{path}: {} vs {}", name(a), name(b))),
        }
    }
    walk(a, b, "ok").unwrap_or_else(|| "ok".into())
}

fn name(s: &Shape) -> String {
    match s {
        Shape::Null => "null".into(),
        Shape::Bool => "boolean".into(),
        Shape::Number => "number".into(),
        Shape::String => "string".into(),
        Shape::Array(items) => format!("array of {} shape(s)", items.len()),
        Shape::Object(_) => "object".into(),
    }
}

fn clip(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(answers: Value) -> Value {
        json!({"details": {"answers": answers}})
    }

    #[test]
    fn answers_agree_on_errors_and_shapes_and_differ_otherwise() {
        let left = check(json!([
            {"call": "issues.get (x)", "answer": {"ok": {"id": "{x}", "title": "a", "watchdog": null}}},
            {"call": "issues.get (y)", "answer": {"error": {"code": -32603, "message": "Issue not found"}}},
        ]));
        let same = check(json!([
            {"call": "issues.get (x)", "answer": {"ok": {"id": "{x}", "title": "b", "watchdog": null, "orgChainHealth": {}}}},
            {"call": "issues.get (y)", "answer": {"error": {"code": -32603, "message": "Issue not found"}}},
        ]));
        assert!(answer_differences("host-services", "real", &left, "mock", &same).is_empty());
        let other = check(json!([
            {"call": "issues.get (x)", "answer": {"ok": {"id": "{x}", "title": "a"}}},
            {"call": "issues.get (y)", "answer": {"error": {"code": -32001, "message": "Issue not found"}}},
        ]));
        let diffs = answer_differences("host-services", "real", &left, "mock", &other);
        assert_eq!(diffs.len(), 2, "{diffs:?}");
        assert!(
            diffs[0].contains("ok.watchdog only on the left"),
            "{diffs:?}"
        );
        assert!(diffs[1].contains("the errors differ"), "{diffs:?}");
        let typed = check(json!([
            {"call": "issues.get (x)", "answer": {"ok": {"id": "{x}", "title": "a", "watchdog": "x"}}},
            {"call": "issues.get (y)", "answer": {"ok": null}},
        ]));
        let diffs = answer_differences("host-services", "real", &left, "mock", &typed);
        assert!(
            diffs[0].contains("ok.watchdog: null vs string"),
            "{diffs:?}"
        );
        assert!(
            diffs[1].contains("an error, the other a result"),
            "{diffs:?}"
        );
    }
}
