//! Invocation scopes end to end: the suite's scope-probe fixture plugin
//! (`scenarios/plugins/scope-probe/`) runs in the in-process mock host and
//! every attempt must end as the "Observed per host version" table of its
//! README says for 2026.707.0. Needs PostgreSQL, node and npm; without them
//! it fails under CI and skips loudly elsewhere (see `common`).

mod common;

use std::path::Path;
use std::time::Duration;

use mock_host::Config;
use rstest::rstest;
use serde_json::{json, Value};

use common::TestDb;

async fn call(method: &str, url: &str, body: Option<Value>, bearer: Option<&str>) -> (u16, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn created(method: &str, url: &str, body: Value) -> Value {
    let (s, v) = call(method, url, Some(body), None).await;
    assert!(s < 300, "{method} {url}: {s} {v}");
    v
}

/// How an attempt ended on 2026.707.0.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Observed {
    Allowed,
    Empty,
    /// −32005 `requested company "<B>" but … scoped to company "<A>"`.
    WrongCompany,
    /// −32005 `the worker referenced a missing, expired, or unknown invocation scope`.
    NoScope,
    /// −32603 with this message.
    Host(&'static str),
    /// −32603, the `ctx.db.execute` target guard.
    ExecuteGuard,
}

/// The README table, column 707.0.
fn observed(name: &str) -> Observed {
    use Observed::*;
    match name {
        "control.issues.get-own" | "control.db.execute.own-namespace" => Allowed,
        "issues.get.request-company" => Empty,
        "companies.list" | "db.query.public-issues.target-company" => Allowed,
        "unscoped.issues.get.target-company" | "unscoped.issues.update.target-company" => NoScope,
        "db.execute.public-issues.target-company" => ExecuteGuard,
        "issues.create.cross-company-parent" => Host("Workspace inheritance issue not found"),
        "issues.create.cross-company-blocker" | "issues.relations.addBlockers.cross-company" => {
            Host("Blocked-by issues must belong to the same company")
        }
        n if n.starts_with("deferred.") => Allowed,
        _ => WrongCompany,
    }
}

struct World {
    base: String,
    plugin_id: String,
    a: String,
    b: String,
    issue_a: String,
    agent_b: String,
    key_a1: String,
}

impl World {
    fn expected_error(&self, name: &str, method: &str) -> Option<(i64, String)> {
        let prefix = format!(
            "Plugin \"{}\" is not allowed to perform \"{method}\": ",
            self.plugin_id
        );
        match observed(name) {
            Observed::Allowed | Observed::Empty => None,
            Observed::WrongCompany => Some((
                -32005,
                format!(
                    "{prefix}requested company \"{}\" but the current invocation is scoped to company \"{}\"",
                    self.b, self.a
                ),
            )),
            Observed::NoScope => Some((
                -32005,
                format!(
                    "{prefix}the worker referenced a missing, expired, or unknown invocation scope"
                ),
            )),
            Observed::Host(m) => Some((-32603, m.to_string())),
            Observed::ExecuteGuard => Some((
                -32603,
                "ctx.db.execute target must be inside plugin namespace \"plugin_scope_probe_b862ea62fe\""
                    .to_string(),
            )),
        }
    }

    fn check_attempts(&self, attempts: &[Value]) {
        for a in attempts {
            let name = a["name"].as_str().unwrap();
            let method = a["call"].as_str().unwrap();
            let outcome = a["outcome"].as_str().unwrap();
            match (observed(name), self.expected_error(name, method)) {
                (Observed::Allowed, _) => assert_eq!(outcome, "allowed", "{name}: {a}"),
                (Observed::Empty, _) => assert_eq!(outcome, "empty", "{name}: {a}"),
                (_, Some((code, message))) => {
                    assert_eq!(outcome, "denied", "{name}: {a}");
                    assert_eq!(a["error"]["code"], code, "{name}: {a}");
                    assert_eq!(a["error"]["message"], message.as_str(), "{name}: {a}");
                }
                (o, None) => unreachable!("{o:?}"),
            }
        }
    }
}

async fn world(base: &str, plugin_dir: &Path) -> World {
    let a = created(
        "POST",
        &format!("{base}/api/companies"),
        json!({"name": "Probe Co A"}),
    )
    .await;
    let b = created(
        "POST",
        &format!("{base}/api/companies"),
        json!({"name": "Probe Co B"}),
    )
    .await;
    let (a, b) = (
        a["id"].as_str().unwrap().to_string(),
        b["id"].as_str().unwrap().to_string(),
    );
    let agent = |cid: String, name: &'static str| async move {
        created(
            "POST",
            &format!("{base}/api/companies/{cid}/agents"),
            json!({"name": name, "adapterType": "process"}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let a1 = agent(a.clone(), "Agent A1").await;
    let agent_b = agent(b.clone(), "Agent B1").await;
    let key = created(
        "POST",
        &format!("{base}/api/agents/{a1}/keys"),
        json!({"name": "k"}),
    )
    .await;
    let issue_a = created(
        "POST",
        &format!("{base}/api/companies/{a}/issues"),
        json!({"title": "A probe root", "status": "todo"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, record) = call(
        "POST",
        &format!("{base}/api/plugins/install"),
        Some(json!({"packageName": plugin_dir.display().to_string(), "isLocalPath": true})),
        None,
    )
    .await;
    assert_eq!(s, 200, "{record}");
    World {
        base: base.to_string(),
        plugin_id: record["id"].as_str().unwrap().to_string(),
        a,
        b,
        issue_a,
        agent_b,
        key_a1: key["token"].as_str().unwrap().to_string(),
    }
}

/// Company B's rows a worker could have changed.
async fn snapshot(db: &tokio_postgres::Client, b: &str) -> Vec<i64> {
    let b = uuid::Uuid::parse_str(b).unwrap();
    let row = db
        .query_one(
            "SELECT (SELECT count(*) FROM issues WHERE company_id = $1),
                    (SELECT count(*) FROM issues WHERE company_id = $1 AND billing_code IS NOT NULL),
                    (SELECT count(*) FROM issue_documents WHERE company_id = $1),
                    (SELECT count(*) FROM issue_comments WHERE company_id = $1),
                    (SELECT count(*) FROM issue_relations WHERE company_id = $1),
                    (SELECT count(*) FROM activity_log WHERE company_id = $1 AND actor_type = 'plugin')",
            &[&b],
        )
        .await
        .unwrap();
    (0..6).map(|i| row.get(i)).collect()
}

#[rstest]
#[case::board_post("POST", false, false)]
#[case::board_post_wakeup("POST", false, true)]
#[case::agent_post("POST", true, false)]
#[case::board_get("GET", false, false)]
#[case::agent_get("GET", true, false)]
#[tokio::test]
async fn scope_probe_matches_2026_707(
    #[case] method: &str,
    #[case] agent_caller: bool,
    #[case] wakeup: bool,
) {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(plugin_dir) = common::prepared_fixture(tmp.path(), "scope-probe") else {
        db.drop_db().await;
        return;
    };
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let w = world(host.base_url(), &plugin_dir).await;
    let sql = db.client().await;
    let target = created(
        "POST",
        &format!("{}/api/companies/{}/issues", w.base, w.b),
        json!({"title": "B target", "status": "todo", "assigneeAgentId": w.agent_b}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = snapshot(&sql, &w.b).await;
    let path = format!(
        "{}/api/plugins/conformance.scope-probe/api/issues/{}/probe",
        w.base, w.issue_a
    );
    let bearer = agent_caller.then_some(w.key_a1.as_str());
    let (s, body) = if method == "POST" {
        let body = json!({"targetCompanyId": w.b, "targetIssueId": target,
                          "targetAgentId": w.agent_b, "wakeup": wakeup});
        call("POST", &path, Some(body), bearer).await
    } else {
        let q = format!(
            "?targetCompanyId={}&targetIssueId={target}&targetAgentId={}",
            w.b, w.agent_b
        );
        call("GET", &format!("{path}{q}"), None, bearer).await
    };
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["requestCompanyId"], w.a.as_str());
    let attempts = body["attempts"].as_array().unwrap();
    let names: Vec<&str> = attempts.iter().filter_map(|a| a["name"].as_str()).collect();
    assert!(names.contains(&"agents.get.target-company"), "{names:?}");
    assert_eq!(
        names.contains(&"issues.requestWakeup.target-company"),
        wakeup
    );
    assert_eq!(
        names.contains(&"issues.create.target-company"),
        method == "POST"
    );
    w.check_attempts(attempts);
    let companies = attempts
        .iter()
        .find(|a| a["name"] == "companies.list")
        .unwrap();
    assert_eq!(companies["result"]["count"], 1);
    assert_eq!(companies["result"]["includesTargetCompany"], false);
    assert_eq!(snapshot(&sql, &w.b).await, before, "company B changed");
    host.shutdown().await;
    db.drop_db().await;
}

/// Finding F11: after the response no invocation is active, and 2026.707.0
/// runs host calls without an invocation id unchecked, in company B too.
#[tokio::test]
async fn calls_after_the_response_are_not_scoped() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(plugin_dir) = common::prepared_fixture(tmp.path(), "scope-probe") else {
        db.drop_db().await;
        return;
    };
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let w = world(host.base_url(), &plugin_dir).await;
    let target = created(
        "POST",
        &format!("{}/api/companies/{}/issues", w.base, w.b),
        json!({"title": "B deferred target", "status": "todo"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!(
        "{}/api/plugins/conformance.scope-probe/api/issues/{}/probe",
        w.base, w.issue_a
    );
    let (s, body) = call(
        "POST",
        &path,
        Some(json!({"targetCompanyId": w.b, "targetIssueId": target,
                    "deferred": true, "deferredDelayMs": 200})),
        Some(&w.key_a1),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let q = format!("{path}?targetCompanyId={}&targetIssueId={target}", w.b);
    let mut deferred = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, body) = call("GET", &q, None, Some(&w.key_a1)).await;
        if let Some(d) = body["deferred"].as_array().filter(|d| !d.is_empty()) {
            deferred = d[0]["attempts"].as_array().cloned().unwrap_or_default();
            break;
        }
    }
    let names: Vec<&str> = deferred.iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "deferred.issues.get.target-company",
            "deferred.issues.update.target-company",
            "deferred.issues.create.target-company"
        ]
    );
    w.check_attempts(&deferred);
    let created = deferred[2]["result"].clone();
    assert_eq!(created["companyId"], w.b.as_str());
    assert_eq!(created["blockedByCount"], 0);
    host.shutdown().await;
    db.drop_db().await;
}
