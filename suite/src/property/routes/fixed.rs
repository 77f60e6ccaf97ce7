//! The fixed cases every run makes whatever the seed: each matrix cell
//! twice (the assignee with its checkout run, and a rotating caller), and one
//! case per rule that random draws reach only sometimes.

use super::case::{
    BodyShape, Caller, CompanyValue, IssueKind, IssueSpelling, ParamText, PathShape, PluginRef,
    QueryShape, Respond, RoutesCase, RunHeader, Target,
};
use super::fixture::{Auth, Cell, Checkout, Resolution, METHODS};

const fn cell(auth: Auth, checkout: Checkout, resolution: Resolution) -> Cell {
    Cell {
        auth,
        checkout,
        resolution,
    }
}

/// Anyone authenticated, no checkout, company from the query.
const OPEN_QUERY: Cell = cell(Auth::BoardOrAgent, Checkout::Absent, Resolution::Query);
const OPEN_BODY: Cell = cell(Auth::BoardOrAgent, Checkout::None, Resolution::Body);
const OPEN_ISSUE: Cell = cell(Auth::BoardOrAgent, Checkout::Absent, Resolution::Issue);
const ALWAYS_ISSUE: Cell = cell(Auth::BoardOrAgent, Checkout::Always, Resolution::Issue);
const ALWAYS_BODY: Cell = cell(Auth::Agent, Checkout::Always, Resolution::Body);

fn plain(c: Cell, method: &'static str, caller: Caller, issue: IssueKind) -> RoutesCase {
    RoutesCase::plain(c, method, caller, issue)
}

fn with(mut case: RoutesCase, f: impl FnOnce(&mut RoutesCase)) -> RoutesCase {
    f(&mut case);
    case
}

/// Two cases per cell.
fn cells() -> Vec<RoutesCase> {
    const CALLERS: [Caller; 7] = [
        Caller::Board,
        Caller::AgentA,
        Caller::AgentB,
        Caller::NoCredentials,
        Caller::Assignee,
        Caller::BogusBearer,
        Caller::MalformedAuthorization,
    ];
    const ISSUES: [IssueKind; 4] = [
        IssueKind::Idle,
        IssueKind::CheckedOut,
        IssueKind::Assigned,
        IssueKind::Idle,
    ];
    let mut out = Vec::new();
    for (i, c) in Cell::all().into_iter().enumerate() {
        out.push(with(
            plain(c, METHODS[i % 4], Caller::Assignee, IssueKind::CheckedOut),
            |k| k.run = RunHeader::CheckoutRun,
        ));
        out.push(plain(
            c,
            METHODS[(i + 1) % 4],
            CALLERS[i % CALLERS.len()],
            ISSUES[(i / 4) % ISSUES.len()],
        ));
    }
    out
}

