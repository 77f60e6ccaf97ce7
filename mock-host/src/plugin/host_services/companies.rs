//! `companies.*` for a plugin: the same SQL as the REST routes
//! (`services::companies`), answered with the rows (and `logoUrl`) and the
//! `limit`/`offset` window.

use serde_json::Value;

use super::params::{apply_window, uuid_param};
use super::ServiceCtx;
use crate::db::{pg, Client};
use crate::error::{Error, Result};
use crate::services::companies;

/// `companies.list {limit?, offset?}` (the caller filters to the invocation's company).
pub(super) async fn list(client: &Client, p: &Value) -> Result<Value> {
    let mut list = companies::list(pg(client)).await?;
    list.iter_mut().for_each(companies::with_logo_url);
    Ok(Value::Array(apply_window(list, p)))
}

/// `companies.get {companyId}` → the row or `null`. Without an id, 2026.707.0
/// binds `undefined` and its query builder fails; from 824.0 the real host
/// answers `null` (docs/findings.md F28), and so does the mock playing it.
pub(super) async fn get(ctx: &ServiceCtx, client: &Client, p: &Value) -> Result<Value> {
    match uuid_param(p, "companyId")? {
        Some(id) => Ok(match companies::find(pg(client), id).await? {
            Some(mut company) => {
                companies::with_logo_url(&mut company);
                company
            }
            None => Value::Null,
        }),
        None if ctx.plays.company_get_without_id_null() => Ok(Value::Null),
        // 2026.817.0's query has the interaction resolver governance column.
        None if ctx.plays.company_query_has_governance() => Err(Error::internal(
            GET_WITHOUT_ID.replace(
                r#""companies"."require_board_approval_for_new_agents", "#,
                r#""companies"."require_board_approval_for_new_agents", "companies"."interaction_resolver_governance", "#,
            ),
        )),
        None => Err(Error::internal(GET_WITHOUT_ID)),
    }
}

/// 707.0's failure text for `companies.get` without `companyId`.
const GET_WITHOUT_ID: &str = r#"Failed query: select "companies"."id", "companies"."name", "companies"."description", "companies"."status", "companies"."issue_prefix", "companies"."issue_counter", "companies"."budget_monthly_cents", "companies"."spent_monthly_cents", "companies"."attachment_max_bytes", "companies"."default_responsible_user_id", "companies"."require_board_approval_for_new_agents", "companies"."feedback_data_sharing_enabled", "companies"."feedback_data_sharing_consent_at", "companies"."feedback_data_sharing_consent_by_user_id", "companies"."feedback_data_sharing_terms_version", "companies"."brand_color", "company_logos"."asset_id", "companies"."created_at", "companies"."updated_at" from "companies" left join "company_logos" on "company_logos"."company_id" = "companies"."id" where "companies"."id" = $1
params: "#;
