//! The declaration × caller sweep: every matrix cell with every caller the
//! matrix has a column for, one case each, in every run.
//!
//! Both domains are small (64 declarations, 9 callers, 10 in authenticated
//! mode), so they are enumerated rather than drawn: the two cases per cell of
//! [`super::fixed`] and the random draws reach only about a quarter of the
//! pairs, and a defect that lets one caller through one declaration would go
//! unseen in most runs. Every case is the checked-out issue of company A,
//! named by id, with its checkout run id: the assignee passes every checkout
//! policy with it, the other agents meet the policy (the run is not theirs),
//! and the board and the unverified callers show what becomes of a run id
//! they send. The method turns with the pair, so each declaration is reached
//! under all four of its methods; the assignee's case of a cell is the one
//! [`super::fixed`] already makes for it, so the run sends it once.

use super::case::{Caller, IssueKind, RoutesCase, RunHeader};
use super::fixture::{Cell, METHODS};
use super::matrix::columns;

/// Requests of the sweep in flight at once: route cases change nothing on the
/// host (exec.rs), so their order does not matter; more than this only
/// queues at the host's plugin worker.
pub const IN_FLIGHT: usize = 12;

/// Every declaration with every caller, rows and columns in the matrix's order.
pub fn cases(authenticated: bool) -> Vec<RoutesCase> {
    let callers = columns(authenticated);
    let mut out = Vec::with_capacity(64 * callers.len());
    for (row, cell) in Cell::all().into_iter().enumerate() {
        for (column, caller) in callers.iter().enumerate() {
            // The offset puts the assignee (column 6) on `METHODS[row % 4]`,
            // the method of the cell's assignee case in `fixed`.
            let method = METHODS[(row + column + 2) % METHODS.len()];
            out.push(case(cell, method, *caller));
        }
    }
    out
}

fn case(cell: Cell, method: &'static str, caller: Caller) -> RoutesCase {
    let mut c = RoutesCase::plain(cell, method, caller, IssueKind::CheckedOut);
    c.run = RunHeader::CheckoutRun;
    c
}

/// The reason line's account of the sweep.
pub fn describe(authenticated: bool) -> String {
    let callers = columns(authenticated).len();
    let rows = Cell::all().len();
    format!(
        "declaration × caller sweep: {} cases ({rows} declarations × {callers} callers, every pair)",
        rows * callers
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_declaration_meets_every_caller_once_under_every_method() {
        for authenticated in [false, true] {
            let cases = cases(authenticated);
            let callers = columns(authenticated);
            assert_eq!(cases.len(), 64 * callers.len());
            let pairs: HashSet<_> = cases
                .iter()
                .map(|c| (c.cell().expect("a matrix cell"), format!("{:?}", c.caller)))
                .collect();
            assert_eq!(pairs.len(), cases.len());
            for cell in Cell::all() {
                let methods: HashSet<_> = cases
                    .iter()
                    .filter(|c| c.cell() == Some(cell))
                    .map(|c| match c.target {
                        super::super::case::Target::Cell { method, .. } => method,
                        _ => unreachable!(),
                    })
                    .collect();
                assert_eq!(methods.len(), METHODS.len(), "{}", cell.label());
            }
            // The assignee's cases are the fixed ones: sent once.
            let fixed = super::super::fixed::all(authenticated);
            let shared = cases.iter().filter(|c| fixed.contains(c)).count();
            assert_eq!(shared, 64);
        }
    }
}
