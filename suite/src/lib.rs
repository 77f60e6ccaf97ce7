//! Conformance suite for the Paperclip plugin orchestration host API.
//!
//! The suite provisions Postgres, starts a host (the real Paperclip server
//! from npm, an already-running one, or the bundled mock host), bootstraps a
//! world over REST, installs the smoke plugin, runs data-driven scenarios and
//! reports one result per check.

pub mod error;
pub mod health;
pub mod postgres;
pub mod process;
pub mod progress;
pub mod target;

pub use error::{Error, Result};
