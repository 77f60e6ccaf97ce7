//! Comparing an actual JSON value with a scenario's expectation.
//!
//! Expectations are *subsets*: an expected object names the keys that must be
//! present and match; other keys of the actual object are ignored. Arrays
//! match element by element and must have the same length. Strings starting
//! with `$` are matchers:
//!
//! | matcher | matches |
//! |---|---|
//! | `$any` | anything, including a missing key |
//! | `$present` | any value, but the key must exist |
//! | `$absent` | the key must not exist |
//! | `$null` | JSON `null` (TOML has no null) |
//! | `$uuid` | a UUID string |
//! | `$string`, `$number`, `$bool`, `$array`, `$object` | a value of that JSON type |
//! | `$nonempty` | a non-empty string, array or object |
//! | `$$…` | the literal string `$…` |
//!
//! Single-key objects whose key starts with `$` are operators:
//! `{"$exact": v}` (equality, no extra keys), `{"$len": n}`,
//! `{"$contains": [..]}` (every listed item matches some element),
//! `{"$all": [..]}` (exactly these elements, in any order),
//! `{"$one_of": [..]}` (matches any alternative), `{"$not": v}`.

use serde_json::Value;

/// Why a value did not match, with the JSON pointer of the first difference.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "at {path}: {}", self.message)
    }
}

/// Matches `actual` against `expected`; `actual` is `None` for a missing key.
pub fn matches(expected: &Value, actual: Option<&Value>) -> Result<(), Mismatch> {
    check(expected, actual, String::new())
}

fn fail(path: &str, message: String) -> Result<(), Mismatch> {
    Err(Mismatch {
        path: path.to_string(),
        message,
    })
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "nothing (key missing)".into(),
        Some(v) => crate::exchange::compact(v, 300),
    }
}

fn show_json(v: Option<&Value>) -> String {
    match v {
        None => "nothing (key missing)".into(),
        Some(v) => crate::health::truncate(&v.to_string(), 300),
    }
}

fn check(expected: &Value, actual: Option<&Value>, path: String) -> Result<(), Mismatch> {
    match expected {
        Value::String(s) if s.starts_with('$') => check_matcher(s, actual, &path),
        Value::Object(map)
            if map.len() == 1 && map.keys().next().is_some_and(|k| k.starts_with('$')) =>
        {
            let (op, arg) = map.iter().next().expect("one entry");
            check_operator(op, arg, actual, &path)
        }
        Value::Object(map) => {
            let Some(Value::Object(actual_map)) = actual else {
                return fail(
                    &path,
                    format!("expected an object, got {}", show_json(actual)),
                );
            };
            for (k, v) in map {
                check(
                    v,
                    actual_map.get(k),
                    format!("{path}/{}", escape_pointer(k)),
                )?;
            }
            Ok(())
        }
        Value::Array(items) => {
            let Some(Value::Array(actual_items)) = actual else {
                return fail(
                    &path,
                    format!("expected an array, got {}", show_json(actual)),
                );
            };
            if items.len() != actual_items.len() {
                return fail(
                    &path,
                    format!(
                        "expected {} element(s), got {}: {}",
                        items.len(),
                        actual_items.len(),
                        show_json(actual)
                    ),
                );
            }
            for (i, (e, a)) in items.iter().zip(actual_items).enumerate() {
                check(e, Some(a), format!("{path}/{i}"))?;
            }
            Ok(())
        }
        Value::Number(n) => match actual {
            Some(Value::Number(m)) if n.as_f64() == m.as_f64() => Ok(()),
            other => fail(&path, format!("expected {n}, got {}", show_json(other))),
        },
        scalar => {
            if actual == Some(scalar) {
                Ok(())
            } else {
                fail(
                    &path,
                    format!("expected {}, got {}", scalar, show_json(actual)),
                )
            }
        }
    }
}

fn check_matcher(m: &str, actual: Option<&Value>, path: &str) -> Result<(), Mismatch> {
    if let Some(literal) = m.strip_prefix("$$") {
        let want = format!("${literal}");
        return match actual {
            Some(Value::String(s)) if *s == want => Ok(()),
            other => fail(
                path,
                format!("expected \"{want}\", got {}", show_json(other)),
            ),
        };
    }
    let ok = match m {
        "$any" => true,
        "$present" => actual.is_some(),
        "$absent" => actual.is_none(),
        "$null" => matches!(actual, Some(Value::Null)),
        "$uuid" => matches!(actual, Some(Value::String(s)) if uuid::Uuid::parse_str(s).is_ok()),
        "$string" => matches!(actual, Some(Value::String(_))),
        "$number" => matches!(actual, Some(Value::Number(_))),
        "$bool" => matches!(actual, Some(Value::Bool(_))),
        "$array" => matches!(actual, Some(Value::Array(_))),
        "$object" => matches!(actual, Some(Value::Object(_))),
        "$nonempty" => match actual {
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            _ => false,
        },
        other => return fail(path, format!("unknown matcher '{other}' in the scenario")),
    };
    if ok {
        Ok(())
    } else {
        fail(path, format!("expected {m}, got {}", show(actual)))
    }
}

