//! Check `host-methods`: what the host answers for every worker→host method
//! the plugin SDK declares, called with empty params.
//!
//! The suite generates the host-call fixture plugin in three variants
//! ([`fixture`]: every capability, none, a database namespace) and asks each,
//! in one request of company A, to call every method of [`methods::METHODS`]
//! with `{}` inside that request's invocation. Each answer — the JSON-RPC
//! error's code and message, or that the call succeeded — is compared with
//! what the real hosts answered ([`expected`], docs/host-methods.md): a
//! method the host does not serve, one it gates by a capability the plugin
//! lacks, one whose handler rejects the empty params, each has its own exact
//! answer, and a host that answers another (the mock's `-32603` from a
//! catch-all, a `-32601` for a method the host does serve) fails.
//!
//! Every method is called in every run (no sampling): the cases are the
//! whole domain. Plugin ids, keys and the company id in messages are
//! compared as placeholders (`{pluginId}`, `{pluginKey}`, `{companyId}`).

pub mod expected;
pub mod fixture;
pub mod methods;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Value};

use self::expected::{Answer, Expect};
use self::fixture::{FixturePackage, Variant};
use self::methods::{Since, METHODS};
use super::{base_result, Property, PropertyConfig, PropertyEnv};
use crate::check::{CheckResult, Failure, Status};
use crate::client::Call;
use crate::exchange::Exchange;
use crate::plugin::{self, InstalledPlugin, PreparedPlugin};

/// The check.
pub struct HostMethodsProperty;

/// Mismatches listed in one failure at most.
const MAX_LISTED: usize = 20;

impl Property for HostMethodsProperty {
    fn id(&self) -> &'static str {
        "host-methods"
    }

    fn title(&self) -> &'static str {
        "Every worker-to-host method the plugin SDK declares answers empty params with the host's own code and message"
    }

    fn source(&self) -> &'static str {
        "contract-db-worker.md B1 (error codes), B2.2 (methods, capabilities), B3 (gate order); docs/host-methods.md; docs/findings.md F28"
    }

    fn tags(&self) -> Vec<String> {
        vec!["property".into(), "host-services".into()]
    }

    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult {
        let Some(sdk) = env.sdk_node_modules.clone() else {
            return super::skipped(
                self,
                env,
                config,
                "needs a plugin SDK installation to link the generated fixtures to",
            );
        };
        let started = Instant::now();
        let mut result = base_result(self, env, config);
        let version = expected::served(env.profile);
        let outcome = env.handle.block_on(run(env, &sdk, version));
        result.duration_ms = started.elapsed().as_millis() as u64;
        let observed = match outcome {
            Ok(observed) => observed,
            Err(failure) => {
                result.exchanges = failure.exchange.iter().cloned().collect();
                result.fail(failure);
                return result;
            }
        };
        let calls = observed.answers.values().map(BTreeMap::len).sum::<usize>();
        result.cases = Some(calls as u32);
        result.exchanges = observed.exchanges.clone();
        result.details = Some(observed.table());
        let mismatches = observed.mismatches(env.profile);
        if let Some(unknown) = observed.undeclared.first() {
            result.fail(Failure::new(
                "declared methods",
                format!(
                    "the run's plugin SDK declares {} method(s) the check does not know (first: \"{unknown}\"): add them to suite/src/property/host_methods/methods.rs with what the hosts answer",
                    observed.undeclared.len()
                ),
            ));
        } else if !mismatches.is_empty() {
            let listed: Vec<Value> = mismatches.iter().take(MAX_LISTED).cloned().collect();
            result.fail(Failure {
                step: format!("{} of {calls} calls", mismatches.len()),
                message: format!(
                    "{} host call(s) answered otherwise than the real host does (first {} listed)",
                    mismatches.len(),
                    listed.len()
                ),
                expected: Some(json!(listed
                    .iter()
                    .map(|m| json!({ "call": m["call"], "answer": m["expected"] }))
                    .collect::<Vec<_>>())),
                actual: Some(json!(listed
                    .iter()
                    .map(|m| json!({ "call": m["call"], "answer": m["actual"] }))
                    .collect::<Vec<_>>())),
                exchange: observed.exchanges.last().cloned(),
            });
        } else if result.status == Status::Passed {
            result.reason = Some(format!(
                "{} methods × {} fixtures compared",
                METHODS.len(),
                Variant::ALL.len()
            ));
        }
        result
    }
}

/// What the fixtures got back.
struct Observed {
    answers: BTreeMap<Variant, BTreeMap<&'static str, Answer>>,
    exchanges: Vec<Exchange>,
    /// Methods the run's SDK declares that [`METHODS`] lacks.
    undeclared: Vec<String>,
}

impl Observed {
    /// `{variant: {method: answer}}`, for the report.
    fn table(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (variant, answers) in &self.answers {
            let row: serde_json::Map<String, Value> = answers
                .iter()
                .map(|(m, a)| (m.to_string(), a.to_json()))
                .collect();
            out.insert(variant.as_str().to_string(), Value::Object(row));
        }
        Value::Object(out)
    }

