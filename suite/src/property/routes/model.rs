//! The model of scoped-route dispatch: the answer the host must give to a
//! wire request, one rule per contract item, in the host's order
//! (contract-http.md §4.1–§4.5, §5, §6), corrected where the real host
//! differs (docs/findings.md, cited at the rule).

use serde_json::{json, Map, Value};

use super::case::{Caller, IssueKind, RoutesCase};
use super::exec::{respond_json, Facts, BODY_LIMIT};
use super::fixture::{routes, Auth, Checkout, Resolution, Route, COMPANY_KEY};
use super::wire::{match_route, parse_query, Matched, WireBody, WireRequest};
use crate::profile::{Profile, UnverifiedBearer};
use crate::target::DeploymentMode;

/// What the response body must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// `{"error": text}`.
    Error(String),
    /// Exactly this JSON.
    Json(Value),
    /// No body at all.
    Empty,
}

/// What the host must answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub status: u16,
    pub body: Expect,
    /// Response headers that must have this value (`Some`) or be absent.
    pub headers: Vec<(&'static str, Option<&'static str>)>,
    /// The rule that decided, for failure messages.
    pub rule: &'static str,
}

fn error(status: u16, text: impl Into<String>, rule: &'static str) -> Prediction {
    Prediction {
        status,
        body: Expect::Error(text.into()),
        headers: Vec::new(),
        rule,
    }
}

/// The actor the host resolves (§1).
#[derive(Debug, Clone, PartialEq)]
enum Actor {
    /// A board; `user` is its user id, `run` whether the run header applies,
    /// `member` whether it is a member of the world's companies.
    Board {
        user: String,
        run: bool,
        member: bool,
    },
    Agent {
        id: String,
        company: String,
    },
    Nobody,
}

fn unverifiable(caller: Caller) -> bool {
    matches!(
        caller,
        Caller::BogusBearer | Caller::Revoked | Caller::Terminated
    )
}

/// §1: actor resolution by deployment mode.
fn actor(case: &RoutesCase, facts: &Facts, profile: &Profile) -> Actor {
    let local = facts.mode == DeploymentMode::LocalTrusted;
    let local_board = |run| Actor::Board {
        user: "local-board".into(),
        run,
        member: true,
    };
    match case.caller {
        Caller::Board if local => local_board(true),
        Caller::Board => Actor::Board {
            user: facts.board_user_id.clone(),
            run: true,
            member: true,
        },
        Caller::NonMember => Actor::Board {
            user: facts
                .non_member
                .as_ref()
                .map(|(_, u)| u.clone())
                .unwrap_or_default(),
            run: true,
            member: false,
        },
        // §1 A: not a bearer token, so the initial actor, run header applied.
        Caller::NoCredentials | Caller::MalformedAuthorization if local => local_board(true),
        Caller::NoCredentials | Caller::MalformedAuthorization => Actor::Nobody,
        // §1 B.4: nothing matched; locally the board (run header dropped) where
        // the profile falls back, else nobody (F1).
        c if unverifiable(c) => {
            if local && profile.local_unverified_bearer == UnverifiedBearer::FallsBackToBoard {
                local_board(false)
            } else {
                Actor::Nobody
            }
        }
        c => {
            let agent = facts.agent(c).expect("agent callers have agents");
            Actor::Agent {
                id: agent.id.clone(),
                company: agent.company_id.clone(),
            }
        }
    }
}

/// §4.2 step 7: the route's auth mode.
fn auth(route: &Route, actor: &Actor) -> Option<Prediction> {
    match (route.cell.auth, actor) {
        (Auth::Webhook, _) => Some(error(
            422,
            "Webhook-scoped plugin API routes require a signature verifier and are not enabled",
            "§4.2 step 7: webhook routes are refused whatever the actor",
        )),
        (Auth::Board, Actor::Board { .. }) => None,
        (Auth::Board, _) => Some(error(
            403,
            "Board access required",
            "§4.2 step 7: assertBoard (403 even for nobody)",
        )),
        (Auth::Agent, Actor::Nobody) | (Auth::BoardOrAgent, Actor::Nobody) => Some(error(
            401,
            "Unauthorized",
            "§4.2 step 7: assertAuthenticated",
        )),
        (Auth::Agent, Actor::Board { .. }) => Some(error(
            403,
            "Agent access required",
            "§4.2 step 7: agent routes",
        )),
        _ => None,
    }
}

/// `issueService.getById` (§4.2 step 8): a UUID or an identifier.
fn find_issue<'a>(facts: &'a Facts, value: &str) -> Option<(IssueKind, &'a crate::world::Issue)> {
    let v = value.trim();
    [IssueKind::Idle, IssueKind::Assigned, IssueKind::CheckedOut]
        .into_iter()
        .map(|k| (k, facts.issue(k)))
        .find(|(_, i)| i.id.eq_ignore_ascii_case(v) || i.identifier.eq_ignore_ascii_case(v))
}

/// Every issue of the routes world is company A's (exec.rs says why).
fn issue_company(facts: &Facts, _kind: IssueKind) -> &str {
    &facts.company_a
}

