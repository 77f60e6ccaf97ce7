//! Rows of the routes model against a fixed world: one per contract item,
//! so that a change to a rule shows here before it reaches a host.

use rstest::rstest;
use serde_json::json;

use super::case::{
    BodyShape, Caller, CompanyValue, IssueKind, IssueSpelling, ParamText, PathShape, PluginRef,
    Respond, RoutesCase, RunHeader, Target,
};
use super::exec::{wire, Facts};
use super::fixture::{Auth, Cell, Checkout, Resolution};
use super::model::*;
use crate::client::Credentials;
use crate::profile::Profile;
use crate::profile::{PROFILE_707, PROFILE_916};
use crate::target::DeploymentMode;
use crate::world::{Agent, Issue};

const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";

fn agent(n: u8, company: &str) -> Agent {
    Agent {
        id: format!("00000000-0000-4000-8000-0000000000{n:02}"),
        company_id: company.into(),
        key_id: format!("key-{n}"),
        token: format!("pcp_agent_{n}"),
    }
}

fn issue(n: u8, run: Option<&str>) -> Issue {
    Issue {
        id: format!("11111111-0000-4000-8000-0000000000{n:02}"),
        identifier: format!("CON-{n}"),
        run_id: run.map(String::from),
    }
}

fn facts(mode: DeploymentMode) -> Facts {
    Facts {
        mode,
        plugin_key: "conformance.route-matrix-x".into(),
        plugin_id: "22222222-0000-4000-8000-00000000abcd".into(),
        company_a: A.into(),
        company_b: B.into(),
        board: Credentials {
            bearer: (mode == DeploymentMode::Authenticated).then(|| "pcp_board_1".into()),
            run_id: None,
        },
        board_user_id: "user-1".into(),
        non_member: Some((
            Credentials {
                bearer: Some("pcp_board_2".into()),
                run_id: None,
            },
            "user-2".into(),
        )),
        agent_a: agent(1, A),
        agent_b: agent(2, B),
        assignee: agent(3, A),
        revoked: agent(4, A),
        terminated: agent(5, A),
        idle: issue(1, None),
        assigned: issue(2, None),
        checked_out: issue(3, Some("33333333-0000-4000-8000-000000000003")),
        built: std::time::Instant::now(),
    }
}

const fn cell(auth: Auth, checkout: Checkout, resolution: Resolution) -> Cell {
    Cell {
        auth,
        checkout,
        resolution,
    }
}

fn case(c: Cell, method: &'static str, caller: Caller, issue: IssueKind) -> RoutesCase {
    RoutesCase::plain(c, method, caller, issue)
}

fn predict_in(mode: DeploymentMode, profile: &Profile, c: &RoutesCase) -> Prediction {
    let f = facts(mode);
    predict(c, &wire(c, &f), &f, profile)
}

fn local(c: &RoutesCase) -> Prediction {
    predict_in(DeploymentMode::LocalTrusted, &PROFILE_707, c)
}

fn status_error(p: &Prediction) -> (u16, Option<String>) {
    match &p.body {
        Expect::Error(e) => (p.status, Some(e.clone())),
        _ => (p.status, None),
    }
}

const OPEN_BODY: Cell = cell(Auth::BoardOrAgent, Checkout::None, Resolution::Body);
const ALWAYS_ISSUE: Cell = cell(Auth::BoardOrAgent, Checkout::Always, Resolution::Issue);

