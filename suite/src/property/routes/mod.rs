//! Property: the whole scoped-route contract, against every declaration a
//! plugin can make.
//!
//! The suite generates the route-matrix fixture plugin ([`fixture`], see
//! README.md here): every `auth` × `checkoutPolicy` × `companyResolution`
//! cell under every method, plus routes for param names, shadowing, two
//! params and the bare mount. Its worker echoes what it receives or answers
//! as asked. Each case draws a declaration, a caller, an issue and a request
//! shape, sends it, and compares status, body, headers and the echoed worker
//! input with the [`model`] of the dispatch order. Every run sends, as fixed
//! cases, the rules' cases ([`fixed`]) and the sweep of every declaration
//! with every caller ([`sweep`]), concurrently since no case changes the
//! host; then the random cases. The reason line counts the sweep and the
//! cases each cell got, and `details.matrix` holds every pair's outcome.

pub mod case;
pub mod exec;
pub mod fixed;
pub mod fixture;
pub mod matrix;
pub mod model;
#[cfg(test)]
mod model_tests;
pub mod sweep;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use self::case::RoutesCase;
use self::exec::Facts;
use self::fixture::{Cell, FixturePackage};
use self::matrix::MatrixRecorder;
use self::model::{Expect, Prediction};
use super::{base_result, run_property, CaseFailure, Property, PropertyConfig, PropertyEnv};
use crate::check::{CheckResult, Failure, Status};
use crate::client::Call;
use crate::exchange::Exchange;
use crate::plugin::{self, PreparedPlugin};
use crate::target::DeploymentMode;

/// The routes property.
pub struct RoutesProperty;

/// Fixed-case failures listed in one report at most.
const MAX_LISTED: usize = 12;

impl Property for RoutesProperty {
    fn id(&self) -> &'static str {
        "routes"
    }

    fn title(&self) -> &'static str {
        "Every scoped route declaration answers every caller and request shape as the dispatch order predicts"
    }

    fn source(&self) -> &'static str {
        "contract-http.md §1, §2, §3.2, §4, §5, §6; docs/findings.md F1, F15, F17–F19, F23"
    }

    fn tags(&self) -> Vec<String> {
        vec!["property".into(), "routes".into(), "authz".into()]
    }

    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult {
        let Some(sdk) = env.sdk_node_modules.clone() else {
            return super::skipped(
                self,
                env,
                config,
                "needs a plugin SDK installation to link the generated fixture to",
            );
        };
        let started = Instant::now();
        let set_up = env.handle.block_on(async {
            let nonce = uuid::Uuid::new_v4().simple().to_string()[..10].to_string();
            let package = FixturePackage::create(&env.work_dir, &nonce, &sdk)
                .map_err(|e| format!("writing the route-matrix fixture failed: {e}"))?;
            let prepared = PreparedPlugin {
                uses_registry_sdk: true,
                dir: package.dir.clone(),
                sdk_version: None,
            };
            let installed = plugin::install(&env.client, &env.world.board, &prepared)
                .await
                .map_err(|e| format!("the host refused the route-matrix fixture: {e}"))?;
            let facts = exec::build(&env.client, &env.world, &installed.key, &installed.id)
                .await
                .map_err(|e| format!("building the routes world failed: {e}"))?;
            Ok::<_, String>(facts)
        });
        let facts = match set_up {
            Ok(f) => f,
            Err(message) => {
                let mut result = base_result(self, env, config);
                result.status = Status::Failed;
                result.failure = Some(Failure {
                    step: "set-up".into(),
                    message,
                    expected: None,
                    actual: None,
                    exchange: None,
                });
                return result;
            }
        };
        let key = facts.plugin_key.clone();
        let authenticated = env.world.mode == DeploymentMode::Authenticated;
        let runner = Runner {
            env,
            facts: Mutex::new(facts),
            per_cell: Mutex::new(BTreeMap::new()),
            matrix: MatrixRecorder::new(authenticated),
        };
        let fixed_cases = fixed_cases(authenticated);
        let mut result = runner.fixed(self, config, &fixed_cases);
        if result.failure.is_none() {
            result = run_property(self, env, config, case::cases(authenticated), |c| {
                runner.run(c)
            });
            result.cases = result.cases.map(|n| n + fixed_cases.len() as u32);
        }
        result.duration_ms = started.elapsed().as_millis() as u64;
        result.reason = Some(format!(
            "{}; {}",
            sweep::describe(authenticated),
            runner.cell_report()
        ));
        result.details = Some(json!({ "matrix": runner.matrix.to_json() }));
        env.handle.block_on(async {
            let _ = env
                .client
                .send(
                    &Call::new("DELETE", format!("/api/plugins/{key}?purge=true"))
                        .as_(&env.world.board),
                )
                .await;
        });
        result
    }
}