/// §4.2 step 8: company resolution. Values are taken as strings and never
/// parsed; an empty string resolves nothing (real host: 400).
fn resolve_company(
    route: &Route,
    actor: &Actor,
    body: &Option<Value>,
    query: &Map<String, Value>,
    params: &Map<String, Value>,
    facts: &Facts,
) -> Option<String> {
    let nonempty = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    match route.cell.resolution {
        Resolution::Absent => match actor {
            Actor::Agent { company, .. } => Some(company.clone()),
            _ => None,
        },
        Resolution::Body => nonempty(body.as_ref().and_then(|b| b.get(COMPANY_KEY))),
        Resolution::Query => nonempty(query.get(COMPANY_KEY)),
        Resolution::Issue => {
            let value = params.get(route.issue_param).and_then(Value::as_str)?;
            find_issue(facts, value).map(|(k, _)| issue_company(facts, k).to_string())
        }
    }
}

/// §2 assertCompanyAccess: ids compared as strings.
fn company_access(actor: &Actor, company: &str, facts: &Facts) -> Option<Prediction> {
    match actor {
        Actor::Agent { company: own, .. } if own != company => Some(error(
            403,
            "Agent key cannot access another company",
            "§2: an agent's company must equal the resolved one, compared as strings",
        )),
        Actor::Board { member, .. } if facts.mode == DeploymentMode::Authenticated => {
            let member = *member && (company == facts.company_a || company == facts.company_b);
            (!member).then(|| {
                error(
                    403,
                    "User does not have access to this company",
                    "§2: a board key's user must be a member (companyIds compared as strings)",
                )
            })
        }
        _ => None,
    }
}

/// §5.1: the checkout policy, agents only.
fn checkout(
    route: &Route,
    actor: &Actor,
    company: &str,
    params: &Map<String, Value>,
    run: Option<&str>,
    facts: &Facts,
) -> Option<Prediction> {
    let Actor::Agent { id: agent, .. } = actor else {
        return None;
    };
    if !route.cell.checkout.enforced() {
        return None;
    }
    let Some(param) = params.get("issueId").and_then(Value::as_str) else {
        return Some(error(
            422,
            "Checkout-protected plugin API routes require an issueId route parameter",
            "§5.1 item 1: the checkout param is always `issueId`",
        ));
    };
    let found = find_issue(facts, param).filter(|(k, _)| issue_company(facts, *k) == company);
    let Some((kind, issue)) = found else {
        return Some(error(
            404,
            "Issue not found",
            "§5.1 item 2: issue missing or of another company",
        ));
    };
    let in_progress_mine = kind == IssueKind::CheckedOut && *agent == facts.assignee.id;
    if route.cell.checkout == Checkout::InProgress && !in_progress_mine {
        return None;
    }
    let run = run.map(str::trim).unwrap_or_default();
    if run.is_empty() {
        return Some(error(401, "Agent run id required", "§5.1 item 4.1"));
    }
    if !param.eq_ignore_ascii_case(&issue.id) {
        // The identifier reaches the UUID lock query, whose Postgres error is
        // echoed with its SQL (docs/findings.md F17).
        return Some(error(
            500,
            format!("Failed query: select \"issues\".\"id\" from \"issues\" where \"issues\".\"id\" = $1 for update\nparams: {param}"),
            "§5.1 item 4.4: an identifier reaches the UUID query of assertCheckoutOwner (F17)",
        ));
    }
    if in_progress_mine && issue.run_id.as_deref() == Some(run) {
        return None;
    }
    Some(error(
        409,
        "Issue run ownership conflict",
        "§5.2: not the checkout owner's run",
    ))
}

/// §4.3: the worker's input.
fn worker_input(
    route: &Route,
    wire: &WireRequest,
    actor: &Actor,
    company: &str,
    params: Map<String, Value>,
    query: Map<String, Value>,
    body: Value,
) -> Value {
    let run = wire.header("x-paperclip-run-id").map(String::from);
    let actor = match actor {
        Actor::Board {
            user, run: applies, ..
        } => json!({
            "actorType": "user", "actorId": user, "agentId": null, "userId": user,
            "runId": if *applies { run } else { None },
        }),
        Actor::Agent { id, .. } => json!({
            "actorType": "agent", "actorId": id, "agentId": id, "userId": null, "runId": run,
        }),
        Actor::Nobody => Value::Null,
    };
    let mut headers = Map::new();
    for name in [
        "accept",
        "content-type",
        "user-agent",
        "x-paperclip-run-id",
        "x-request-id",
    ] {
        let value = match (name, &wire.body) {
            ("content-type", WireBody::Json(_)) => Some("application/json"),
            ("content-type", WireBody::Text(_)) => Some("text/plain"),
            ("content-type", WireBody::None) => None,
            _ => wire.header(name),
        };
        if let Some(v) = value {
            headers.insert(name.into(), json!(v));
        }
    }
    json!({
        "routeKey": route.key,
        "method": wire.method,
        "path": wire.request_path(),
        "params": params,
        "query": query,
        "body": body,
        "actor": actor,
        "companyId": company,
        "headers": headers,
    })
}

