//! The contract's prediction for an authz case.
//!
//! Rules in dispatch order (contract-http.md §4.1–4.2, real-host.md §6):
//! 1. plugin lookup → 404 `Plugin not found` (§4.1 step 2);
//! 2. route match → 404 `Plugin API route not found` (§4.1 step 6);
//!    both before any authentication (§11 item 1);
//! 3. actor resolution (§1) and the route's `board-or-agent` auth (§4.2 step 7):
//!    no actor → 401 `Unauthorized`; an unverifiable bearer is the local board
//!    or a 401, by version profile (§1 B.4, §11 item 2; docs/findings.md F1);
//! 4. company resolution from the issue → 400 (§4.2 step 8, §11 item 3);
//! 5. company access → 403 `Agent key cannot access another company` (§2);
//! 6. checkout policy, agents only, only for the assignee of an in-progress
//!    issue: no run id 401, another run 409 (§5.1, §6 checkout rows);
//! 7. the worker: summary 200; initialize 201, or 502 when the child has no
//!    assignee to wake (B2.4 step 6) or when a run id that names no heartbeat
//!    run must be written to activity rows (§8.1, §11 item 14).

use super::case::{AgentRole, AuthzCase, Caller, IssueState, KeyState, Request, RunHeader};
use crate::profile::{Profile, UnverifiedBearer};
use crate::target::DeploymentMode;

/// What the host must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prediction {
    pub status: u16,
    /// The exact `{"error": …}` text, when the contract fixes it.
    pub error: Option<&'static str>,
    /// The rule that decided, for failure messages.
    pub rule: &'static str,
}

fn predict_error(status: u16, error: &'static str, rule: &'static str) -> Prediction {
    Prediction {
        status,
        error: Some(error),
        rule,
    }
}

/// The actor the host resolves for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Actor {
    Board,
    Agent {
        role: AgentRole,
    },
    Nobody,
    /// Rejected during authentication with the profile's message.
    RejectedToken,
}

fn resolve(caller: Caller, mode: DeploymentMode, profile: &Profile) -> Actor {
    let unverified = || match (mode, profile.local_unverified_bearer) {
        (DeploymentMode::LocalTrusted, UnverifiedBearer::FallsBackToBoard) => Actor::Board,
        (DeploymentMode::LocalTrusted, UnverifiedBearer::Rejected) => Actor::RejectedToken,
        (DeploymentMode::Authenticated, _) => Actor::RejectedToken,
    };
    match caller {
        Caller::Board => Actor::Board,
        Caller::NoCredentials => match mode {
            DeploymentMode::LocalTrusted => Actor::Board,
            DeploymentMode::Authenticated => Actor::Nobody,
        },
        Caller::BogusBearer => unverified(),
        Caller::Agent {
            key: KeyState::Revoked,
            ..
        }
        | Caller::Agent {
            role: AgentRole::Terminated,
            ..
        } => unverified(),
        Caller::Agent {
            role,
            key: KeyState::Live,
        } => Actor::Agent { role },
    }
}

