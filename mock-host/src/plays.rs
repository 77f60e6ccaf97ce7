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

/// The behaviours of the played release that the mock reproduces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plays {
    /// The version reported by `/api/health`; `None`: the mock's own.
    pub version: Option<String>,
    /// From 2026.722.0: host calls a worker makes while none of its
    /// invocations is active are refused (−32005), and `secrets.resolve`
    /// without a reference shows the shape it expects.
    pub unscoped_calls_refused: bool,
    /// From 2026.824.0: `companies.get` without `companyId` answers `null`
    /// instead of the query builder's failure (whose text has one column
    /// more from 2026.817.0).
    pub company_get_without_id_null: bool,
    /// From 2026.831.0: the document conflict says how to get the base
    /// revision id; a plugin's issue title is trimmed, so a title that is
    /// not a string fails (`title.trim is not a function`).
    pub document_conflict_explained: bool,
    pub issue_title_trimmed: bool,
    /// From 2026.817.0: manifests may declare the interaction, attachment
    /// and approval capabilities (their methods still answer as on
    /// 2026.707.0: not played).
    pub capabilities_of_817: bool,
}

/// The capabilities 2026.817.0 added to 2026.707.0's.
const CAPABILITIES_OF_817: &[&str] = &[
    "issue.interactions.read",
    "issue.interactions.respond",
    "issue.attachments.read",
    "approvals.read",
    "approvals.respond",
];

/// The first release the mock can play: the earliest with these APIs.
const EARLIEST: (u64, u64) = (2026, 707);

impl Plays {
    /// The behaviours of release `version` (`2026.916.1`; pre-release tags
    /// such as `-canary.1` behave as their release).
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
        let at_least = |m: u64| (year, month_day) >= (2026, m);
        if (year, month_day) < EARLIEST {
            return Err(Error::Config(format!(
                "the mock cannot play {version}: the earliest release it knows is 2026.707.0"
            )));
        }
        Ok(Plays {
            version: Some(version.to_string()),
            unscoped_calls_refused: at_least(722),
            capabilities_of_817: at_least(817),
            company_get_without_id_null: at_least(824),
            document_conflict_explained: at_least(831),
            issue_title_trimmed: at_least(831),
        })
    }
}

impl Plays {
    /// Capabilities a manifest may declare beyond 2026.707.0's.
    pub fn added_capabilities(&self) -> &'static [&'static str] {
        if self.capabilities_of_817 {
            CAPABILITIES_OF_817
        } else {
            &[]
        }
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
        assert_eq!(
            p,
            Plays {
                version: Some("2026.707.0".into()),
                ..Plays::default()
            }
        );
        let p = Plays::release("2026.722.0").unwrap();
        assert!(p.unscoped_calls_refused && !p.company_get_without_id_null);
        assert!(p.added_capabilities().is_empty());
        let p = Plays::release("2026.824.1").unwrap();
        assert!(p.company_get_without_id_null && !p.issue_title_trimmed);
        assert!(p.added_capabilities().contains(&"approvals.read"));
        let p = Plays::release("2026.916.1-canary.2").unwrap();
        assert!(p.document_conflict_explained && p.issue_title_trimmed);
        for bad in ["916", "2026.916", "x.y.z", "2025.1231.0", "2026.701.0"] {
            assert!(Plays::release(bad).is_err(), "{bad}");
        }
    }
}