/// One case per rule.
fn rules() -> Vec<RoutesCase> {
    use Caller::*;
    let board = |c: Cell| plain(c, "POST", Board, IssueKind::Idle);
    let agent = |c: Cell| plain(c, "POST", AgentA, IssueKind::Idle);
    let target = |t: Target| with(board(OPEN_QUERY), |k| k.target = t);
    vec![
        // Company ids are strings: other spellings of A's id are not A.
        with(agent(OPEN_BODY), |k| k.company = CompanyValue::UpperA),
        with(agent(OPEN_QUERY), |k| k.company = CompanyValue::BracedA),
        with(board(OPEN_QUERY), |k| k.company = CompanyValue::UrnA),
        with(board(OPEN_BODY), |k| {
            k.company = CompanyValue::UnhyphenatedA
        }),
        with(board(OPEN_BODY), |k| k.company = CompanyValue::Empty),
        with(board(OPEN_QUERY), |k| k.company = CompanyValue::Empty),
        with(board(OPEN_QUERY), |k| k.company = CompanyValue::NotAString),
        with(board(OPEN_BODY), |k| k.company = CompanyValue::NotAString),
        with(board(OPEN_BODY), |k| k.company = CompanyValue::Missing),
        with(agent(OPEN_BODY), |k| k.company = CompanyValue::B),
        // Checkout: always-for-agent on any issue; the hard-coded issueId.
        with(agent(ALWAYS_ISSUE), |k| k.run = RunHeader::OtherRun),
        plain(ALWAYS_ISSUE, "GET", Assignee, IssueKind::Assigned),
        // An issue of another company than the resolved one: 404.
        with(plain(ALWAYS_BODY, "DELETE", AgentB, IssueKind::Idle), |k| {
            k.run = RunHeader::OtherRun;
            k.company = CompanyValue::B;
        }),
        with(
            plain(ALWAYS_ISSUE, "PATCH", Assignee, IssueKind::CheckedOut),
            |k| k.run = RunHeader::OtherRun,
        ),
        with(agent(OPEN_QUERY), |k| {
            k.target = Target::Ticket(Checkout::Always);
            k.run = RunHeader::CheckoutRun;
            k.caller = Assignee;
            k.issue = IssueKind::CheckedOut;
        }),
        with(board(OPEN_QUERY), |k| {
            k.target = Target::Ticket(Checkout::InProgress)
        }),
        with(
            plain(ALWAYS_ISSUE, "POST", Assignee, IssueKind::CheckedOut),
            |k| {
                k.run = RunHeader::CheckoutRun;
                k.spelling = IssueSpelling::PercentEncoded;
            },
        ),
        with(
            plain(ALWAYS_ISSUE, "POST", Assignee, IssueKind::CheckedOut),
            |k| {
                k.run = RunHeader::CheckoutRun;
                k.spelling = IssueSpelling::Identifier;
            },
        ),
        with(board(OPEN_ISSUE), |k| {
            k.spelling = IssueSpelling::Identifier
        }),
        with(board(OPEN_ISSUE), |k| {
            k.spelling = IssueSpelling::PercentEncoded
        }),
        with(board(OPEN_ISSUE), |k| k.spelling = IssueSpelling::UnknownId),
        with(board(OPEN_ISSUE), |k| k.spelling = IssueSpelling::NotAnId),
        with(board(OPEN_ISSUE), |k| {
            k.spelling = IssueSpelling::MalformedEscape
        }),
        // Route matching.
        target(Target::ShadowLiteral),
        target(Target::OrderLiteral),
        target(Target::OrderOther),
        target(Target::Two(ParamText::Space, ParamText::Slash)),
        target(Target::Two(ParamText::Utf8, ParamText::Malformed)),
        with(target(Target::TwoIssue(ParamText::Space)), |k| {
            k.issue = IssueKind::CheckedOut
        }),
        target(Target::Root),
        with(target(Target::Root), |k| k.shape = PathShape::TrailingSlash),
        target(Target::Unknown),
        target(Target::Put(OPEN_QUERY)),
        with(board(OPEN_QUERY), |k| k.shape = PathShape::TrailingSlash),
        with(board(OPEN_QUERY), |k| k.shape = PathShape::DoubleSlash),
        with(board(OPEN_QUERY), |k| k.shape = PathShape::ExtraSegment),
        with(board(OPEN_QUERY), |k| k.shape = PathShape::UpperLiteral),
        // Plugin lookup.
        with(board(OPEN_QUERY), |k| k.plugin = PluginRef::Id),
        with(board(OPEN_QUERY), |k| k.plugin = PluginRef::UpperId),
        with(board(OPEN_QUERY), |k| k.plugin = PluginRef::UnknownKey),
        with(
            plain(OPEN_QUERY, "GET", NoCredentials, IssueKind::Idle),
            |k| k.plugin = PluginRef::UnknownId,
        ),
        // Body: 415, the limit.
        with(board(OPEN_QUERY), |k| k.body = BodyShape::Text),
        with(plain(OPEN_QUERY, "GET", Board, IssueKind::Idle), |k| {
            k.body = BodyShape::Text
        }),
        with(board(OPEN_QUERY), |k| k.body = BodyShape::AtLimit),
        with(board(OPEN_QUERY), |k| k.body = BodyShape::OverLimit),
        with(board(OPEN_BODY), |k| k.body = BodyShape::None),
        // Worker input: query normalisation, the run id.
        with(board(OPEN_QUERY), |k| k.query = QueryShape::Plus),
        with(board(OPEN_QUERY), |k| k.query = QueryShape::Repeated),
        with(board(OPEN_QUERY), |k| k.query = QueryShape::Bare),
        with(board(OPEN_QUERY), |k| k.run = RunHeader::OtherRun),
        with(
            plain(OPEN_QUERY, "GET", BogusBearer, IssueKind::Idle),
            |k| k.run = RunHeader::OtherRun,
        ),
        with(agent(OPEN_QUERY), |k| k.run = RunHeader::CheckoutRun),
        // The response.
        with(board(OPEN_QUERY), |k| k.respond = Respond::Headers),
        with(board(OPEN_QUERY), |k| k.respond = Respond::NoContent),
        with(board(OPEN_QUERY), |k| k.respond = Respond::NoBody),
        with(board(OPEN_QUERY), |k| k.respond = Respond::Status(99)),
        with(board(OPEN_QUERY), |k| k.respond = Respond::Status(600)),
        with(board(OPEN_QUERY), |k| k.respond = Respond::Status(418)),
        with(board(OPEN_QUERY), |k| k.respond = Respond::FractionalStatus),
        with(board(OPEN_QUERY), |k| k.respond = Respond::Throw(None)),
        with(board(OPEN_QUERY), |k| {
            k.respond = Respond::Throw(Some(-32001))
        }),
        with(board(OPEN_QUERY), |k| {
            k.respond = Respond::Throw(Some(-32004))
        }),
        with(board(OPEN_QUERY), |k| {
            k.respond = Respond::Throw(Some(-32603))
        }),
        with(board(OPEN_QUERY), |k| {
            k.respond = Respond::Throw(Some(-32005))
        }),
        with(board(OPEN_QUERY), |k| k.respond = Respond::Nothing),
        // Callers.
        plain(OPEN_QUERY, "GET", Revoked, IssueKind::Idle),
        plain(OPEN_QUERY, "GET", Terminated, IssueKind::Idle),
        plain(OPEN_QUERY, "POST", MalformedAuthorization, IssueKind::Idle),
    ]
}

/// The board key of a user without membership, authenticated mode only.
fn non_member() -> Vec<RoutesCase> {
    [
        OPEN_QUERY,
        OPEN_BODY,
        OPEN_ISSUE,
        cell(Auth::Board, Checkout::Always, Resolution::Absent),
        cell(Auth::Agent, Checkout::None, Resolution::Issue),
        cell(Auth::Webhook, Checkout::Absent, Resolution::Query),
    ]
    .into_iter()
    .map(|c| plain(c, "PATCH", Caller::NonMember, IssueKind::Assigned))
    .collect()
}

/// Every fixed case of a run.
pub fn all(authenticated: bool) -> Vec<RoutesCase> {
    let mut out = cells();
    out.extend(rules());
    if authenticated {
        out.extend(non_member());
    }
    out
}
