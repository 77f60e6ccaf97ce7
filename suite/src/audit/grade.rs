//! Grading: a probe's scenario result, read against its security rule.

use serde::Serialize;
use serde_json::Value;

use super::catalog::Probe;
use super::rule::{Rule, Severity};
use crate::check::{CheckResult, Failure, RowsObserved, Status};
use crate::exchange::Exchange;

/// What a probe found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The host answered as the rule requires.
    Held,
    /// The rule did not hold: a finding.
    Finding,
    /// Not applicable to this host (mode, version).
    NotApplicable,
    /// The probe's own set-up failed, so the attack said nothing.
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::Finding => "finding",
            Verdict::NotApplicable => "not_applicable",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// One probe's outcome, with its evidence.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub probe: String,
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub verdict: Verdict,
    /// One sentence: what the host did (findings, inconclusive probes), or
    /// why the probe did not apply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The step that showed it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// What the rule expects and what came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
    /// The exchange that shows the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<Exchange>,
    /// Rows the probe's SQL steps read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<RowsObserved>,
    /// Why the finding is accepted (`--accept`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accepted: Option<String>,
    /// Whether the reference host (paperclip@2026.707.0) has this finding
    /// too, from the rule's catalog entry.
    pub reference_shares: bool,
    /// Catalog file and line of the probe.
    pub location: String,
    pub duration_ms: u64,
    pub replay: String,
}

impl ProbeResult {
    /// A finding that is not accepted and reaches `threshold`.
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.verdict == Verdict::Finding && self.accepted.is_none() && self.severity >= threshold
    }
}

/// Grades a probe's scenario result against its rule.
pub fn grade(probe: &Probe, rule: &Rule, result: CheckResult, replay: String) -> ProbeResult {
    let mut out = ProbeResult {
        probe: probe.id().to_string(),
        rule: rule.id.clone(),
        title: probe.scenario.meta.title.clone(),
        severity: rule.severity,
        verdict: Verdict::Held,
        message: None,
        step: None,
        expected: None,
        actual: None,
        exchange: None,
        rows: result.rows.clone(),
        accepted: None,
        reference_shares: probe.reference_finding,
        location: format!(
            "{}:{}",
            super::catalog::display_path(&probe.scenario.path),
            probe.line
        ),
        duration_ms: result.duration_ms,
        replay,
    };
    match (result.status, result.failure) {
        (Status::Skipped, _) => {
            out.verdict = Verdict::NotApplicable;
            out.message = result.reason;
        }
        (Status::Failed | Status::Warning, Some(failure)) => {
            out.verdict = if is_setup(&failure) {
                Verdict::Inconclusive
            } else {
                Verdict::Finding
            };
            out.step = Some(failure.step);
            out.message = Some(failure.message);
            out.expected = failure.expected;
            out.actual = failure.actual;
            out.exchange = failure.exchange;
        }
        _ => {
            if let Some((exchange, leak, line)) = leaked(rule, &result.exchanges) {
                out.verdict = Verdict::Finding;
                out.message = Some(format!(
                    "the answer to {} {} shows {}: {line}",
                    exchange.request.method,
                    exchange.request.url,
                    leak.as_str()
                ));
                out.actual = exchange.response.as_ref().map(|r| r.body.clone());
                out.exchange = Some(exchange.clone());
            } else {
                // The answer that held, for comparing hosts probe by probe.
                out.exchange = result.exchanges.last().cloned();
            }
        }
    }
    scrub_result(&mut out);
    out
}

/// Keys that reached an answer (a host that forwards `Authorization` to the
/// worker echoes the caller's key back) are cut to their first characters,
/// as the client does for the headers it sends: reports are shared.
fn scrub_result(r: &mut ProbeResult) {
    if let Some(m) = r.message.as_mut() {
        *m = scrub(m);
    }
    for v in [r.actual.as_mut(), r.expected.as_mut()]
        .into_iter()
        .flatten()
    {
        scrub_value(v);
    }
    if let Some(response) = r.exchange.as_mut().and_then(|e| e.response.as_mut()) {
        scrub_value(&mut response.body);
    }
}

fn scrub_value(v: &mut Value) {
    match v {
        Value::String(s) => *s = scrub(s),
        Value::Array(items) => items.iter_mut().for_each(scrub_value),
        Value::Object(map) => map.values_mut().for_each(scrub_value),
        _ => {}
    }
}

/// `pcp_` keys (agent and board keys) shortened to `pcp_xx…`.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("pcp_") {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let len = tail
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_'))
            .map_or(tail.len(), |(i, _)| i);
        if len > 12 {
            out.push_str(&tail[..6]);
            out.push('…');
        } else {
            out.push_str(&tail[..len]);
        }
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// A failure of the probe's fixtures or of a `setup: …` step, or a
/// mistake of the probe itself: the attack was not made.
fn is_setup(failure: &Failure) -> bool {
    failure.step == "fixtures"
        || failure.step.contains("(setup")
        || failure.message.starts_with("scenario error")
}

/// The first answer that shows internals the rule forbids.
fn leaked<'a>(
    rule: &Rule,
    exchanges: &'a [Exchange],
) -> Option<(&'a Exchange, super::rule::Leak, String)> {
    for exchange in exchanges {
        let Some(response) = &exchange.response else {
            continue;
        };
        let text = match &response.body {
            Value::String(s) => s.clone(),
            other => flatten(other),
        };
        for leak in &rule.leaks {
            if let Some(line) = leak.find(&text) {
                return Some((exchange, *leak, line));
            }
        }
    }
    None
}

/// Every string of a JSON value, one per line (error texts are strings
/// inside objects; their newlines matter to the detectors).
fn flatten(value: &Value) -> String {
    let mut out = String::new();
    fn walk(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(value, &mut out);
    out
}
