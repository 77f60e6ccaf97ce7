//! The routes property's world on the host and the wire request of a case.
//!
//! Route cases change nothing on the host (the fixture's worker only echoes
//! and the checkout checks either pass with the checkout run or refuse), so
//! one world serves every case of a run: agents of A, a revoked and a
//! terminated agent, three issues of A, and the world's agent of B (nothing
//! is created in B, whose rows the `scoping` property watches). It is rebuilt when it gets older than
//! the agent adapter's 600 s run, which holds the checkout.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::case::{
    BodyShape, Caller, CompanyValue, IssueKind, IssueSpelling, PathShape, PluginRef, QueryShape,
    Respond, RoutesCase, RunHeader, Target,
};
use super::wire::{encode_component, WireBody, WireRequest};
use crate::client::{Body, Call, Credentials, HostClient};
use crate::error::Result;
use crate::exchange::Exchange;
use crate::scenario::runner::BOGUS_TOKEN;
use crate::target::DeploymentMode;
use crate::world::{sign_up_board_key, Agent, Issue, World};

/// A run id no heartbeat run has.
pub const OTHER_RUN: &str = "00000000-0000-4000-8000-00000000c0de";
/// An issue id no issue has.
pub const UNKNOWN_ISSUE: &str = "00000000-0000-4000-8000-0000000abc00";
/// A plugin row id no plugin has.
pub const UNKNOWN_PLUGIN_ID: &str = "00000000-0000-4000-8000-00000000dead";
pub const UNKNOWN_PLUGIN_KEY: &str = "conformance.no-such-plugin";
/// Headers every request carries besides credentials: the allowlisted ones
/// the worker must see, and ones it must never see.
pub const FIXED_HEADERS: &[(&str, &str)] = &[
    ("Accept", "application/json"),
    ("User-Agent", "conformance-routes/1"),
    ("X-Request-Id", "routes-case"),
    ("Cookie", "conformance=1"),
    ("X-Forwarded-For", "127.0.0.1"),
    ("X-Forwarded-Proto", "http"),
    ("X-Conformance-Extra", "1"),
];
/// A rebuilt world after this long: the checkout run ends after 600 s.
const WORLD_MAX_AGE: Duration = Duration::from_secs(420);

/// What the model needs to know about the world of the cases.
#[derive(Debug, Clone)]
pub struct Facts {
    pub mode: DeploymentMode,
    pub plugin_key: String,
    pub plugin_id: String,
    pub company_a: String,
    pub company_b: String,
    pub board: Credentials,
    pub board_user_id: String,
    /// A board API key of a user without membership (authenticated mode).
    pub non_member: Option<(Credentials, String)>,
    pub agent_a: Agent,
    pub agent_b: Agent,
    pub assignee: Agent,
    pub revoked: Agent,
    pub terminated: Agent,
    pub idle: Issue,
    pub assigned: Issue,
    pub checked_out: Issue,
    pub built: Instant,
}

impl Facts {
    pub fn stale(&self) -> bool {
        self.built.elapsed() > WORLD_MAX_AGE
    }

    pub fn issue(&self, kind: IssueKind) -> &Issue {
        match kind {
            IssueKind::Idle => &self.idle,
            IssueKind::Assigned => &self.assigned,
            IssueKind::CheckedOut => &self.checked_out,
        }
    }

    /// The agent a caller is, if it is an agent with a key.
    pub fn agent(&self, caller: Caller) -> Option<&Agent> {
        match caller {
            Caller::AgentA => Some(&self.agent_a),
            Caller::AgentB => Some(&self.agent_b),
            Caller::Assignee => Some(&self.assignee),
            Caller::Revoked => Some(&self.revoked),
            Caller::Terminated => Some(&self.terminated),
            _ => None,
        }
    }
}

/// Builds the world of a run's cases.
pub async fn build(
    client: &HostClient,
    world: &World,
    plugin_key: &str,
    plugin_id: &str,
) -> Result<Facts> {
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let agent = |company: &'static str, role: &'static str| {
        let name = format!("routes {role} {nonce}");
        async move { world.create_agent(client, company, &name).await }
    };
    let agent_a = agent("a", "peer").await?;
    let agent_b = world
        .agent("b1")
        .cloned()
        .ok_or_else(|| crate::error::Error::Bootstrap {
            step: "routes world".into(),
            message: "the world has no agent b1".into(),
        })?;
    let assignee = agent("a", "assignee").await?;
    let revoked = agent("a", "revoked").await?;
    world.revoke_key(client, &revoked).await?;
    let terminated = agent("a", "terminated").await?;
    world.terminate_agent(client, &terminated).await?;
    let title = |what: &str| format!("routes {what} {nonce}");
    let idle = world
        .create_issue(client, "a", &title("idle"), "backlog", None, false)
        .await?;
    let assigned = world
        .create_issue(
            client,
            "a",
            &title("assigned"),
            "backlog",
            Some(&assignee),
            false,
        )
        .await?;
    let checked_out = world
        .create_issue(
            client,
            "a",
            &title("checked out"),
            "in_progress",
            Some(&assignee),
            true,
        )
        .await?;
    let company = |name: &str| {
        world
            .company(name)
            .map(|c| c.id.clone())
            .unwrap_or_default()
    };
    let non_member = match world.mode {
        DeploymentMode::Authenticated => Some(sign_up_board_key(client, None).await?),
        DeploymentMode::LocalTrusted => None,
    };
    Ok(Facts {
        mode: world.mode,
        plugin_key: plugin_key.to_string(),
        plugin_id: plugin_id.to_string(),
        company_a: company("a"),
        company_b: company("b"),
        board: world.board.clone(),
        board_user_id: world.board_user_id.clone(),
        non_member,
        agent_a,
        agent_b,
        assignee,
        revoked,
        terminated,
        idle,
        assigned,
        checked_out,
        built: Instant::now(),
    })
}

