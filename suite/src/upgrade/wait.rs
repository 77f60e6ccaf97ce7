//! Waiting on the host under test after an upgrade: plugins come back in
//! the background, so the checks wait for what shows they are back.

use std::time::Duration;

use serde_json::Value;

use crate::client::{Call, Credentials, HostClient};
use crate::exchange::RecordedResponse;
use crate::wait::{poll_until, Interval, Probe};

/// Waits until plugin `key` answers a status other than `status`; gives up
/// quietly after `timeout` (the checks then report what they see).
pub(super) async fn until_plugin_status_is_not(
    client: &HostClient,
    board: &Credentials,
    key: &str,
    status: &str,
    timeout: Duration,
) -> bool {
    until_plugin(client, board, key, timeout, |s| s != status).await
}

/// Waits until the worker of plugin `key` runs: its scoped API mount stops
/// answering 503 ("not ready" / "worker is not running", contract-http.md
/// §4.1 steps 3–4) and answers what comes after, a 404 for the bare mount
/// whether or not the plugin declares routes. `false` after `timeout`.
pub async fn until_worker_running(
    client: &HostClient,
    board: &Credentials,
    key: &str,
    timeout: Duration,
) -> bool {
    let call = Call::new("GET", format!("/api/plugins/{key}/api/")).as_(board);
    until_answer(client, &call, timeout, |r| r.status != 503).await
}

/// Waits until plugin `key` answers `ready` (hosts re-activate plugins in
/// the background after they are healthy); `false` after `timeout`.
pub(super) async fn until_plugin_ready(
    client: &HostClient,
    board: &Credentials,
    key: &str,
    timeout: Duration,
) -> bool {
    until_plugin(client, board, key, timeout, |s| s == "ready").await
}

async fn until_plugin(
    client: &HostClient,
    board: &Credentials,
    key: &str,
    timeout: Duration,
    wanted: impl Fn(&Value) -> bool,
) -> bool {
    let call = Call::new("GET", format!("/api/plugins/{key}")).as_(board);
    until_answer(client, &call, timeout, |r| wanted(&r.body["status"])).await
}

/// Repeats `call` until the host's answer is `wanted`; `false` after
/// `timeout` (no answer counts as not yet).
async fn until_answer(
    client: &HostClient,
    call: &Call,
    timeout: Duration,
    wanted: impl Fn(&RecordedResponse) -> bool,
) -> bool {
    poll_until(
        timeout,
        Interval::fixed(Duration::from_millis(100)),
        || async {
            match client.send(call).await.response {
                Some(r) if wanted(&r) => Probe::Done(()),
                _ => Probe::NotYet(()),
            }
        },
    )
    .await
    .is_ok()
}