#[rstest]
#[case(
    case(
        cell(Auth::Webhook, Checkout::Always, Resolution::Issue),
        "GET",
        Caller::Board,
        IssueKind::Idle
    ),
    422
)]
#[case(
    case(
        cell(Auth::Agent, Checkout::None, Resolution::Issue),
        "GET",
        Caller::Board,
        IssueKind::Idle
    ),
    403
)]
#[case(
    case(
        cell(Auth::Board, Checkout::None, Resolution::Absent),
        "GET",
        Caller::Board,
        IssueKind::Idle
    ),
    400
)]
#[case(
    case(
        cell(Auth::Agent, Checkout::None, Resolution::Absent),
        "GET",
        Caller::AgentB,
        IssueKind::Idle
    ),
    200
)]
#[case(
    case(
        cell(Auth::Board, Checkout::None, Resolution::Issue),
        "GET",
        Caller::AgentA,
        IssueKind::Idle
    ),
    403
)]
#[case(case(ALWAYS_ISSUE, "POST", Caller::AgentA, IssueKind::Idle), 401)]
#[case(case(ALWAYS_ISSUE, "POST", Caller::Board, IssueKind::Idle), 200)]
#[case(
    case(
        cell(Auth::Agent, Checkout::InProgress, Resolution::Issue),
        "PATCH",
        Caller::AgentA,
        IssueKind::CheckedOut
    ),
    200
)]
#[case(
    case(
        cell(Auth::Agent, Checkout::InProgress, Resolution::Issue),
        "PATCH",
        Caller::Assignee,
        IssueKind::CheckedOut
    ),
    401
)]
#[case(case(OPEN_BODY, "POST", Caller::AgentB, IssueKind::Idle), 403)]
fn cells_in_local_trusted(#[case] c: RoutesCase, #[case] status: u16) {
    let p = local(&c);
    assert_eq!(p.status, status, "{c:?}: {}", p.rule);
}

#[test]
fn checkout_with_the_right_run_passes_and_another_run_conflicts() {
    let mut c = case(
        ALWAYS_ISSUE,
        "POST",
        Caller::Assignee,
        IssueKind::CheckedOut,
    );
    c.run = RunHeader::CheckoutRun;
    assert_eq!(local(&c).status, 200);
    c.run = RunHeader::OtherRun;
    assert_eq!(
        status_error(&local(&c)),
        (409, Some("Issue run ownership conflict".into()))
    );
    c.run = RunHeader::CheckoutRun;
    c.spelling = IssueSpelling::Identifier;
    let (status, text) = status_error(&local(&c));
    assert_eq!(status, 500);
    assert!(text.unwrap().ends_with("for update\nparams: CON-3"));
}

#[test]
fn a_checkout_issue_of_another_company_is_not_found() {
    let mut c = case(
        cell(Auth::Agent, Checkout::Always, Resolution::Body),
        "DELETE",
        Caller::AgentB,
        IssueKind::Idle,
    );
    c.company = CompanyValue::B;
    assert_eq!(
        status_error(&local(&c)),
        (404, Some("Issue not found".into()))
    );
}

#[test]
fn checkout_reads_issue_id_not_the_resolution_param() {
    let mut c = case(OPEN_BODY, "POST", Caller::Assignee, IssueKind::CheckedOut);
    c.target = Target::Ticket(Checkout::Always);
    c.run = RunHeader::CheckoutRun;
    assert_eq!(local(&c).status, 422);
    c.caller = Caller::Board;
    assert_eq!(local(&c).status, 200);
}

#[rstest]
#[case(CompanyValue::UpperA, Caller::AgentA, 403)]
#[case(CompanyValue::BracedA, Caller::AgentA, 403)]
#[case(CompanyValue::UpperA, Caller::Board, 200)]
#[case(CompanyValue::Empty, Caller::Board, 400)]
#[case(CompanyValue::NotAString, Caller::Board, 400)]
#[case(CompanyValue::Missing, Caller::Board, 400)]
fn company_values_are_strings(
    #[case] v: CompanyValue,
    #[case] caller: Caller,
    #[case] status: u16,
) {
    let mut c = case(OPEN_BODY, "POST", caller, IssueKind::Idle);
    c.company = v;
    assert_eq!(local(&c).status, status, "{c:?}");
}