fn issue_segment(case: &RoutesCase, facts: &Facts) -> String {
    let issue = facts.issue(case.issue);
    match case.spelling {
        IssueSpelling::Id => issue.id.clone(),
        IssueSpelling::PercentEncoded => issue.id.replace('-', "%2D"),
        IssueSpelling::Identifier => issue.identifier.clone(),
        IssueSpelling::UnknownId => UNKNOWN_ISSUE.to_string(),
        IssueSpelling::NotAnId => "not-an-issue".to_string(),
        IssueSpelling::MalformedEscape => "%zz".to_string(),
    }
}

fn segments(case: &RoutesCase, facts: &Facts) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let issue = issue_segment(case, facts);
    match case.target {
        Target::Cell { cell, .. } | Target::Put(cell) => {
            let mut v = s(&[
                "m",
                cell.auth.as_str(),
                cell.checkout.as_str(),
                cell.resolution.as_str(),
            ]);
            v.push(issue);
            v
        }
        Target::Ticket(policy) => {
            let mut v = s(&["x", "ticket", policy.as_str()]);
            v.push(issue);
            v
        }
        Target::ShadowLiteral => s(&["x", "shadow", "literal"]),
        Target::OrderLiteral => s(&["x", "order", "literal"]),
        Target::OrderOther => s(&["x", "order", "other"]),
        Target::Two(a, b) => s(&["x", "two", a.raw(), b.raw()]),
        Target::TwoIssue(t) => vec![
            "x".into(),
            "issues".into(),
            issue,
            "docs".into(),
            t.raw().into(),
        ],
        Target::Root => Vec::new(),
        Target::Unknown => s(&["x", "nope"]),
    }
}

fn rel_path(case: &RoutesCase, facts: &Facts) -> String {
    let mut segs = segments(case, facts);
    match case.shape {
        PathShape::ExtraSegment => segs.push("extra".into()),
        PathShape::UpperLiteral => {
            if let Some(first) = segs.first_mut() {
                *first = first.to_uppercase();
            }
        }
        _ => {}
    }
    let joined = segs.join("/");
    match case.shape {
        PathShape::TrailingSlash => format!("/{joined}/").replace("//", "/"),
        PathShape::DoubleSlash => match joined.split_once('/') {
            Some((first, rest)) => format!("/{first}//{rest}"),
            None => format!("//{joined}"),
        },
        _ if joined.is_empty() => String::new(),
        _ => format!("/{joined}"),
    }
}

/// The company value's text, `None` when the request leaves it out.
pub fn company_text(value: CompanyValue, facts: &Facts) -> Option<String> {
    let a = &facts.company_a;
    Some(match value {
        CompanyValue::A | CompanyValue::NotAString => a.clone(),
        CompanyValue::B => facts.company_b.clone(),
        CompanyValue::UpperA => a.to_uppercase(),
        CompanyValue::BracedA => format!("{{{a}}}"),
        CompanyValue::UrnA => format!("urn:uuid:{a}"),
        CompanyValue::UnhyphenatedA => a.replace('-', ""),
        CompanyValue::Empty => String::new(),
        CompanyValue::Missing => return None,
    })
}

/// What the worker is asked to answer, as the `respond` parameter's JSON.
pub fn respond_json(respond: Respond) -> Option<Value> {
    Some(match respond {
        Respond::Echo => return None,
        Respond::Status(s) => json!({ "status": s, "body": { "answered": s } }),
        Respond::FractionalStatus => json!({ "status": 201.5, "body": { "answered": "fraction" } }),
        Respond::NoContent => json!({ "status": 204, "body": { "dropped": true } }),
        Respond::Headers => json!({
            "status": 201,
            "body": { "answered": "headers" },
            "headers": {
                "Cache-Control": "no-store",
                "ETag": "\"routes-etag\"",
                "Last-Modified": "Wed, 21 Oct 2015 07:28:00 GMT",
                "X-Request-Id": "from-plugin",
                "Set-Cookie": "plugin-session=1; Path=/",
                "Location": "/api/health",
                "X-Conformance-Plugin": "1",
            },
        }),
        Respond::NoBody => json!({ "status": 202 }),
        Respond::Throw(None) => json!({ "throw": "route matrix worker failed on request" }),
        Respond::Throw(Some(code)) => {
            json!({ "throw": "route matrix worker failed with a code", "code": code })
        }
        Respond::Nothing => json!({ "nothing": true }),
    })
}

