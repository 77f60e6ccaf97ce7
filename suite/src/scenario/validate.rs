//! Name resolution at load time: a scenario that names an unknown fixture,
//! actor, company or `${variable}` is the scenario's mistake, and is
//! reported as such (file and line, exit 2) before any host is started —
//! never as a failed check that blames the host.

use std::collections::BTreeSet;

use serde_json::Value;

use super::load::{duplicate_fixture, find_line};
use super::model::{Action, ActorRef, Scenario, StepBody};

/// The world's companies and agents (see `crate::world`), which every
/// scenario may use by name.
pub const WORLD_COMPANIES: [&str; 2] = ["a", "b"];
pub const WORLD_AGENTS: [&str; 3] = ["a1", "a2", "b1"];

/// Run-wide variables set for every scenario (world, plugin, host).
const RUN_VARIABLES: [&str; 10] = [
    "plugin.key",
    "plugin.id",
    "plugin.package",
    "plugin.version",
    "plugin.namespace",
    "host.base_url",
    "host.kind",
    "host.version",
    "mode",
    "board.user_id",
];

type Problem = (Option<usize>, String);

/// Checks every name the scenario uses; the error carries the line.
pub fn names(scenario: &Scenario, text: &str) -> Result<(), Problem> {
    if let Some(message) = duplicate_fixture(scenario) {
        return Err((None, message));
    }
    let agents: Vec<&str> = WORLD_AGENTS
        .iter()
        .copied()
        .chain(scenario.agents.iter().map(|a| a.name.as_str()))
        .collect();
    let company = |name: &str, what: String| -> Result<(), Problem> {
        if WORLD_COMPANIES.contains(&name) {
            Ok(())
        } else {
            Err((
                find_line(text, &format!("\"{name}\""), 0),
                format!("{what}: unknown company '{name}' (the world has companies a and b)"),
            ))
        }
    };
    for agent in &scenario.agents {
        company(&agent.company, format!("agent '{}'", agent.name))?;
    }
    for issue in &scenario.issues {
        company(&issue.company, format!("issue '{}'", issue.name))?;
        match &issue.assignee {
            Some(a) if !agents.contains(&a.as_str()) => {
                return Err((
                    find_line(text, &format!("\"{a}\""), 0),
                    format!(
                        "issue '{}': unknown assignee '{a}' (world agents a1, a2, b1, or an [[agent]] of this scenario)",
                        issue.name
                    ),
                ))
            }
            None if issue.checkout => {
                return Err((
                    find_line(text, &format!("\"{}\"", issue.name), 0),
                    format!("issue '{}': checkout = true needs an assignee", issue.name),
                ))
            }
            _ => {}
        }
    }
    let mut known = known_variables(scenario, &agents);
    for (i, step) in scenario.steps.iter().enumerate() {
        let label = step.label(i);
        let mut strings = Vec::new();
        match &step.action {
            Action::Http(h) => {
                if let ActorRef::Agent(name) = &h.actor {
                    if !agents.contains(&name.as_str()) {
                        return Err((
                            find_line(text, &format!("agent:{name}"), step.line),
                            format!(
                                "{label}: unknown actor 'agent:{name}' (world agents a1, a2, b1, or an [[agent]] of this scenario)"
                            ),
                        ));
                    }
                }
                strings.push(h.path.clone());
                strings.extend(h.run.clone());
                strings.extend(h.headers.values().cloned());
                strings.extend(h.expect_headers.values().cloned());
                match &h.body {
                    StepBody::Json(v) => collect_strings(v, &mut strings),
                    StepBody::Raw { text, .. } => strings.push(text.clone()),
                    StepBody::None => {}
                }
                for v in [&h.expect_status, &h.expect_body].into_iter().flatten() {
                    collect_strings(v, &mut strings);
                }
            }
            Action::Sql(s) => {
                strings.push(s.sql.clone());
                for p in &s.params {
                    collect_strings(p, &mut strings);
                }
                if let Some(rows) = &s.expect_rows {
                    collect_strings(rows, &mut strings);
                }
            }
        }
        for s in &strings {
            for name in references(s) {
                if !is_known(&name, &known) {
                    return Err((
                        find_line(text, &format!("${{{name}}}"), step.line),
                        format!(
                            "{label}: unknown variable '${{{name}}}' (not a fixture, world or run variable, and no earlier step saves it)"
                        ),
                    ));
                }
            }
        }
        known.extend(step.save.keys().cloned());
    }
    Ok(())
}

/// The variables a scenario can use before its first step saves anything.
fn known_variables(scenario: &Scenario, agents: &[&str]) -> BTreeSet<String> {
    let mut known: BTreeSet<String> = RUN_VARIABLES.iter().map(|s| s.to_string()).collect();
    known.insert("nonce".into());
    for c in WORLD_COMPANIES {
        known.insert(format!("company.{c}.id"));
        known.insert(format!("company.{c}.prefix"));
    }
    for a in agents {
        for field in ["id", "company", "key_id"] {
            known.insert(format!("agent.{a}.{field}"));
        }
    }
    for issue in &scenario.issues {
        for field in ["id", "identifier", "title"] {
            known.insert(format!("issue.{}.{field}", issue.name));
        }
        if issue.checkout {
            known.insert(format!("issue.{}.run", issue.name));
        }
    }
    known
}

fn is_known(name: &str, known: &BTreeSet<String>) -> bool {
    // Migration checksums are named by file: `plugin.migration.FILE.sha256`.
    let migration = name
        .strip_prefix("plugin.migration.")
        .is_some_and(|rest| rest.ends_with(".sha256"));
    migration || known.contains(name)
}

/// Every string of a JSON value, object keys included (they are
/// interpolated too).
fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                collect_strings(v, out);
            }
        }
        _ => {}
    }
}

/// The names of the `${…}` references in `s` (`$${` is a literal).
pub(super) fn references(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos..];
        if let Some(tail) = after.strip_prefix("$${") {
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            match tail.find('}') {
                Some(end) => {
                    out.push(tail[..end].to_string());
                    rest = &tail[end + 1..];
                }
                None => break,
            }
        } else {
            rest = &after[1..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_and_skips_literals() {
        assert_eq!(
            references("/a/${issue.x.id}/b/$${lit}/${y}"),
            vec!["issue.x.id".to_string(), "y".to_string()]
        );
    }
}
