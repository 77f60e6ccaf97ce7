//! Property checks: many generated cases against the live host, each compared
//! with a model of the contract.
//!
//! A property generates cases with proptest (a world to build on the host and
//! a request to make in it), runs each against the host, and compares the
//! outcome with its model. On a failure proptest shrinks to the smallest case
//! that still fails; the check reports that case, what the model expected,
//! what the host did, the exchange, the seed, and a command that replays it.
//!
//! Each property lives in its own module with its model beside it, and the
//! model says which contract section each rule is from.

pub mod attribution;
pub mod authz;
pub mod concurrent;
pub mod host_methods;
pub mod host_services;
pub mod migrations;
pub mod routes;
pub mod scoping;
pub mod shapes;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use proptest::strategy::Strategy;
use proptest::test_runner::{
    Config, FileFailurePersistence, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner,
};
use serde_json::Value;

use crate::check::{CheckKind, CheckMeta, CheckResult, Failure, Level, Status};
use crate::client::HostClient;
use crate::db::HostDb;
use crate::exchange::Exchange;
use crate::plugin::InstalledPlugin;
use crate::profile::Profile;
use crate::world::World;

/// How many cases, from which seed.
#[derive(Debug, Clone, Copy)]
pub struct PropertyConfig {
    pub cases: u32,
    pub seed: u64,
    /// Cases run at once by properties whose cases are independent
    /// ([`concurrent`]); the others run one at a time.
    pub case_jobs: usize,
}

/// What a property runs against. Shared by the properties of a run, which
/// run on blocking threads of their own and call into the async client
/// through `handle`.
pub struct PropertyEnv {
    pub client: HostClient,
    pub world: Arc<World>,
    pub db: Option<Arc<HostDb>>,
    pub plugin: InstalledPlugin,
    /// The scope-probe fixture plugin, when it is installed.
    pub probe: Option<InstalledPlugin>,
    pub profile: &'static Profile,
    /// A directory for files the properties generate (the run directory).
    pub work_dir: std::path::PathBuf,
    /// The `node_modules` of the prepared smoke plugin: the plugin SDK at the
    /// host's version, for generated plugin packages to link to.
    pub sdk_node_modules: Option<std::path::PathBuf>,
    pub handle: tokio::runtime::Handle,
    /// Prefix of the replay command (`--only ID --seed …` is appended).
    pub repro_prefix: String,
}

/// One property check.
pub trait Property: Send + Sync {
    /// Check id, e.g. `authz`.
    fn id(&self) -> &'static str;
    fn title(&self) -> &'static str;
    /// Contract sections the model follows.
    fn source(&self) -> &'static str;
    fn tags(&self) -> Vec<String> {
        vec!["property".into()]
    }
    fn level(&self) -> Level {
        Level::Must
    }
    /// Runs the cases. Blocking: call it from a blocking thread.
    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult;

    /// The check's metadata, from the methods above.
    fn meta(&self) -> CheckMeta {
        let mut meta = CheckMeta::new(CheckKind::Property, self.id(), self.title(), self.source());
        meta.level = self.level();
        meta.tags = self.tags();
        meta
    }
}

/// Every property the suite knows.
pub fn all() -> Vec<Box<dyn Property>> {
    vec![
        Box::new(authz::AuthzProperty),
        Box::new(attribution::AttributionProperty),
        Box::new(migrations::MigrationsProperty),
        Box::new(scoping::ScopingProperty),
        Box::new(routes::RoutesProperty),
        Box::new(host_methods::HostMethodsProperty),
        Box::new(host_services::HostServicesProperty),
    ]
}

/// Why one case failed.
#[derive(Debug, Clone)]
pub struct CaseFailure {
    pub message: String,
    pub expected: Option<Value>,
    pub actual: Option<Value>,
    pub exchanges: Vec<Exchange>,
}

impl CaseFailure {
    /// A failure with just a message (world set-up problems and the like).
    pub fn message(message: impl Into<String>) -> Self {
        CaseFailure {
            message: message.into(),
            expected: None,
            actual: None,
            exchanges: Vec::new(),
        }
    }
}

/// Runs `test` on cases drawn from `strategy` and shrinks failures; returns
/// the check result of property `property`.
pub fn run_property<S, F>(
    property: &dyn Property,
    env: &PropertyEnv,
    config: &PropertyConfig,
    strategy: S,
    test: F,
) -> CheckResult
where
    S: Strategy,
    S::Value: Debug,
    F: Fn(&S::Value) -> Result<(), CaseFailure>,
{
    run_property_with(property, env, config, &[], strategy, test)
}

