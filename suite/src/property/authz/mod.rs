//! Property: authz of the scoped plugin routes.
//!
//! Generated worlds (an issue of company A in some state, an agent assigned
//! to it, a caller that is the board, nobody, a bogus token, or an agent of
//! the same or the other company with a live or revoked key, or terminated)
//! × requests (each route of the plugin, an unknown route, an unknown plugin,
//! unknown and malformed issue ids) × run id headers → the status and error
//! body the contract predicts ([`model`]).

pub mod case;
pub mod exec;
pub mod model;

use serde_json::{json, Value};

use super::{run_property, CaseFailure, Property, PropertyConfig, PropertyEnv};
use crate::check::CheckResult;

/// The authz property.
pub struct AuthzProperty;

impl Property for AuthzProperty {
    fn id(&self) -> &'static str {
        "authz"
    }

    fn title(&self) -> &'static str {
        "Scoped routes answer every caller, route and run id as the contract's dispatch order predicts"
    }

    fn source(&self) -> &'static str {
        "contract-http.md §1, §2, §4.1–4.2, §5, §6; real-host.md §6–7; docs/findings.md F1"
    }

    fn tags(&self) -> Vec<String> {
        vec!["property".into(), "authz".into()]
    }

    fn check(&self, env: &PropertyEnv, config: &PropertyConfig) -> CheckResult {
        let mode = env.world.mode;
        run_property(self, env, config, case::cases(), |case| {
            let predicted = model::predict(case, mode, env.profile);
            env.handle.block_on(async {
                let built = exec::build(&env.client, &env.world, case)
                    .await
                    .map_err(|e| {
                        CaseFailure::message(format!("building the case's world failed: {e}"))
                    })?;
                let exchange = exec::request(&env.client, &env.plugin.key, case, &built).await;
                let Some(response) = &exchange.response else {
                    return Err(CaseFailure {
                        message: format!(
                            "the request failed: {}",
                            exchange.error.clone().unwrap_or_default()
                        ),
                        expected: Some(expected_json(&predicted)),
                        actual: None,
                        exchanges: vec![exchange],
                    });
                };
                let error_ok = match predicted.error {
                    Some(text) => response.body == json!({ "error": text }),
                    None => true,
                };
                if response.status == predicted.status && error_ok {
                    Ok(())
                } else {
                    Err(CaseFailure {
                        message: format!(
                            "expected {} ({}), got {}",
                            predicted.status, predicted.rule, response.status
                        ),
                        expected: Some(expected_json(&predicted)),
                        actual: Some(json!({ "status": response.status, "body": response.body })),
                        exchanges: vec![exchange.clone()],
                    })
                }
            })
        })
    }
}

fn expected_json(p: &model::Prediction) -> Value {
    match p.error {
        Some(e) => json!({ "status": p.status, "body": { "error": e }, "rule": p.rule }),
        None => json!({ "status": p.status, "rule": p.rule }),
    }
}
