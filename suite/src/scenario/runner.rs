//! Runs one scenario against a live host and turns it into a [`CheckResult`].

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::matcher::matches;
use super::model::{Action, ActorRef, HttpStep, Scenario, SqlStep, Step, StepBody};
use super::validate::references;
use super::vars::Vars;
use crate::check::{CheckResult, Failure, RowsObserved, Status};
use crate::client::{Body, Call, Credentials, HostClient};
use crate::db::HostDb;
use crate::exchange::Exchange;
use crate::world::{export_agent, Agent, World};

/// Everything a scenario runs against.
pub struct RunContext<'a> {
    pub client: &'a HostClient,
    pub world: &'a World,
    /// The host's database, when the suite can reach it.
    pub db: Option<&'a HostDb>,
    /// The version the host reports, for version-gated scenarios.
    pub host_version: Option<&'a str>,
    /// Run-wide variables: world, plugin and host.
    pub vars: &'a Vars,
    /// Prefix of the command that replays one check; ` --only <id>` is appended.
    pub repro_prefix: &'a str,
}

/// A bearer token no host issued (for the `bogus` actor).
pub const BOGUS_TOKEN: &str = "pcp_conformancebogus00000000000000000000000000000000";

/// Runs `scenario` and reports its outcome. Never panics on host behaviour:
/// everything unexpected becomes a failed check with the evidence attached.
pub async fn run_scenario(scenario: &Scenario, ctx: &RunContext<'_>) -> CheckResult {
    let started = Instant::now();
    let meta = &scenario.meta;
    if let Some(reason) = meta.not_applicable(ctx.world.mode, ctx.host_version) {
        return meta.skipped(ctx.repro_prefix, reason);
    }
    let mut result = meta.result(ctx.repro_prefix);
    let mut exec = Execution {
        ctx,
        vars: ctx.vars.clone(),
        agents: Vec::new(),
        exchanges: Vec::new(),
        rows: Vec::new(),
        skipped: Vec::new(),
        unavailable: BTreeSet::new(),
    };
    let outcome = match exec.fixtures(scenario).await {
        Ok(()) => exec.steps(scenario).await,
        Err(failure) => Err(failure),
    };
    result.exchanges = exec.exchanges;
    result.rows = exec.rows;
    result.duration_ms = started.elapsed().as_millis() as u64;
    match outcome {
        Err(failure) => result.fail(failure),
        Ok(()) if !exec.skipped.is_empty() => {
            // Without the host's database the SQL steps (and the steps that
            // need what they save) cannot run; the HTTP steps still did.
            let all = exec.skipped.len() == scenario.steps.len();
            result.reason = Some(format!(
                "{} of {} steps not run: SQL steps need the host's database; pass --host-database-url",
                exec.skipped.len(),
                scenario.steps.len()
            ));
            result.details = Some(json!({ "skipped_steps": exec.skipped }));
            if all {
                result.status = Status::Skipped;
            }
        }
        Ok(()) => {}
    }
    result
}

struct Execution<'a> {
    ctx: &'a RunContext<'a>,
    vars: Vars,
    /// Fixture agents, by scenario-local name.
    agents: Vec<(String, Agent)>,
    exchanges: Vec<Exchange>,
    rows: Vec<RowsObserved>,
    /// Labels of the steps that could not run (no database).
    skipped: Vec<String>,
    /// Names that skipped steps would have saved.
    unavailable: BTreeSet<String>,
}

