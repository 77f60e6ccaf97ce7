//! Which Paperclip release the mock host plays (`--plays VERSION`).
//!
//! By default the mock answers as 2026.707.0, the reference host, and
//! reports its own version (`mock-…`). Playing a later release, it reports
//! that version in `/api/health` — so a conformance run picks that
//! release's profile — and its worker→host services answer as that release
//! does where the orchestration methods changed (docs/findings.md F11, F28,
//! F29, F31). Everything else stays 2026.707.0's: the mock plays a release's
//! host services, not the whole release (README: known differences).

use crate::error::{Error, Result};

/// The release the mock plays: its version as reported, and the year and
/// month-day that decide which behaviours it has (each a method below).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plays {
    /// The version reported by `/api/health`; `None`: the mock's own.
    pub version: Option<String>,
    release: (u64, u64),
}

/// The first release the mock can play, and the one it plays by default:
/// the earliest with these APIs.
const EARLIEST: (u64, u64) = (2026, 707);

impl Default for Plays {
    fn default() -> Self {
        Plays {
            version: None,
            release: EARLIEST,
        }
    }
}

/// The capabilities 2026.817.0 added to 2026.707.0's.
const CAPABILITIES_OF_817: &[&str] = &[
    "issue.interactions.read",
    "issue.interactions.respond",
    "issue.attachments.read",
    "approvals.read",
    "approvals.respond",
];

impl Plays {
    /// Release `version` (`2026.916.1`; pre-release tags such as
    /// `-canary.1` behave as their release).
    pub fn release(version: &str) -> Result<Plays> {
        let release = version.split('-').next().unwrap_or_default();
        let parts: Vec<u64> = release
            .split('.')
            .map(|p| p.parse::<u64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| not_a_release(version))?;
        let [year, month_day, _patch] = parts[..] else {
            return Err(not_a_release(version));
        };
        if (year, month_day) < EARLIEST {
            return Err(Error::Config(format!(
                "the mock cannot play {version}: the earliest release it knows is 2026.707.0"
            )));
        }
        Ok(Plays {
            version: Some(version.to_string()),
            release: (year, month_day),
        })
    }

    fn since(&self, month_day: u64) -> bool {
        self.release >= (2026, month_day)
    }

    /// From 2026.722.0: host calls a worker makes while none of its
    /// invocations is active are refused (−32005).
    pub fn unscoped_calls_refused(&self) -> bool {
        self.since(722)
    }

    /// From 2026.722.0: `secrets.resolve` without a reference shows the
    /// shape it expects.
    pub fn secret_ref_error_shows_shape(&self) -> bool {
        self.since(722)
    }

    /// Capabilities a manifest may declare beyond 2026.707.0's: from
    /// 2026.817.0 the interaction, attachment and approval ones (their
    /// methods still answer as on 2026.707.0: not played).
    pub fn added_capabilities(&self) -> &'static [&'static str] {
        if self.since(817) {
            CAPABILITIES_OF_817
        } else {
            &[]
        }
    }

    /// From 2026.817.0 the `companies` query has the interaction resolver
    /// governance column (its failure text names it).
    pub fn company_query_has_governance(&self) -> bool {
        self.since(817)
    }

    /// From 2026.824.0: `companies.get` without `companyId` answers `null`
    /// instead of the query builder's failure.
    pub fn company_get_without_id_null(&self) -> bool {
        self.since(824)
    }

    /// From 2026.831.0: the document conflict says how to get the base
    /// revision id.
    pub fn document_conflict_explained(&self) -> bool {
        self.since(831)
    }

    /// From 2026.831.0: a plugin's issue title is trimmed, so a title that
    /// is not a string fails (`title.trim is not a function`).
    pub fn issue_title_trimmed(&self) -> bool {
        self.since(831)
    }
}

fn not_a_release(version: &str) -> Error {
    Error::Config(format!(
        "'{version}' is not a Paperclip release version; use --plays YEAR.MDD.PATCH, e.g. 2026.916.1"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_switch_on_what_changed_by_then() {
        let p = Plays::release("2026.707.0").unwrap();
        assert_eq!(p.version.as_deref(), Some("2026.707.0"));
        assert!(!p.unscoped_calls_refused() && !p.document_conflict_explained());
        assert_eq!(Plays::default().release, p.release);
        let p = Plays::release("2026.722.0").unwrap();
        assert!(p.unscoped_calls_refused() && p.secret_ref_error_shows_shape());
        assert!(!p.company_get_without_id_null() && !p.company_query_has_governance());
        assert!(p.added_capabilities().is_empty());
        let p = Plays::release("2026.824.1").unwrap();
        assert!(p.company_get_without_id_null() && !p.issue_title_trimmed());
        assert!(p.added_capabilities().contains(&"approvals.read"));
        let p = Plays::release("2026.916.1-canary.2").unwrap();
        assert!(p.document_conflict_explained() && p.issue_title_trimmed());
        for bad in ["916", "2026.916", "x.y.z", "2025.1231.0", "2026.701.0"] {
            assert!(Plays::release(bad).is_err(), "{bad}");
        }
    }
}
