//! Versions and npm version ranges, on the `semver` crate.
//!
//! The suite meets three kinds of version text:
//! - exact npm versions (`2026.916.1`, `1.2.3-beta.1`): [`parse_exact`];
//! - versions a program prints about itself (`v20.20.2`,
//!   `25.0.0-nightly2026`, PostgreSQL's `15.18` or `17beta1`), where only
//!   the numbers matter: [`parse_release`] (all three numbers required) and
//!   [`parse_loose`] (missing numbers are 0);
//! - npm ranges as found in `engines.node` (`>=20`, `^20.19.0 || >=22.12.0`,
//!   `>=18 <21`, `18 - 20`): [`Range`].
//!
//! `semver::VersionReq` is Cargo's dialect, not npm's: it has no `||`, wants
//! commas between comparators, reads a bare `1.2.3` as `^1.2.3` and has no
//! hyphen ranges. [`Range`] rewrites each npm alternative into that dialect
//! and keeps the alternatives as an any-of list.

use std::fmt;
use std::str::FromStr;

pub use semver::Version;
use semver::{Comparator, Op, VersionReq};

/// A version text that is not an exact `X.Y.Z[-pre][+build]` version.
pub fn parse_exact(text: &str) -> Option<Version> {
    Version::parse(text.trim()).ok()
}

/// `X.Y.Z` with an optional leading `v`, its pre-release and build tags
/// dropped: what `node --version` prints, compared by its numbers only.
pub fn parse_release(text: &str) -> Option<Version> {
    let numbers = numbers(text)?;
    match numbers[..] {
        [major, minor, patch] => Some(Version::new(major, minor, patch)),
        _ => None,
    }
}

/// Up to three leading numbers, missing ones read as 0 (`15.18` →
/// `15.18.0`, `17beta1` → `17.0.0`, `2026.916` → `2026.916.0`); `None` when
/// the text does not start with a number.
pub fn parse_loose(text: &str) -> Option<Version> {
    let text = text.trim().trim_start_matches(['v', '=']);
    let mut parts = [0u64; 3];
    let mut seen = 0;
    for (slot, part) in parts.iter_mut().zip(text.split('.')) {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        let Ok(n) = digits.parse() else { break };
        *slot = n;
        seen += 1;
        if digits.len() != part.len() {
            // `17beta1`, `0-canary`: the tag ends the numbers.
            break;
        }
    }
    (seen > 0).then(|| Version::new(parts[0], parts[1], parts[2]))
}

/// The dotted numbers of `X.Y.Z[-pre][+build]` (any count), or `None` when
/// one of them is not a number.
fn numbers(text: &str) -> Option<Vec<u64>> {
    let text = text.trim().trim_start_matches(['v', '=']);
    let core = text.split(['-', '+']).next()?;
    core.split('.').map(|p| p.parse().ok()).collect()
}

/// An npm range: any of its `||` alternatives, each a set of comparators
/// that must all hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    raw: String,
    alternatives: Vec<VersionReq>,
}

/// An npm range the suite cannot read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot understand the node range '{0}'")]
pub struct RangeError(String);

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl FromStr for Range {
    type Err = RangeError;
    fn from_str(raw: &str) -> Result<Self, RangeError> {
        let alternatives = raw
            .split("||")
            .map(|alt| VersionReq::parse(&to_cargo_syntax(alt)).ok())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| RangeError(raw.to_string()))?;
        Ok(Range {
            raw: raw.trim().to_string(),
            alternatives,
        })
    }
}

const OPERATORS: [&str; 7] = [">=", "<=", ">", "<", "=", "^", "~"];

