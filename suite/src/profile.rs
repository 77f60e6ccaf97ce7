//! Version profiles: where host versions legitimately differ.
//!
//! The contract is the same across versions except for a few documented
//! behaviours. A profile names them, and the models of the property checks
//! consult it instead of hard-coding one version. The profile is picked from
//! the version `/api/health` reports; a host that reports none (the
//! authenticated health body of 2026.707.0 has no version) gets the profile of
//! the version the suite installed, or the earliest one.

use serde::Serialize;

/// How a host treats a bearer token it cannot verify (unknown, revoked, or of
/// a terminated agent) when the deployment is `local_trusted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnverifiedBearer {
    /// The request continues as the implicit local board (2026.707.0–824.1).
    FallsBackToBoard,
    /// 401 with [`Profile::unverified_bearer_message`] (2026.916.1).
    Rejected,
}

/// What `companies.get` answers when the params name no company
/// (docs/findings.md F28).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CompanyGetWithoutId {
    /// The lookup runs with an unbound id and the query builder's failure
    /// comes back as the message (2026.707.0, 722.0).
    QueryFails,
    /// The same failure, its column list with the company's
    /// `interaction_resolver_governance` (2026.817.0).
    QueryFailsWithGovernance,
    /// `null`: an id that is no UUID is never looked up (2026.824.0 on).
    Null,
}

/// Behaviour that differs between host versions.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Profile name, e.g. `2026.707`.
    pub name: &'static str,
    /// The published host versions the whole suite has passed on with this
    /// profile. A host of another version gets a warning in the report: its
    /// differences may not be modelled yet.
    pub verified_on: &'static [&'static str],
    /// `local_trusted` with an unverifiable bearer token.
    pub local_unverified_bearer: UnverifiedBearer,
    /// The 401 body text for an unverifiable bearer token, where rejected
    /// (`authenticated` mode always rejects).
    pub unverified_bearer_message: &'static str,
    /// An unverifiable bearer token is refused by the authentication layer
    /// before any plugin or route lookup, so even unknown plugins and routes
    /// answer 401 (docs/findings.md F15).
    pub unverified_bearer_refused_before_routing: bool,
    /// Worker→host calls for another company than the request's are refused
    /// (invocation scope, contract-db-worker.md B3 \[HEAD\]).
    pub invocation_scope: bool,
    /// Host calls a worker makes while none of its invocations is active
    /// (from a timer after its response was sent) and that name a company
    /// are refused with −32005 `…: company context is required`; before
    /// 2026.722.0 they pass unchecked (docs/findings.md F11).
    pub unscoped_host_calls_refused: bool,
    /// Such calls are admitted again for a company that has its own stored
    /// config of the plugin (`POST /api/plugins/:id/config` with that
    /// `companyId`), from 2026.817.0 (docs/findings.md F11).
    pub plugin_config_grants_company_scope: bool,
    /// `secrets.resolve` takes its company from the invocation and refuses a
    /// reference it cannot read with the shape it expects (`Invalid secret
    /// reference for plugin: <empty>. Use { type: "secret_ref", … }`); before
    /// 2026.722.0 the text is `Invalid secret reference: <empty>`
    /// (docs/findings.md F28).
    pub secret_ref_error_shows_shape: bool,
    /// The host serves the eight worker→host methods for issue interactions
    /// and attachments, approvals and provider spans (`span.record`) that the
    /// SDK declares from 2026.817.0; before, they answer −32601 and their
    /// capabilities are unknown to the manifest validator (docs/findings.md
    /// F28).
    pub interaction_and_approval_methods: bool,
    /// `companies.get` without a company id (docs/findings.md F28).
    pub company_get_without_id: CompanyGetWithoutId,
    /// `issues.documents.upsert` of a key the issue already has says how to
    /// update it (`Document update requires baseRevisionId. GET the current
    /// document, …`); 2026.707.0 says only `Document update requires
    /// baseRevisionId` (docs/findings.md F31; seen on 916.1, the first
    /// version not pinned).
    pub document_conflict_explained: bool,
    /// `issues.create` trims the title, so one that is not a string is
    /// refused (`title.trim is not a function`); 2026.707.0 stores
    /// `String(title)` (docs/findings.md F29; seen on 916.1, the first
    /// version not pinned).
    pub plugin_issue_title_trimmed: bool,
}

/// 2026.707.0: the reference behaviour.
pub const PROFILE_707: Profile = Profile {
    name: "2026.707",
    verified_on: &["2026.707.0"],
    local_unverified_bearer: UnverifiedBearer::FallsBackToBoard,
    unverified_bearer_message: "Unauthorized",
    unverified_bearer_refused_before_routing: false,
    invocation_scope: false,
    unscoped_host_calls_refused: false,
    plugin_config_grants_company_scope: false,
    secret_ref_error_shows_shape: false,
    interaction_and_approval_methods: false,
    company_get_without_id: CompanyGetWithoutId::QueryFails,
    document_conflict_explained: false,
    plugin_issue_title_trimmed: false,
};

/// 2026.722.x to 2026.816.x: as 2026.707, but host calls outside any
/// invocation are refused, whatever the plugin's config (F11), and
/// `secrets.resolve` words its refusal anew (F28).
pub const PROFILE_722: Profile = Profile {
    name: "2026.722",
    verified_on: &["2026.722.0"],
    unscoped_host_calls_refused: true,
    secret_ref_error_shows_shape: true,
    ..PROFILE_707
};

