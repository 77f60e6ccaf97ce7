//! `${name}` substitution in scenario values.
//!
//! A string that is exactly one reference (`"${issue.root.id}"`) is replaced
//! by the variable's JSON value, keeping its type (so `"${saved.count}"` can be
//! a number). References inside longer strings are interpolated as text.
//! `$${` escapes a literal `${`.

use std::collections::BTreeMap;

use serde_json::Value;

/// Variables visible to a scenario, by dotted name.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

impl Vars {
    pub fn new() -> Self {
        Vars::default()
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) {
        self.values.insert(name.into(), value.into());
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// All names, for "unknown variable" messages.
    pub fn names(&self) -> impl Iterator<Item = &String> {
        self.values.keys()
    }

    /// Substitutes every reference in `value` (recursively).
    pub fn apply(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => self.apply_str_value(s)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.apply(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(self.apply_str(k)?, self.apply(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    fn apply_str_value(&self, s: &str) -> Result<Value, String> {
        if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
            if !name.contains('}') && !name.contains("${") {
                return self.lookup(name).cloned();
            }
        }
        Ok(Value::String(self.apply_str(s)?))
    }

    /// Interpolates references in a string; values are rendered as text.
    pub fn apply_str(&self, s: &str) -> Result<String, String> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(pos) = rest.find('$') {
            out.push_str(&rest[..pos]);
            let after = &rest[pos..];
            if let Some(tail) = after.strip_prefix("$${") {
                out.push_str("${");
                rest = tail;
            } else if let Some(tail) = after.strip_prefix("${") {
                let end = tail
                    .find('}')
                    .ok_or_else(|| format!("unterminated reference in '{s}'"))?;
                let value = self.lookup(&tail[..end])?;
                match value {
                    Value::String(v) => out.push_str(v),
                    other => out.push_str(&other.to_string()),
                }
                rest = &tail[end + 1..];
            } else {
                out.push('$');
                rest = &after[1..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup(&self, name: &str) -> Result<&Value, String> {
        self.values.get(name).ok_or_else(|| {
            let prefix = name.split('.').next().unwrap_or(name);
            let similar: Vec<&str> = self
                .values
                .keys()
                .filter(|k| k.starts_with(prefix))
                .map(String::as_str)
                .take(8)
                .collect();
            if similar.is_empty() {
                format!("unknown variable '${{{name}}}'")
            } else {
                format!(
                    "unknown variable '${{{name}}}' (known: {})",
                    similar.join(", ")
                )
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.set("issue.root.id", "i-1");
        v.set("n", 3);
        v
    }

    #[test]
    fn whole_string_reference_keeps_the_type() {
        assert_eq!(vars().apply(&json!("${n}")).unwrap(), json!(3));
        assert_eq!(
            vars().apply(&json!({"a": ["${issue.root.id}"]})).unwrap(),
            json!({"a": ["i-1"]})
        );
    }

    #[test]
    fn references_inside_text_are_interpolated() {
        assert_eq!(
            vars()
                .apply_str("/issues/${issue.root.id}/smoke?n=${n}")
                .unwrap(),
            "/issues/i-1/smoke?n=3"
        );
        assert_eq!(
            vars().apply_str("cost $5 and $${x}").unwrap(),
            "cost $5 and ${x}"
        );
    }

    #[test]
    fn unknown_reference_names_the_known_ones() {
        let err = vars().apply_str("${issue.nope.id}").unwrap_err();
        assert!(err.contains("issue.root.id"), "{err}");
    }
}
