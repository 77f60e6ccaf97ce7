//! Property: company scoping of plugin workers.
//!
//! An actor of company A calls the scope-probe plugin's route about an issue
//! of A; inside that request the worker tries to read and change company B's
//! data through every host service it has (`scenarios/plugins/scope-probe/`).
//! Rules (contract-db-worker.md B3, contract-http.md §4.10; observed on the
//! real hosts 2026.707.0 and 2026.916.1, docs/findings.md F9–F11):
//! - every host call that names company B during a request scoped to A is
//!   refused with the invocation-scope error (-32005);
//! - asking for B's issue with A's company id returns nothing;
//! - `companies.list` lists only A;
//! - a parent or blocker in B is refused (`Workspace inheritance issue not
//!   found`, `Blocked-by issues must belong to the same company`);
//! - a call without the request's invocation id is refused;
//! - `ctx.db.execute` outside the plugin's namespace is refused;
//! - after the request, company B's rows are exactly as before.
//!
//! `ctx.db.query` over whitelisted core tables is not company-scoped on any
//! version: the property records what it returned as evidence (finding F9)
//! instead of failing.
//!
//! After the cases, [`outside`] checks host calls made while no invocation of
//! the worker is active, whose treatment differs by version (finding F11,
//! profile flags `unscoped_host_calls_refused` and
//! `plugin_config_grants_company_scope`). It runs last and alone: a case's
//! request to the same worker would make an invocation active.

mod outside;

use std::sync::Mutex;

use proptest::prelude::*;
use serde_json::{json, Value};

use super::{run_property_with, CaseFailure, Property, PropertyConfig, PropertyEnv};
use crate::check::{CheckResult, Failure, Status};
use crate::client::{Call, Credentials};
use crate::db::HostDb;

/// One generated probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopingCase {
    /// The caller is company A's agent (else the board).
    pub agent_caller: bool,
    /// POST (reads and writes) or GET (reads only).
    pub post: bool,
    /// Also name an agent of B.
    pub target_agent: bool,
    /// Also try to wake B's issue (POST only).
    pub wakeup: bool,
}

impl ScopingCase {
    /// The whole domain, 12 cases (`wakeup` only with `post`): each runs
    /// once as a fixed case before the random draws, so no seed can miss
    /// one.
    pub fn all() -> Vec<ScopingCase> {
        let mut all = Vec::new();
        for agent_caller in [false, true] {
            for post in [false, true] {
                for target_agent in [false, true] {
                    for wakeup in [false, true] {
                        if wakeup && !post {
                            continue;
                        }
                        all.push(ScopingCase {
                            agent_caller,
                            post,
                            target_agent,
                            wakeup,
                        });
                    }
                }
            }
        }
        all
    }
}

fn cases() -> impl Strategy<Value = ScopingCase> {
    (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(
        |(agent_caller, post, target_agent, wakeup)| ScopingCase {
            agent_caller,
            post,
            target_agent,
            wakeup: wakeup && post,
        },
    )
}

/// What an attempt must end in.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Allowed,
    Empty,
    /// Refused by the invocation scope (-32005).
    ScopeDenied,
    /// Refused with this exact host message.
    DeniedWith(&'static str),
    /// Refused, any message (`ctx.db.execute` guard texts vary by version).
    Denied,
    /// `companies.list`: allowed, but B not listed.
    ListsOnlyRequestCompany,
    /// Not a rule: recorded as evidence of a finding.
    Finding,
}

fn rule_for(name: &str) -> Rule {
    match name {
        n if n.starts_with("control.") => Rule::Allowed,
        "issues.get.request-company" => Rule::Empty,
        "companies.list" => Rule::ListsOnlyRequestCompany,
        "db.query.public-issues.target-company" => Rule::Finding,
        "db.execute.public-issues.target-company" => Rule::Denied,
        "issues.create.cross-company-parent" => {
            Rule::DeniedWith("Workspace inheritance issue not found")
        }
        "issues.create.cross-company-blocker" | "issues.relations.addBlockers.cross-company" => {
            Rule::DeniedWith("Blocked-by issues must belong to the same company")
        }
        _ => Rule::ScopeDenied,
    }
}

fn check_attempt(attempt: &Value) -> Result<(), String> {
    let name = attempt["name"].as_str().unwrap_or_default();
    let outcome = attempt["outcome"].as_str().unwrap_or_default();
    let message = attempt["error"]["message"].as_str().unwrap_or_default();
    let code = attempt["error"]["code"].as_i64();
    let ok = match rule_for(name) {
        Rule::Allowed => outcome == "allowed",
        Rule::Empty => outcome == "empty",
        Rule::ScopeDenied => outcome == "denied" && code == Some(-32005),
        Rule::DeniedWith(text) => outcome == "denied" && message == text,
        Rule::Denied => outcome == "denied",
        Rule::ListsOnlyRequestCompany => {
            outcome == "allowed" && attempt["result"]["includesTargetCompany"] == json!(false)
        }
        Rule::Finding => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name}: expected {:?}, got {outcome} {}",
            rule_for(name),
            attempt["error"]
        ))
    }
}

