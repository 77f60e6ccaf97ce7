//! Running a property's cases several at a time.
//!
//! proptest's own runner tests one case after the other. For a property
//! whose cases are independent of each other (each its own plugin, its own
//! rows) and spend their time waiting on the host, that leaves the machine
//! idle. Here the cases are generated exactly as proptest's runner would
//! generate them (same strategy, same seeded generator, same order), run
//! `jobs` at a time, and the first failing one in generation order is shrunk
//! one step at a time with its own value tree, as proptest shrinks: so a seed
//! replays the same cases and a failure reports the same kind of minimal case.

use std::fmt::Debug;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};

use super::{base_result, rng_from_seed, CaseFailure, Property, PropertyConfig, PropertyEnv};
use crate::check::{CheckResult, Failure, Status};

/// Most shrinking steps tried on a failing case (as the sequential runner).
const MAX_SHRINK_STEPS: u32 = 64;

/// Runs `test` on `values`, at most `jobs` at a time; the outcomes come back
/// in the order of `values`.
fn run_all<V, F>(values: &[V], jobs: usize, test: &F) -> Vec<Result<(), CaseFailure>>
where
    V: Sync,
    F: Fn(&V) -> Result<(), CaseFailure> + Sync,
{
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<Vec<Option<Result<(), CaseFailure>>>> =
        Mutex::new((0..values.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, values.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(value) = values.get(i) else { break };
                let outcome = test(value);
                outcomes.lock().expect("outcomes lock")[i] = Some(outcome);
            });
        }
    });
    outcomes
        .into_inner()
        .expect("outcomes lock")
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(CaseFailure::message("the case did not run"))))
        .collect()
}

/// How a concurrent property run ended.
enum Outcome {
    /// Every case passed; how many ran.
    Passed(u32),
    /// A case failed: where (a sentinel or the minimal generated case), why,
    /// and how many cases ran in all (shrinking steps included).
    Failed {
        step: String,
        failure: CaseFailure,
        ran: u32,
    },
    /// The strategy could not generate a case.
    Aborted(String),
}

/// The sentinels, then `config.cases` generated cases, `jobs` at a time;
/// the first failing generated case (in generation order) is shrunk.
fn check_cases<S, F>(
    config: &PropertyConfig,
    sentinels: &[S::Value],
    strategy: S,
    jobs: usize,
    test: &F,
) -> Outcome
where
    S: Strategy,
    S::Value: Debug + Sync,
    F: Fn(&S::Value) -> Result<(), CaseFailure> + Sync,
{
    let outcomes = run_all(sentinels, jobs, test);
    if let Some((sentinel, Err(failure))) = sentinels
        .iter()
        .zip(outcomes)
        .find(|(_, outcome)| outcome.is_err())
    {
        return Outcome::Failed {
            step: format!("fixed case {sentinel:?}"),
            failure,
            ran: sentinels.len() as u32,
        };
    }
    let mut proptest_config = Config::with_cases(config.cases.max(1));
    proptest_config.failure_persistence = Some(Box::new(FileFailurePersistence::Off));
    let mut runner = TestRunner::new_with_rng(proptest_config, rng_from_seed(config.seed));
    let mut trees = Vec::new();
    for _ in 0..config.cases.max(1) {
        match strategy.new_tree(&mut runner) {
            Ok(tree) => trees.push(tree),
            Err(reason) => return Outcome::Aborted(reason.to_string()),
        }
    }
    let values: Vec<S::Value> = trees.iter().map(ValueTree::current).collect();
    let outcomes = run_all(&values, jobs, test);
    let ran = values.len() as u32;
    let Some(first_failing) = outcomes.iter().position(Result::is_err) else {
        return Outcome::Passed(ran);
    };
    let mut failure = outcomes
        .into_iter()
        .nth(first_failing)
        .and_then(Result::err)
        .unwrap_or_else(|| CaseFailure::message("the case failed"));
    // Shrink one step at a time: simplify while it still fails, step back
    // (complicate) when a simpler one passes.
    let mut tree = trees.swap_remove(first_failing);
    let mut minimal = format!("{:?}", tree.current());
    let mut steps = 0;
    let mut more = tree.simplify();
    while more && steps < MAX_SHRINK_STEPS {
        steps += 1;
        let candidate = tree.current();
        match test(&candidate) {
            Err(smaller) => {
                failure = smaller;
                minimal = format!("{candidate:?}");
                more = tree.simplify();
            }
            Ok(()) => more = tree.complicate(),
        }
    }
    Outcome::Failed {
        step: format!("minimal failing case {minimal}"),
        failure,
        ran: ran + steps,
    }
}