/// The rules' fixed cases, then the sweep's that are not among them.
fn fixed_cases(authenticated: bool) -> Vec<RoutesCase> {
    let mut out = fixed::all(authenticated);
    let sweep: Vec<RoutesCase> = sweep::cases(authenticated)
        .into_iter()
        .filter(|c| !out.contains(c))
        .collect();
    out.extend(sweep);
    out
}

struct Runner<'a> {
    env: &'a PropertyEnv,
    facts: Mutex<Facts>,
    per_cell: Mutex<BTreeMap<Cell, u32>>,
    /// Predicted and answered statuses per declaration and caller.
    matrix: MatrixRecorder,
}

impl Runner<'_> {
    /// Runs every fixed case, [`sweep::IN_FLIGHT`] at a time, and reports
    /// all that fail in the order of `cases`, the first in full.
    fn fixed(
        &self,
        property: &RoutesProperty,
        config: &PropertyConfig,
        cases: &[RoutesCase],
    ) -> CheckResult {
        let mut result = base_result(property, self.env, config);
        let outcomes: Vec<Result<(), CaseFailure>> = self.env.handle.block_on(async {
            // One world for all: the fixed cases take seconds, the world
            // lasts minutes, and refreshing it from concurrent cases would
            // build it several times over.
            let facts = match self.current_facts().await {
                Ok(f) => f,
                Err(e) => return vec![Err(e)],
            };
            stream::iter(cases)
                .map(|c| self.check(c, &facts))
                .buffered(sweep::IN_FLIGHT)
                .collect()
                .await
        });
        let failed: Vec<(RoutesCase, CaseFailure)> = cases
            .iter()
            .zip(outcomes)
            .filter_map(|(c, outcome)| outcome.err().map(|f| (*c, f)))
            .collect();
        result.cases = Some(cases.len() as u32);
        let Some((first, failure)) = failed.first().cloned() else {
            return result;
        };
        let others: Vec<String> = failed
            .iter()
            .skip(1)
            .take(MAX_LISTED)
            .map(|(c, f)| format!("  - {c:?}: {}", f.message))
            .collect();
        let mut message = failure.message.clone();
        if !others.is_empty() {
            message.push_str(&format!(
                "\n{} more fixed cases failed:\n{}",
                failed.len() - 1,
                others.join("\n")
            ));
        }
        result.status = Status::Failed;
        result.exchanges = failure.exchanges.clone();
        result.failure = Some(Failure {
            step: format!("fixed case {first:?}"),
            message,
            expected: failure.expected,
            actual: failure.actual,
            exchange: failure.exchanges.last().cloned(),
        });
        result
    }

    /// One case: refresh the world if needed, send, compare.
    fn run(&self, c: &RoutesCase) -> Result<(), CaseFailure> {
        self.env.handle.block_on(async {
            let facts = self.current_facts().await?;
            self.check(c, &facts).await
        })
    }

    /// The world, rebuilt first when its checkout run is about to end.
    async fn current_facts(&self) -> Result<Facts, CaseFailure> {
        let env = self.env;
        let stale = self.facts.lock().expect("facts").stale();
        if stale {
            let (key, id) = {
                let f = self.facts.lock().expect("facts");
                (f.plugin_key.clone(), f.plugin_id.clone())
            };
            let fresh = exec::build(&env.client, &env.world, &key, &id)
                .await
                .map_err(|e| {
                    CaseFailure::message(format!("rebuilding the routes world failed: {e}"))
                })?;
            *self.facts.lock().expect("facts") = fresh;
        }
        Ok(self.facts.lock().expect("facts").clone())
    }

    /// Sends one case in `facts`' world and compares the answer with the model.
    async fn check(&self, c: &RoutesCase, facts: &Facts) -> Result<(), CaseFailure> {
        if let Some(cell) = c.cell() {
            *self
                .per_cell
                .lock()
                .expect("cell counts")
                .entry(cell)
                .or_default() += 1;
        }
        let wire = exec::wire(c, facts);
        let predicted = model::predict(c, &wire, facts, self.env.profile);
        let exchange = exec::send(&self.env.client, &wire).await;
        if let Some(cell) = c.cell() {
            let actual = exchange.response.as_ref().map(|r| r.status);
            self.matrix.record(cell, c.caller, predicted.status, actual);
        }
        compare(&predicted, exchange)
    }

    fn cell_report(&self) -> String {
        let counts = self.per_cell.lock().expect("cell counts");
        let all = Cell::all();
        let min = all
            .iter()
            .map(|c| counts.get(c).copied().unwrap_or(0))
            .min()
            .unwrap_or(0);
        let max = all
            .iter()
            .map(|c| counts.get(c).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        let listed: Vec<String> = all
            .iter()
            .map(|c| format!("{} {}", c.label(), counts.get(c).copied().unwrap_or(0)))
            .collect();
        format!(
            "cases per auth/checkoutPolicy/companyResolution cell (min {min}, max {max}): {}",
            listed.join(", ")
        )
    }
}

