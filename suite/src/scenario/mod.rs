//! Scenarios: checks written as data.
//!
//! A scenario file (`scenarios/*.toml`) is one check. It declares the
//! fixtures it needs (agents and issues, created fresh for it so scenarios are
//! independent and can run in parallel) and a list of steps. A step is either
//! an HTTP call made as a named actor, or an SQL query on the host's
//! database; each has expectations, and may save values for later steps.
//!
//! ```toml
//! id = "smoke.initialize-board"
//! title = "Board initializes the smoke on an issue: 201 and the summary shape"
//! level = "must"
//! source = "contract-http.md §4.4; real-host.md §7 #2"
//!
//! [[agent]]
//! name = "worker"
//! company = "a"
//!
//! [[issue]]
//! name = "root"
//! company = "a"
//! status = "todo"
//!
//! [[step]]
//! request = "POST /api/plugins/${plugin.key}/api/issues/${issue.root.id}/smoke"
//! actor = "board"
//! json = { assigneeAgentId = "${agent.worker.id}" }
//! expect.status = 201
//! expect.body = { rootIssueId = "${issue.root.id}", childIssueId = "$uuid" }
//! save = { child = "/childIssueId" }
//!
//! [[step]]
//! sql = "select origin_kind from issues where id = $1"
//! params = ["${child}"]
//! expect.rows = [{ origin_kind = "plugin:${plugin.key}:child" }]
//! ```
//!
//! See `scenarios/README.md` for the full reference (actors, variables,
//! matchers).

mod load;
pub mod matcher;
mod model;
pub mod runner;
mod validate;
pub mod vars;

pub use load::{load_dir, to_json};
pub use model::{
    parse_actor, Action, ActorRef, AgentFixture, HttpStep, IssueFixture, Retry, Scenario, SqlStep,
    Step, StepBody,
};
pub use validate::{WORLD_AGENTS, WORLD_COMPANIES};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{select, Level};
    use std::path::Path;

    const GOOD: &str = r#"
id = "smoke.example"
title = "Example"
source = "contract-http.md §4"
tags = ["smoke"]

[[issue]]
name = "root"

[[step]]
request = "POST /api/plugins/${plugin.key}/api/issues/${issue.root.id}/smoke"
json = { a = 1 }
expect.status = 201
save = { child = "/childIssueId" }

[[step]]
sql = "select 1 as one"
expect.rows = [{ one = 1 }]
"#;

    fn parse(text: &str) -> crate::Result<Scenario> {
        Scenario::parse(text, Path::new("x.toml"))
    }

    #[test]
    fn parses_a_scenario() {
        let s = parse(GOOD).unwrap();
        assert_eq!(s.id(), "smoke.example");
        assert_eq!(s.meta.level, Level::Must);
        assert_eq!(s.issues[0].status, "todo");
        assert_eq!(s.issues[0].company, "a");
        assert!(matches!(&s.steps[0].action, Action::Http(h) if h.method == "POST"));
        assert!(matches!(s.steps[1].action, Action::Sql(_)));
        assert!(s.needs_database());
    }

    #[rstest::rstest]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n", "missing field `step`")]
    #[case(
        "id = \"Bad Id\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nrequest = \"GET /\"\n",
        "must be lowercase"
    )]
    #[case(
        "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nrequest = \"FETCH /\"\n",
        "METHOD /path"
    )]
    #[case(
        "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nname = \"n\"\n",
        "either request or sql"
    )]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[step]]\nrequest = \"GET /\"\nactor = \"root\"\n", "unknown actor")]
    #[case(
        "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\nbogus = 1\n[[step]]\nrequest = \"GET /\"\n",
        "unknown field `bogus`"
    )]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n[[issue]]\nname = \"i\"\ncheckout = true\n[[step]]\nrequest = \"GET /\"\n", "needs an assignee")]
    #[case("id = \"x\"\ntitle = \"t\"\nsource = \"s\"\nlevel = \"may\"\n[[step]]\nrequest = \"GET /\"\n", "unknown variant")]
    fn rejects_malformed_scenarios(#[case] text: &str, #[case] needle: &str) {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }

    #[test]
    fn selection_by_id_prefix_and_tag() {
        let meta = parse(GOOD).unwrap().meta;
        for (pattern, selected) in [
            ("smoke.example", true),
            ("smoke", true),
            ("tag:smoke", true),
            ("smok", false),
            ("authz", false),
        ] {
            assert_eq!(select(&meta, &[pattern.to_string()]), selected, "{pattern}");
        }
    }

    fn line_error(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const HEAD: &str = "id = \"x\"\ntitle = \"t\"\nsource = \"s\"\n";

    #[rstest::rstest]
    #[case(
        "[[step]]\nrequest = \"GET /api/issues/${issue.nope.id}\"\n",
        "line 5: step 1 (GET /api/issues/${issue.nope.id}): unknown variable '${issue.nope.id}'"
    )]
    #[case(
        "[[step]]\nrequest = \"GET /x\"\nactor = \"agent:ghost\"\n",
        "line 6: step 1 (GET /x): unknown actor 'agent:ghost'"
    )]
    #[case(
        "[[issue]]\nname = \"i\"\nassignee = \"ghost\"\n[[step]]\nrequest = \"GET /x\"\n",
        "line 6: issue 'i': unknown assignee 'ghost'"
    )]
    #[case(
        "[[agent]]\nname = \"w\"\ncompany = \"c\"\n[[step]]\nrequest = \"GET /x\"\n",
        "line 6: agent 'w': unknown company 'c'"
    )]
    #[case(
        "[[step]]\nrequest = \"GET /x\"\n[[step]]\nrequest = \"GET /${saved_later}\"\n[[step]]\nrequest = \"GET /y\"\nsave = { saved_later = \"/id\" }\n",
        "line 7: step 2 (GET /${saved_later}): unknown variable '${saved_later}'"
    )]
    #[case(
        "versions = \"newest\"\n[[step]]\nrequest = \"GET /x\"\n",
        "line 4: versions = 'newest'"
    )]
    fn unknown_names_fail_at_load_with_their_line(#[case] rest: &str, #[case] needle: &str) {
        let err = line_error(&format!("{HEAD}{rest}"));
        assert!(err.contains(needle), "{err}");
    }

    #[test]
    fn saved_names_fixtures_and_matchers_resolve() {
        let text = format!(
            "{HEAD}versions = \">=2026.707.0\"\n[[agent]]\nname = \"w\"\n[[issue]]\nname = \"i\"\nassignee = \"w\"\ncheckout = true\n\
             [[step]]\nrequest = \"GET /api/issues/${{issue.i.id}}\"\nactor = \"agent:w\"\nrun = \"${{issue.i.run}}\"\n\
             expect.status = {{ \"$one_of\" = [200, 201] }}\nsave = {{ got = \"/id\" }}\n\
             [[step]]\nsql = \"select 1 where $1 = $2\"\nparams = [\"${{got}}\", \"${{plugin.migration.001_init.sql.sha256}}\"]\n"
        );
        let s = parse(&text).unwrap();
        assert_eq!(s.meta.versions.unwrap().text, ">=2026.707.0");
    }

    #[test]
    fn actors() {
        assert_eq!(
            parse_actor("agent:a1").unwrap(),
            ActorRef::Agent("a1".into())
        );
        assert!(parse_actor("agent:").is_err());
    }
}
