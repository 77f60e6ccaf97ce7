//! What the hosts answer, where it is not written into a case: the gates'
//! codes and sentences (contract-db-worker.md B1, B3: `-32001` for a
//! missing capability, `-32005` for another company than the invocation's,
//! `-32603` with the handler's message for everything a handler throws)
//! and the handlers' own sentences (B2.2), in names (`{pluginAll}`, …).
//! Sentences the contract does not give are the real hosts' (2026.707.0
//! and 916.1 alike, docs/findings.md F29–F31).

use serde_json::Value;

use super::calls::Want;
use crate::profile::Profile;
use crate::property::host_methods::fixture::Variant;
use crate::property::host_methods::methods;

/// A handler that threw (B1: the host keeps no other code for it).
pub const INTERNAL: i64 = -32603;
/// The capability gate (B3).
pub const CAPABILITY: i64 = -32001;
/// The invocation-scope gate (B3 \[HEAD\], on 707.0 already: F10).
pub const SCOPE: i64 = -32005;

/// `ensureCompanyId` (B2.2, "Common host behaviour").
pub const COMPANY_REQUIRED: &str = "companyId is required for this operation";
/// An issue outside the company, or none (B2.2).
pub const ISSUE_NOT_FOUND: &str = "Issue not found";
/// `normalizePluginOriginKind` (B2.2 issues.create).
pub const ORIGIN_FOREIGN: &str = "Plugin may only use originKind values under plugin:{keyAll}";
/// A blocker of another company (B2.2 setBlockedBy, B3).
pub const BLOCKERS_OTHER_COMPANY: &str = "Blocked-by issues must belong to the same company";
/// `db.*` of a plugin without a database declaration (docs/host-methods.md).
pub const NO_NAMESPACE: &str = "Plugin database namespace is not active";
/// `db.query` without `sql` (docs/host-methods.md).
pub const NO_SQL: &str = "Cannot read properties of undefined (reading 'length')";

/// The fixture's plugin id, as messages name it.
pub fn plugin(variant: Variant) -> &'static str {
    match variant {
        Variant::All => "{pluginAll}",
        Variant::NoCapabilities => "{pluginNone}",
        Variant::Database => "{pluginDb}",
    }
}

/// B3: the capability gate's answer for `method` through the fixture
/// without capabilities.
pub fn capability_denied(method: &str) -> Want {
    let cap = methods::METHODS
        .iter()
        .find(|m| m.name == method)
        .and_then(|m| m.capability)
        .unwrap_or("?");
    Want::err(
        CAPABILITY,
        format!(
            "Plugin \"{}\" is missing required capability \"{cap}\" for method \"{method}\"",
            plugin(Variant::NoCapabilities)
        ),
    )
}

/// B3 \[HEAD\]: company B asked for inside an invocation of company A.
pub fn scope_denied(method: &str, variant: Variant) -> Want {
    Want::err(
        SCOPE,
        format!(
            "Plugin \"{}\" is not allowed to perform \"{method}\": requested company \"{{companyB}}\" but the current invocation is scoped to company \"{{companyA}}\"",
            plugin(variant)
        ),
    )
}

/// The params with company B where they name a company: `companyId`, or a
/// company `scopeId` (B3: the gate reads both).
pub fn naming_company_b(params: &Value) -> Option<Value> {
    let mut p = params.clone();
    let o = p.as_object_mut()?;
    if o.get("companyId").and_then(Value::as_str) == Some("{companyA}") {
        o.insert("companyId".into(), "{companyB}".into());
        return Some(p);
    }
    if o.get("scopeKind").and_then(Value::as_str) == Some("company") {
        o.insert("scopeId".into(), "{companyB}".into());
        return Some(p);
    }
    None
}

/// `issues.documents.upsert` of a key the issue has: the core service's
/// conflict (B2.2 documents.upsert), worded anew by 916.1 (F31).
pub fn document_conflict(profile: &Profile) -> &'static str {
    if profile.document_conflict_explained {
        "Document update requires baseRevisionId. GET the current document, read its body and latestRevisionId, then set baseRevisionId to that latestRevisionId when updating."
    } else {
        "Document update requires baseRevisionId"
    }
}
