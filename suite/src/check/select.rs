//! `--only` patterns.

use super::CheckMeta;

/// Whether `--only` pattern selects the check `id` with `tags`: an exact id,
/// a prefix ending in `.` or `*`, a first segment (`smoke` selects
/// `smoke.x`), or `tag:NAME`.
pub fn selects(pattern: &str, id: &str, tags: &[String]) -> bool {
    if let Some(tag) = pattern.strip_prefix("tag:") {
        return tags.iter().any(|t| t == tag);
    }
    if let Some(prefix) = pattern.strip_suffix('*') {
        return id.starts_with(prefix);
    }
    if pattern.ends_with('.') {
        return id.starts_with(pattern);
    }
    id == pattern || id.starts_with(&format!("{pattern}."))
}

/// Whether the `--only` patterns select `meta` (no pattern selects all).
pub fn select(meta: &CheckMeta, only: &[String]) -> bool {
    only.is_empty() || only.iter().any(|p| selects(p, &meta.id, &meta.tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[rstest::rstest]
    #[case("smoke.example", true)]
    #[case("smoke", true)]
    #[case("smoke.*", true)]
    #[case("smoke.", true)]
    #[case("tag:smoke", true)]
    #[case("smok", false)]
    #[case("authz", false)]
    #[case("tag:authz", false)]
    fn patterns(#[case] pattern: &str, #[case] selected: bool) {
        assert_eq!(
            selects(pattern, "smoke.example", &["smoke".to_string()]),
            selected
        );
    }
}
