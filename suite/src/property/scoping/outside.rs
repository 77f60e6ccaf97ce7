//! The scoping property's last phase: host calls a worker makes while none of
//! its invocations is active (docs/findings.md F11).
//!
//! The probe worker is asked (`deferredOnly`) to wait until its response has
//! been sent and then, from a timer bound outside any invocation, read an
//! issue of company C, patch it and create an issue in C. Which of these the
//! host lets through changed twice: 2026.707.0 checks nothing; from 2026.722.0
//! each is refused with −32005 `…: company context is required`; from
//! 2026.817.0 a company with its own stored config of the plugin is admitted
//! again. The profile says which applies.
//!
//! C is the phase's own company, created here, so the writes that older hosts
//! let through change nothing any other check looks at. The batch is read from
//! the plugin's own table in the database, never through the worker: a
//! request to the worker while the batch runs would make an invocation active
//! and turn the refusal into the "unknown invocation scope" one.

use std::time::Duration;

use serde_json::{json, Value};

use crate::client::{Call, Credentials};
use crate::db::HostDb;
use crate::plugin::InstalledPlugin;
use crate::property::{CaseFailure, PropertyEnv};
use crate::wait::{poll_until, Interval, Probe};

/// The batch's attempts, as the worker names them, with the host method each
/// calls.
const ATTEMPTS: [(&str, &str); 3] = [
    ("deferred.issues.get.target-company", "issues.get"),
    ("deferred.issues.update.target-company", "issues.update"),
    ("deferred.issues.create.target-company", "issues.create"),
];

/// The billing code the batch's patch writes (worker.js).
const DEFERRED_BILLING_CODE: &str = "scope-probe-deferred";

/// Long enough for the response to have been read by the host before the
/// timer fires; the batch then needs a few host calls.
const DEFER_MS: u64 = 300;
const BATCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The −32005 text a refusing host sends for `method`.
pub(super) fn refusal(plugin_id: &str, method: &str) -> String {
    format!("Plugin \"{plugin_id}\" is not allowed to perform \"{method}\": company context is required")
}

/// What the attempts of one batch broke, given whether the host must let
/// them through. Empty: as the profile says.
pub(super) fn judge(
    attempts: &[Value],
    allowed: bool,
    plugin_id: &str,
    company: &str,
    issue: &str,
) -> Vec<String> {
    let mut broken = Vec::new();
    for (name, method) in ATTEMPTS {
        let Some(a) = attempts.iter().find(|a| a["name"] == name) else {
            broken.push(format!("{name}: the worker reported no such attempt"));
            continue;
        };
        let outcome = a["outcome"].as_str().unwrap_or_default();
        let ok = if allowed {
            outcome == "allowed"
                && match method {
                    "issues.get" => a["result"]["id"] == json!(issue),
                    "issues.create" => a["result"]["companyId"] == json!(company),
                    _ => true,
                }
        } else {
            outcome == "denied"
                && a["error"]["code"] == json!(-32005)
                && a["error"]["message"] == json!(refusal(plugin_id, method))
        };
        if !ok {
            let want = if allowed {
                "allowed".to_string()
            } else {
                format!("denied -32005 {:?}", refusal(plugin_id, method))
            };
            broken.push(format!(
                "{name}: expected {want}, got {outcome} {} {}",
                a["result"], a["error"]
            ));
        }
    }
    broken
}

/// Company C's rows a batch can change.
async fn snapshot(db: &HostDb, company: &str, issue: &str) -> Result<Value, String> {
    let rows = db
        .rows(
            "select (select count(*)::int from issues where company_id = $1) as issues, \
                    (select billing_code from issues where id = $2) as billing_code, \
                    (select count(*)::int from activity_log where company_id = $1 and actor_type = 'plugin') as plugin_activity",
            &[json!(company), json!(issue)],
        )
        .await?;
    Ok(rows.into_iter().next().unwrap_or(Value::Null))
}

/// The phase's company C and its issue, and the issue of A the probe is
/// called about.
struct Targets {
    company: String,
    issue: String,
    own_issue: String,
}

