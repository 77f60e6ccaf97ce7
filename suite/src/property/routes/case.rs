//! Generated route cases: which declaration, who calls, about which issue,
//! with which request shape, and what the worker is asked to answer.

use proptest::prelude::*;

use super::fixture::{Auth, Cell, Checkout, Resolution, METHODS};

/// Who makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The board: implicit in `local_trusted`, the board API key otherwise.
    Board,
    NoCredentials,
    /// A bearer token no host issued.
    BogusBearer,
    /// `Authorization: Basic …`: not a bearer token at all.
    MalformedAuthorization,
    /// An agent of company A that the issues are not assigned to.
    AgentA,
    /// An agent of company B.
    AgentB,
    /// The agent the assigned and checked-out issues belong to.
    Assignee,
    /// An agent of A whose key was revoked.
    Revoked,
    /// A terminated agent of A.
    Terminated,
    /// The board API key of a user without any membership or role
    /// (authenticated mode only).
    NonMember,
}

/// The issue a request names, all in company A: the `scoping` property runs
/// beside this one and watches every row of company B, so nothing here may
/// create any there (the other company's view comes from its agent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueKind {
    /// `backlog`, unassigned.
    Idle,
    /// `backlog`, assigned to the assignee.
    Assigned,
    /// `in_progress`, checked out by the assignee with a live run.
    CheckedOut,
}

/// How the issue param is spelled in the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueSpelling {
    Id,
    /// The id with every `-` written `%2D` (decoded by the host).
    PercentEncoded,
    /// The issue identifier (`CON-12`).
    Identifier,
    /// A UUID no issue has.
    UnknownId,
    /// Not an id at all.
    NotAnId,
    /// A malformed percent escape (`%zz`).
    MalformedEscape,
}

/// What the request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A matrix cell's route under one of the declared methods.
    Cell { cell: Cell, method: &'static str },
    /// A matrix cell's path with `PUT`, which no route can declare.
    Put(Cell),
    /// A checkout route whose issue param is `ticket` (index into the policies).
    Ticket(Checkout),
    /// `GET /x/shadow/literal`: declared, but `/x/shadow/:name` comes first.
    ShadowLiteral,
    /// `GET /x/order/literal` (declared before `/x/order/:name`).
    OrderLiteral,
    /// `GET /x/order/other` (only `/x/order/:name` matches).
    OrderOther,
    /// `GET /x/two/:first/:second` with these param texts.
    Two(ParamText, ParamText),
    /// `PATCH /x/issues/:issueId/docs/:docKey`.
    TwoIssue(ParamText),
    /// The bare mount (`…/api`).
    Root,
    /// A path nothing declares.
    Unknown,
}

/// Raw texts of a free param segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamText {
    Plain,
    /// `a%20b` → `a b`.
    Space,
    /// `%2F` → `/`.
    Slash,
    /// `caf%C3%A9` → `café`.
    Utf8,
    /// `%zz`.
    Malformed,
}

impl ParamText {
    pub fn raw(self) -> &'static str {
        match self {
            ParamText::Plain => "alpha",
            ParamText::Space => "a%20b",
            ParamText::Slash => "%2F",
            ParamText::Utf8 => "caf%C3%A9",
            ParamText::Malformed => "%zz",
        }
    }
}

/// How the path is written around the route's segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathShape {
    Exact,
    TrailingSlash,
    /// `//` between the first two segments.
    DoubleSlash,
    /// One segment more than declared.
    ExtraSegment,
    /// The first literal segment upper-cased.
    UpperLiteral,
}

/// How the plugin is named in the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginRef {
    Key,
    Id,
    /// The row id in upper case.
    UpperId,
    UnknownKey,
    UnknownId,
}

/// The company value the request carries (body key and query key `companyId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanyValue {
    A,
    B,
    UpperA,
    BracedA,
    UrnA,
    UnhyphenatedA,
    Empty,
    Missing,
    /// A number in the body, a repeated key in the query.
    NotAString,
}

