//! Checks: one shape for every kind of check, and their results.
//!
//! A check is a scenario (data in `scenarios/*.toml`), a property (generated
//! cases against a model) or a restart check (stops and starts the host).
//! Whatever its kind, a check is described by one [`CheckMeta`]: the id,
//! title, level, source, tags, the deployment modes and host versions it
//! applies to, and whether it must run alone. Everything that does not depend
//! on the kind lives here, once:
//!
//! - [`CheckMeta::result`] is the one constructor of a [`CheckResult`];
//! - [`Level::failed_status`] maps a rule's level to the status of a failure;
//! - [`select`] applies `--only` patterns;
//! - [`catalog::Catalog`] loads every check of the suite once and selects
//!   from it; the run and `conformance list` both use it.

pub mod catalog;
mod meta;
mod result;
mod select;

pub use meta::{CheckKind, CheckMeta, VersionGate};
pub use result::{CheckResult, Failure, Level, RowsObserved, Status};
pub use select::{select, selects};
