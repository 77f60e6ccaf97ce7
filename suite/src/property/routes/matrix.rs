//! The declaration × caller matrix of a run, for the HTML report's picture.
//!
//! Every case that addresses a matrix cell is counted under its declaration
//! (auth × checkoutPolicy × companyResolution) and its caller, with the status
//! the model predicted and the one the host answered. The result goes into
//! the check's `details.matrix`, which the JSON report carries and the mock
//! and real host reports are compared on: it holds only indices, statuses and
//! case counts, all fixed by the seed — no ids, no timings.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::{json, Value};

use super::case::Caller;
use super::fixture::Cell;

/// The callers as matrix columns, in a fixed order; the non-member only
/// exists in authenticated mode. The sweep ([`super::sweep`]) sends every
/// declaration with each of them.
pub fn columns(authenticated: bool) -> Vec<Caller> {
    let mut out = vec![
        Caller::Board,
        Caller::NoCredentials,
        Caller::BogusBearer,
        Caller::MalformedAuthorization,
        Caller::AgentA,
        Caller::AgentB,
        Caller::Assignee,
        Caller::Revoked,
        Caller::Terminated,
    ];
    if authenticated {
        out.push(Caller::NonMember);
    }
    out
}

/// The column heading of a caller: short, since it labels a narrow column.
fn caller_label(caller: Caller) -> &'static str {
    match caller {
        Caller::Board => "board",
        Caller::NoCredentials => "no credentials",
        Caller::BogusBearer => "bogus bearer",
        Caller::MalformedAuthorization => "malformed auth",
        Caller::AgentA => "agent A",
        Caller::AgentB => "agent B",
        Caller::Assignee => "assignee",
        Caller::Revoked => "revoked key",
        Caller::Terminated => "terminated agent",
        Caller::NonMember => "non-member",
    }
}

/// (row, column, expected status, actual status or `None` without an answer).
type Key = (usize, usize, u16, Option<u16>);

/// Counts outcomes per cell as cases run (behind the runner's shared
/// reference, like its other tallies).
pub struct MatrixRecorder {
    rows: Vec<Cell>,
    columns: Vec<Caller>,
    counts: Mutex<BTreeMap<Key, u32>>,
}

impl MatrixRecorder {
    pub fn new(authenticated: bool) -> Self {
        MatrixRecorder {
            rows: Cell::all(),
            columns: columns(authenticated),
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Records one case's predicted and actual status.
    pub fn record(&self, cell: Cell, caller: Caller, expected: u16, actual: Option<u16>) {
        let (Some(row), Some(column)) = (
            self.rows.iter().position(|c| *c == cell),
            self.columns.iter().position(|c| *c == caller),
        ) else {
            return;
        };
        *self
            .counts
            .lock()
            .expect("matrix counts")
            .entry((row, column, expected, actual))
            .or_default() += 1;
    }

    /// `{"dimensions", "rows", "columns", "cells"}`: rows are declarations
    /// split into their three parts, cells one per distinct outcome of a
    /// (row, column) pair, in a fixed order.
    pub fn to_json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|c| json!([c.auth.as_str(), c.checkout.as_str(), c.resolution.as_str()]))
            .collect();
        let columns: Vec<&str> = self.columns.iter().map(|c| caller_label(*c)).collect();
        let cells: Vec<Value> = self
            .counts
            .lock()
            .expect("matrix counts")
            .iter()
            .map(|((row, column, expected, actual), cases)| {
                json!({
                    "row": row,
                    "column": column,
                    "expected": expected,
                    "actual": actual,
                    "cases": cases,
                })
            })
            .collect();
        json!({
            "title": "Route declarations × callers",
            "dimensions": ["auth", "checkoutPolicy", "companyResolution"],
            "rows": rows,
            "columns": columns,
            "cells": cells,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::property::routes::fixture::{Auth, Checkout, Resolution};

    #[test]
    fn outcomes_are_counted_per_cell_and_caller_in_a_fixed_order() {
        let m = MatrixRecorder::new(false);
        let cell = Cell {
            auth: Auth::Agent,
            checkout: Checkout::Always,
            resolution: Resolution::Body,
        };
        m.record(cell, Caller::AgentB, 403, Some(200));
        m.record(cell, Caller::AgentB, 403, Some(200));
        m.record(cell, Caller::Board, 403, Some(403));
        // Not a column outside authenticated mode.
        m.record(cell, Caller::NonMember, 403, Some(403));
        let v = m.to_json();
        assert_eq!(v["rows"].as_array().unwrap().len(), 64);
        assert_eq!(v["columns"].as_array().unwrap().len(), 9);
        let row = Cell::all().iter().position(|c| *c == cell).unwrap();
        assert_eq!(v["rows"][row], json!(["agent", "always-for-agent", "body"]));
        let cells = v["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0]["column"], 0);
        assert_eq!(cells[1]["column"], 5);
        assert_eq!(cells[1]["cases"], 2);
        assert_eq!(cells[1]["actual"], 200);
        assert_eq!(
            MatrixRecorder::new(true).to_json()["columns"][9],
            "non-member"
        );
    }
}
