//! Check `host-services`: the orchestration host services a worker calls —
//! issues, relations, documents, wakeups, summaries, checkout, comments,
//! activity, the database namespace, plugin state, companies and agents
//! ([`cases::METHODS`]) — with valid params, invalid ones, ids of company B,
//! without the capability and naming company B inside an invocation of A.
//!
//! The calls go through the generated host-call fixture of the
//! `host-methods` check (its three variants) inside scoped-route requests
//! of company A, in phases: the issues to work on (one after the other),
//! then every read, write and refusal at once, then what depends on order
//! (blocker cycles, second upserts, deletes and the reads after them), the
//! database fixture and the fixture without capabilities, and last the
//! cases drawn from the seed ([`drawn`]). Each answer is compared in names
//! (ids replaced, `names::Names`) with what the case wants (`cases`,
//! `model`), and the rows the calls leave with what their effects add up
//! to (`rows`). Every method is called in every run with at least one
//! valid, one invalid and one capability-denied case.
//!
//! The world it works in is its own: an agent of company A, a project with
//! a workspace, a root issue in it, an issue checked out by the agent, an
//! issue of company B — so scenarios running beside it see none of it.

pub mod after_phase;
pub mod calls;
pub mod cases;
pub mod draw;
pub mod drawn;
pub mod drawn_sequences;
pub mod main_phase;
pub mod malformed;
pub mod model;
pub mod names;
pub mod rows;

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{json, Value};

use self::calls::{Case, Kind};
use self::cases::{Phase, METHODS};
use self::names::Names;
use super::host_methods::{self, expected, fixture};
use super::{base_result, Property, PropertyConfig, PropertyEnv};
use crate::check::{CheckResult, Failure, Status};
use crate::client::Call;
use crate::exchange::Exchange;
use crate::plugin::InstalledPlugin;
use fixture::Variant;

/// The check.
pub struct HostServicesProperty;

/// Mismatches listed in one failure at most.
const MAX_LISTED: usize = 20;

impl Property for HostServicesProperty {
    fn id(&self) -> &'static str {
        "host-services"
    }

    fn title(&self) -> &'static str {
        "The orchestration host services answer valid, invalid, capability-less and cross-company calls as the host does, and leave the rows they must"
    }

    fn source(&self) -> &'static str {
        "contract-db-worker.md B1 (codes), B2.2 (methods and their checks), B2.3 (plugin activity), B3 (capabilities, invocation scope), B5 (tables); docs/findings.md F29–F31"
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
        let outcome = env.handle.block_on(run(env, &sdk, config));
        result.duration_ms = started.elapsed().as_millis() as u64;
        let observed = match outcome {
            Ok(observed) => observed,
            Err(failure) => {
                result.exchanges = failure.exchange.iter().cloned().collect();
                result.fail(*failure);
                return result;
            }
        };
        result.cases = Some(observed.calls);
        result.details = Some(observed.details());
        if !observed.mismatches.is_empty() {
            let listed: Vec<&Value> = observed.mismatches.iter().take(MAX_LISTED).collect();
            result.exchanges = observed.exchanges.clone();
            result.fail(Failure {
                step: format!("{} of {} calls", observed.mismatches.len(), observed.calls),
                message: format!(
                    "{} host call(s) answered otherwise than the model says (first {} listed)",
                    observed.mismatches.len(),
                    listed.len()
                ),
                expected: Some(json!(listed
                    .iter()
                    .map(|m| json!({"call": m["call"], "answer": m["expected"]}))
                    .collect::<Vec<_>>())),
                actual: Some(json!(listed
                    .iter()
                    .map(|m| json!({"call": m["call"], "answer": m["actual"]}))
                    .collect::<Vec<_>>())),
                exchange: observed.exchanges.last().cloned(),
            });
        } else if !observed.rows.is_empty() {
            let tables: Vec<&str> = observed.rows.iter().map(|(t, _, _)| t.as_str()).collect();
            result.fail(Failure {
                step: "rows after the calls".into(),
                message: format!(
                    "the calls left other rows than their effects add up to in: {}",
                    tables.join(", ")
                ),
                expected: Some(json!(observed
                    .rows
                    .iter()
                    .map(|(t, e, _)| json!({"table": t, "rows": e}))
                    .collect::<Vec<_>>())),
                actual: Some(json!(observed
                    .rows
                    .iter()
                    .map(|(t, _, a)| json!({"table": t, "rows": a}))
                    .collect::<Vec<_>>())),
                exchange: None,
            });
        } else if let Some(missing) = observed.uncovered() {
            result.fail(Failure::new("coverage", missing));
        } else if result.status == Status::Passed {
            result.reason = Some(observed.reason());
        }
        result
    }
}

