//! Worker→host methods called straight through `host_services::dispatch`
//! on a real database, for the methods no fixture plugin calls:
//! `issues.documents.delete` (implemented as the contract says) and
//! `state.*`/`entities.*` (an explicit "not implemented" -32004). Needs
//! PostgreSQL (see `common`: fails under CI, skips loudly elsewhere). No
//! node: the calls are made as a worker would send them.

mod common;

use std::sync::Arc;

use mock_host::error::rpc_code;
use mock_host::plugin::host_services::{dispatch, ServiceCtx};
use mock_host::plugin::invocation::ScopeContext;
use mock_host::{Config, Defects};
use serde_json::{json, Value};
use uuid::Uuid;

use common::TestDb;

async fn created(url: &str, body: Value) -> Value {
    let res = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let v: Value = res.json().await.unwrap();
    assert!(status < 300, "POST {url}: {status} {v}");
    v
}

fn ctx(db: &TestDb, capabilities: &[&str]) -> ServiceCtx {
    ServiceCtx {
        pool: mock_host::db::pool(&db.url).unwrap(),
        plugin_id: Uuid::new_v4(),
        plugin_key: "conformance.host-services".into(),
        capabilities: Arc::new(capabilities.iter().map(|c| c.to_string()).collect()),
        defects: Defects::none(),
        plays: Default::default(),
        database: Default::default(),
    }
}

async fn call(ctx: &ServiceCtx, method: &str, params: Value) -> Result<Value, (i64, String)> {
    dispatch(ctx, method, params, &ScopeContext::Unscoped).await
}

