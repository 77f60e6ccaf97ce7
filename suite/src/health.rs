//! Waiting for a host to be ready.
//!
//! HTTP 200 from `/api/health` is not enough: later hosts answer 200 with
//! `status:"starting"` while they recover. Ready means `status:"ok"`.

use std::sync::Mutex;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::wait::{poll_until, Interval, Probe};

/// Polls `GET {base_url}/api/health` until the body says `status:"ok"` or the
/// timeout passes. `alive` is consulted between polls so that a host process
/// that died is reported at once instead of after the whole timeout.
pub async fn wait_until_ready(
    base_url: &str,
    timeout: Duration,
    alive: Option<&(dyn Fn() -> bool + Send + Sync)>,
) -> Result<serde_json::Value> {
    wait_until_ready_as(base_url, timeout, alive, None).await
}

/// [`wait_until_ready`] asking as `bearer`: in `authenticated` mode the host
/// shows its version and features only to a board or agent caller.
pub async fn wait_until_ready_as(
    base_url: &str,
    timeout: Duration,
    alive: Option<&(dyn Fn() -> bool + Send + Sync)>,
    bearer: Option<&str>,
) -> Result<serde_json::Value> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| Error::HostStart(e.to_string()))?;
    let url = format!("{base_url}/api/health");
    // What the host answered last, for both error messages ("exited" is
    // decided inside the probe, where the timeout's `last` is not at hand).
    let last = Mutex::new(String::from("no answer"));
    let (client, url_ref, last_ref) = (&client, &url, &last);
    // Fast hosts are ready within a few hundred milliseconds: poll often at
    // first (so start times are measured, not rounded), then back off.
    let interval = Interval::growing(Duration::from_millis(20), Duration::from_millis(200));
    let polled = poll_until(timeout, interval, move || async move {
        if alive.is_some_and(|alive| !alive()) {
            return Probe::Done(None);
        }
        let mut request = client.get(url_ref);
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let seen = match request.send().await {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(body)
                        if status.is_success()
                            && body.get("status").and_then(|s| s.as_str()) == Some("ok") =>
                    {
                        return Probe::Done(Some(body));
                    }
                    Ok(body) => format!(
                        "HTTP {} {}",
                        status.as_u16(),
                        truncate(&body.to_string(), 200)
                    ),
                    Err(_) => format!(
                        "HTTP {} with a non-JSON body: {}",
                        status.as_u16(),
                        truncate(&text, 120)
                    ),
                }
            }
            Err(e) => format!("{e}"),
        };
        *last_ref.lock().unwrap_or_else(|p| p.into_inner()) = seen;
        Probe::NotYet(())
    })
    .await;
    let last = last.into_inner().unwrap_or_else(|p| p.into_inner());
    match polled {
        Ok(Some(body)) => Ok(body),
        Ok(None) => Err(Error::HostStart(format!(
            "the host process exited before {url} answered status \"ok\" (last: {last})"
        ))),
        Err(_) => Err(Error::HostStart(format!(
            "{url} did not answer status \"ok\" within {}s (last: {last})",
            timeout.as_secs()
        ))),
    }
}

/// Cuts a string to at most `max` characters, marking the cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}
