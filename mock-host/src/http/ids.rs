//! Ids in route paths: a malformed id is a 404 of its entity, as on the
//! real host, and a company id is only returned once the caller may use it.

use axum::http::Method;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::http::actor::Actor;
use crate::http::authz;

pub fn parse_uuid(s: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| Error::not_found(format!("{what} not found")))
}

/// The company of a `/companies/:id/…` route, once the caller may access it.
pub fn accessible_company(company: &str, actor: &Actor, method: &Method) -> Result<Uuid> {
    let company_id = parse_uuid(company, "Company")?;
    authz::assert_company_access(actor, company_id, method)?;
    Ok(company_id)
}
