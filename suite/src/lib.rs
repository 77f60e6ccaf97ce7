//! Conformance suite for the Paperclip plugin orchestration host API.
//!
//! The suite provisions Postgres, starts a host (the real Paperclip server
//! from npm, an already-running one, or the bundled mock host), bootstraps a
//! world over REST, installs the smoke plugin, runs data-driven scenarios and
//! reports one result per check.
//!
//! Module map, in the order a run uses them:
//! - [`postgres`]: a server and a database per run;
//! - [`target`]: the hosts under test, behind [`target::HostTarget`];
//! - [`process`]: processes the suite starts and how they are all stopped;
//! - [`client`], [`exchange`]: HTTP calls, recorded for reports;
//! - [`world`]: companies, agents, keys and issue fixtures over REST;
//! - [`plugin`]: preparing and installing the plugin under test;
//! - [`scenario`]: checks as data, and the runner;
//! - [`property`]: generated cases against models of the contract, with
//!   version [`profile`]s;
//! - [`check`], [`report`]: results and their renderings;
//! - [`upgrade`]: a database an older host created, opened by the host under test;
//! - [`run`]: one run from start to teardown;
//! - [`audit`]: an attack catalog graded against security rules, on the run's set-up.

// Failures (a step's, a case's) carry their evidence — expected, actual and
// the HTTP exchange — and travel only on cold paths; boxing them would add
// noise at every construction site for no measurable gain.
#![allow(clippy::result_large_err)]

pub mod audit;
pub mod baseline;
pub mod check;
pub mod cleanup;
pub mod cli;
pub mod client;
pub mod db;
pub mod error;
pub mod exchange;
pub mod health;
pub mod plugin;
pub mod postgres;
pub mod process;
pub mod profile;
pub mod progress;
pub mod property;
pub mod report;
pub mod restart;
pub mod run;
pub mod scenario;
pub mod target;
pub mod upgrade;
pub mod version;
pub mod wait;
pub mod world;

pub use error::{Error, Result};