fn query(case: &RoutesCase, facts: &Facts) -> String {
    let mut pairs: Vec<String> = Vec::new();
    if let Some(text) = company_text(case.company, facts) {
        pairs.push(format!("companyId={}", encode_component(&text)));
        if case.company == CompanyValue::NotAString {
            pairs.push(format!("companyId={}", encode_component(&text)));
        }
    }
    match case.query {
        QueryShape::None => {}
        QueryShape::Plus => pairs.push("q=a+b".into()),
        QueryShape::Repeated => pairs.push("tag=x&tag=y".into()),
        QueryShape::Bare => pairs.push("flag".into()),
    }
    if let Some(respond) = respond_json(case.respond) {
        pairs.push(format!(
            "respond={}",
            encode_component(&respond.to_string())
        ));
    }
    pairs.join("&")
}

/// The body limit of scoped routes (`PLUGIN_API_BODY_LIMIT_BYTES`).
pub const BODY_LIMIT: usize = 1_000_000;

fn body(case: &RoutesCase, facts: &Facts) -> WireBody {
    let json_body = || {
        let mut v = json!({ "note": "hello", "nested": { "n": 1 } });
        match case.company {
            CompanyValue::Missing => {}
            CompanyValue::NotAString => v["companyId"] = json!(42),
            other => v["companyId"] = json!(company_text(other, facts)),
        }
        v
    };
    match case.body {
        BodyShape::None => WireBody::None,
        BodyShape::Text => WireBody::Text("x=1"),
        BodyShape::Json => WireBody::Json(json_body()),
        BodyShape::AtLimit | BodyShape::OverLimit => {
            let mut v = json_body();
            v["pad"] = json!("");
            let base = v.to_string().len();
            let want = BODY_LIMIT + usize::from(case.body == BodyShape::OverLimit);
            v["pad"] = json!("x".repeat(want - base));
            WireBody::Json(v)
        }
    }
}

/// The case's request on the wire.
pub fn wire(case: &RoutesCase, facts: &Facts) -> WireRequest {
    let plugin_ref = match case.plugin {
        PluginRef::Key => facts.plugin_key.clone(),
        PluginRef::Id => facts.plugin_id.clone(),
        PluginRef::UpperId => facts.plugin_id.to_uppercase(),
        PluginRef::UnknownKey => UNKNOWN_PLUGIN_KEY.to_string(),
        PluginRef::UnknownId => UNKNOWN_PLUGIN_ID.to_string(),
    };
    let method = match case.target {
        Target::Cell { method, .. } => method,
        Target::Put(_) => "PUT",
        Target::Ticket(_) => "POST",
        Target::TwoIssue(_) => "PATCH",
        _ => "GET",
    };
    let mut headers: Vec<(String, String)> = FIXED_HEADERS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let bearer = match case.caller {
        Caller::Board => facts.board.bearer.clone(),
        Caller::NonMember => facts
            .non_member
            .as_ref()
            .and_then(|(c, _)| c.bearer.clone()),
        Caller::NoCredentials | Caller::MalformedAuthorization => None,
        Caller::BogusBearer => Some(BOGUS_TOKEN.to_string()),
        other => facts.agent(other).map(|a| a.token.clone()),
    };
    if let Some(token) = bearer {
        headers.push(("Authorization".into(), format!("Bearer {token}")));
    }
    if case.caller == Caller::MalformedAuthorization {
        headers.push((
            "Authorization".into(),
            "Basic Y29uZm9ybWFuY2U6cm91dGVz".into(),
        ));
    }
    match case.run {
        RunHeader::Absent => {}
        RunHeader::CheckoutRun => {
            let run = facts.checked_out.run_id.clone().unwrap_or_default();
            headers.push(("X-Paperclip-Run-Id".into(), run));
        }
        RunHeader::OtherRun => headers.push(("X-Paperclip-Run-Id".into(), OTHER_RUN.into())),
    }
    WireRequest {
        method,
        plugin_ref,
        rel_path: rel_path(case, facts),
        query: query(case, facts),
        body: body(case, facts),
        headers,
    }
}

/// Sends a wire request.
pub async fn send(client: &HostClient, request: &WireRequest) -> Exchange {
    let mut call = Call::new(request.method, request.url_path());
    call.headers = request.headers.clone();
    call.body = match &request.body {
        WireBody::None => Body::None,
        WireBody::Json(v) => Body::Json(v.clone()),
        WireBody::Text(t) => Body::Raw {
            content_type: "text/plain".into(),
            text: t.to_string(),
        },
    };
    client.send(&call).await
}
