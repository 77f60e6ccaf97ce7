//! Generated authz cases: who calls, which route, on what issue, with which
//! run id.

use proptest::prelude::*;

/// Who makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// The board: implicit in `local_trusted`, a board API key otherwise.
    Board,
    /// No credentials at all.
    NoCredentials,
    /// A bearer token no host issued.
    BogusBearer,
    /// An agent's API key.
    Agent { role: AgentRole, key: KeyState },
}

/// How the calling agent relates to the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgentRole {
    /// Assigned to the issue (company A).
    Assignee,
    /// Same company, not assigned.
    Peer,
    /// Company B.
    OtherCompany,
    /// Same company, terminated.
    Terminated,
}

/// Whether the agent's key still works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Live,
    Revoked,
}

/// What is requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `POST …/issues/:issueId/smoke` (checkout policy `required-for-agent-in-progress`).
    Initialize,
    /// `GET …/issues/:issueId/smoke` (no checkout policy).
    Summary,
    /// A path no route declares.
    UnknownRoute,
    /// A declared path with an undeclared method (`PUT`).
    WrongMethod,
    /// A plugin key no plugin has.
    UnknownPlugin,
    /// An issue id that names no issue.
    MissingIssue,
    /// An issue id that is not an id at all.
    MalformedIssueId,
}

/// The issue the request is about (always in company A).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssueState {
    /// `todo`, assigned to the assignee agent or to nobody.
    Todo { assigned: bool },
    /// `backlog`, assigned or not.
    Backlog { assigned: bool },
    /// `in_progress`, checked out by the assignee with a live heartbeat run.
    CheckedOut,
}

impl IssueState {
    pub fn assigned(self) -> bool {
        match self {
            IssueState::Todo { assigned } | IssueState::Backlog { assigned } => assigned,
            IssueState::CheckedOut => true,
        }
    }
}

/// The `X-Paperclip-Run-Id` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunHeader {
    Absent,
    /// The issue's checkout run (only for checked-out issues).
    CheckoutRun,
    /// A well-formed id no heartbeat run has.
    NonExistentRun,
}

/// One generated case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthzCase {
    pub caller: Caller,
    pub request: Request,
    pub issue: IssueState,
    pub run: RunHeader,
}

fn caller() -> impl Strategy<Value = Caller> {
    let role = prop_oneof![
        Just(AgentRole::Assignee),
        Just(AgentRole::Peer),
        Just(AgentRole::OtherCompany),
        Just(AgentRole::Terminated),
    ];
    let key = prop_oneof![4 => Just(KeyState::Live), 1 => Just(KeyState::Revoked)];
    // Simpler callers first, so shrinking moves towards them.
    prop_oneof![
        1 => Just(Caller::Board),
        1 => Just(Caller::NoCredentials),
        1 => Just(Caller::BogusBearer),
        3 => (role, key).prop_map(|(role, key)| Caller::Agent { role, key }),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        4 => Just(Request::Initialize),
        3 => Just(Request::Summary),
        1 => Just(Request::UnknownRoute),
        1 => Just(Request::WrongMethod),
        1 => Just(Request::UnknownPlugin),
        1 => Just(Request::MissingIssue),
        1 => Just(Request::MalformedIssueId),
    ]
}

fn issue() -> impl Strategy<Value = IssueState> {
    prop_oneof![
        1 => any::<bool>().prop_map(|assigned| IssueState::Todo { assigned }),
        1 => any::<bool>().prop_map(|assigned| IssueState::Backlog { assigned }),
        2 => Just(IssueState::CheckedOut),
    ]
}

/// All cases; the checkout run header only exists for checked-out issues.
pub fn cases() -> impl Strategy<Value = AuthzCase> {
    (caller(), request(), issue()).prop_flat_map(|(caller, request, issue)| {
        let run = if issue == IssueState::CheckedOut {
            prop_oneof![
                Just(RunHeader::Absent),
                Just(RunHeader::CheckoutRun),
                Just(RunHeader::NonExistentRun)
            ]
            .boxed()
        } else {
            prop_oneof![Just(RunHeader::Absent), Just(RunHeader::NonExistentRun)].boxed()
        };
        run.prop_map(move |run| AuthzCase {
            caller,
            request,
            issue,
            run,
        })
    })
}