/// Like [`run_property`], but first runs `sentinels`: fixed cases that
/// exercise each rule whatever the seed draws, so that a rule can never go
/// unchecked by bad luck. A failing sentinel is reported as is (it is
/// already small).
pub fn run_property_with<S, F>(
    property: &dyn Property,
    env: &PropertyEnv,
    config: &PropertyConfig,
    sentinels: &[S::Value],
    strategy: S,
    test: F,
) -> CheckResult
where
    S: Strategy,
    S::Value: Debug,
    F: Fn(&S::Value) -> Result<(), CaseFailure>,
{
    let started = Instant::now();
    for sentinel in sentinels {
        if let Err(failure) = test(sentinel) {
            let mut result = base_result(property, env, config);
            result.duration_ms = started.elapsed().as_millis() as u64;
            result.exchanges = failure.exchanges.clone();
            result.fail(Failure {
                step: format!("fixed case {sentinel:?}"),
                message: failure.message,
                expected: failure.expected,
                actual: failure.actual,
                exchange: failure.exchanges.last().cloned(),
            });
            return result;
        }
    }
    let mut proptest_config = Config::with_cases(config.cases.max(1));
    // Failures are reported with their seed; nothing is written to disk.
    proptest_config.failure_persistence = Some(Box::new(FileFailurePersistence::Off));
    proptest_config.max_shrink_iters = 64;
    let mut runner = TestRunner::new_with_rng(proptest_config, rng_from_seed(config.seed));
    let failures: Mutex<HashMap<String, CaseFailure>> = Mutex::new(HashMap::new());
    let ran = AtomicU32::new(0);
    let outcome = runner.run(&strategy, |case| {
        ran.fetch_add(1, Ordering::Relaxed);
        match test(&case) {
            Ok(()) => Ok(()),
            Err(failure) => {
                let message = failure.message.clone();
                failures
                    .lock()
                    .expect("failures lock")
                    .insert(format!("{case:?}"), failure);
                Err(TestCaseError::fail(message))
            }
        }
    });
    let mut result = base_result(property, env, config);
    result.duration_ms = started.elapsed().as_millis() as u64;
    result.cases = Some(ran.load(Ordering::Relaxed));
    match outcome {
        Ok(()) => {}
        Err(TestError::Fail(_, minimal)) => {
            let key = format!("{minimal:?}");
            let failure = failures
                .lock()
                .expect("failures lock")
                .remove(&key)
                .unwrap_or_else(|| CaseFailure::message("the minimal case failed"));
            result.exchanges = failure.exchanges.clone();
            result.fail(Failure {
                step: format!("minimal failing case {key}"),
                message: failure.message,
                expected: failure.expected,
                actual: failure.actual,
                exchange: failure.exchanges.last().cloned(),
            });
        }
        Err(TestError::Abort(reason)) => {
            // An aborted property checked nothing: that always fails.
            result.status = Status::Failed;
            result.failure = Some(Failure::new(
                "case generation",
                format!("the property was aborted: {reason}"),
            ));
        }
    }
    result
}

/// A property's result before its outcome is known: passed, with the seed
/// and the command that replays it.
pub(crate) fn base_result(
    property: &dyn Property,
    env: &PropertyEnv,
    config: &PropertyConfig,
) -> CheckResult {
    let seed_hex = format!("{:#x}", config.seed);
    let mut result = property.meta().result(&env.repro_prefix);
    result.repro = format!(
        "{} --seed {seed_hex} --cases {}",
        result.repro, config.cases
    );
    result.seed = Some(seed_hex);
    result.cases = Some(0);
    result
}

/// The result of a property that cannot run against this host.
pub fn skipped(
    property: &dyn Property,
    env: &PropertyEnv,
    config: &PropertyConfig,
    reason: &str,
) -> CheckResult {
    let mut result = base_result(property, env, config);
    result.status = Status::Skipped;
    result.reason = Some(reason.to_string());
    result
}

/// A deterministic generator from a 64-bit seed (SplitMix64 expansion to the
/// 32 bytes ChaCha wants), so `--seed` replays the same cases.
fn rng_from_seed(seed: u64) -> TestRng {
    let mut state = seed;
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        chunk.copy_from_slice(&z.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// Parses `0x1f3a` or `7994` into a seed.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|_| format!("'{text}' is not a seed: use a number like 0x1f3a or 7994"))
}

/// A fresh seed for a run that was given none.
pub fn random_seed() -> u64 {
    let u = uuid::Uuid::new_v4();
    let bytes = u.as_bytes();
    u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) & 0xffff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;

    #[test]
    fn seeds_parse_in_hex_and_decimal() {
        assert_eq!(parse_seed("0x1f3a").unwrap(), 0x1f3a);
        assert_eq!(parse_seed("7994").unwrap(), 7994);
        assert!(parse_seed("zz").is_err());
    }

    #[test]
    fn the_same_seed_draws_the_same_cases() {
        let draw = |seed| {
            let mut runner = TestRunner::new_with_rng(Config::default(), rng_from_seed(seed));
            (0..5)
                .map(|_| (0u32..1_000_000).new_tree(&mut runner).unwrap().current())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(0x1f3a), draw(0x1f3a));
        assert_ne!(draw(0x1f3a), draw(0x1f3b));
    }
}