/// One npm alternative (`>= 18 <21`, `18 - 20`, `v20.1.0`) in
/// `VersionReq` syntax (`>=18, <21`, `>=18, <=20`, `=20.1.0`).
fn to_cargo_syntax(alternative: &str) -> String {
    // Glue operators to their versions (">= 20" → ">=20").
    let mut tokens: Vec<String> = Vec::new();
    for t in alternative.split_whitespace() {
        match tokens.last_mut() {
            Some(last) if OPERATORS.contains(&last.as_str()) => last.push_str(t),
            _ => tokens.push(t.to_string()),
        }
    }
    if tokens.is_empty() {
        return "*".into();
    }
    // Hyphen range "A - B": npm's upper end includes all of a partial B,
    // which is what `<=B` means to VersionReq too.
    if let [low, dash, high] = &tokens[..] {
        if dash == "-" {
            return format!(">={}, <={}", strip_v(low), strip_v(high));
        }
    }
    tokens
        .iter()
        .map(|token| {
            let (op, version) = OPERATORS
                .iter()
                .find_map(|op| token.strip_prefix(op).map(|rest| (*op, rest)))
                .unwrap_or(("", token));
            let version = strip_v(version);
            let wildcard = version.split('.').any(|p| matches!(p, "x" | "X" | "*"));
            match op {
                // A bare version is exact to npm (a span when partial); to
                // VersionReq it would be a caret. `=` means what npm means,
                // except on wildcards, which VersionReq takes bare.
                "" if !wildcard => format!("={version}"),
                _ => format!("{op}{version}"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn strip_v(version: &str) -> &str {
    version.strip_prefix(['v', 'V']).unwrap_or(version)
}

impl Range {
    /// Whether `version` is in the range. Pre-release versions only match
    /// comparators on the same version (npm's rule, and VersionReq's).
    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|req| req.matches(version))
    }

    /// The lowest version the range allows, if it allows any.
    pub fn minimum(&self) -> Option<Version> {
        self.alternatives
            .iter()
            .filter_map(|req| {
                let low = req
                    .comparators
                    .iter()
                    .filter_map(lower_bound)
                    .max()
                    .unwrap_or(Version::new(0, 0, 0));
                req.matches(&low).then_some(low)
            })
            .min()
    }
}

/// The lowest release a comparator allows, for comparators with a lower end.
fn lower_bound(c: &Comparator) -> Option<Version> {
    let (major, minor, patch) = (c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0));
    match c.op {
        Op::Greater => Some(match (c.minor, c.patch) {
            (Some(_), Some(_)) => Version::new(major, minor, patch + 1),
            (Some(_), None) => Version::new(major, minor + 1, 0),
            _ => Version::new(major + 1, 0, 0),
        }),
        Op::Less | Op::LessEq => None,
        // Exact, >=, ~, ^, wildcards: all start at their version.
        _ => Some(Version::new(major, minor, patch)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case("2026.707.0", true)]
    #[case("2026.916.1", true)]
    #[case("1.2.3-beta.1", true)]
    #[case("latest", false)]
    #[case("2026.707", false)]
    #[case("2026.707.x", false)]
    fn exact_versions(#[case] text: &str, #[case] exact: bool) {
        assert_eq!(parse_exact(text).is_some(), exact);
    }

    #[rstest]
    #[case("15.18", Some((15, 18, 0)))]
    #[case("17beta1", Some((17, 0, 0)))]
    #[case("2026.916.1", Some((2026, 916, 1)))]
    #[case("2026.707.0-canary.1", Some((2026, 707, 0)))]
    #[case("mock-0.1.0", None)]
    fn loose_versions(#[case] text: &str, #[case] expected: Option<(u64, u64, u64)>) {
        let expected = expected.map(|(a, b, c)| Version::new(a, b, c));
        assert_eq!(parse_loose(text), expected);
    }

    #[test]
    fn empty_alternatives_allow_anything() {
        let r: Range = "".parse().unwrap();
        assert!(r.matches(&Version::new(1, 0, 0)));
        assert_eq!(r.minimum(), Some(Version::new(0, 0, 0)));
    }

    #[test]
    fn unreadable_ranges_name_themselves() {
        let err = "nope".parse::<Range>().unwrap_err();
        assert_eq!(err.to_string(), "cannot understand the node range 'nope'");
    }
}