/// Everything of company B a worker could have changed.
async fn snapshot(db: &HostDb, company: &str, issue: &str) -> Result<Value, String> {
    let rows = db
        .rows(
            "select (select count(*)::int from issues where company_id = $1) as issues, \
                    (select billing_code from issues where id = $2) as billing_code, \
                    (select title from issues where id = $2) as title, \
                    (select count(*)::int from issue_documents where issue_id = $2) as documents, \
                    (select count(*)::int from issue_comments where issue_id = $2) as comments, \
                    (select count(*)::int from issue_relations where company_id = $1) as relations, \
                    (select count(*)::int from activity_log where company_id = $1 and actor_type = 'plugin') as plugin_activity",
            &[json!(company), json!(issue)],
        )
        .await?;
    Ok(rows.into_iter().next().unwrap_or(Value::Null))
}

/// The scoping property.
pub struct ScopingProperty;

impl Property for ScopingProperty {
    fn id(&self) -> &'static str {
        "scoping"
    }

    fn title(&self) -> &'static str {
        "A plugin worker serving company A's request cannot read or change company B's data through host services"
    }

    fn source(&self) -> &'static str {
        "contract-db-worker.md B3; contract-http.md §4.10; scenarios/plugins/scope-probe/README.md; docs/findings.md F9–F11"
    }

    fn tags(&self) -> Vec<String> {
        vec!["property".into(), "scoping".into(), "database".into()]
    }

    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult {
        let (Some(db), Some(probe)) = (env.db.clone(), env.probe.clone()) else {
            return super::skipped(
                self,
                env,
                config,
                "needs the host's database and the scope-probe plugin",
            );
        };
        // Company B is the property's own, created here: a scenario working
        // in the world's company b at the same time would change the rows
        // the property compares before and after each request.
        let target = env.handle.block_on(async {
            let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
            let world = &env.world;
            let company = world
                .create_company(
                    &env.client,
                    "scoping",
                    &format!("Conformance Scoping {nonce}"),
                )
                .await?;
            let agent = world
                .create_agent_in(&env.client, &company, &format!("Scoping B1 {nonce}"))
                .await?;
            Ok::<_, crate::Error>((company, agent))
        });
        let (company_b, agent_b) = match target {
            Ok(target) => target,
            Err(e) => {
                let mut result = super::skipped(self, env, config, "");
                result.status = Status::Failed;
                result.reason = None;
                result.failure = Some(Failure {
                    step: "set-up".into(),
                    message: format!("creating the property's own company B failed: {e}"),
                    expected: None,
                    actual: None,
                    exchange: None,
                });
                return result;
            }
        };
        let evidence: Mutex<Option<String>> = Mutex::new(None);
        let mut result = run_property_with(
            self,
            env,
            config,
            &ScopingCase::all(),
            cases(),
            |case| {
                env.handle.block_on(async {
                let client = &env.client;
                let world = &env.world;
                let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
                let fail = |m: String| CaseFailure::message(m);
                let own = world
                    .create_issue(client, "a", &format!("scoping own {nonce}"), "todo", None, false)
                    .await
                    .map_err(|e| fail(format!("world: {e}")))?;
                let target = world
                    .create_issue_in(client, &company_b, &format!("scoping target {nonce}"), "todo", None, false)
                    .await
                    .map_err(|e| fail(format!("world: {e}")))?;
                let company_b = company_b.id.clone();
                let company_a = world.company("a").map(|c| c.id.clone()).unwrap_or_default();
                let target_agent = case.target_agent.then(|| agent_b.id.clone());
                let before = snapshot(&db, &company_b, &target.id).await.map_err(fail)?;
                let caller = if case.agent_caller {
                    Credentials {
                        bearer: world.agent("a1").map(|a| a.token.clone()),
                        run_id: None,
                    }
                } else {
                    world.board.clone()
                };
                let path = format!("/api/plugins/{}/api/issues/{}/probe", probe.key, own.id);
                let call = if case.post {
                    let mut body = json!({
                        "targetCompanyId": company_b, "targetIssueId": target.id,
                        "documentKey": format!("scope-probe-{nonce}"), "wakeup": case.wakeup,
                    });
                    if let Some(agent) = &target_agent {
                        body["targetAgentId"] = json!(agent);
                    }
                    Call::new("POST", path).json(body)
                } else {
                    let mut query = format!("?targetCompanyId={company_b}&targetIssueId={}", target.id);
                    if let Some(agent) = &target_agent {
                        query.push_str(&format!("&targetAgentId={agent}"));
                    }
                    Call::new("GET", format!("{path}{query}"))
                }
                .as_(&caller);
                let exchange = client.send(&call).await;
                let body = match &exchange.response {
                    Some(r) if r.status == 200 => r.body.clone(),
                    other => {
                        return Err(CaseFailure {
                            message: "the probe route did not answer 200".into(),
                            expected: Some(json!({ "status": 200 })),
                            actual: other.as_ref().map(|r| json!({ "status": r.status, "body": r.body })),
                            exchanges: vec![exchange.clone()],
                        })
                    }
                };
                if body["requestCompanyId"] != json!(company_a) {
                    return Err(CaseFailure {
                        message: "the worker was not told the request's company".into(),
                        expected: Some(json!({ "requestCompanyId": company_a })),
                        actual: Some(json!({ "requestCompanyId": body["requestCompanyId"] })),
                        exchanges: vec![exchange],
                    });
                }
                let attempts = body["attempts"].as_array().cloned().unwrap_or_default();
                let violations: Vec<String> = attempts.iter().filter_map(|a| check_attempt(a).err()).collect();
                if !violations.is_empty() {
                    return Err(CaseFailure {
                        message: format!("{} attempt(s) crossed or broke a scoping rule", violations.len()),
                        expected: Some(json!(violations)),
                        actual: Some(json!(attempts)),
                        exchanges: vec![exchange],
                    });
                }
                if let Some(q) = attempts.iter().find(|a| a["name"] == "db.query.public-issues.target-company") {
                    if q["outcome"] == "allowed" {
                        *evidence.lock().expect("evidence lock") = Some(format!(
                            "finding F9: ctx.db.query returned {} row(s) of company B from public.issues (target issue included: {})",
                            q["result"]["count"], q["result"]["includesTargetIssue"]
                        ));
                    }
                }
                let after = snapshot(&db, &company_b, &target.id).await.map_err(fail)?;
                if after != before {
                    return Err(CaseFailure {
                        message: "company B's rows changed during company A's request".into(),
                        expected: Some(before),
                        actual: Some(after),
                        exchanges: vec![exchange],
                    });
                }
                Ok(())
            })
            },
        );
        if result.status != Status::Passed {
            return result;
        }
        let started = std::time::Instant::now();
        let mut reasons: Vec<String> = evidence.into_inner().ok().flatten().into_iter().collect();
        match env.handle.block_on(outside::check(env, &db, &probe)) {
            Ok(found) => reasons.push(found),
            Err(failure) => {
                result.exchanges.extend(failure.exchanges.iter().cloned());
                result.fail(Failure {
                    step: "host calls outside any invocation (company C)".into(),
                    message: failure.message,
                    expected: failure.expected,
                    actual: failure.actual,
                    exchange: failure.exchanges.last().cloned(),
                });
            }
        }
        result.duration_ms += started.elapsed().as_millis() as u64;
        if result.status == Status::Passed && !reasons.is_empty() {
            result.reason = Some(reasons.join("; "));
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fixed_cases_are_the_whole_domain() {
        use proptest::strategy::ValueTree;
        use proptest::test_runner::TestRunner;
        let all = ScopingCase::all();
        assert_eq!(all.len(), 12);
        let distinct: std::collections::BTreeSet<String> =
            all.iter().map(|c| format!("{c:?}")).collect();
        assert_eq!(distinct.len(), 12);
        let mut runner = TestRunner::deterministic();
        for _ in 0..500 {
            let drawn = cases().new_tree(&mut runner).unwrap().current();
            assert!(all.contains(&drawn), "{drawn:?} is outside the fixed cases");
        }
    }

    #[test]
    fn rules_follow_the_observed_table() {
        let denied = |code: i64, message: &str| json!({"outcome": "denied", "error": {"code": code, "message": message}});
        let mut a = denied(-32005, "x");
        a["name"] = json!("issues.get.target-company");
        assert!(check_attempt(&a).is_ok());
        let mut b = json!({"name": "issues.get.target-company", "outcome": "allowed"});
        assert!(check_attempt(&b).is_err());
        b["name"] = json!("db.query.public-issues.target-company");
        assert!(check_attempt(&b).is_ok(), "a finding, not a failure");
        let mut c = denied(-32603, "Workspace inheritance issue not found");
        c["name"] = json!("issues.create.cross-company-parent");
        assert!(check_attempt(&c).is_ok());
        let list = json!({"name": "companies.list", "outcome": "allowed", "result": {"includesTargetCompany": true}});
        assert!(check_attempt(&list).is_err());
    }
}
