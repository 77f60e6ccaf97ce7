//! The names a check's ids are compared by: ids the host made differ from
//! run to run and host to host, so answers and expectations speak of
//! `{companyA}`, `{plain}`, … instead.

use serde_json::Value;

use crate::property::shapes;

/// Ids of the run and the names they are compared by.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pairs: Vec<(String, String)>,
}

impl Names {
    /// `id` is called `{name}` from now on.
    pub fn add(&mut self, name: &str, id: &str) {
        if !id.is_empty() {
            self.pairs.push((id.to_string(), format!("{{{name}}}")));
            // Longer ids first, so a key is replaced before a nonce inside it.
            self.pairs.sort_by_key(|p| std::cmp::Reverse(p.0.len()));
        }
    }

    /// The id called `name`.
    pub fn id(&self, name: &str) -> Option<&str> {
        let wanted = format!("{{{name}}}");
        self.pairs
            .iter()
            .find(|(_, n)| *n == wanted)
            .map(|(id, _)| id.as_str())
    }

    /// `text` with every known id replaced by its name.
    pub fn text(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (id, name) in &self.pairs {
            out = out.replace(id.as_str(), name);
        }
        // Every UUID no name was given for (ids the host made inside a
        // call that failed, say).
        shapes::without_uuids(&shapes::without_timestamps(&out))
    }

    /// `value` with every string's known ids replaced by names.
    pub fn value(&self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(a) => Value::Array(a.iter().map(|v| self.value(v)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (self.text(k), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// `pattern` with `{name}` placeholders turned into the ids (params).
    pub fn fill(&self, pattern: &Value) -> Value {
        match pattern {
            Value::String(s) => {
                let mut out = s.clone();
                for (id, name) in &self.pairs {
                    out = out.replace(name.as_str(), id);
                }
                Value::String(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| self.fill(v)).collect()),
            Value::Object(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), self.fill(v))).collect())
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_replace_ids_both_ways() {
        let mut names = Names::default();
        names.add("companyA", "c-1");
        names.add("key", "conformance.x-c-1");
        assert_eq!(names.text("a conformance.x-c-1 c-1"), "a {key} {companyA}");
        assert_eq!(names.fill(&json!({"c": "{companyA}"})), json!({"c": "c-1"}));
        assert_eq!(names.id("companyA"), Some("c-1"));
    }
}