/// The request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyShape {
    /// A JSON object carrying the company value.
    Json,
    /// No body and no content type.
    None,
    /// `text/plain`.
    Text,
    /// A JSON object of exactly 1,000,000 bytes once re-serialised.
    AtLimit,
    /// One byte more.
    OverLimit,
}

/// Extra query parameters (besides `companyId` and `respond`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryShape {
    None,
    /// `q=a+b` → `a b`.
    Plus,
    /// `tag=x&tag=y` → an array.
    Repeated,
    /// `flag` → `""`.
    Bare,
}

/// What the worker is asked to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Respond {
    Echo,
    /// This status with a body.
    Status(i64),
    /// A non-integer status (`201.5`).
    FractionalStatus,
    /// 204 with a body the host must drop.
    NoContent,
    /// 201 with every kind of response header.
    Headers,
    /// A status without a body (`null`).
    NoBody,
    /// Throws, with an optional JSON-RPC code.
    Throw(Option<i64>),
    /// Returns nothing.
    Nothing,
}

/// `X-Paperclip-Run-Id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunHeader {
    Absent,
    /// The checked-out issue's checkout run.
    CheckoutRun,
    /// A well-formed id no heartbeat run has.
    OtherRun,
}

/// One generated case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoutesCase {
    pub caller: Caller,
    pub target: Target,
    pub issue: IssueKind,
    pub spelling: IssueSpelling,
    pub shape: PathShape,
    pub plugin: PluginRef,
    pub company: CompanyValue,
    pub body: BodyShape,
    pub query: QueryShape,
    pub respond: Respond,
    pub run: RunHeader,
}

impl RoutesCase {
    /// The matrix cell the case addresses, if any.
    pub fn cell(&self) -> Option<Cell> {
        match self.target {
            Target::Cell { cell, .. } => Some(cell),
            _ => None,
        }
    }

    /// The plainest case of a cell: canonical everything, echo.
    pub fn plain(cell: Cell, method: &'static str, caller: Caller, issue: IssueKind) -> Self {
        RoutesCase {
            caller,
            target: Target::Cell { cell, method },
            issue,
            spelling: IssueSpelling::Id,
            shape: PathShape::Exact,
            plugin: PluginRef::Key,
            company: CompanyValue::A,
            body: BodyShape::Json,
            query: QueryShape::None,
            respond: Respond::Echo,
            run: RunHeader::Absent,
        }
    }
}

fn cell() -> impl Strategy<Value = Cell> {
    (0..4usize, 0..4usize, 0..4usize).prop_map(|(a, c, r)| Cell {
        auth: Auth::ALL[a],
        checkout: Checkout::ALL[c],
        resolution: Resolution::ALL[r],
    })
}

fn target() -> impl Strategy<Value = Target> {
    let text = || {
        prop_oneof![
            3 => Just(ParamText::Plain),
            1 => Just(ParamText::Space),
            1 => Just(ParamText::Slash),
            1 => Just(ParamText::Utf8),
            1 => Just(ParamText::Malformed),
        ]
    };
    prop_oneof![
        12 => (cell(), 0..4usize).prop_map(|(cell, m)| Target::Cell { cell, method: METHODS[m] }),
        1 => cell().prop_map(Target::Put),
        1 => prop_oneof![Just(Checkout::InProgress), Just(Checkout::Always)].prop_map(Target::Ticket),
        1 => Just(Target::ShadowLiteral),
        1 => Just(Target::OrderLiteral),
        1 => Just(Target::OrderOther),
        1 => (text(), text()).prop_map(|(a, b)| Target::Two(a, b)),
        1 => text().prop_map(Target::TwoIssue),
        1 => Just(Target::Root),
        1 => Just(Target::Unknown),
    ]
}

fn caller(authenticated: bool) -> BoxedStrategy<Caller> {
    let common = prop_oneof![
        3 => Just(Caller::Board),
        1 => Just(Caller::NoCredentials),
        1 => Just(Caller::BogusBearer),
        1 => Just(Caller::MalformedAuthorization),
        2 => Just(Caller::AgentA),
        2 => Just(Caller::AgentB),
        4 => Just(Caller::Assignee),
        1 => Just(Caller::Revoked),
        1 => Just(Caller::Terminated),
    ];
    if authenticated {
        prop_oneof![12 => common, 2 => Just(Caller::NonMember)].boxed()
    } else {
        common.boxed()
    }
}

