//! SARIF 2.1.0 output (`--sarif PATH`), built with the `serde-sarif` types:
//! one reporting descriptor per security rule (its help text, severity and
//! family), one result per finding, located at the probe in the catalog
//! file, with the HTTP exchange as `webRequest`/`webResponse` and in the
//! result's properties. Accepted findings carry an external suppression
//! with the reviewer's reason, so code-scanning tools show them as dismissed.

use std::collections::BTreeMap;

use serde_json::{json, Value};
use serde_sarif::sarif::{
    ArtifactContent, ArtifactLocation, Location, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, Sarif, Suppression, Tool, ToolComponent, WebRequest,
    WebResponse,
};

use super::grade::{ProbeResult, Verdict};
use super::report::AuditReport;
use super::rule::{Rule, Severity};
use crate::exchange::Exchange;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low | Severity::Info => ResultLevel::Note,
    }
}

fn bag(tags: Vec<String>, values: BTreeMap<String, Value>) -> PropertyBag {
    PropertyBag::builder()
        .tags(tags)
        .additional_properties(values)
        .build()
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let properties = BTreeMap::from([
        (
            "security-severity".to_string(),
            json!(rule.severity.score()),
        ),
        ("severity".to_string(), json!(rule.severity.as_str())),
        ("family".to_string(), json!(rule.family.as_str())),
        ("source".to_string(), json!(rule.source)),
        (
            "referenceHostShares".to_string(),
            json!(rule.reference_shares),
        ),
    ]);
    ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.id.clone())
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.title.clone())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(rule.help.clone())
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(format!("{}\n\nSource: {}", rule.help, rule.source))
                .build(),
        )
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level(rule.severity).to_string()))
                .build(),
        )
        .properties(bag(
            vec!["security".into(), rule.family.as_str().into()],
            properties,
        ))
        .build()
}

fn location(r: &ProbeResult) -> Location {
    let (file, line) = r
        .location
        .rsplit_once(':')
        .map(|(f, l)| (f.to_string(), l.parse::<i64>().unwrap_or(1)))
        .unwrap_or((r.location.clone(), 1));
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(ArtifactLocation::builder().uri(file).build())
                .region(Region::builder().start_line(line.max(1)).build())
                .build(),
        )
        .build()
}

fn web(exchange: &Exchange) -> (WebRequest, Option<WebResponse>) {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut request = WebRequest::builder()
        .method(exchange.request.method.clone())
        .target(exchange.request.url.clone())
        .protocol("HTTP")
        .version("1.1")
        .headers(
            exchange
                .request
                .headers
                .iter()
                .cloned()
                .collect::<BTreeMap<_, _>>(),
        )
        .build();
    if let Some(body) = &exchange.request.body {
        request.body = Some(ArtifactContent::builder().text(text(body)).build());
    }
    let response = exchange.response.as_ref().map(|r| {
        WebResponse::builder()
            .status_code(r.status as i64)
            .protocol("HTTP")
            .version("1.1")
            .headers(r.headers.iter().cloned().collect::<BTreeMap<_, _>>())
            .body(ArtifactContent::builder().text(text(&r.body)).build())
            .build()
    });
    (request, response)
}

fn result(r: &ProbeResult, rule_index: usize) -> SarifResult {
    let mut properties = BTreeMap::from([
        ("probe".to_string(), json!(r.probe)),
        ("severity".to_string(), json!(r.severity.as_str())),
        ("referenceHostShares".to_string(), json!(r.reference_shares)),
        ("replay".to_string(), json!(r.replay)),
    ]);
    for (key, value) in [
        ("step", r.step.as_ref().map(|s| json!(s))),
        ("expected", r.expected.clone()),
        ("actual", r.actual.clone()),
        (
            "exchange",
            r.exchange
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
        ),
        (
            "rows",
            (!r.rows.is_empty())
                .then(|| serde_json::to_value(&r.rows).ok())
                .flatten(),
        ),
    ] {
        if let Some(v) = value {
            properties.insert(key.to_string(), v);
        }
    }
    let text = format!(
        "{}: {}",
        r.title,
        r.message.as_deref().unwrap_or("the rule did not hold")
    );
    let mut out = SarifResult::builder()
        .rule_id(r.rule.clone())
        .rule_index(rule_index as i64)
        .level(level(r.severity))
        .message(Message::builder().text(text).build())
        .locations(vec![location(r)])
        .partial_fingerprints(BTreeMap::from([("probe/v1".to_string(), r.probe.clone())]))
        .properties(bag(Vec::new(), properties))
        .build();
    if let Some(exchange) = &r.exchange {
        let (request, response) = web(exchange);
        out.web_request = Some(request);
        out.web_response = response;
    }
    if let Some(reason) = &r.accepted {
        out.suppressions = Some(vec![Suppression::builder()
            .kind(json!("external"))
            .status(json!("accepted"))
            .justification(reason.clone())
            .build()]);
    }
    out
}

/// The SARIF document of an audit.
pub fn render(report: &AuditReport) -> Sarif {
    let rules: Vec<ReportingDescriptor> = report.rules.iter().map(descriptor).collect();
    let results: Vec<SarifResult> = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Finding)
        .map(|r| {
            let index = report
                .rules
                .iter()
                .position(|x| x.id == r.rule)
                .unwrap_or(0);
            result(r, index)
        })
        .collect();
    let driver = ToolComponent::builder()
        .name("conformance audit")
        .full_name("Paperclip plugin host conformance suite: security audit")
        .version(env!("CARGO_PKG_VERSION"))
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .rules(rules)
        .build();
    let run_properties = BTreeMap::from([
        ("host".to_string(), json!(report.host)),
        ("failOn".to_string(), json!(report.fail_on.as_str())),
        ("summary".to_string(), json!(report.summary)),
    ]);
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .properties(bag(Vec::new(), run_properties))
        .build();
    Sarif::builder()
        .schema(SCHEMA)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

/// The document as pretty JSON.
pub fn to_json(report: &AuditReport) -> String {
    serde_json::to_string_pretty(&render(report))
        .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