fn check_operator(
    op: &str,
    arg: &Value,
    actual: Option<&Value>,
    path: &str,
) -> Result<(), Mismatch> {
    match op {
        "$exact" => {
            if actual == Some(arg) {
                Ok(())
            } else {
                fail(
                    path,
                    format!("expected exactly {}, got {}", arg, show_json(actual)),
                )
            }
        }
        "$len" => {
            let len = match actual {
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                Some(Value::String(s)) => s.chars().count(),
                other => {
                    return fail(
                        path,
                        format!("expected something with a length, got {}", show_json(other)),
                    )
                }
            };
            if arg.as_u64() == Some(len as u64) {
                Ok(())
            } else {
                fail(
                    path,
                    format!("expected length {arg}, got {len}: {}", show_json(actual)),
                )
            }
        }
        "$contains" => {
            let Some(Value::Array(actual_items)) = actual else {
                return fail(
                    path,
                    format!("expected an array, got {}", show_json(actual)),
                );
            };
            let wanted = match arg {
                Value::Array(w) => w.clone(),
                single => vec![single.clone()],
            };
            for w in &wanted {
                if !actual_items.iter().any(|a| matches(w, Some(a)).is_ok()) {
                    return fail(
                        path,
                        format!("no element matches {w}; elements: {}", show_json(actual)),
                    );
                }
            }
            Ok(())
        }
        "$all" => {
            let Some(Value::Array(actual_items)) = actual else {
                return fail(
                    path,
                    format!("expected an array, got {}", show_json(actual)),
                );
            };
            let Value::Array(wanted) = arg else {
                return fail(path, "$all needs an array".into());
            };
            if wanted.len() != actual_items.len() {
                return fail(
                    path,
                    format!(
                        "expected {} element(s) in any order, got {}: {}",
                        wanted.len(),
                        actual_items.len(),
                        show_json(actual)
                    ),
                );
            }
            let mut used = vec![false; actual_items.len()];
            if assign(wanted, actual_items, 0, &mut used) {
                Ok(())
            } else {
                let unmatched = wanted
                    .iter()
                    .find(|w| !actual_items.iter().any(|a| matches(w, Some(a)).is_ok()))
                    .map(|w| format!("no element matches {w}"))
                    .unwrap_or_else(|| "the elements cannot be paired one to one".into());
                fail(
                    path,
                    format!("{unmatched}; elements: {}", show_json(actual)),
                )
            }
        }
        "$one_of" => {
            let Value::Array(alternatives) = arg else {
                return fail(path, "$one_of needs an array of alternatives".into());
            };
            if alternatives
                .iter()
                .any(|alt| check(alt, actual, path.to_string()).is_ok())
            {
                Ok(())
            } else {
                fail(
                    path,
                    format!("expected one of {arg}, got {}", show_json(actual)),
                )
            }
        }
        "$not" => match check(arg, actual, path.to_string()) {
            Ok(()) => fail(
                path,
                format!("expected anything but {arg}, got {}", show_json(actual)),
            ),
            Err(_) => Ok(()),
        },
        other => fail(path, format!("unknown operator '{other}' in the scenario")),
    }
}

/// Pairs each wanted item with a distinct actual element (backtracking: the
/// arrays are small, and greedy pairing can fail where a pairing exists).
fn assign(wanted: &[Value], actual: &[Value], index: usize, used: &mut [bool]) -> bool {
    let Some(w) = wanted.get(index) else {
        return true;
    };
    for (i, a) in actual.iter().enumerate() {
        if !used[i] && matches(w, Some(a)).is_ok() {
            used[i] = true;
            if assign(wanted, actual, index + 1, used) {
                return true;
            }
            used[i] = false;
        }
    }
    false
}

fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    #[rstest]
    #[case(json!({"a": 1}), json!({"a": 1, "b": 2}))]
    #[case(json!({"a": "$uuid"}), json!({"a": "0eed70df-2801-4e56-ad75-4233591f97b8"}))]
    #[case(json!({"a": "$absent"}), json!({"b": 1}))]
    #[case(json!("$null"), json!(null))]
    #[case(json!([{"x": 1}, "$any"]), json!([{"x": 1, "y": 2}, null]))]
    #[case(json!({"$len": 2}), json!([1, 2]))]
    #[case(json!({"$contains": [{"k": "b"}]}), json!([{"k": "a"}, {"k": "b"}]))]
    #[case(json!({"$one_of": [401, 403]}), json!(403))]
    #[case(json!({"$not": "$null"}), json!(1))]
    #[case(json!({"$exact": {"error": "x"}}), json!({"error": "x"}))]
    #[case(json!({"$all": [{"a": "$any"}, {"a": 1}]}), json!([{"a": 1}, {"a": 2}]))]
    #[case(json!(1), json!(1.0))]
    #[case(json!("$$ref"), json!("$ref"))]
    fn matching_cases(#[case] expected: Value, #[case] actual: Value) {
        matches(&expected, Some(&actual)).unwrap();
    }

    #[rstest]
    #[case(json!({"a": 1}), json!({"a": 2}), "/a")]
    #[case(json!({"a": {"b": "x"}}), json!({"a": {}}), "/a/b")]
    #[case(json!([1, 2]), json!([1]), "")]
    #[case(json!({"a": "$absent"}), json!({"a": null}), "/a")]
    #[case(json!("$uuid"), json!("not-a-uuid"), "")]
    #[case(json!({"$exact": {"error": "x"}}), json!({"error": "x", "code": 1}), "")]
    #[case(json!({"$contains": ["z"]}), json!(["a"]), "")]
    #[case(json!({"$all": [1, 1]}), json!([1, 2]), "")]
    #[case(json!({"$all": [1]}), json!([1, 1]), "")]
    #[case(json!("$null"), json!({}), "")]
    fn mismatch_cases(#[case] expected: Value, #[case] actual: Value, #[case] path: &str) {
        let m = matches(&expected, Some(&actual)).unwrap_err();
        assert_eq!(m.path, path, "{m}");
    }

    #[test]
    fn missing_key_is_reported() {
        let m = matches(&json!({"a": 1}), Some(&json!({}))).unwrap_err();
        assert!(m.message.contains("missing"), "{m}");
    }
}
