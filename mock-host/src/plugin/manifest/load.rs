//! Loading a manifest: it is an ES module, so node evaluates it and the
//! default export comes back as JSON.
//!
//! One long-lived node process (the loader) imports every manifest the host
//! is asked to install. A node per install cost about 70 ms of CPU each, and
//! a conformance run installs dozens of generated plugins; a warm loader
//! answers in about a millisecond. Each import carries a fresh query string,
//! so a manifest rewritten in place is read anew, as a fresh process did.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::error::{Error, Result};

/// Reads one `{"path": …}` request a line and answers `{"ok": manifest}` or
/// `{"error": first line of the error}` a line; exits when stdin closes.
const LOADER: &str = r#"
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
let n = 0;
for await (const line of createInterface({ input: process.stdin })) {
  let answer;
  try {
    const { path } = JSON.parse(line);
    const m = await import(pathToFileURL(path).href + "?load=" + ++n);
    answer = { ok: m.default ?? m };
  } catch (e) {
    const text = e && e.stack ? String(e.stack) : String(e);
    answer = { error: text.split("\n").find((l) => l.includes("Error")) ?? text.split("\n")[0] };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
"#;

/// How long one manifest may take to evaluate before the loader is killed.
const LOAD_TIMEOUT: Duration = Duration::from_secs(15);

/// The host's manifest loader: started on first use, restarted after a
/// crash or a timeout, killed with the host.
pub struct ManifestLoader {
    node: PathBuf,
    process: Mutex<Option<LoaderProcess>>,
}

struct LoaderProcess {
    // Held so that dropping the loader kills node (`kill_on_drop`).
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl ManifestLoader {
    pub fn new(node: PathBuf) -> Self {
        Self {
            node,
            process: Mutex::new(None),
        }
    }

    /// Evaluates the manifest module and returns its default export.
    pub async fn load(&self, manifest_path: &Path) -> Result<Value> {
        let fail = |msg: String| {
            Error::internal(format!(
                "Failed to load manifest module at {}: {msg}",
                manifest_path.display()
            ))
        };
        // One request at a time: answers carry no id, and imports take
        // about a millisecond once node is warm.
        let mut slot = self.process.lock().await;
        if slot.is_none() {
            *slot = Some(self.spawn().map_err(|e| fail(e.to_string()))?);
        }
        let process = slot.as_mut().expect("loader just started");
        let answer = tokio::time::timeout(LOAD_TIMEOUT, process.ask(manifest_path)).await;
        let answer = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                *slot = None;
                return Err(fail(e));
            }
            Err(_) => {
                *slot = None;
                return Err(fail("timed out".into()));
            }
        };
        match (answer.get("ok"), answer.get("error")) {
            (Some(manifest), _) => Ok(manifest.clone()),
            (None, Some(error)) => Err(fail(error.as_str().unwrap_or("import failed").to_string())),
            (None, None) => Err(fail(format!("unexpected loader answer {answer}"))),
        }
    }

    fn spawn(&self) -> std::io::Result<LoaderProcess> {
        let mut child = Command::new(&self.node)
            .args(["--input-type=module", "-e", LOADER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        Ok(LoaderProcess {
            _child: child,
            stdin,
            stdout,
        })
    }
}

impl LoaderProcess {
    async fn ask(&mut self, manifest_path: &Path) -> std::result::Result<Value, String> {
        let mut request = json!({ "path": manifest_path }).to_string();
        request.push('\n');
        self.stdin
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("the manifest loader is gone: {e}"))?;
        let mut line = String::new();
        let read = self
            .stdout
            .read_line(&mut line)
            .await
            .map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the manifest loader exited".into());
        }
        serde_json::from_str(&line).map_err(|e| e.to_string())
    }
}
