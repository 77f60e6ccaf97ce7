//! The kill matrix: every deliberate defect of the mock host must make the
//! suite fail, and the checks that must catch it are named here.
//!
//! The suite runs against the mock once per defect (`--host
//! mock:defect=NAME`), in the deployment mode where the broken rule can be
//! seen, and once per mode without any defect; all runs use the same seed and
//! case count, at most two at a time (the machine has two cores). A defect run
//! must exit 1 with the named checks among the failed ones; the runs without
//! a defect must exit 0 with every check passing. Every defect that
//! `mock-host --list-defects` prints must have a row, and every row a defect.
//!
//! From what the runs found the test writes `docs/kill-matrix.md` and fails
//! when the committed file differs; `UPDATE_KILL_MATRIX=1` rewrites it:
//!
//!     UPDATE_KILL_MATRIX=1 cargo test -p e2e-tests --test kill_matrix
//!
//! Needs node and PostgreSQL (`DATABASE_URL`, default the local server).

use std::collections::{BTreeSet, VecDeque};
use std::path::PathBuf;
use std::process::Output;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use e2e_tests::{admin_database_url, checks_with_status, mock_defects, run_conformance};

/// Seed and case count of every run. The seed is one whose 24 migration
/// cases include the three lifecycle sequences the migration defects need
/// ([Install, Disable, Enable]; an edit of an applied file before a
/// re-activation; a rejected file on enable): with another seed, or after a
/// change to the case generators, those may not be drawn. The test then
/// names the defect nothing caught; pick a seed that draws them
/// (`--only migrations --seed S` against `mock:defect=NAME`).
const SEED: &str = "0x2";
const CASES: &str = "24";
/// Runs at once.
const PARALLEL: usize = 2;

mod defect_matrix;

use defect_matrix::{Row, AUTH, LOCAL, MATRIX, UPGRADE};

/// One run of the suite.
struct Job {
    /// `None`: the mock without a defect.
    defect: Option<&'static str>,
    mode: &'static str,
    /// Extra options (see [`Row::args`]).
    args: &'static [&'static str],
}

/// What a run ended with.
struct Outcome {
    code: Option<i32>,
    failed: Vec<String>,
    stderr: String,
    /// The checks of the report, for the runs without a defect.
    checks: usize,
    took: Duration,
}

fn run(job: &Job, admin: &str) -> Outcome {
    let host = match job.defect {
        Some(d) => format!("mock:defect={d}"),
        None => "mock".to_string(),
    };
    let started = Instant::now();
    let mut args = vec![
        "run",
        "--host",
        &host,
        "--mode",
        job.mode,
        "--format",
        "json",
        "--seed",
        SEED,
        "--cases",
        CASES,
        "--database-url",
        admin,
        "-q",
    ];
    args.extend_from_slice(job.args);
    let output: Output = run_conformance(&args);
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let report: Option<serde_json::Value> = serde_json::from_slice(&output.stdout).ok();
    let (failed, checks) = match &report {
        Some(r) => (
            checks_with_status(r, "failed"),
            r["checks"].as_array().map(Vec::len).unwrap_or(0),
        ),
        None => (Vec::new(), 0),
    };
    Outcome {
        code: output.status.code(),
        failed,
        stderr,
        checks,
        took,
    }
}

/// Runs every job, `PARALLEL` at a time; results in job order.
fn run_all(jobs: &[Job], admin: &str) -> Vec<Outcome> {
    let queue: Mutex<VecDeque<usize>> = Mutex::new((0..jobs.len()).collect());
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL {
            scope.spawn(|| loop {
                let Some(i) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                    break;
                };
                let outcome = run(&jobs[i], admin);
                let label = jobs[i].defect.unwrap_or("no defect");
                eprintln!(
                    "kill matrix: {label} ({}{}) → exit {:?}, failed {:?} ({:.0} s)",
                    jobs[i].mode,
                    if jobs[i].args.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", jobs[i].args.join(" "))
                    },
                    outcome.code,
                    outcome.failed,
                    outcome.took.as_secs_f64()
                );
                results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(outcome);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|o| o.expect("every job ran"))
        .collect()
}

