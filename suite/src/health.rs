//! Waiting for a host to be ready.
//!
//! HTTP 200 from `/api/health` is not enough: later hosts answer 200 with
//! `status:"starting"` while they recover. Ready means `status:"ok"`.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Polls `GET {base_url}/api/health` until the body says `status:"ok"` or the
/// timeout passes. `alive` is consulted between polls so that a host process
/// that died is reported at once instead of after the whole timeout.
pub async fn wait_until_ready(
    base_url: &str,
    timeout: Duration,
    alive: Option<&(dyn Fn() -> bool + Send + Sync)>,
) -> Result<serde_json::Value> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .map_err(|e| Error::HostStart(e.to_string()))?;
    let url = format!("{base_url}/api/health");
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    loop {
        if let Some(alive) = alive {
            if !alive() {
                return Err(Error::HostStart(format!(
                    "the host process exited before {url} answered status \"ok\" (last: {last})"
                )));
            }
        }
        match client.get(&url).send().await {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(body)
                        if status.is_success()
                            && body.get("status").and_then(|s| s.as_str()) == Some("ok") =>
                    {
                        return Ok(body)
                    }
                    Ok(body) => {
                        last = format!(
                            "HTTP {} {}",
                            status.as_u16(),
                            truncate(&body.to_string(), 200)
                        )
                    }
                    Err(_) => {
                        last = format!(
                            "HTTP {} with a non-JSON body: {}",
                            status.as_u16(),
                            truncate(&text, 120)
                        )
                    }
                }
            }
            Err(e) => last = format!("{e}"),
        }
        if Instant::now() >= deadline {
            return Err(Error::HostStart(format!(
                "{url} did not answer status \"ok\" within {}s (last: {last})",
                timeout.as_secs()
            )));
        }
        // Fast hosts are ready within a few hundred milliseconds: poll often
        // at first (so start times are measured, not rounded), then back off.
        let waited = timeout.saturating_sub(deadline.saturating_duration_since(Instant::now()));
        let pause = if waited < Duration::from_secs(2) {
            20
        } else {
            200
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
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
