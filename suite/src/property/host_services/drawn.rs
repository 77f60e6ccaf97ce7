//! Cases drawn from the run's seed on top of the fixed ones (`--cases N`
//! draws N): issues created with drawn titles, statuses and priorities,
//! comments with drawn bodies, document keys of drawn shapes (valid, upper
//! case, blank, spaced, too long), plugin state with drawn values and
//! lookups of drawn unknown ids. The same seed draws the same cases.
//!
//! They run in three phases after the fixed ones: the writes, the reads of
//! what the writes stored, and the ordered sequences.

use serde_json::{json, Value};

use super::calls::{Case, Kind};
use super::cases::Phase;
use super::draw::Draw;
use super::model::INTERNAL;
use super::rows::Effect;

/// `count` drawn cases as three phases: the writes (at once), the reads
/// of what they stored (at once), and the sequences that need order —
/// blocker chains closed into cycles, wakeups with drawn keys
/// ([`super::drawn_sequences`]), one call after the other.
pub fn phases(seed: u64, count: u32) -> [Phase; 3] {
    let mut d = Draw(seed ^ 0x4853_5256);
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    let mut sequence = Vec::new();
    let mut wakeups = 0;
    for i in 0..count {
        let name = format!("d{i}");
        let family = d.below(7);
        if family == 5 {
            super::drawn_sequences::chain(&mut d, &name, &mut writes, &mut sequence);
            continue;
        }
        // Each wakeup queues a heartbeat run of the check's agent: a few.
        if family == 6 && wakeups < super::drawn_sequences::MAX_WAKEUPS {
            wakeups += 1;
            super::drawn_sequences::wakeup(&mut d, &name, &mut writes, &mut sequence);
            continue;
        }
        match family {
            0 => {
                let status = *d.pick(&["backlog", "todo", "done", "cancelled", "in_review"]);
                let priority = *d.pick(&["low", "medium", "high", "critical"]);
                let title = format!("HS {name} {}", d.words(3));
                writes.push(
                    Case::new(
                        "issues.create",
                        format!("drawn issue {name}"),
                        Kind::Drawn,
                        json!({"companyId": "{companyA}", "title": title, "status": status, "priority": priority}),
                    )
                    .ok(json!({"title": title, "status": status, "priority": priority, "originKind": "plugin:{keyAll}"}))
                    .bind(&name)
                    .leaves(Effect::Issue { name: name.clone(), workspace: None })
                    .leaves(Effect::Activity {
                        action: "issue.created".into(),
                        entity: name.clone(),
                        agent: None,
                        attributed: true,
                    }),
                );
                reads.push(
                    Case::new(
                        "issues.get",
                        format!("drawn issue {name}"),
                        Kind::Drawn,
                        json!({"companyId": "{companyA}", "issueId": format!("{{{name}}}")}),
                    )
                    .ok(json!({"id": format!("{{{name}}}"), "title": title, "status": status})),
                );
            }
            1 => {
                let n = 1 + d.below(6) as usize;
                let body = d.words(n);
                writes.push(
                    Case::new(
                        "issues.createComment",
                        format!("drawn comment {name}"),
                        Kind::Drawn,
                        json!({"companyId": "{companyA}", "issueId": "{wake4}", "body": body}),
                    )
                    .ok(json!({"issueId": "{wake4}", "body": body}))
                    .leaves(Effect::Comment {
                        issue: "wake4".into(),
                        body: body.clone(),
                    })
                    .leaves(Effect::Activity {
                        action: "issue.comment.created".into(),
                        entity: "wake4".into(),
                        agent: None,
                        attributed: true,
                    }),
                );
            }
            2 => {
                let shape = d.below(5);
                let key = match shape {
                    0 => format!("hs-{name}_ok"),
                    1 => format!("HS-{name}"),
                    2 => format!("hs {name}"),
                    3 => format!("-{name}"),
                    _ => format!("k{name}{}", "x".repeat(64)),
                };
                let stored = key.trim().to_lowercase();
                let case = Case::new(
                    "issues.documents.upsert",
                    format!("drawn key {key:?}"),
                    Kind::Drawn,
                    json!({"companyId": "{companyA}", "issueId": "{wake2}", "key": key, "body": d.words(4)}),
                );
                writes.push(if shape <= 1 {
                    case.ok(json!({"key": stored, "latestRevisionNumber": 1}))
                        .leaves(Effect::Document {
                            issue: "wake2".into(),
                            key: stored,
                            present: true,
                        })
                        .leaves(Effect::Activity {
                            action: "issue.document_upserted".into(),
                            entity: "wake2".into(),
                            agent: None,
                            attributed: true,
                        })
                } else {
                    case.err(INTERNAL, "Invalid document key")
                });
            }
            3 => {
                let value = match d.below(4) {
                    0 => json!(d.below(1_000_000)),
                    1 => json!(d.words(2)),
                    2 => json!({"n": d.below(100), "list": [d.words(1), null, true]}),
                    _ => json!([d.below(9), d.words(1)]),
                };
                let key = format!("hs-{name}");
                let params =
                    json!({"scopeKind": "company", "scopeId": "{companyA}", "stateKey": key});
                let mut set = params.clone();
                set["value"] = value.clone();
                writes.push(
                    Case::new("state.set", format!("drawn value {name}"), Kind::Drawn, set)
                        .ok(Value::Null)
                        .leaves(Effect::State {
                            key: key.clone(),
                            kind: "company".into(),
                            value: Some(value.clone()),
                        }),
                );
                reads.push(
                    Case::new(
                        "state.get",
                        format!("drawn value {name}"),
                        Kind::Drawn,
                        params,
                    )
                    .ok(value),
                );
            }
            _ => {
                let id = uuid::Uuid::from_u64_pair(d.next(), d.next()).to_string();
                writes.push(
                    Case::new(
                        "issues.get",
                        format!("drawn unknown id {name}"),
                        Kind::Drawn,
                        json!({"companyId": "{companyA}", "issueId": id}),
                    )
                    .ok(Value::Null),
                );
            }
        }
    }
    [
        Phase {
            name: "drawn writes",
            sequential: false,
            cases: writes,
        },
        Phase {
            name: "drawn reads",
            sequential: false,
            cases: reads,
        },
        Phase {
            name: "drawn sequences",
            sequential: true,
            cases: sequence,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_draws_the_same_cases() {
        let titles = |seed| {
            let [w, r, q] = phases(seed, 40);
            w.cases
                .iter()
                .chain(&r.cases)
                .chain(&q.cases)
                .map(|c| c.params.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(titles(7), titles(7));
        assert_ne!(titles(7), titles(8));
        let [w, r, _] = phases(7, 40);
        let kinds: std::collections::BTreeSet<&str> =
            w.cases.iter().chain(&r.cases).map(|c| c.method).collect();
        assert!(kinds.len() >= 3, "{kinds:?}");
        assert!(!w.cases.is_empty());
    }
}