/// §4.4–4.5: the worker's answer as the host maps it.
fn response(case: &RoutesCase, input: Value) -> Prediction {
    use super::case::Respond;
    let ok = |status: u16, body: Expect, rule| Prediction {
        status,
        body,
        headers: Vec::new(),
        rule,
    };
    let spec = respond_json(case.respond).unwrap_or(Value::Null);
    match case.respond {
        Respond::Echo => ok(
            200,
            Expect::Json(json!({ "received": input })),
            "§4.3: the worker echoes its input",
        ),
        Respond::Status(s) => {
            let status = if (200..=599).contains(&s) {
                s as u16
            } else {
                200
            };
            ok(
                status,
                Expect::Json(spec["body"].clone()),
                "§4.4: status outside 200–599 becomes 200",
            )
        }
        Respond::FractionalStatus => ok(
            200,
            Expect::Json(spec["body"].clone()),
            "§4.4: a non-integer status becomes 200",
        ),
        Respond::NoContent => ok(204, Expect::Empty, "§4.4: 204 ends without a body"),
        Respond::NoBody => ok(
            202,
            Expect::Json(Value::Null),
            "§4.4: a missing body is JSON null",
        ),
        Respond::Headers => Prediction {
            status: 201,
            body: Expect::Json(spec["body"].clone()),
            headers: vec![
                ("cache-control", Some("no-store")),
                ("etag", Some("\"routes-etag\"")),
                ("last-modified", Some("Wed, 21 Oct 2015 07:28:00 GMT")),
                ("x-request-id", Some("from-plugin")),
                ("set-cookie", None),
                ("location", None),
                ("x-conformance-plugin", None),
            ],
            rule: "§4.4: only cache-control, etag, last-modified and x-request-id are copied",
        },
        Respond::Throw(code) => {
            let text = spec["throw"].as_str().unwrap_or_default().to_string();
            match code {
                Some(-32001) => error(403, text, "§4.5 rule 2: CAPABILITY_DENIED"),
                Some(-32004) => error(501, text, "§4.5 rule 3: METHOD_NOT_IMPLEMENTED"),
                // Tagged HEAD-only in the contract; 2026.707.0 already does it (F23).
                Some(-32005) => error(403, text, "§4.5 rule 2: INVOCATION_SCOPE_DENIED (F23)"),
                _ => error(502, text, "§4.5 rule 4: a worker error"),
            }
        }
        Respond::Nothing => error(
            500,
            "Cannot read properties of null (reading 'status')",
            "§4.4: a null result",
        ),
    }
}

/// The prediction for `case`, sent as `wire`, on a host with `profile`.
pub fn predict(
    case: &RoutesCase,
    wire: &WireRequest,
    facts: &Facts,
    profile: &Profile,
) -> Prediction {
    if unverifiable(case.caller) && profile.unverified_bearer_refused_before_routing {
        return error(
            401,
            profile.unverified_bearer_message,
            "§1 B.4 as 2026.916 ships it: refused before routing (findings F15)",
        );
    }
    // §4.1 step 2 (§3.2): by key, or by row id (Postgres compares UUIDs
    // case-insensitively).
    let plugin_found = wire.plugin_ref == facts.plugin_key
        || wire.plugin_ref.eq_ignore_ascii_case(&facts.plugin_id);
    if !plugin_found {
        return error(
            404,
            "Plugin not found",
            "§4.1 step 2: plugin lookup precedes auth",
        );
    }
    let routes = routes();
    let (route, params) = match match_route(&routes, wire.method, &wire.request_path()) {
        Matched::Route(r, p) => (r.clone(), p),
        Matched::MalformedEscape => {
            return error(
                500,
                "Internal server error",
                "§4.1 step 6: decodeURIComponent throws outside the try",
            )
        }
        Matched::None => {
            return error(
                404,
                "Plugin API route not found",
                "§4.1 step 6: no route matches",
            )
        }
    };
    let actor = actor(case, facts, profile);
    if let Some(p) = auth(&route, &actor) {
        return p;
    }
    let body = match &wire.body {
        WireBody::Json(v) => Some(v.clone()),
        _ => None,
    };
    let query = parse_query(&wire.query);
    let Some(company) = resolve_company(&route, &actor, &body, &query, &params, facts) else {
        return error(
            400,
            "Unable to resolve company for plugin API route",
            "§4.2 step 8",
        );
    };
    if let Some(p) = company_access(&actor, &company, facts) {
        return p;
    }
    if let Some(p) = checkout(
        &route,
        &actor,
        &company,
        &params,
        wire.header("x-paperclip-run-id"),
        facts,
    ) {
        return p;
    }
    if wire.method != "GET" && matches!(wire.body, WireBody::Text(_)) {
        return error(
            415,
            "Plugin API routes accept JSON requests only",
            "§4.2 step 11",
        );
    }
    let body = body.unwrap_or(Value::Null);
    if body.to_string().len() > BODY_LIMIT {
        return error(
            413,
            "Plugin API request body is too large",
            "§4.2 step 12: re-serialised size",
        );
    }
    let input = worker_input(&route, wire, &actor, &company, params, query, body);
    response(case, input)
}
