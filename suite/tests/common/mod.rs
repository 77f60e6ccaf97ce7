//! Helpers shared by the suite's integration tests.

/// Outside CI a missing service (PostgreSQL, npm) skips a test loudly; under
/// CI (`CI` set and non-empty) it fails it, with `sentence` saying what is
/// missing and how to fix it, so that a green CI run has really tested.
pub fn missing_service(sentence: &str) {
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{sentence}");
    }
    eprintln!("\n*** SKIPPED (this fails under CI): {sentence}\n");
}