/// The prediction for `case` on a host in `mode` with `profile`.
pub fn predict(case: &AuthzCase, mode: DeploymentMode, profile: &Profile) -> Prediction {
    let unverifiable = matches!(
        case.caller,
        Caller::BogusBearer
            | Caller::Agent {
                key: KeyState::Revoked,
                ..
            }
            | Caller::Agent {
                role: AgentRole::Terminated,
                ..
            }
    );
    if unverifiable && profile.unverified_bearer_refused_before_routing {
        return predict_error(
            401,
            profile.unverified_bearer_message,
            "§1 B.4 as 2026.916 ships it: an unverifiable token is refused before routing (findings F15)",
        );
    }
    match case.request {
        Request::UnknownPlugin => {
            return predict_error(
                404,
                "Plugin not found",
                "§4.1 step 2: plugin lookup precedes auth",
            )
        }
        Request::UnknownRoute | Request::WrongMethod => {
            return predict_error(
                404,
                "Plugin API route not found",
                "§4.1 step 6: route match precedes auth",
            )
        }
        _ => {}
    }
    let actor = resolve(case.caller, mode, profile);
    match actor {
        Actor::Nobody => {
            return predict_error(
                401,
                "Unauthorized",
                "§4.2 step 7: board-or-agent needs an actor",
            )
        }
        Actor::RejectedToken => {
            let message = match mode {
                // 2026.707.0 answers the generic 401 in authenticated mode.
                DeploymentMode::Authenticated
                    if profile.local_unverified_bearer == UnverifiedBearer::FallsBackToBoard =>
                {
                    "Unauthorized"
                }
                _ => profile.unverified_bearer_message,
            };
            return predict_error(
                401,
                message,
                "§1 B.4: an unverifiable bearer is not an actor",
            );
        }
        _ => {}
    }
    if matches!(
        case.request,
        Request::MissingIssue | Request::MalformedIssueId
    ) {
        return predict_error(
            400,
            "Unable to resolve company for plugin API route",
            "§4.2 step 8: an unknown issue leaves the company unresolved",
        );
    }
    if actor
        == (Actor::Agent {
            role: AgentRole::OtherCompany,
        })
    {
        return predict_error(
            403,
            "Agent key cannot access another company",
            "§2 assertCompanyAccess",
        );
    }
    // An unverifiable token that falls back to the local board drops the run
    // id header with it (§1 B.4); otherwise the header becomes the actor's run.
    let fell_back =
        actor == Actor::Board && !matches!(case.caller, Caller::Board | Caller::NoCredentials);
    let run_reaches_worker = case.run != RunHeader::Absent && !fell_back;
    if case.request == Request::Initialize
        && actor
            == (Actor::Agent {
                role: AgentRole::Assignee,
            })
        && case.issue == IssueState::CheckedOut
    {
        match case.run {
            RunHeader::Absent => {
                return predict_error(
                    401,
                    "Agent run id required",
                    "§5.1 item 4.1: the assignee needs its run id",
                )
            }
            RunHeader::NonExistentRun => {
                return predict_error(
                    409,
                    "Issue run ownership conflict",
                    "§5.2: another run while the checkout run is live",
                )
            }
            RunHeader::CheckoutRun => {}
        }
    }
    match case.request {
        Request::Summary => Prediction {
            status: 200,
            error: None,
            rule: "§4.4: the worker's summary answer",
        },
        Request::Initialize if case.run == RunHeader::NonExistentRun && run_reaches_worker => {
            Prediction {
                status: 502,
                error: None,
                rule: "§8.1, §11 item 14: activity rows cannot reference a run that does not exist",
            }
        }
        Request::Initialize if !case.issue.assigned() => predict_error(
            502,
            "Issue has no assigned agent to wake",
            "B2.4 step 6: the child inherits no assignee, the wakeup fails in the worker",
        ),
        _ => Prediction {
            status: 201,
            error: None,
            rule: "§4.4: the worker's initialize answer",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{PROFILE_707, PROFILE_916};
    use rstest::rstest;

    fn case(caller: Caller, request: Request, issue: IssueState, run: RunHeader) -> AuthzCase {
        AuthzCase {
            caller,
            request,
            issue,
            run,
        }
    }

    const ASSIGNEE: Caller = Caller::Agent {
        role: AgentRole::Assignee,
        key: KeyState::Live,
    };
    const FOREIGN: Caller = Caller::Agent {
        role: AgentRole::OtherCompany,
        key: KeyState::Live,
    };

    // The rows of real-host.md §7 and the authz matrix of contract-http.md §6.
    #[rstest]
    #[case(case(Caller::Board, Request::Summary, IssueState::Todo { assigned: false }, RunHeader::Absent), 200, None)]
    #[case(case(Caller::Board, Request::Initialize, IssueState::Todo { assigned: true }, RunHeader::Absent), 201, None)]
    #[case(
        case(
            ASSIGNEE,
            Request::Initialize,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        401,
        Some("Agent run id required")
    )]
    #[case(
        case(
            ASSIGNEE,
            Request::Initialize,
            IssueState::CheckedOut,
            RunHeader::NonExistentRun
        ),
        409,
        Some("Issue run ownership conflict")
    )]
    #[case(
        case(
            ASSIGNEE,
            Request::Initialize,
            IssueState::CheckedOut,
            RunHeader::CheckoutRun
        ),
        201,
        None
    )]
    #[case(
        case(ASSIGNEE, Request::Summary, IssueState::CheckedOut, RunHeader::Absent),
        200,
        None
    )]
    #[case(
        case(FOREIGN, Request::Summary, IssueState::CheckedOut, RunHeader::Absent),
        403,
        Some("Agent key cannot access another company")
    )]
    #[case(
        case(
            FOREIGN,
            Request::UnknownRoute,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        404,
        Some("Plugin API route not found")
    )]
    #[case(case(Caller::Board, Request::Initialize, IssueState::Todo { assigned: false }, RunHeader::Absent), 502, Some("Issue has no assigned agent to wake"))]
    #[case(
        case(
            Caller::Board,
            Request::MissingIssue,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        400,
        Some("Unable to resolve company for plugin API route")
    )]
    #[case(
        case(
            Caller::BogusBearer,
            Request::Summary,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        200,
        None
    )]
    #[case(
        case(
            Caller::NoCredentials,
            Request::Initialize,
            IssueState::CheckedOut,
            RunHeader::NonExistentRun
        ),
        502,
        None
    )]
    #[case(
        case(
            Caller::BogusBearer,
            Request::Initialize,
            IssueState::CheckedOut,
            RunHeader::NonExistentRun
        ),
        201,
        None
    )]
    fn local_trusted_707(#[case] c: AuthzCase, #[case] status: u16, #[case] error: Option<&str>) {
        let p = predict(&c, DeploymentMode::LocalTrusted, &PROFILE_707);
        assert_eq!((p.status, p.error), (status, error), "{c:?}: {}", p.rule);
    }

    #[rstest]
    #[case(
        case(
            Caller::NoCredentials,
            Request::Summary,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        401,
        Some("Unauthorized")
    )]
    #[case(
        case(
            Caller::NoCredentials,
            Request::UnknownPlugin,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        404,
        Some("Plugin not found")
    )]
    #[case(
        case(
            Caller::BogusBearer,
            Request::Summary,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        401,
        Some("Unauthorized")
    )]
    #[case(
        case(
            Caller::NoCredentials,
            Request::MissingIssue,
            IssueState::CheckedOut,
            RunHeader::Absent
        ),
        401,
        Some("Unauthorized")
    )]
    fn authenticated_707(#[case] c: AuthzCase, #[case] status: u16, #[case] error: Option<&str>) {
        let p = predict(&c, DeploymentMode::Authenticated, &PROFILE_707);
        assert_eq!((p.status, p.error), (status, error), "{c:?}: {}", p.rule);
    }

    #[test]
    fn later_hosts_refuse_an_unverifiable_token_before_routing() {
        let c = case(
            Caller::BogusBearer,
            Request::UnknownRoute,
            IssueState::Todo { assigned: false },
            RunHeader::Absent,
        );
        assert_eq!(
            predict(&c, DeploymentMode::LocalTrusted, &PROFILE_916).status,
            401
        );
        assert_eq!(
            predict(&c, DeploymentMode::LocalTrusted, &PROFILE_707).status,
            404
        );
    }

    #[test]
    fn bogus_bearer_is_rejected_by_later_hosts_even_locally() {
        let c = case(
            Caller::BogusBearer,
            Request::Summary,
            IssueState::CheckedOut,
            RunHeader::Absent,
        );
        let p = predict(&c, DeploymentMode::LocalTrusted, &PROFILE_916);
        assert_eq!(p.status, 401);
        assert_eq!(
            p.error,
            Some("Agent token did not verify; obtain fresh credentials and retry")
        );
    }
}