#[tokio::test]
async fn documents_delete_and_unimplemented_methods() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    // The host applies the schema and gives us companies and issues the
    // way the suite makes them.
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let b = host.base_url().to_string();
    let a = created(&format!("{b}/api/companies"), json!({"name": "Docs Co A"})).await;
    let other = created(&format!("{b}/api/companies"), json!({"name": "Docs Co B"})).await;
    let cid = a["id"].as_str().unwrap().to_string();
    let issue = created(
        &format!("{b}/api/companies/{cid}/issues"),
        json!({"title": "Has documents"}),
    )
    .await;
    let iid = issue["id"].as_str().unwrap().to_string();

    let docs = ctx(&db, &["issue.documents.read", "issue.documents.write"]);
    let key = json!({"issueId": iid, "companyId": cid, "key": "Notes"});
    let doc = call(
        &docs,
        "issues.documents.upsert",
        json!({"issueId": iid, "companyId": cid, "key": "notes", "body": "# Notes"}),
    )
    .await
    .unwrap();
    assert_eq!(doc["key"], "notes");

    // The key is trimmed and lower-cased like on upsert/get.
    assert_eq!(
        call(&docs, "issues.documents.delete", key.clone()).await,
        Ok(Value::Null)
    );
    assert_eq!(
        call(&docs, "issues.documents.get", key.clone()).await,
        Ok(Value::Null)
    );
    assert_eq!(
        call(
            &docs,
            "issues.documents.list",
            json!({"issueId": iid, "companyId": cid})
        )
        .await,
        Ok(json!([]))
    );
    // Nothing left to delete: still null, and a second activity row, as
    // 2026.707.0 and 916.1 write (docs/findings.md F30).
    assert_eq!(
        call(&docs, "issues.documents.delete", key.clone()).await,
        Ok(Value::Null)
    );
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT actor_type, actor_id, entity_type, entity_id, details FROM activity_log
             WHERE action = 'issue.document_deleted'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let r = &rows[0];
    assert_eq!(r.get::<_, String>(0), "plugin");
    assert_eq!(r.get::<_, String>(1), docs.plugin_id.to_string());
    assert_eq!(
        (r.get::<_, String>(2), r.get::<_, String>(3)),
        ("issue".into(), iid.clone())
    );
    let details: Value = r.get(4);
    assert_eq!(details["documentKey"], "notes");
    assert_eq!(details["identifier"], issue["identifier"]);
    assert_eq!(details["initiatingActorType"], Value::Null);
    let left: i64 = client
        .query_one("SELECT count(*) FROM document_revisions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "the revisions go with the document");

    // Another company's issue is "Issue not found"; no capability is -32001.
    let (code, message) = call(
        &docs,
        "issues.documents.delete",
        json!({"issueId": iid, "companyId": other["id"], "key": "notes"}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        (code, message.as_str()),
        (rpc_code::INTERNAL_ERROR, "Issue not found")
    );
    let reader = ctx(&db, &["issue.documents.read"]);
    let (code, _) = call(&reader, "issues.documents.delete", key)
        .await
        .unwrap_err();
    assert_eq!(code, rpc_code::CAPABILITY_DENIED);

    // state.*: a value per (scope, namespace, key), set, read, deleted.
    // entities.upsert: gated like the real host, then (given its params)
    // an explicit "not implemented" instead of a catch-all -32603.
    // entities.list answers [] since nothing can be stored.
    let all = ctx(&db, &["plugin.state.read", "plugin.state.write"]);
    assert_eq!(
        call(&all, "entities.list", json!({"entityType": "k"})).await,
        Ok(json!([]))
    );
    // State rows belong to an installed plugin (a foreign key).
    client
        .execute(
            "INSERT INTO plugins (id, plugin_key, package_name, version, manifest_json)
             VALUES ($1, 'conformance.host-services', 'host-services', '0.1.0', '{}')",
            &[&all.plugin_id],
        )
        .await
        .unwrap();
    let key = json!({"scopeKind": "instance", "stateKey": "k"});
    let mut set = key.clone();
    set["value"] = json!({"n": [1, "two"]});
    assert_eq!(call(&all, "state.set", set).await, Ok(Value::Null));
    assert_eq!(
        call(&all, "state.get", key.clone()).await,
        Ok(json!({"n": [1, "two"]}))
    );
    assert_eq!(
        call(&all, "state.delete", key.clone()).await,
        Ok(Value::Null)
    );
    assert_eq!(call(&all, "state.get", key.clone()).await, Ok(Value::Null));
    let (code, message) = call(&all, "entities.upsert", key).await.unwrap_err();
    assert_eq!(code, rpc_code::METHOD_NOT_IMPLEMENTED, "{message}");
    assert_eq!(
        message,
        "Host method \"entities.upsert\" is not implemented by the mock host"
    );
    let none = ctx(&db, &[]);
    let (code, _) = call(&none, "state.get", json!({})).await.unwrap_err();
    assert_eq!(code, rpc_code::CAPABILITY_DENIED);

    host.shutdown().await;
    db.drop_db().await;
}

/// A subtree's relations are read for all its issues at once; each issue
/// still gets exactly its own, as `issues.relations.get` gives them.
#[tokio::test]
async fn a_subtrees_relations_belong_to_their_issues() {
    let Some(db) = TestDb::create().await else {
        return;
    };
    let host = mock_host::serve(Config::new(db.url.clone())).await.unwrap();
    let b = host.base_url().to_string();
    let company = created(&format!("{b}/api/companies"), json!({"name": "Tree Co"})).await;
    let cid = company["id"].as_str().unwrap().to_string();
    let issues_url = format!("{b}/api/companies/{cid}/issues");
    let root = created(&issues_url, json!({"title": "Root"})).await;
    let child = created(
        &issues_url,
        json!({"title": "Child", "parentId": root["id"]}),
    )
    .await;
    let outside = created(&issues_url, json!({"title": "Outside"})).await;
    let plugin = ctx(
        &db,
        &[
            "issue.relations.read",
            "issue.relations.write",
            "issue.subtree.read",
            "issues.orchestration.read",
        ],
    );
    // The child is blocked by an issue outside the tree, and blocks the root.
    for (issue, blockers) in [
        (&child, json!([outside["id"]])),
        (&root, json!([child["id"]])),
    ] {
        call(
            &plugin,
            "issues.relations.setBlockedBy",
            json!({"issueId": issue["id"], "companyId": cid, "blockedByIssueIds": blockers}),
        )
        .await
        .unwrap();
    }
    let subtree = call(
        &plugin,
        "issues.getSubtree",
        json!({"issueId": root["id"], "companyId": cid, "includeRelations": true}),
    )
    .await
    .unwrap();
    let summary = call(
        &plugin,
        "issues.summaries.getOrchestration",
        json!({"issueId": root["id"], "companyId": cid, "includeSubtree": true}),
    )
    .await
    .unwrap();
    assert_eq!(subtree["issueIds"], json!([root["id"], child["id"]]));
    assert_eq!(summary["subtreeIssueIds"], subtree["issueIds"]);
    for issue in [&root, &child] {
        let id = issue["id"].as_str().unwrap();
        let own = call(
            &plugin,
            "issues.relations.get",
            json!({"issueId": id, "companyId": cid}),
        )
        .await
        .unwrap();
        assert_eq!(
            subtree["relations"][id], own,
            "getSubtree's relations of {id}"
        );
        assert_eq!(
            summary["relations"][id], own,
            "the summary's relations of {id}"
        );
    }
    let child_id = child["id"].as_str().unwrap();
    assert_eq!(
        subtree["relations"][child_id]["blockedBy"][0]["id"],
        outside["id"]
    );
    assert_eq!(
        subtree["relations"][child_id]["blocks"][0]["id"],
        root["id"]
    );
    host.shutdown().await;
}