/// Runs the phase; `Ok` carries the evidence for the check's reason.
pub(super) async fn check(
    env: &PropertyEnv,
    db: &HostDb,
    probe: &InstalledPlugin,
) -> Result<String, CaseFailure> {
    let fail = |m: String| CaseFailure::message(m);
    let client = &env.client;
    let world = &env.world;
    let nonce = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let company = world
        .create_company(
            client,
            "scoping-c",
            &format!("Conformance Scoping C {nonce}"),
        )
        .await
        .map_err(|e| fail(format!("creating the phase's company C failed: {e}")))?;
    let issue = world
        .create_issue_in(
            client,
            &company,
            &format!("scoping outside {nonce}"),
            "todo",
            None,
            false,
        )
        .await
        .map_err(|e| fail(format!("world: {e}")))?;
    let own = world
        .create_issue(
            client,
            "a",
            &format!("scoping outside own {nonce}"),
            "todo",
            None,
            false,
        )
        .await
        .map_err(|e| fail(format!("world: {e}")))?;
    let targets = Targets {
        company: company.id.clone(),
        issue: issue.id,
        own_issue: own.id,
    };
    let profile = env.profile;
    let mut evidence = Vec::new();
    let first_allowed = !profile.unscoped_host_calls_refused;
    batch(
        env,
        db,
        probe,
        &targets,
        first_allowed,
        "no plugin config for C",
    )
    .await?;
    evidence.push(if first_allowed {
        "allowed (read, patch and create in company C)".to_string()
    } else {
        "refused with -32005 'company context is required'".to_string()
    });
    if profile.unscoped_host_calls_refused {
        // Whether a company's own plugin config admits such calls is only a
        // question where they are refused; before 2026.817.0 the config route
        // takes no company (it is instance-wide), and saving one changes
        // nothing here.
        let exchange = client
            .send(
                &Call::new("POST", format!("/api/plugins/{}/config", probe.id))
                    .as_(&world.board)
                    .json(json!({ "companyId": targets.company, "configJson": { "scopeProbe": true } })),
            )
            .await;
        if exchange.response.as_ref().map(|r| r.status) != Some(200) {
            return Err(CaseFailure {
                message: "saving the probe plugin's config for company C did not answer 200".into(),
                expected: Some(json!({ "status": 200 })),
                actual: exchange
                    .response
                    .as_ref()
                    .map(|r| json!({ "status": r.status, "body": r.body })),
                exchanges: vec![exchange],
            });
        }
        let granted = profile.plugin_config_grants_company_scope;
        let outcome = batch(
            env,
            db,
            probe,
            &targets,
            granted,
            "C has its own plugin config",
        )
        .await;
        forget_company_config(env, db, probe, &targets.company).await;
        outcome?;
        evidence.push(format!(
            "with C's own plugin config: {}",
            if granted {
                "allowed again"
            } else {
                "still refused"
            }
        ));
    }
    Ok(format!(
        "finding F11 (profile {}): host calls outside any invocation naming company C: {}",
        profile.name,
        evidence.join("; ")
    ))
}

/// Removes the probe's stored config for company C, which the phase saved.
/// The host has no route that deletes a plugin config, and the row goes with
/// its company only where the host lets the run delete companies; so the row
/// is deleted through the host's database where the run may write it (hosts
/// the suite started, `url=` hosts with a writable `--host-database-url`),
/// and otherwise reported as left on the host.
async fn forget_company_config(
    env: &PropertyEnv,
    db: &HostDb,
    probe: &InstalledPlugin,
    company: &str,
) {
    let deleted = !db.is_read_only()
        && db
            .execute(
                "delete from plugin_config where plugin_id = $1::uuid and company_id = $2::uuid",
                &[json!(probe.id), json!(company)],
            )
            .await
            .is_ok_and(|rows| rows == 1);
    if !deleted {
        env.client.ledger().note(format!(
            "plugin config of {} for the scoping check's company C ({company}): the host has no route that deletes a plugin config, and the run does not write the host's database",
            probe.key
        ));
    }
}