/// Like [`super::run_property_with`], with the sentinels and the generated
/// cases run `jobs` at a time. Only for properties whose cases do not touch
/// each other's data.
pub fn run_property_concurrently<S, F>(
    property: &dyn Property,
    env: &PropertyEnv,
    config: &PropertyConfig,
    sentinels: &[S::Value],
    strategy: S,
    jobs: usize,
    test: F,
) -> CheckResult
where
    S: Strategy,
    S::Value: Debug + Sync,
    F: Fn(&S::Value) -> Result<(), CaseFailure> + Sync,
{
    let started = Instant::now();
    let mut result = base_result(property, env, config);
    match check_cases(config, sentinels, strategy, jobs, &test) {
        Outcome::Passed(ran) => result.cases = Some(ran),
        Outcome::Failed { step, failure, ran } => {
            result.cases = Some(ran);
            result.exchanges = failure.exchanges.clone();
            result.fail(Failure {
                step,
                message: failure.message,
                expected: failure.expected,
                actual: failure.actual,
                exchange: failure.exchanges.last().cloned(),
            });
        }
        Outcome::Aborted(reason) => {
            // A property that generated nothing checked nothing: a failure.
            result.status = Status::Failed;
            result.failure = Some(Failure::new(
                "case generation",
                format!("the property was aborted: {reason}"),
            ));
        }
    }
    result.duration_ms = started.elapsed().as_millis() as u64;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn config(cases: u32) -> PropertyConfig {
        PropertyConfig {
            cases,
            seed: 7,
            case_jobs: 4,
        }
    }

    fn fails_from(limit: u32) -> impl Fn(&u32) -> Result<(), CaseFailure> + Sync {
        move |v: &u32| {
            if *v >= limit {
                Err(CaseFailure::message(format!("{v} is too big")))
            } else {
                Ok(())
            }
        }
    }

    #[test]
    fn every_case_runs_once_and_passing_runs_count_them() {
        let calls = AtomicU32::new(0);
        let test = |_: &u32| {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(())
        };
        let outcome = check_cases(&config(40), &[1, 2], 0u32..100, 4, &test);
        assert!(matches!(outcome, Outcome::Passed(40)));
        assert_eq!(calls.load(Ordering::Relaxed), 42);
    }

    #[test]
    fn a_failing_case_is_shrunk_to_the_minimal_one() {
        let outcome = check_cases(&config(64), &[], 0u32..10_000, 4, &fails_from(500));
        match outcome {
            Outcome::Failed { step, failure, .. } => {
                assert_eq!(step, "minimal failing case 500");
                assert_eq!(failure.message, "500 is too big");
            }
            _ => panic!("expected a failure"),
        }
    }

    #[test]
    fn a_failing_sentinel_is_reported_before_any_generated_case() {
        let outcome = check_cases(&config(8), &[3, 900], 0u32..10, 2, &fails_from(500));
        assert!(
            matches!(&outcome, Outcome::Failed { step, .. } if step == "fixed case 900"),
            "sentinel failure expected"
        );
    }

    #[test]
    fn the_same_seed_generates_the_same_cases_as_proptest_would() {
        let seen = Mutex::new(Vec::new());
        let record = |v: &u32| {
            seen.lock().unwrap().push(*v);
            Ok(())
        };
        check_cases(&config(16), &[], 0u32..1_000_000, 1, &record);
        let mut runner = TestRunner::new_with_rng(Config::with_cases(16), rng_from_seed(7));
        let sequential: Vec<u32> = (0..16)
            .map(|_| (0u32..1_000_000).new_tree(&mut runner).unwrap().current())
            .collect();
        assert_eq!(*seen.lock().unwrap(), sequential);
    }
}
