//! Drawn cases that need order, run one after the other after the other
//! drawn phases:
//! - a chain of 3 to 5 new issues, each blocked by the one before
//!   (`setBlockedBy`), closed into a cycle from the first issue (`set` or
//!   `add` of a drawn later issue: `Blocking relations cannot contain
//!   cycles`, nothing written), and its last link removed
//!   (`removeBlockers`) — B2.2 setBlockedBy (replace, cycles refused);
//! - a new issue assigned to the check's agent, woken with a key drawn
//!   from two (so keys repeat across cases) or none: queued every time, one
//!   request row each with its key (B2.2 wakeup semantics: keys are stored,
//!   never de-duplicated).

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::draw::Draw;
use super::model::INTERNAL;
use super::rows::Effect;

/// Wakeups per run at most: each queues a heartbeat run of the agent.
pub const MAX_WAKEUPS: usize = 6;

fn activity(action: &str, entity: &str) -> Effect {
    Effect::Activity {
        action: action.into(),
        entity: entity.into(),
        agent: None,
        attributed: true,
    }
}

/// A drawn issue `name` made in the writes phase, with `extra` params.
fn created(name: &str, extra: Value) -> Case {
    let mut params =
        json!({"companyId": "{companyA}", "title": format!("HS {name}"), "status": "todo"});
    if let (Some(p), Value::Object(e)) = (params.as_object_mut(), extra) {
        p.extend(e);
    }
    Case::new(
        "issues.create",
        format!("drawn issue {name}"),
        Kind::Drawn,
        params,
    )
    .ok(json!({"title": format!("HS {name}")}))
    .bind(name)
    .leaves(Effect::Issue {
        name: name.into(),
        workspace: None,
    })
    .leaves(activity("issue.created", name))
}

fn named(n: &str) -> String {
    format!("{{{n}}}")
}

/// A blocker chain `<name>c0 ← c1 ← … ← ck`, a cycle refused, a link removed.
pub(super) fn chain(d: &mut Draw, name: &str, writes: &mut Vec<Case>, sequence: &mut Vec<Case>) {
    let k = 2 + d.below(3) as usize;
    let issues: Vec<String> = (0..=k).map(|j| format!("{name}c{j}")).collect();
    for issue in &issues {
        writes.push(created(issue, json!({})));
    }
    let relation = |m: &'static str, label: String, issue: &str, key: &str, ids: &[&String]| {
        let ids: Vec<String> = ids.iter().map(|i| named(i)).collect();
        Case::new(
            m,
            label,
            Kind::Drawn,
            json!({"companyId": "{companyA}", "issueId": named(issue), key: ids}),
        )
    };
    for j in 1..=k {
        sequence.push(
            relation(
                "issues.relations.setBlockedBy",
                format!("drawn chain {name} link {j}"),
                &issues[j],
                "blockedByIssueIds",
                &[&issues[j - 1]],
            )
            .ok(json!({"blockedBy": [{"id": named(&issues[j - 1])}], "blocks": []}))
            .leaves(Effect::Blockers {
                issue: issues[j].clone(),
                blockers: vec![issues[j - 1].clone()],
            })
            .leaves(activity("issue.relations.updated", &issues[j])),
        );
    }
    let closing = &issues[1 + d.below(k as u64) as usize];
    let (m, key) = *d.pick(&[
        ("issues.relations.setBlockedBy", "blockedByIssueIds"),
        ("issues.relations.addBlockers", "blockerIssueIds"),
    ]);
    sequence.push(
        relation(
            m,
            format!("drawn chain {name} closed"),
            &issues[0],
            key,
            &[closing],
        )
        .err(INTERNAL, "Blocking relations cannot contain cycles"),
    );
    sequence.push(
        relation(
            "issues.relations.removeBlockers",
            format!("drawn chain {name} cut"),
            &issues[k],
            "blockerIssueIds",
            &[&issues[k - 1]],
        )
        .ok(json!({"blockedBy": [], "blocks": []}))
        .leaves(Effect::Blockers {
            issue: issues[k].clone(),
            blockers: Vec::new(),
        })
        .leaves(activity("issue.relations.updated", &issues[k])),
    );
}

/// A new assigned issue woken with a drawn key.
pub(super) fn wakeup(d: &mut Draw, name: &str, writes: &mut Vec<Case>, sequence: &mut Vec<Case>) {
    writes.push(created(name, json!({"assigneeAgentId": "{agentHS}"})));
    let key = *d.pick(&[Some("hs-drawn-a"), Some("hs-drawn-b"), None]);
    let mut params =
        json!({"companyId": "{companyA}", "issueId": named(name), "reason": "hs-drawn"});
    if let Some(k) = key {
        params["idempotencyKey"] = json!(k);
    }
    sequence.push(
        Case::new(
            "issues.requestWakeup",
            format!("drawn wakeup {name} key {key:?}"),
            Kind::Drawn,
            params,
        )
        .ok(json!({"queued": true, "runId": "$uuid"}))
        .leaves(Effect::Wakeup {
            issue: name.into(),
            key: key.map(String::from),
        })
        .leaves(activity("issue.assignment_wakeup_requested", name)),
    );
}
