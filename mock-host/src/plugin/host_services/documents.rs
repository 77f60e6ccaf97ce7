//! `issues.documents.*`: an issue's keyed documents for a plugin. Upsert
//! only creates (an existing key is a conflict, as on the real host).

use crate::db::Db;
use serde_json::{json, Value};
use uuid::Uuid;

use super::activity::log_plugin_activity;
use super::issues::issue_in;
use super::params::{company, s, trimmed, PluginActor};
use super::ServiceCtx;
use crate::config::Defect;
use crate::db::{pg, rows, Client};
use crate::error::{Error, Result};

/// `issues.documents.upsert {issueId, key, body, companyId, title?, format?, changeSummary?}`.
pub(super) async fn upsert(ctx: &ServiceCtx, client: &mut Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let key = trimmed(p, "key", "key")?.to_lowercase();
    let valid = !key.is_empty()
        && key.len() <= 64
        && key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        return Err(Error::internal("Invalid document key"));
    }
    let title = s(p, "title").map(String::from);
    let format = s(p, "format").unwrap_or("markdown").to_string();
    let body = s(p, "body").unwrap_or_default().to_string();
    let change = s(p, "changeSummary").map(String::from);
    let tx = client.transaction().await?;
    let exists = tx
        .query_opt(
            "SELECT 1 FROM issue_documents WHERE company_id = $1 AND issue_id = $2 AND key = $3",
            &[&company_id, &issue.id, &key],
        )
        .await?;
    if exists.is_some() {
        // Worded anew by 2026.831 (docs/findings.md F31).
        return Err(Error::conflict(
            if ctx.plays.document_conflict_explained() {
                "Document update requires baseRevisionId. GET the current document, read its body and latestRevisionId, then set baseRevisionId to that latestRevisionId when updating."
            } else {
                "Document update requires baseRevisionId"
            },
        ));
    }
    let doc: Uuid = tx
        .query_one(
            "INSERT INTO documents (company_id, title, format, latest_body, latest_revision_number)
             VALUES ($1, $2, $3, $4, 1) RETURNING id",
            &[&company_id, &title, &format, &body],
        )
        .await?
        .get(0);
    // Defect document-revision-not-written: the document has no revision.
    if !ctx.defects.has(Defect::DocumentRevisionNotWritten) {
        let rev: Uuid = tx
            .query_one(
                "INSERT INTO document_revisions (company_id, document_id, revision_number, title, format, body, change_summary)
                 VALUES ($1, $2, 1, $3, $4, $5, $6) RETURNING id",
                &[&company_id, &doc, &title, &format, &body, &change],
            )
            .await?
            .get(0);
        tx.execute(
            "UPDATE documents SET latest_revision_id = $2 WHERE id = $1",
            &[&doc, &rev],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO issue_documents (company_id, issue_id, document_id, key) VALUES ($1, $2, $3, $4)",
        &[&company_id, &issue.id, &doc, &key],
    )
    .await?;
    tx.commit().await?;
    log_plugin_activity(
        ctx,
        pg(client),
        company_id,
        "issue.document_upserted",
        issue.id,
        json!({"identifier": issue.identifier, "documentKey": key, "title": title, "format": format}),
        &PluginActor::none(),
    )
    .await?;
    document_json(pg(client), issue.id, &key).await
}

/// `issues.documents.list {issueId, companyId}` (bodies included, system key left out).
pub(super) async fn list(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    Ok(Value::Array(
        rows::query_entities(pg(client), &document_select("idoc.issue_id = $1 AND idoc.key <> 'continuation-summary' ORDER BY idoc.key, d.updated_at DESC"), &[&issue.id]).await?,
    ))
}

/// `issues.documents.get {issueId, key, companyId}` → the document or `null`.
pub(super) async fn get(client: &Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let key = trimmed(p, "key", "key")?.to_lowercase();
    document_json(pg(client), issue.id, &key).await
}

fn document_select(filter: &str) -> String {
    format!(
        "SELECT d.id, d.company_id, idoc.issue_id, idoc.key, d.title, d.format, d.latest_body AS body,
                d.latest_revision_id, d.latest_revision_number, d.created_by_agent_id, d.created_by_user_id,
                d.updated_by_agent_id, d.updated_by_user_id, d.created_at, d.updated_at,
                -- Document locks and source trust: never set on the mock.
                NULL::timestamptz AS locked_at, NULL::uuid AS locked_by_agent_id,
                NULL::text AS locked_by_user_id, NULL::text AS source_trust
         FROM issue_documents idoc JOIN documents d ON d.id = idoc.document_id WHERE {filter}"
    )
}

async fn document_json(c: &impl Db, issue_id: Uuid, key: &str) -> Result<Value> {
    Ok(rows::query_entity(
        c,
        &document_select("idoc.issue_id = $1 AND idoc.key = $2"),
        &[&issue_id, &key],
    )
    .await?
    .unwrap_or(Value::Null))
}

/// `issues.documents.delete {issueId, key, companyId}` → `null`, with an
/// `issue.document_deleted` row `{identifier, documentKey}` and no actor
/// (contract-http.md §8.2). The revisions go with the document (cascade).
/// A key the issue has no document under deletes nothing and still
/// answers `null` and writes the activity row, as 2026.707.0 and 916.1 do
/// (docs/findings.md F30).
pub(super) async fn delete(ctx: &ServiceCtx, client: &mut Client, p: &Value) -> Result<Value> {
    let company_id = company(p)?;
    let issue = issue_in(pg(client), company_id, s(p, "issueId")).await?;
    let key = trimmed(p, "key", "key")?.to_lowercase();
    let tx = client.transaction().await?;
    let deleted = tx
        .query_opt(
            "DELETE FROM documents WHERE id = (
               SELECT document_id FROM issue_documents
               WHERE company_id = $1 AND issue_id = $2 AND key = $3)
             RETURNING id",
            &[&company_id, &issue.id, &key],
        )
        .await?;
    tx.commit().await?;
    let _ = deleted;
    log_plugin_activity(
        ctx,
        pg(client),
        company_id,
        "issue.document_deleted",
        issue.id,
        json!({"identifier": issue.identifier, "documentKey": key}),
        &PluginActor::none(),
    )
    .await?;
    Ok(Value::Null)
}