/// One deferred batch: asks for it, waits for the worker to store it, and
/// compares the attempts and company C's rows with the expectation.
async fn batch(
    env: &PropertyEnv,
    db: &HostDb,
    probe: &InstalledPlugin,
    t: &Targets,
    allowed: bool,
    when: &str,
) -> Result<(), CaseFailure> {
    let fail = |m: String| CaseFailure::message(m);
    let namespace = probe
        .namespace
        .as_deref()
        .ok_or_else(|| fail("the scope-probe plugin has no database namespace".into()))?;
    let before = snapshot(db, &t.company, &t.issue).await.map_err(fail)?;
    // Company A's agent asks: its request is scoped to A, and the batch it
    // leaves behind names C.
    let caller = Credentials {
        bearer: env.world.agent("a1").map(|a| a.token.clone()),
        run_id: None,
    };
    let call = Call::new(
        "POST",
        format!(
            "/api/plugins/{}/api/issues/{}/probe",
            probe.key, t.own_issue
        ),
    )
    .json(json!({
        "targetCompanyId": t.company, "targetIssueId": t.issue,
        "deferredOnly": true, "deferredDelayMs": DEFER_MS,
    }))
    .as_(&caller);
    let exchange = env.client.send(&call).await;
    let probe_id = match &exchange.response {
        Some(r) if r.status == 200 && r.body["probeId"].is_string() => {
            r.body["probeId"].as_str().unwrap_or_default().to_string()
        }
        other => {
            return Err(CaseFailure {
                message: format!("{when}: the probe route did not schedule the deferred batch"),
                expected: Some(json!({ "status": 200, "body": { "probeId": "<uuid>" } })),
                actual: other
                    .as_ref()
                    .map(|r| json!({ "status": r.status, "body": r.body })),
                exchanges: vec![exchange],
            })
        }
    };
    let sql = format!(
        "select outcomes from {namespace}.probe_runs \
         where route_key = 'probe-deferred' and outcomes->>'probeId' = $1"
    );
    let stored = poll_until(
        BATCH_TIMEOUT,
        Interval::growing(Duration::from_millis(100), Duration::from_millis(500)),
        || async {
            match db.rows(&sql, &[json!(probe_id)]).await {
                Ok(rows) if !rows.is_empty() => Probe::Done(Ok(rows[0]["outcomes"].clone())),
                Ok(_) => Probe::NotYet("no stored batch yet".to_string()),
                Err(e) => Probe::Done(Err(e)),
            }
        },
    )
    .await;
    let outcomes = match stored {
        Ok(Ok(outcomes)) => outcomes,
        Ok(Err(e)) => return Err(fail(format!("{when}: reading the stored batch: {e}"))),
        Err(t) => {
            return Err(CaseFailure {
                message: format!("{when}: the worker stored no deferred batch ({t})"),
                expected: None,
                actual: None,
                exchanges: vec![exchange],
            })
        }
    };
    let attempts = outcomes["attempts"].as_array().cloned().unwrap_or_default();
    let broken = judge(&attempts, allowed, &probe.id, &t.company, &t.issue);
    if !broken.is_empty() {
        return Err(CaseFailure {
            message: format!(
                "{when}: host calls outside any invocation were {} (profile {})",
                if allowed {
                    "not all allowed"
                } else {
                    "not all refused"
                },
                env.profile.name
            ),
            expected: Some(json!(broken)),
            actual: Some(json!(attempts)),
            exchanges: vec![exchange],
        });
    }
    let after = snapshot(db, &t.company, &t.issue).await.map_err(fail)?;
    let expected = if allowed {
        // The patch and the new issue, each with its plugin activity row.
        json!({
            "issues": before["issues"].as_i64().unwrap_or_default() + 1,
            "billing_code": DEFERRED_BILLING_CODE,
            "plugin_activity": before["plugin_activity"].as_i64().unwrap_or_default() + 2,
        })
    } else {
        before
    };
    if after != expected {
        return Err(CaseFailure {
            message: format!(
                "{when}: company C's rows {} after host calls outside any invocation",
                if allowed {
                    "did not change as the allowed calls say"
                } else {
                    "changed although the calls were refused"
                }
            ),
            expected: Some(expected),
            actual: Some(after),
            exchanges: vec![exchange],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "11111111-1111-1111-1111-111111111111";
    const C: &str = "cccccccc-cccc-cccc-cccc-cccccccccccc";
    const I: &str = "dddddddd-dddd-dddd-dddd-dddddddddddd";

    fn allowed() -> Vec<Value> {
        vec![
            json!({"name": ATTEMPTS[0].0, "outcome": "allowed", "result": {"id": I, "companyId": C}}),
            json!({"name": ATTEMPTS[1].0, "outcome": "allowed", "result": {"id": I}}),
            json!({"name": ATTEMPTS[2].0, "outcome": "allowed", "result": {"id": "new", "companyId": C}}),
        ]
    }

    fn refused() -> Vec<Value> {
        ATTEMPTS
            .iter()
            .map(|(name, method)| {
                json!({"name": name, "outcome": "denied", "result": null,
                       "error": {"code": -32005, "message": refusal(P, method)}})
            })
            .collect()
    }

    #[test]
    fn each_profile_gets_its_own_outcome() {
        assert!(judge(&allowed(), true, P, C, I).is_empty());
        assert!(judge(&refused(), false, P, C, I).is_empty());
        assert_eq!(judge(&allowed(), false, P, C, I).len(), 3);
        assert_eq!(judge(&refused(), true, P, C, I).len(), 3);
    }

    #[test]
    fn a_refusal_must_be_the_exact_one() {
        let mut other = refused();
        other[1]["error"]["message"] = json!(format!(
            "Plugin \"{P}\" is not allowed to perform \"issues.update\": the worker referenced a missing, expired, or unknown invocation scope"
        ));
        let broken = judge(&other, false, P, C, I);
        assert_eq!(broken.len(), 1);
        assert!(broken[0].starts_with(ATTEMPTS[1].0), "{broken:?}");
        assert!(
            !judge(&refused()[..2], false, P, C, I).is_empty(),
            "a missing attempt is broken"
        );
    }

    #[test]
    fn an_allowed_read_must_return_the_issue_of_c() {
        let mut wrong = allowed();
        wrong[0]["result"]["id"] = json!("someone else's");
        assert_eq!(judge(&wrong, true, P, C, I).len(), 1);
    }
}