/// 2026.817.x to 2026.823.x: as 2026.722, but a company with its own plugin
/// config may be named by host calls outside any invocation (F11); the eight
/// new host methods are served and the company query reads one more column
/// (F28).
pub const PROFILE_817: Profile = Profile {
    name: "2026.817",
    verified_on: &["2026.817.0"],
    plugin_config_grants_company_scope: true,
    interaction_and_approval_methods: true,
    company_get_without_id: CompanyGetWithoutId::QueryFailsWithGovernance,
    ..PROFILE_722
};

/// 2026.824.x to 2026.830.x: as 2026.817, but `companies.get` without an id
/// answers `null` (F28).
pub const PROFILE_824: Profile = Profile {
    name: "2026.824",
    verified_on: &["2026.824.0", "2026.824.1"],
    company_get_without_id: CompanyGetWithoutId::Null,
    ..PROFILE_817
};

/// 2026.831 and later (observed on 2026.916.1).
pub const PROFILE_916: Profile = Profile {
    name: "2026.916",
    verified_on: &["2026.831.1", "2026.916.1"],
    local_unverified_bearer: UnverifiedBearer::Rejected,
    unverified_bearer_message: "Agent token did not verify; obtain fresh credentials and retry",
    unverified_bearer_refused_before_routing: true,
    invocation_scope: true,
    unscoped_host_calls_refused: true,
    plugin_config_grants_company_scope: true,
    secret_ref_error_shows_shape: true,
    interaction_and_approval_methods: true,
    company_get_without_id: CompanyGetWithoutId::Null,
    document_conflict_explained: true,
    plugin_issue_title_trimmed: true,
};

/// Picks the profile for a reported version (`2026.916.1`, `2026.707.0-canary.1`, …).
pub fn for_version(version: Option<&str>) -> &'static Profile {
    // Only year and month-day matter: a pre-release of 2026.831.0 already
    // behaves like 2026.831.0. Unreadable versions (`mock-0.1.0`) get the
    // reference profile.
    let Some(v) = version.and_then(crate::version::parse_loose) else {
        return &PROFILE_707;
    };
    match (v.major, v.minor) {
        m if m >= (2026, 831) => &PROFILE_916,
        m if m >= (2026, 824) => &PROFILE_824,
        m if m >= (2026, 817) => &PROFILE_817,
        m if m >= (2026, 722) => &PROFILE_722,
        _ => &PROFILE_707,
    }
}

impl Profile {
    /// The warning for a host whose version this profile was not verified
    /// on (`None` for verified versions and for hosts that are not Paperclip
    /// releases, such as the mock).
    pub fn unverified_warning(&self, version: Option<&str>) -> Option<String> {
        let version = version?;
        crate::version::parse_loose(version)?;
        if self.verified_on.contains(&version) {
            return None;
        }
        Some(format!(
            "host version {version} is not one the {} profile was verified on ({}): a difference of this version may show as a failure",
            self.name,
            self.verified_on.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(None, "2026.707")]
    #[case(Some("2026.707.0"), "2026.707")]
    #[case(Some("2026.721.9"), "2026.707")]
    #[case(Some("2026.722.0"), "2026.722")]
    #[case(Some("2026.722.0-canary.1"), "2026.722")]
    #[case(Some("2026.817.0"), "2026.817")]
    #[case(Some("2026.823.9"), "2026.817")]
    #[case(Some("2026.824.0"), "2026.824")]
    #[case(Some("2026.824.1"), "2026.824")]
    #[case(Some("2026.831.1"), "2026.916")]
    #[case(Some("2026.916.1"), "2026.916")]
    #[case(Some("2027.101.0"), "2026.916")]
    #[case(Some("mock-0.1.0"), "2026.707")]
    fn picks_profiles(#[case] version: Option<&str>, #[case] name: &str) {
        assert_eq!(for_version(version).name, name);
    }

    #[test]
    fn warns_only_for_unverified_releases() {
        assert_eq!(PROFILE_916.unverified_warning(Some("2026.916.1")), None);
        assert_eq!(PROFILE_707.unverified_warning(Some("mock-0.1.0")), None);
        assert_eq!(PROFILE_707.unverified_warning(None), None);
        let warning = PROFILE_916.unverified_warning(Some("2027.101.0")).unwrap();
        assert!(warning.contains("2026.831.1, 2026.916.1"), "{warning}");
    }

    /// Each flag of F11 starts at its version and stays on after it.
    #[test]
    fn unscoped_call_flags_start_where_observed() {
        let flags = |v| {
            let p = for_version(Some(v));
            (
                p.unscoped_host_calls_refused,
                p.plugin_config_grants_company_scope,
            )
        };
        assert_eq!(flags("2026.707.0"), (false, false));
        assert_eq!(flags("2026.722.0"), (true, false));
        assert_eq!(flags("2026.817.0"), (true, true));
        assert_eq!(flags("2026.916.1"), (true, true));
    }

    /// The flags of F28 start where they were pinned and stay on after.
    #[test]
    fn host_method_flags_start_where_observed() {
        let flags = |v| {
            let p = for_version(Some(v));
            (
                p.secret_ref_error_shows_shape,
                p.interaction_and_approval_methods,
                p.company_get_without_id,
            )
        };
        use CompanyGetWithoutId::*;
        assert_eq!(flags("2026.707.0"), (false, false, QueryFails));
        assert_eq!(flags("2026.722.0"), (true, false, QueryFails));
        assert_eq!(flags("2026.817.0"), (true, true, QueryFailsWithGovernance));
        assert_eq!(flags("2026.824.0"), (true, true, Null));
        assert_eq!(flags("2026.916.1"), (true, true, Null));
    }
}
