//! The mock host started in-process through the library API against a
//! throw-away database. Needs PostgreSQL (see `common`: fails under CI,
//! skips loudly elsewhere when it does not answer). The plugin test also
//! needs node and npm (it installs the smoke plugin's SDK).

mod common;

use mock_host::{Config, Defect, Defects, DeploymentMode};
use serde_json::{json, Value};

use common::TestDb;

async fn call(method: &str, url: &str, body: Option<Value>) -> (u16, Value) {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut req = client.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn rest_basics_and_errors() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let b = host.base_url().to_string();

    let (s, health) = call("GET", &format!("{b}/api/health"), None).await;
    assert_eq!(s, 200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["deploymentMode"], "local_trusted");

    let (s, body) = call("GET", &format!("{b}/api/nope"), None).await;
    assert_eq!((s, body), (404, json!({"error": "API route not found"})));

    // Malformed JSON is the body parser's 500, before routing.
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let res = client
        .post(format!("{b}/api/companies"))
        .header("content-type", "application/json")
        .body("{bad")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 500);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error": "Internal server error"})
    );

    let (s, a) = call(
        "POST",
        &format!("{b}/api/companies"),
        Some(json!({"name": "Conformance Co A"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(a["issuePrefix"], "CON");
    let (_, bco) = call(
        "POST",
        &format!("{b}/api/companies"),
        Some(json!({"name": "Conformance Co B"})),
    )
    .await;
    assert_eq!(bco["issuePrefix"], "CONA");
    let cid = a["id"].as_str().unwrap();

    let (s, agent) = call(
        "POST",
        &format!("{b}/api/companies/{cid}/agents"),
        Some(json!({"name": "Agent A1", "role": "engineer", "adapterType": "process"})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(agent["status"], "idle");
    let aid = agent["id"].as_str().unwrap();
    let (s, key) = call(
        "POST",
        &format!("{b}/api/agents/{aid}/keys"),
        Some(json!({"name": "c"})),
    )
    .await;
    assert_eq!(s, 201);
    assert!(key["token"].as_str().unwrap().starts_with("pcp_"));

    let (s, issue) = call(
        "POST",
        &format!("{b}/api/companies/{cid}/issues"),
        Some(json!({"title": "Root", "status": "backlog", "assigneeAgentId": aid})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(issue["identifier"], "CON-1");
    let iid = issue["id"].as_str().unwrap();

    // An agent self-checkout with a real heartbeat run.
    let (s, run) = call(
        "POST",
        &format!("{b}/api/agents/{aid}/heartbeat/invoke"),
        None,
    )
    .await;
    assert_eq!(s, 202);
    let run_id = run["id"].as_str().unwrap();
    let res = client
        .post(format!("{b}/api/issues/{iid}/checkout"))
        .bearer_auth(key["token"].as_str().unwrap())
        .header("x-paperclip-run-id", run_id)
        .json(&json!({"agentId": aid, "expectedStatuses": ["backlog"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let checked: Value = res.json().await.unwrap();
    assert_eq!(checked["status"], "in_progress");
    assert_eq!(checked["checkoutRunId"], run_id);

    // Without a run id an agent cannot check out.
    let res = client
        .post(format!("{b}/api/issues/{iid}/checkout"))
        .bearer_auth(key["token"].as_str().unwrap())
        .json(&json!({"agentId": aid, "expectedStatuses": ["todo"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);

    let (s, _) = call("GET", &format!("{b}/api/plugins/acme.nope/api/x"), None).await;
    assert_eq!(s, 404);

    host.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn authenticated_mode_needs_credentials() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let mut cfg = Config::new(db.url.clone());
    cfg.mode = DeploymentMode::Authenticated;
    let host = mock_host::serve(cfg).await.unwrap();
    let b = host.base_url().to_string();
    let (_, health) = call("GET", &format!("{b}/api/health"), None).await;
    assert_eq!(health["bootstrapStatus"], "bootstrap_pending");
    let (s, body) = call(
        "POST",
        &format!("{b}/api/companies"),
        Some(json!({"name": "X"})),
    )
    .await;
    assert_eq!((s, body), (403, json!({"error": "Board access required"})));
    let (s, body) = call("GET", &format!("{b}/api/plugins"), None).await;
    assert_eq!((s, body), (403, json!({"error": "Board access required"})));
    host.shutdown().await;
    db.drop_db().await;
}

#[tokio::test]
async fn smoke_plugin_end_to_end_with_defect() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(plugin_dir) = common::prepared_fixture(tmp.path(), "orchestration-smoke") else {
        db.drop_db().await;
        return;
    };
    let mut cfg = Config::new(db.url.clone());
    cfg.defects = Defects::none().with(Defect::UnknownRoute503);
    let host = mock_host::serve(cfg).await.unwrap();
    let b = host.base_url().to_string();
    let (_, company) = call(
        "POST",
        &format!("{b}/api/companies"),
        Some(json!({"name": "Smoke Co"})),
    )
    .await;
    let cid = company["id"].as_str().unwrap().to_string();
    let (_, agent) = call(
        "POST",
        &format!("{b}/api/companies/{cid}/agents"),
        Some(json!({"name": "Worker", "adapterType": "process"})),
    )
    .await;
    let aid = agent["id"].as_str().unwrap().to_string();
    let (_, root) = call(
        "POST",
        &format!("{b}/api/companies/{cid}/issues"),
        Some(json!({"title": "Smoke root", "status": "todo"})),
    )
    .await;
    let root = root["id"].as_str().unwrap().to_string();

    let (s, record) = call(
        "POST",
        &format!("{b}/api/plugins/install"),
        Some(json!({"packageName": plugin_dir.display().to_string(), "isLocalPath": true})),
    )
    .await;
    assert_eq!(s, 200, "{record}");
    assert_eq!(record["status"], "ready");
    let key = record["pluginKey"].as_str().unwrap().to_string();
    let p = format!("{b}/api/plugins/{key}/api");

    let (s, body) = call("GET", &format!("{p}/issues/{root}/smoke"), None).await;
    assert_eq!((s, body), (200, Value::Null));
    let (s, body) = call(
        "POST",
        &format!("{p}/issues/{root}/smoke"),
        Some(json!({"assigneeAgentId": aid})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["wakeupQueued"], true);
    assert_eq!(body["subtreeIssueIds"].as_array().unwrap().len(), 3);

    // The defect answers 503 where the real host answers 404.
    let (s, _) = call("GET", &format!("{p}/issues/{root}/nope"), None).await;
    assert_eq!(s, 503);

    // The wakeup's run checks the child out for its assignee.
    let child = body["childIssueId"].as_str().unwrap();
    let mut checked = Value::Null;
    for _ in 0..50 {
        let (_, issue) = call("GET", &format!("{b}/api/issues/{child}"), None).await;
        if issue["status"] == "in_progress" {
            checked = issue;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(checked["assigneeAgentId"], aid.as_str());
    assert_eq!(checked["checkoutRunId"], checked["executionRunId"]);

    let pids = host.worker_pids();
    assert_eq!(pids.len(), 1);
    host.shutdown().await;
    // The worker is gone after shutdown.
    // Signal "none" only probes whether the process exists.
    let pid = nix::unistd::Pid::from_raw(pids[0] as i32);
    let alive = nix::sys::signal::kill(pid, None).is_ok();
    assert!(!alive, "worker {} survived shutdown", pids[0]);
    db.drop_db().await;
}