#[test]
fn board_keys_compare_memberships_as_strings() {
    let mut c = case(OPEN_BODY, "POST", Caller::Board, IssueKind::Idle);
    c.company = CompanyValue::UnhyphenatedA;
    let p = predict_in(DeploymentMode::Authenticated, &PROFILE_707, &c);
    assert_eq!(
        status_error(&p),
        (
            403,
            Some("User does not have access to this company".into())
        )
    );
    c.company = CompanyValue::A;
    c.caller = Caller::NonMember;
    assert_eq!(
        predict_in(DeploymentMode::Authenticated, &PROFILE_707, &c).status,
        403
    );
}

#[test]
fn the_worker_sees_the_allowlisted_headers_and_decoded_params_only() {
    let mut c = case(OPEN_BODY, "POST", Caller::AgentA, IssueKind::Idle);
    c.target = Target::Two(ParamText::Space, ParamText::Slash);
    c.company = CompanyValue::A;
    let p = local(&c);
    let Expect::Json(body) = p.body else {
        panic!("an echo")
    };
    let input = &body["received"];
    assert_eq!(input["routeKey"], "two");
    assert_eq!(input["params"], json!({"first": "a b", "second": "/"}));
    assert_eq!(input["companyId"], A);
    assert_eq!(
        input["headers"],
        json!({"accept": "application/json", "content-type": "application/json",
               "user-agent": "conformance-routes/1", "x-request-id": "routes-case"})
    );
}

#[rstest]
#[case(Respond::Status(99), 200)]
#[case(Respond::Status(600), 200)]
#[case(Respond::FractionalStatus, 200)]
#[case(Respond::NoContent, 204)]
#[case(Respond::Throw(None), 502)]
#[case(Respond::Throw(Some(-32001)), 403)]
#[case(Respond::Throw(Some(-32004)), 501)]
#[case(Respond::Throw(Some(-32005)), 403)]
#[case(Respond::Nothing, 500)]
fn worker_answers_are_mapped(#[case] respond: Respond, #[case] status: u16) {
    let mut c = case(OPEN_BODY, "POST", Caller::Board, IssueKind::Idle);
    c.respond = respond;
    assert_eq!(local(&c).status, status);
}

#[rstest]
#[case(PathShape::TrailingSlash, 200)]
#[case(PathShape::DoubleSlash, 200)]
#[case(PathShape::ExtraSegment, 404)]
#[case(PathShape::UpperLiteral, 404)]
fn path_shapes(#[case] shape: PathShape, #[case] status: u16) {
    let mut c = case(OPEN_BODY, "POST", Caller::Board, IssueKind::Idle);
    c.shape = shape;
    assert_eq!(local(&c).status, status);
}

#[test]
fn lookup_limits_and_versions() {
    let mut c = case(OPEN_BODY, "POST", Caller::Board, IssueKind::Idle);
    c.plugin = PluginRef::UpperId;
    assert_eq!(local(&c).status, 200);
    c.plugin = PluginRef::UnknownId;
    assert_eq!(local(&c).status, 404);
    c.plugin = PluginRef::Key;
    c.body = BodyShape::OverLimit;
    assert_eq!(local(&c).status, 413);
    c.body = BodyShape::AtLimit;
    assert_eq!(local(&c).status, 200);
    // Text leaves the body company unresolved (400 comes before 415).
    c.body = BodyShape::Text;
    assert_eq!(local(&c).status, 400);
    let mut q = case(
        cell(Auth::BoardOrAgent, Checkout::None, Resolution::Query),
        "POST",
        Caller::Board,
        IssueKind::Idle,
    );
    q.body = BodyShape::Text;
    assert_eq!(local(&q).status, 415);
    let mut c = case(
        cell(Auth::Webhook, Checkout::None, Resolution::Query),
        "GET",
        Caller::BogusBearer,
        IssueKind::Idle,
    );
    assert_eq!(local(&c).status, 422);
    assert_eq!(
        predict_in(DeploymentMode::LocalTrusted, &PROFILE_916, &c).status,
        401
    );
    c.target = Target::Unknown;
    assert_eq!(
        predict_in(DeploymentMode::LocalTrusted, &PROFILE_916, &c).status,
        401
    );
}