/// What the run saw.
#[derive(Default)]
struct Observed {
    calls: u32,
    /// `{method: {kind: count}}`.
    counts: BTreeMap<&'static str, BTreeMap<Kind, u32>>,
    mismatches: Vec<Value>,
    rows: Vec<(String, Value, Value)>,
    rows_compared: bool,
    exchanges: Vec<Exchange>,
    /// `{call, answer}` of every call, in the order they were judged.
    answers: Vec<Value>,
}

impl Observed {
    fn details(&self) -> Value {
        let counts: serde_json::Map<String, Value> = self
            .counts
            .iter()
            .map(|(m, kinds)| {
                let k: serde_json::Map<String, Value> = kinds
                    .iter()
                    .map(|(kind, n)| (kind.as_str().to_string(), json!(n)))
                    .collect();
                (m.to_string(), Value::Object(k))
            })
            .collect();
        json!({
            "cases": counts,
            "rows_compared": self.rows_compared,
            "answers": self.answers,
        })
    }

    fn reason(&self) -> String {
        let per_method: Vec<String> = METHODS
            .iter()
            .map(|m| {
                let n: u32 = self.counts.get(m).map(|k| k.values().sum()).unwrap_or(0);
                format!("{m} {n}")
            })
            .collect();
        format!(
            "{} calls over {} methods{}: {}",
            self.calls,
            METHODS.len(),
            if self.rows_compared {
                ", rows compared"
            } else {
                ", rows not compared (no host database)"
            },
            per_method.join(", ")
        )
    }

    /// A method without a valid, an invalid or a capability-denied case.
    fn uncovered(&self) -> Option<String> {
        let missing: Vec<String> = METHODS
            .iter()
            .filter_map(|m| {
                let kinds = self.counts.get(m);
                let has = |k: Kind| kinds.and_then(|x| x.get(&k)).is_some_and(|n| *n > 0);
                let invalid = has(Kind::Invalid) || has(Kind::OtherCompany);
                (!(has(Kind::Valid) && invalid && has(Kind::CapabilityDenied)))
                    .then(|| m.to_string())
            })
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "methods without a valid, an invalid and a capability-denied case: {}",
                missing.join(", ")
            )
        })
    }
}

/// The three fixtures, by variant.
struct Fixtures(Vec<(Variant, InstalledPlugin)>);

impl Fixtures {
    fn get(&self, variant: Variant) -> &InstalledPlugin {
        &self
            .0
            .iter()
            .find(|(v, _)| *v == variant)
            .expect("every variant is installed")
            .1
    }
}

async fn run(
    env: &PropertyEnv,
    sdk: &std::path::Path,
    config: &PropertyConfig,
) -> Result<Observed, Box<Failure>> {
    let version = expected::served(env.profile);
    let nonce = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    // The fixtures and the check's world are made at the same time.
    let installs = futures::future::join_all(Variant::ALL.map(|variant| {
        let nonce = &nonce;
        async move {
            host_methods::install(env, sdk, nonce, variant, version)
                .await
                .map(|plugin| (variant, plugin))
        }
    }));
    let (installs, made) = tokio::join!(installs, world::set_up(env, config.seed));
    let mut installed = Vec::new();
    let mut failure = None;
    for outcome in installs {
        match outcome {
            Ok(pair) => installed.push(pair),
            Err(message) => failure = Some(Box::new(Failure::new("set-up", message))),
        }
    }
    let fixtures = Fixtures(installed);
    let outcome = match (failure, made) {
        (Some(f), _) | (None, Err(f)) => Err(f),
        (None, Ok(mut names)) => {
            world::name_fixtures(&mut names, &fixtures);
            run_phases(env, &fixtures, names, config).await
        }
    };
    futures::future::join_all(fixtures.0.iter().map(|(_, plugin)| async move {
        let purge = Call::new("DELETE", format!("/api/plugins/{}?purge=true", plugin.key))
            .as_(&env.world.board);
        let _ = env.client.send(&purge).await;
    }))
    .await;
    outcome
}

async fn run_phases(
    env: &PropertyEnv,
    fixtures: &Fixtures,
    mut names: Names,
    config: &PropertyConfig,
) -> Result<Observed, Box<Failure>> {
    let create = cases::phase_create();
    let mut main = main_phase::phase_main();
    main.cases.extend(malformed::cases(env.profile));
    let after = after_phase::phase_after(env.profile);
    let database = cases::phase_database();
    let mut all = create.clone();
    all.extend([main.clone(), after.clone(), database.clone()]);
    let (capability, scoped) = cases::derived(&all);
    main.cases.extend(scoped);
    let [drawn_writes, drawn_reads, drawn_sequence] = drawn::phases(config.seed, config.cases);
    let mut observed = Observed::default();
    let mut expected = rows::Expected::default();
    let mut record = |observed: &mut Observed,
                      names: &mut Names,
                      phase: &Phase,
                      (answers, exchanges): (Vec<Value>, Vec<Exchange>)| {
        observed.exchanges.extend(exchanges);
        for (case, answer) in phase.cases.iter().zip(answers) {
            judge(observed, &mut expected, names, case, &answer);
        }
    };
    for phase in &create {
        let answers = send_phase(env, fixtures, &names, phase).await?;
        record(&mut observed, &mut names, phase, answers);
    }
    // Nothing in these binds a name, and none depends on another's writes.
    let (m, d, c) = tokio::join!(
        send_phase(env, fixtures, &names, &main),
        send_phase(env, fixtures, &names, &database),
        send_phase(env, fixtures, &names, &capability),
    );
    record(&mut observed, &mut names, &main, m?);
    record(&mut observed, &mut names, &database, d?);
    record(&mut observed, &mut names, &capability, c?);
    for phase in [&after, &drawn_writes, &drawn_reads, &drawn_sequence] {
        let answers = send_phase(env, fixtures, &names, phase).await?;
        record(&mut observed, &mut names, phase, answers);
    }
    if let Some(db) = env.db.as_ref() {
        observed.rows = expected.compare(db, &names).await;
        observed.rows_compared = true;
    }
    Ok(observed)
}