    fn mismatches(&self, profile: &crate::profile::Profile) -> Vec<Value> {
        let mut out = Vec::new();
        for (variant, answers) in &self.answers {
            for method in METHODS {
                let expect = expected::expect(method, *variant, profile);
                let actual = answers.get(method.name);
                let ok = match (&expect, actual) {
                    (Expect::Skip, _) => true,
                    (_, None) => false,
                    (expect, Some(actual)) => expect.matches(actual),
                };
                if !ok {
                    out.push(json!({
                        "call": format!("{} via {}", method.name, variant.as_str()),
                        "expected": expect.to_json(),
                        "actual": actual.map(Answer::to_json),
                    }));
                }
            }
        }
        out
    }
}

/// Installs the three fixtures, makes every call through each, purges them.
async fn run(
    env: &PropertyEnv,
    sdk: &std::path::Path,
    version: Since,
) -> Result<Observed, Failure> {
    let undeclared = methods::declared_in_sdk(sdk)
        .unwrap_or_default()
        .into_iter()
        .filter(|name| !METHODS.iter().any(|m| m.name == name))
        .collect();
    let nonce = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let company = env
        .world
        .company("a")
        .map(|c| c.id.clone())
        .ok_or_else(|| Failure::new("set-up", "the world has no company a"))?;
    let mut installed = Vec::new();
    let mut observed = Observed {
        answers: BTreeMap::new(),
        exchanges: Vec::new(),
        undeclared,
    };
    let mut failure = None;
    for variant in Variant::ALL {
        match install(env, sdk, &nonce, variant, version).await {
            Ok(plugin) => installed.push((variant, plugin)),
            Err(message) => {
                failure = Some(Failure::new("set-up", message));
                break;
            }
        }
    }
    if failure.is_none() {
        for (variant, plugin) in &installed {
            match call_all(env, plugin, &company).await {
                Ok((answers, exchange)) => {
                    observed.exchanges.push(exchange);
                    observed.answers.insert(*variant, answers);
                }
                Err(f) => {
                    failure = Some(*f);
                    break;
                }
            }
        }
    }
    for (_, plugin) in &installed {
        let _ = env
            .client
            .send(
                &Call::new("DELETE", format!("/api/plugins/{}?purge=true", plugin.key))
                    .as_(&env.world.board),
            )
            .await;
    }
    match failure {
        Some(f) => Err(f),
        None => Ok(observed),
    }
}

pub(crate) async fn install(
    env: &PropertyEnv,
    sdk: &std::path::Path,
    nonce: &str,
    variant: Variant,
    version: Since,
) -> Result<InstalledPlugin, String> {
    let package = FixturePackage::create(&env.work_dir, nonce, variant, version, sdk)
        .map_err(|e| format!("writing the host-call fixture failed: {e}"))?;
    let prepared = PreparedPlugin {
        uses_registry_sdk: true,
        dir: package.dir.clone(),
        sdk_version: None,
    };
    plugin::install(&env.client, &env.world.board, &prepared)
        .await
        .map_err(|e| {
            format!(
                "the host refused the host-call fixture ({}): {e}",
                variant.as_str()
            )
        })
}

/// One request: every method with `{}`; the answers by method name.
async fn call_all(
    env: &PropertyEnv,
    plugin: &InstalledPlugin,
    company: &str,
) -> Result<(BTreeMap<&'static str, Answer>, Exchange), Box<Failure>> {
    let calls: Vec<Value> = METHODS
        .iter()
        .map(|m| json!({ "method": m.name, "params": {} }))
        .collect();
    let call = Call::new(
        "POST",
        format!("/api/plugins/{}/api{}", plugin.key, fixture::ROUTE_PATH),
    )
    .as_(&env.world.board)
    .json(json!({ "companyId": company, "calls": calls }));
    let exchange = env.client.send(&call).await;
    let answers = exchange
        .response
        .as_ref()
        .filter(|r| r.status == 200)
        .and_then(|r| r.body.get("answers"))
        .and_then(Value::as_array)
        .filter(|a| a.len() == METHODS.len())
        .cloned();
    let Some(answers) = answers else {
        return Err(Box::new(Failure {
            step: format!("calls through {}", plugin.key),
            message: "the host-call route did not answer 200 with one answer per call".into(),
            expected: Some(json!({ "status": 200, "answers": METHODS.len() })),
            actual: exchange
                .response
                .as_ref()
                .map(|r| json!({ "status": r.status, "body": r.body })),
            exchange: Some(exchange),
        }));
    };
    let placeholders = [
        (plugin.id.as_str(), "{pluginId}"),
        (plugin.key.as_str(), "{pluginKey}"),
        (company, "{companyId}"),
    ];
    let by_method = METHODS
        .iter()
        .zip(answers)
        .map(|(m, a)| (m.name, Answer::from_wire(&a, &placeholders)))
        .collect();
    Ok((by_method, exchange))
}
