//! Companies: the SQL behind `/api/companies*` and the worker's
//! `companies.*` host services, kept in one place so both answer from the
//! same rows in the same order.

use crate::db::Db;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::rows;
use crate::error::{Error, Result};
use crate::services::activity::{self, Activity};

/// Every company, oldest first (callers filter what the caller may see).
pub async fn list(c: &impl Db) -> Result<Vec<Value>> {
    rows::query_entities(c, "SELECT * FROM companies ORDER BY created_at", &[]).await
}

/// The company row as JSON, or `None`.
pub async fn find(c: &impl Db, id: Uuid) -> Result<Option<Value>> {
    rows::query_entity(c, "SELECT * FROM companies WHERE id = $1", &[&id]).await
}

/// The REST answer for one company: the row plus `logoUrl` (404 when missing).
pub async fn api_json(c: &impl Db, id: Uuid) -> Result<Value> {
    let mut v = find(c, id)
        .await?
        .ok_or_else(|| Error::not_found("Company not found"))?;
    with_logo_url(&mut v);
    Ok(v)
}

/// Adds the `logoUrl` the host joins from company_logos (none here: null).
pub fn with_logo_url(company: &mut Value) {
    if let Some(o) = company.as_object_mut() {
        o.insert("logoUrl".into(), Value::Null);
    }
}

/// Whether a company with this id exists.
pub async fn exists(c: &impl Db, id: Uuid) -> Result<bool> {
    Ok(c.query_opt("SELECT 1 FROM companies WHERE id = $1", &[&id])
        .await?
        .is_some())
}

/// What a board asks for in `POST /api/companies`.
pub struct NewCompany<'a> {
    pub name: &'a str,
    pub description: Option<&'a str>,
    pub budget_monthly_cents: i32,
    /// The creating board user: owner member and default responsible user.
    pub owner_user_id: &'a str,
}

/// Creates the company with its owner membership and `company.created`
/// activity, in one transaction; returns its id.
pub async fn create(client: &mut crate::db::Client, new: NewCompany<'_>) -> Result<Uuid> {
    let tx = client.transaction().await?;
    // Serialises prefix allocation between concurrent creates.
    tx.execute("SELECT pg_advisory_xact_lock(7301)", &[])
        .await?;
    let prefix = issue_prefix(&*tx, new.name).await?;
    let id: Uuid = tx
        .query_one(
            "INSERT INTO companies (name, description, issue_prefix, budget_monthly_cents, default_responsible_user_id)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[&new.name, &new.description, &prefix, &new.budget_monthly_cents, &new.owner_user_id],
        )
        .await?
        .get(0);
    tx.execute(
        "INSERT INTO company_memberships (company_id, principal_type, principal_id, status, membership_role)
         VALUES ($1, 'user', $2, 'active', 'owner') ON CONFLICT DO NOTHING",
        &[&id, &new.owner_user_id],
    )
    .await?;
    activity::log(
        &*tx,
        Activity {
            company_id: id,
            actor_type: "user",
            actor_id: new.owner_user_id,
            action: "company.created",
            entity_type: "company",
            entity_id: &id.to_string(),
            agent_id: None,
            run_id: None,
            details: json!({ "name": new.name }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The issue prefix of a new company: first three letters of the name,
/// then `A`, `B`, … suffixes while taken ("CON", "CONA", …).
async fn issue_prefix(c: &impl Db, name: &str) -> Result<String> {
    let letters: String = name
        .chars()
        .filter(|c| c.is_ascii_alphabetic())
        .take(3)
        .collect::<String>()
        .to_uppercase();
    let base = if letters.is_empty() {
        "CMP".to_string()
    } else {
        letters
    };
    let taken: Vec<String> = c
        .query(
            "SELECT issue_prefix FROM companies WHERE issue_prefix LIKE $1 || '%'",
            &[&base],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(free_prefix(&base, &taken))
}

/// The first of `base`, `baseA`…`baseZ`, `baseAA`…`baseZZ` not in `taken`;
/// past those a random suffix.
fn free_prefix(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    for n in 0..(26 * 27) {
        let suffix = if n < 26 {
            ((b'A' + n as u8) as char).to_string()
        } else {
            let m = n - 26;
            format!(
                "{}{}",
                (b'A' + (m / 26) as u8) as char,
                (b'A' + (m % 26) as u8) as char
            )
        };
        let candidate = format!("{base}{suffix}");
        if !taken.contains(&candidate) {
            return candidate;
        }
    }
    format!(
        "{base}{}",
        &Uuid::new_v4().simple().to_string()[..4].to_uppercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_take_the_next_free_suffix() {
        let taken = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(free_prefix("CON", &taken(&[])), "CON");
        assert_eq!(free_prefix("CON", &taken(&["CON"])), "CONA");
        assert_eq!(free_prefix("CON", &taken(&["CON", "CONA"])), "CONB");
        let all: Vec<String> = std::iter::once("CON".to_string())
            .chain((b'A'..=b'Z').map(|c| format!("CON{}", c as char)))
            .collect();
        assert_eq!(free_prefix("CON", &all), "CONAA");
    }
}