fn expected_json(p: &Prediction) -> Value {
    let body = match &p.body {
        Expect::Error(e) => json!({ "error": e }),
        // The at-limit echo carries a megabyte: not for a report.
        Expect::Json(v) if v.to_string().len() > 20_000 => json!("<large body>"),
        Expect::Json(v) => v.clone(),
        Expect::Empty => json!(""),
    };
    json!({ "status": p.status, "body": body, "headers": p.headers, "rule": p.rule })
}

/// Status, body and the named headers must be as predicted.
fn compare(p: &Prediction, exchange: Exchange) -> Result<(), CaseFailure> {
    let Some(response) = &exchange.response else {
        return Err(CaseFailure {
            message: format!(
                "the request failed: {}",
                exchange.error.clone().unwrap_or_default()
            ),
            expected: Some(expected_json(p)),
            actual: None,
            exchanges: vec![exchange],
        });
    };
    let body_ok = match &p.body {
        Expect::Error(e) => response.body == json!({ "error": e }),
        Expect::Json(v) => response.json && response.body == *v,
        Expect::Empty => response.body == json!(""),
    };
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let bad_header = p.headers.iter().find(|(name, want)| match want {
        Some(v) => header(name) != Some(*v),
        None => header(name).is_some(),
    });
    if response.status == p.status && body_ok && bad_header.is_none() {
        return Ok(());
    }
    let what = if response.status != p.status {
        format!(
            "expected {} ({}), got {}",
            p.status, p.rule, response.status
        )
    } else if !body_ok {
        format!(
            "status {} as expected, but the body differs ({})",
            p.status, p.rule
        )
    } else {
        let (name, want) = bad_header.expect("a header differs");
        format!(
            "response header {name}: expected {}, got {} ({})",
            want.unwrap_or("none"),
            header(name).unwrap_or("none"),
            p.rule
        )
    };
    let shown_body = match &response.body {
        Value::String(s) if s.len() > 2000 => json!(format!("{}…", &s[..2000])),
        other if other.to_string().len() > 20_000 => json!("<large body>"),
        other => other.clone(),
    };
    Err(CaseFailure {
        message: what,
        expected: Some(expected_json(p)),
        actual: Some(
            json!({ "status": response.status, "body": shown_body, "headers": response.headers }),
        ),
        exchanges: vec![exchange],
    })
}