/// Compares one answer, binds its id, adds its effects when it is right.
fn judge(
    observed: &mut Observed,
    expected: &mut rows::Expected,
    names: &mut Names,
    case: &Case,
    answer: &Value,
) {
    if let (Some(name), Some(id)) = (&case.bind, answer["ok"]["id"].as_str()) {
        names.add(name, id);
    }
    let named = names.value(answer);
    observed.calls += 1;
    *observed
        .counts
        .entry(case.method)
        .or_default()
        .entry(case.kind)
        .or_default() += 1;
    // Every answer, with ids as names, for comparing two hosts call by call
    // (tests/src/compare.rs reads `details.answers`).
    observed.answers.push(json!({
        "call": format!("{} via {}", case.title(), case.variant.as_str()),
        "answer": clipped(&named),
    }));
    if case.want.matches(&named) {
        for effect in &case.effects {
            expected.apply(effect);
        }
    } else {
        observed.mismatches.push(json!({
            "call": format!("{} via {}", case.title(), case.variant.as_str()),
            "params": clipped(&case.params),
            "expected": clipped(&case.want.to_json()),
            "actual": clipped(&named),
        }));
    }
}

/// `value` with strings over 200 characters cut (the oversized cases'
/// 200,000 characters would otherwise fill the report).
fn clipped(value: &Value) -> Value {
    match value {
        Value::String(t) if t.chars().count() > 200 => Value::String(format!(
            "{}… ({} characters)",
            t.chars().take(200).collect::<String>(),
            t.chars().count()
        )),
        Value::Array(a) => Value::Array(a.iter().map(clipped).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), clipped(v))).collect()),
        other => other.clone(),
    }
}

/// Sends a phase's calls, one request per fixture it uses (at once), and
/// answers them in the phase's order.
async fn send_phase(
    env: &PropertyEnv,
    fixtures: &Fixtures,
    names: &Names,
    phase: &Phase,
) -> Result<(Vec<Value>, Vec<Exchange>), Box<Failure>> {
    let company = names.id("companyA").unwrap_or_default().to_string();
    let requests = Variant::ALL.iter().filter_map(|variant| {
        let picked: Vec<usize> = (0..phase.cases.len())
            .filter(|i| phase.cases[*i].variant == *variant)
            .collect();
        (!picked.is_empty()).then(|| {
            let calls: Vec<Value> = picked
                .iter()
                .map(|i| {
                    let c = &phase.cases[*i];
                    json!({"method": c.wire.unwrap_or(c.method), "params": names.fill(&c.params)})
                })
                .collect();
            let plugin = fixtures.get(*variant);
            let call = Call::new(
                "POST",
                format!("/api/plugins/{}/api{}", plugin.key, fixture::ROUTE_PATH),
            )
            .as_(&env.world.board)
            .json(json!({"companyId": company, "calls": calls, "sequential": phase.sequential}));
            async move { (picked, env.client.send(&call).await) }
        })
    });
    let sent = futures::future::join_all(requests).await;
    let mut answers = vec![Value::Null; phase.cases.len()];
    let mut exchanges = Vec::new();
    for (picked, exchange) in sent {
        let list = exchange
            .response
            .as_ref()
            .filter(|r| r.status == 200)
            .and_then(|r| r.body.get("answers"))
            .and_then(Value::as_array)
            .filter(|a| a.len() == picked.len())
            .cloned();
        let Some(list) = list else {
            return Err(Box::new(Failure {
                step: format!("phase {}", phase.name),
                message: "the host-call route did not answer 200 with one answer per call".into(),
                expected: Some(json!({"status": 200, "answers": picked.len()})),
                actual: exchange
                    .response
                    .as_ref()
                    .map(|r| json!({"status": r.status, "body": r.body})),
                exchange: Some(exchange),
            }));
        };
        for (i, a) in picked.into_iter().zip(list) {
            answers[i] = a;
        }
        exchanges.push(exchange);
    }
    Ok((answers, exchanges))
}

mod world;