impl Execution<'_> {
    async fn fixtures(&mut self, scenario: &Scenario) -> Result<(), Failure> {
        let nonce = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
        self.vars.set("nonce", nonce.clone());
        let world = self.ctx.world;
        for fixture in &scenario.agents {
            // Unique names: hosts coalesce wakeups by agent name.
            let display = format!("{} {} {nonce}", scenario.id(), fixture.name);
            let agent = world
                .create_agent(self.ctx.client, &fixture.company, &display)
                .await
                .map_err(|e| fixture_failure(format!("agent '{}': {e}", fixture.name)))?;
            export_agent(&mut self.vars, &fixture.name, &agent);
            self.agents.push((fixture.name.clone(), agent));
        }
        for fixture in &scenario.issues {
            // Names were resolved when the scenario loaded.
            let assignee = fixture
                .assignee
                .as_deref()
                .and_then(|name| self.agent(name))
                .cloned();
            let title = fixture
                .title
                .clone()
                .unwrap_or_else(|| format!("{} {}", scenario.id(), fixture.name));
            let issue = world
                .create_issue(
                    self.ctx.client,
                    &fixture.company,
                    &title,
                    &fixture.status,
                    assignee.as_ref(),
                    fixture.checkout,
                )
                .await
                .map_err(|e| fixture_failure(format!("issue '{}': {e}", fixture.name)))?;
            let prefix = format!("issue.{}", fixture.name);
            self.vars.set(format!("{prefix}.id"), issue.id);
            self.vars
                .set(format!("{prefix}.identifier"), issue.identifier);
            self.vars.set(format!("{prefix}.title"), title);
            if let Some(run) = issue.run_id {
                self.vars.set(format!("{prefix}.run"), run);
            }
        }
        Ok(())
    }

    fn agent(&self, name: &str) -> Option<&Agent> {
        self.agents
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a)
            .or_else(|| self.ctx.world.agent(name))
    }

    async fn steps(&mut self, scenario: &Scenario) -> Result<(), Failure> {
        for (index, step) in scenario.steps.iter().enumerate() {
            let label = step.label(index);
            if !self.can_run(step) {
                self.skipped.push(label);
                self.unavailable.extend(step.save.keys().cloned());
                continue;
            }
            let retry = step.retry;
            let deadline = retry.map(|r| Instant::now() + Duration::from_millis(r.timeout_ms));
            loop {
                let attempt = match &step.action {
                    Action::Http(http) => self.http_step(step, http, &label).await,
                    Action::Sql(sql) => self.sql_step(step, sql, &label).await,
                };
                match attempt {
                    Ok(()) => break,
                    Err(failure) => match (retry, deadline) {
                        (Some(r), Some(d)) if Instant::now() < d && !failure.fatal => {
                            tokio::time::sleep(Duration::from_millis(r.interval_ms)).await;
                        }
                        _ => return Err(failure.failure),
                    },
                }
            }
        }
        Ok(())
    }

    /// Whether `step` can run: SQL needs the database, and no step can use
    /// a value that a step which did not run would have saved — anywhere:
    /// request, headers, body or expectations.
    fn can_run(&self, step: &Step) -> bool {
        let mut texts: Vec<String> = Vec::new();
        match &step.action {
            Action::Sql(_) if self.ctx.db.is_none() => return false,
            Action::Sql(s) => {
                texts.push(s.sql.clone());
                texts.extend(s.params.iter().map(Value::to_string));
                texts.extend(s.expect_rows.as_ref().map(Value::to_string));
            }
            Action::Http(h) => {
                texts.push(h.path.clone());
                texts.extend(h.run.clone());
                texts.extend(h.headers.values().cloned());
                texts.extend(h.expect_headers.values().cloned());
                texts.extend(h.expect_body.as_ref().map(Value::to_string));
                texts.extend(h.expect_status.as_ref().map(Value::to_string));
                match &h.body {
                    // Whole-body scan is enough: names are plain strings.
                    StepBody::Json(j) => texts.push(j.to_string()),
                    StepBody::Raw { text, .. } => texts.push(text.clone()),
                    StepBody::None => {}
                }
            }
        }
        texts.iter().all(|s| !self.uses_unavailable(s))
    }

    fn uses_unavailable(&self, s: &str) -> bool {
        !self.unavailable.is_empty() && references(s).iter().any(|r| self.unavailable.contains(r))
    }

    fn credentials(&self, http: &HttpStep, label: &str) -> Result<Credentials, StepFailure> {
        let mut creds = match &http.actor {
            ActorRef::Board => self.ctx.world.board.clone(),
            ActorRef::Nobody => Credentials::default(),
            ActorRef::Bogus => Credentials {
                bearer: Some(BOGUS_TOKEN.into()),
                run_id: None,
            },
            ActorRef::Agent(name) => {
                let agent = self.agent(name).ok_or_else(|| {
                    fatal(
                        label,
                        format!("internal error: agent '{name}' was not created"),
                    )
                })?;
                Credentials {
                    bearer: Some(agent.token.clone()),
                    run_id: None,
                }
            }
        };
        if let Some(run) = &http.run {
            creds.run_id = Some(self.vars.apply_str(run).map_err(|m| fatal(label, m))?);
        }
        Ok(creds)
    }

    async fn http_step(
        &mut self,
        step: &Step,
        http: &HttpStep,
        label: &str,
    ) -> Result<(), StepFailure> {
        let path = self
            .vars
            .apply_str(&http.path)
            .map_err(|m| fatal(label, m))?;
        let mut call = Call::new(&http.method, path);
        call.credentials = self.credentials(http, label)?;
        call.body = match &http.body {
            StepBody::Json(j) => Body::Json(self.vars.apply(j).map_err(|m| fatal(label, m))?),
            StepBody::Raw { content_type, text } => Body::Raw {
                content_type: content_type.clone(),
                text: self.vars.apply_str(text).map_err(|m| fatal(label, m))?,
            },
            StepBody::None => Body::None,
        };
        for (k, v) in &http.headers {
            call.headers.push((
                k.clone(),
                self.vars.apply_str(v).map_err(|m| fatal(label, m))?,
            ));
        }
        let exchange = self.ctx.client.send(&call).await;
        let verdict = self.judge_http(step, http, label, &exchange);
        // Keep only the last attempt of a retried step: earlier attempts are noise.
        if step.retry.is_some()
            && self.exchanges.last().is_some_and(|e| {
                e.request.url == exchange.request.url && e.request.method == exchange.request.method
            })
        {
            self.exchanges.pop();
        }
        self.exchanges.push(exchange);
        verdict
    }

    fn judge_http(
        &mut self,
        step: &Step,
        http: &HttpStep,
        label: &str,
        exchange: &Exchange,
    ) -> Result<(), StepFailure> {
        let failure =
            |message: String, expected: Option<Value>, actual: Option<Value>| StepFailure {
                fatal: false,
                failure: Failure {
                    step: label.to_string(),
                    message,
                    expected,
                    actual,
                    exchange: Some(exchange.clone()),
                },
            };
        let Some(response) = &exchange.response else {
            let error = exchange
                .error
                .clone()
                .unwrap_or_else(|| "no response".into());
            return Err(failure(format!("the request failed: {error}"), None, None));
        };
        if let Some(want) = &http.expect_status {
            let want = self.vars.apply(want).map_err(|m| fatal(label, m))?;
            let got = json!(response.status);
            if let Err(m) = matches(&want, Some(&got)) {
                return Err(failure(
                    format!("expected status {want}, got {} ({m})", response.status),
                    Some(json!({ "status": want })),
                    Some(json!({ "status": response.status, "body": response.body })),
                ));
            }
        }
        for (name, want) in &http.expect_headers {
            let want = self.vars.apply_str(want).map_err(|m| fatal(label, m))?;
            let got = response
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone());
            let ok = match (want.as_str(), &got) {
                ("$absent", None) => true,
                ("$absent", Some(_)) => false,
                ("$present", got) => got.is_some(),
                (w, Some(g)) => w == g,
                (_, None) => false,
            };
            if !ok {
                return Err(failure(
                    format!(
                        "response header '{name}': expected {want}, got {}",
                        got.as_deref().unwrap_or("nothing")
                    ),
                    Some(json!({ name.clone(): want })),
                    Some(json!({ name.clone(): got })),
                ));
            }
        }
        if let Some(expected) = &http.expect_body {
            let expected = self.vars.apply(expected).map_err(|m| fatal(label, m))?;
            let actual = if response.json || response.body.as_str().is_some_and(|s| !s.is_empty()) {
                Some(&response.body)
            } else {
                None
            };
            if let Err(m) = matches(&expected, actual) {
                return Err(failure(
                    format!("response body {m}"),
                    Some(expected),
                    Some(response.body.clone()),
                ));
            }
        }
        self.save(step, label, &response.body)
    }

    async fn sql_step(
        &mut self,
        step: &Step,
        query: &SqlStep,
        label: &str,
    ) -> Result<(), StepFailure> {
        let db = self
            .ctx
            .db
            .ok_or_else(|| fatal(label, "internal error: no database connection".into()))?;
        let sql = self
            .vars
            .apply_str(&query.sql)
            .map_err(|m| fatal(label, m))?;
        let sql = sql.as_str();
        let params = query
            .params
            .iter()
            .map(|p| self.vars.apply(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|m| fatal(label, m))?;
        let rows = db.rows(sql, &params).await.map_err(|m| StepFailure {
            fatal: false,
            failure: Failure {
                step: label.to_string(),
                message: m,
                expected: None,
                actual: None,
                exchange: None,
            },
        })?;
        let rows = Value::Array(rows);
        // Keep only the last attempt of a retried step.
        if step.retry.is_some() && self.rows.last().is_some_and(|r| r.step == label) {
            self.rows.pop();
        }
        self.rows.push(RowsObserved {
            step: label.to_string(),
            rows: rows.clone(),
        });
        if let Some(expected) = &query.expect_rows {
            let expected = self.vars.apply(expected).map_err(|m| fatal(label, m))?;
            if let Err(m) = matches(&expected, Some(&rows)) {
                return Err(StepFailure {
                    fatal: false,
                    failure: Failure {
                        step: label.to_string(),
                        message: format!("rows {m}"),
                        expected: Some(json!({ "sql": sql, "params": params, "rows": expected })),
                        actual: Some(rows),
                        exchange: None,
                    },
                });
            }
        }
        self.save(step, label, &rows)
    }

    fn save(&mut self, step: &Step, label: &str, value: &Value) -> Result<(), StepFailure> {
        for (name, pointer) in &step.save {
            match value.pointer(pointer) {
                Some(v) => self.vars.set(name.clone(), v.clone()),
                None => {
                    return Err(StepFailure {
                        fatal: false,
                        failure: Failure {
                            step: label.to_string(),
                            message: format!(
                                "cannot save '{name}': nothing at {pointer} in the answer"
                            ),
                            expected: None,
                            actual: Some(value.clone()),
                            exchange: None,
                        },
                    })
                }
            }
        }
        Ok(())
    }
}

/// A step failure; `fatal` ones (a broken scenario) are never retried.
struct StepFailure {
    fatal: bool,
    failure: Failure,
}

fn fatal(label: &str, message: String) -> StepFailure {
    StepFailure {
        fatal: true,
        failure: Failure {
            step: label.to_string(),
            message: format!("scenario error: {message}"),
            expected: None,
            actual: None,
            exchange: None,
        },
    }
}

fn fixture_failure(message: String) -> Failure {
    Failure {
        step: "fixtures".into(),
        message,
        expected: None,
        actual: None,
        exchange: None,
    }
}