fn request_shape() -> impl Strategy<
    Value = (
        IssueKind,
        IssueSpelling,
        PathShape,
        PluginRef,
        CompanyValue,
        BodyShape,
    ),
> {
    (
        prop_oneof![
            1 => Just(IssueKind::Idle),
            1 => Just(IssueKind::Assigned),
            3 => Just(IssueKind::CheckedOut),
        ],
        prop_oneof![
            8 => Just(IssueSpelling::Id),
            1 => Just(IssueSpelling::PercentEncoded),
            1 => Just(IssueSpelling::Identifier),
            1 => Just(IssueSpelling::UnknownId),
            1 => Just(IssueSpelling::NotAnId),
            1 => Just(IssueSpelling::MalformedEscape),
        ],
        prop_oneof![
            8 => Just(PathShape::Exact),
            1 => Just(PathShape::TrailingSlash),
            1 => Just(PathShape::DoubleSlash),
            1 => Just(PathShape::ExtraSegment),
            1 => Just(PathShape::UpperLiteral),
        ],
        prop_oneof![
            10 => Just(PluginRef::Key),
            2 => Just(PluginRef::Id),
            1 => Just(PluginRef::UpperId),
            1 => Just(PluginRef::UnknownKey),
            1 => Just(PluginRef::UnknownId),
        ],
        prop_oneof![
            6 => Just(CompanyValue::A),
            2 => Just(CompanyValue::B),
            1 => Just(CompanyValue::UpperA),
            1 => Just(CompanyValue::BracedA),
            1 => Just(CompanyValue::UrnA),
            1 => Just(CompanyValue::UnhyphenatedA),
            1 => Just(CompanyValue::Empty),
            1 => Just(CompanyValue::Missing),
            1 => Just(CompanyValue::NotAString),
        ],
        prop_oneof![
            8 => Just(BodyShape::Json),
            2 => Just(BodyShape::None),
            1 => Just(BodyShape::Text),
            1 => Just(BodyShape::AtLimit),
            1 => Just(BodyShape::OverLimit),
        ],
    )
}

fn extras() -> impl Strategy<Value = (QueryShape, Respond, RunHeader)> {
    (
        prop_oneof![
            3 => Just(QueryShape::None),
            1 => Just(QueryShape::Plus),
            1 => Just(QueryShape::Repeated),
            1 => Just(QueryShape::Bare),
        ],
        prop_oneof![
            8 => Just(Respond::Echo),
            1 => prop_oneof![Just(201), Just(299), Just(418), Just(503), Just(599), Just(99), Just(600)]
                .prop_map(Respond::Status),
            1 => Just(Respond::FractionalStatus),
            1 => Just(Respond::NoContent),
            1 => Just(Respond::Headers),
            1 => Just(Respond::NoBody),
            1 => prop_oneof![Just(None), Just(Some(-32001)), Just(Some(-32004)), Just(Some(-32005)), Just(Some(-32603))]
                .prop_map(Respond::Throw),
            1 => Just(Respond::Nothing),
        ],
        prop_oneof![
            2 => Just(RunHeader::Absent),
            2 => Just(RunHeader::CheckoutRun),
            1 => Just(RunHeader::OtherRun),
        ],
    )
}

/// Random cases.
pub fn cases(authenticated: bool) -> impl Strategy<Value = RoutesCase> {
    (caller(authenticated), target(), request_shape(), extras()).prop_map(
        |(
            caller,
            target,
            (issue, spelling, shape, plugin, company, body),
            (query, respond, run),
        )| {
            RoutesCase {
                caller,
                target,
                issue,
                spelling,
                shape,
                plugin,
                company,
                body,
                query,
                respond,
                run,
            }
        },
    )
}