fn last_line(stderr: &str) -> String {
    stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Whether a defect run caught the defect, and how (for the document).
fn judge(row: &Row, outcome: &Outcome) -> Result<String, String> {
    let failed: BTreeSet<&str> = outcome.failed.iter().map(String::as_str).collect();
    let missing: Vec<&str> = row
        .must_catch
        .iter()
        .copied()
        .filter(|c| !failed.contains(c))
        .collect();
    match outcome.code {
        Some(1) if missing.is_empty() => Ok(list(&outcome.failed)),
        Some(1) => Err(format!(
            "{}: the suite failed {:?}, but not {:?}, which must catch it",
            row.defect, outcome.failed, missing
        )),
        Some(0) => Err(format!(
            "{}: nothing caught it (exit 0, every check passed)",
            row.defect
        )),
        code => Err(format!(
            "{}: the run ended with exit {code:?} instead of 1: {}",
            row.defect,
            last_line(&outcome.stderr)
        )),
    }
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        return "—".into();
    }
    ids.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The document with the *caught by* cell of every table row blanked.
fn without_caught_by(text: &str) -> String {
    text.lines()
        .map(|line| {
            if !line.starts_with("| `") {
                return line.to_string();
            }
            // Cells escape their own pipes (`cell`), so " | " splits cells.
            let mut cells: Vec<&str> = line.split(" | ").collect();
            if cells.len() == 6 {
                cells[3] = "…";
            }
            cells.join(" | ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn document(defects: &[(String, String)], caught: &[(&Row, String)]) -> String {
    let mut out = String::new();
    out.push_str("# Kill matrix\n\n");
    out.push_str(
        "Generated by `tests/tests/kill_matrix.rs`; do not edit by hand. Regenerate with\n\
         `UPDATE_KILL_MATRIX=1 cargo test -p e2e-tests --test kill_matrix`.\n\n",
    );
    out.push_str(&format!(
        "Each defect of the mock host (`mock-host --list-defects`) is switched on alone and the suite runs\n\
         against it: `conformance run --host mock:defect=NAME --mode MODE --seed {SEED} --cases {CASES}`.\n\
         The run must exit 1 with the checks in *must catch* among the failed ones; *caught by* lists every\n\
         check that failed in the run that wrote this file. Without a defect every check passes, in both\n\
         modes and in an upgrade (`--upgrade-from mock`). Upgrade rows start a clean mock first and the\n\
         defective one on its database; scoped-route rows run the `routes` property alone and sharp-edge\n\
         rows the `edges.*` scenarios alone, so *caught by* lists only what that run checked. Each defect is one commented branch in `mock-host/src` (search for `Defect <name>`).\n\n"
    ));
    out.push_str("| defect | mode | what the host does wrong | caught by | must catch | rule |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for (row, how) in caught {
        let description = defects
            .iter()
            .find(|(name, _)| name == row.defect)
            .map(|(_, d)| d.as_str())
            .unwrap_or_default();
        let must: Vec<String> = row.must_catch.iter().map(|c| c.to_string()).collect();
        let mode = if row.args.is_empty() {
            row.mode.to_string()
        } else {
            format!("{} (`{}`)", row.mode, row.args.join(" "))
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            row.defect,
            mode,
            cell(description),
            cell(how),
            list(&must),
            cell(row.rule)
        ));
    }
    out
}

#[test]
fn every_defect_of_the_mock_host_is_caught_by_a_named_check() {
    let started = Instant::now();
    let admin = admin_database_url();
    let defects = mock_defects();
    let mut problems = Vec::new();

    // The table and the mock agree on the defects.
    for (name, _) in &defects {
        if !MATRIX.iter().any(|r| r.defect == name) {
            problems.push(format!(
                "{name}: a defect of the mock host has no row in the kill matrix"
            ));
        }
    }
    for row in MATRIX {
        if !defects.iter().any(|(name, _)| name == row.defect) {
            problems.push(format!(
                "{}: the kill matrix names a defect the mock host does not have",
                row.defect
            ));
        }
        if row.must_catch.is_empty() {
            problems.push(format!("{}: no check is named to catch it", row.defect));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    let mut jobs = vec![
        Job {
            defect: None,
            mode: LOCAL,
            args: &[],
        },
        Job {
            defect: None,
            mode: AUTH,
            args: &[],
        },
        Job {
            defect: None,
            mode: LOCAL,
            args: UPGRADE,
        },
    ];
    const CLEAN_RUNS: usize = 3;
    jobs.extend(MATRIX.iter().map(|r| Job {
        defect: Some(r.defect),
        mode: r.mode,
        args: r.args,
    }));
    let outcomes = run_all(&jobs, &admin);

    for (job, outcome) in jobs.iter().zip(&outcomes).take(CLEAN_RUNS) {
        if outcome.code != Some(0) || !outcome.failed.is_empty() || outcome.checks == 0 {
            problems.push(format!(
                "no defect ({}{}): expected exit 0 with every check passing, got exit {:?}, failed {:?}: {}",
                job.mode,
                if job.args.is_empty() { String::new() } else { format!(", {}", job.args.join(" ")) },
                outcome.code,
                outcome.failed,
                last_line(&outcome.stderr)
            ));
        }
    }
    let mut caught = Vec::new();
    for (row, outcome) in MATRIX.iter().zip(&outcomes[CLEAN_RUNS..]) {
        match judge(row, outcome) {
            Ok(how) => caught.push((row, how)),
            Err(problem) => {
                problems.push(problem);
                caught.push((row, format!("NOT CAUGHT (exit {:?})", outcome.code)));
            }
        }
    }

    let text = document(&defects, &caught);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/kill-matrix.md");
    if std::env::var("UPDATE_KILL_MATRIX").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &text).expect("writing docs/kill-matrix.md");
        eprintln!("kill matrix: wrote {}", path.display());
    } else {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        // *caught by* is what one run saw: a defect may also trip a check
        // that depends on timing. The committed file must agree on
        // everything else; a failure to catch is a problem of its own above.
        if without_caught_by(&committed) != without_caught_by(&text) {
            problems.push(format!(
                "docs/kill-matrix.md differs from this run; if the change is intended, rerun with \
                 UPDATE_KILL_MATRIX=1 and commit the file. This run found:\n{text}"
            ));
        }
    }
    eprintln!(
        "kill matrix: {} runs in {:.0} s",
        jobs.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
