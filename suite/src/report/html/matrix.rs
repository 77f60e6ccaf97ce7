//! A matrix of outcomes as a picture: rows (e.g. route declarations) against
//! columns (callers), each cell coloured by the status class the host
//! answered, a mismatch with the expected status marked.
//!
//! Rows have several dimensions (auth × checkoutPolicy × companyResolution):
//! the first splits the matrix into panels side by side, the others become
//! label columns whose repeated values span rows. A check provides its
//! matrix as `details.matrix` (see `property/routes/matrix.rs`).

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::Value;

use super::escape::escape;

#[derive(Debug, Clone)]
pub struct Matrix {
    pub title: String,
    /// Names of the row dimensions, outermost first.
    pub dimensions: Vec<String>,
    /// Each row's value per dimension.
    pub rows: Vec<Vec<String>>,
    pub columns: Vec<String>,
    /// Outcomes per (row, column); pairs without any are cells nothing ran in.
    pub outcomes: BTreeMap<(usize, usize), Vec<Outcome>>,
}

/// Cases of one cell that expected one status and got another (or the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub expected: Option<u16>,
    /// `None`: the request got no answer.
    pub actual: Option<u16>,
    pub cases: u32,
}

impl Outcome {
    fn mismatch(&self) -> bool {
        self.expected != self.actual
    }
}

/// The colour classes of the picture, in legend order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    Allowed,
    S401,
    S403,
    S404,
    S409,
    S422,
    S5xx,
    Other,
}

impl Class {
    pub const ALL: [Class; 8] = [
        Class::Allowed,
        Class::S401,
        Class::S403,
        Class::S404,
        Class::S409,
        Class::S422,
        Class::S5xx,
        Class::Other,
    ];

    pub fn of(status: Option<u16>) -> Class {
        match status {
            Some(200..=299) => Class::Allowed,
            Some(401) => Class::S401,
            Some(403) => Class::S403,
            Some(404) => Class::S404,
            Some(409) => Class::S409,
            Some(422) => Class::S422,
            Some(500..=599) => Class::S5xx,
            _ => Class::Other,
        }
    }

    /// The CSS class (`c-…`) and `data-class` value.
    pub fn key(self) -> &'static str {
        match self {
            Class::Allowed => "2xx",
            Class::S401 => "401",
            Class::S403 => "403",
            Class::S404 => "404",
            Class::S409 => "409",
            Class::S422 => "422",
            Class::S5xx => "5xx",
            Class::Other => "other",
        }
    }

    fn legend(self) -> &'static str {
        match self {
            Class::Allowed => "allowed (2xx)",
            Class::S401 => "401 unauthenticated",
            Class::S403 => "403 forbidden",
            Class::S404 => "404 not found",
            Class::S409 => "409 checkout conflict",
            Class::S422 => "422 unprocessable",
            Class::S5xx => "5xx server error",
            Class::Other => "other (400, 413, 415, no answer, …)",
        }
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|xs| {
            xs.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn status(v: &Value) -> Option<u16> {
    v.as_u64().and_then(|n| u16::try_from(n).ok())
}

impl Matrix {
    /// The matrix a check put into its details, if any; a malformed one is
    /// no matrix (the page then simply has no picture for it).
    pub fn from_details(details: &Value) -> Option<Matrix> {
        let m = details.get("matrix")?;
        let rows: Vec<Vec<String>> = m["rows"].as_array()?.iter().map(strings).collect();
        let columns = strings(&m["columns"]);
        if rows.is_empty() || columns.is_empty() {
            return None;
        }
        let mut outcomes: BTreeMap<(usize, usize), Vec<Outcome>> = BTreeMap::new();
        for cell in m["cells"].as_array()? {
            let (Some(row), Some(column)) = (cell["row"].as_u64(), cell["column"].as_u64()) else {
                continue;
            };
            let (row, column) = (row as usize, column as usize);
            if row >= rows.len() || column >= columns.len() {
                continue;
            }
            outcomes.entry((row, column)).or_default().push(Outcome {
                expected: status(&cell["expected"]),
                actual: status(&cell["actual"]),
                cases: cell["cases"].as_u64().unwrap_or(1) as u32,
            });
        }
        Some(Matrix {
            title: m["title"].as_str().unwrap_or("Outcomes").to_string(),
            dimensions: strings(&m["dimensions"]),
            rows,
            columns,
            outcomes,
        })
    }

    /// Cells with at least one case whose status was not the expected one.
    pub fn mismatched_cells(&self) -> usize {
        self.outcomes
            .values()
            .filter(|os| os.iter().any(Outcome::mismatch))
            .count()
    }

    fn row_label(&self, row: usize) -> String {
        self.rows[row].join(" / ")
    }
}

/// Writes the matrix section's body: a one-line summary, the legend and the
/// panels.
pub fn render(m: &Matrix, out: &mut String) {
    let ran = m.outcomes.len();
    let total = m.rows.len() * m.columns.len();
    let mismatched = m.mismatched_cells();
    let _ = write!(
        out,
        r#"<p class="matrix-summary" data-cells="{total}" data-ran="{ran}" data-mismatched="{mismatched}">{ran} of {total} cells ran; <strong class="{}">{mismatched} with a status other than expected</strong>.</p>"#,
        if mismatched > 0 {
            "bad-text"
        } else {
            "good-text"
        }
    );
    legend(m, out);
    out.push_str(r#"<div class="panels">"#);
    // Panels: consecutive rows sharing the first dimension's value.
    let multi = m.dimensions.len() > 1 && m.rows.iter().all(|r| r.len() > 1);
    let mut start = 0;
    while start < m.rows.len() {
        let key = if multi {
            m.rows[start][0].clone()
        } else {
            String::new()
        };
        let mut end = start + 1;
        while multi && end < m.rows.len() && m.rows[end][0] == key {
            end += 1;
        }
        panel(m, start..end, multi, out);
        start = end;
    }
    out.push_str("</div>");
}

fn legend(m: &Matrix, out: &mut String) {
    let mut cases_per_class: BTreeMap<Class, u32> = BTreeMap::new();
    for o in m.outcomes.values().flatten() {
        *cases_per_class.entry(Class::of(o.actual)).or_default() += o.cases;
    }
    out.push_str(r#"<ul class="legend">"#);
    for class in Class::ALL {
        let _ = write!(
            out,
            r#"<li data-class="{key}"><span class="swatch c-{key}"></span>{} <span class="n">{}</span></li>"#,
            class.legend(),
            cases_per_class.get(&class).copied().unwrap_or(0),
            key = class.key(),
        );
    }
    out.push_str(
        r#"<li><span class="swatch mismatch-swatch"></span>expected another status</li><li><span class="swatch c-none"></span>no case ran</li></ul>"#,
    );
}

fn panel(m: &Matrix, rows: std::ops::Range<usize>, multi: bool, out: &mut String) {
    // Label columns: every dimension but the panel's.
    let skip = usize::from(multi);
    let label_dims: Vec<String> = if m.dimensions.len() == m.rows[rows.start].len() {
        m.dimensions[skip..].to_vec()
    } else {
        vec![String::new(); m.rows[rows.start].len() - skip]
    };
    out.push_str(r#"<figure class="panel">"#);
    if multi {
        let _ = write!(
            out,
            r#"<figcaption><span class="dim">{}</span> {}</figcaption>"#,
            escape(&m.dimensions[0]),
            escape(&m.rows[rows.start][0])
        );
    }
    out.push_str(r#"<table class="matrix"><thead><tr>"#);
    for d in &label_dims {
        let _ = write!(out, r#"<th class="dimh">{}</th>"#, escape(d));
    }
    for c in &m.columns {
        let _ = write!(
            out,
            r#"<th class="colh" title="{c}"><span>{c}</span></th>"#,
            c = escape(c)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows.clone() {
        let parts = &m.rows[row][skip..];
        // A group boundary on the first label column gets a thicker line.
        let starts_group = row == rows.start || m.rows[row - 1][skip] != parts[0];
        let _ = write!(
            out,
            r#"<tr{}>"#,
            if starts_group {
                r#" class="group""#
            } else {
                ""
            }
        );
        for (j, part) in parts.iter().enumerate() {
            // Spans: a label repeats the one above it → covered by its rowspan.
            let same_prefix = |r: usize| m.rows[r][..=skip + j] == m.rows[row][..=skip + j];
            if row > rows.start && j + 1 < parts.len() && same_prefix(row - 1) {
                continue;
            }
            let span = if j + 1 < parts.len() {
                (row..rows.end).take_while(|r| same_prefix(*r)).count()
            } else {
                1
            };
            let _ = write!(
                out,
                r#"<th class="rowh{}"{}>{}</th>"#,
                if j + 1 < parts.len() { " outer" } else { "" },
                if span > 1 {
                    format!(r#" rowspan="{span}""#)
                } else {
                    String::new()
                },
                escape(part)
            );
        }
        for column in 0..m.columns.len() {
            cell(m, row, column, out);
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></figure>");
}

fn join(statuses: impl Iterator<Item = Option<u16>>) -> Vec<String> {
    let mut v: Vec<String> = statuses
        .map(|s| s.map_or_else(|| "none".to_string(), |s| s.to_string()))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn cell(m: &Matrix, row: usize, column: usize, out: &mut String) {
    let label = m.row_label(row);
    let caller = &m.columns[column];
    let Some(outcomes) = m.outcomes.get(&(row, column)) else {
        let _ = write!(
            out,
            r#"<td class="m c-none" data-row="{r}" data-col="{c}" data-cases="0" data-mismatch="false" title="{r} × {c}: no case ran"></td>"#,
            r = escape(&label),
            c = escape(caller)
        );
        return;
    };
    let cases: u32 = outcomes.iter().map(|o| o.cases).sum();
    let mismatch = outcomes.iter().any(Outcome::mismatch);
    let expected = join(outcomes.iter().map(|o| o.expected));
    let actual = join(outcomes.iter().map(|o| o.actual));
    // The colour is the class most cases got; a cell whose cases got
    // several classes is split into stripes, one per class.
    let mut per_class: BTreeMap<Class, u32> = BTreeMap::new();
    for o in outcomes {
        *per_class.entry(Class::of(o.actual)).or_default() += o.cases;
    }
    let main = per_class
        .iter()
        .max_by_key(|(class, n)| (**n, std::cmp::Reverse(**class)))
        .map_or(Class::Other, |(c, _)| *c);
    let style = if per_class.len() > 1 {
        let n = per_class.len();
        let stops: Vec<String> = per_class
            .keys()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "var(--c-{k}) {a}% {b}%",
                    k = c.key(),
                    a = i * 100 / n,
                    b = (i + 1) * 100 / n
                )
            })
            .collect();
        format!(
            r#" style="background:linear-gradient(90deg,{})""#,
            stops.join(",")
        )
    } else {
        String::new()
    };
    let mut tip = format!("{label} × {caller}: {cases} case{}", plural(cases));
    for o in outcomes {
        let show = |s: Option<u16>| s.map_or_else(|| "no answer".to_string(), |s| s.to_string());
        let _ = write!(
            tip,
            "\n{} {}, got {} ({} case{})",
            if o.mismatch() {
                "✕ expected"
            } else {
                "expected"
            },
            show(o.expected),
            show(o.actual),
            o.cases,
            plural(o.cases)
        );
    }
    let text = match actual.as_slice() {
        [one] => one.clone(),
        [first, ..] => format!("{first}+"),
        [] => String::new(),
    };
    let _ = write!(
        out,
        r#"<td class="m c-{class}{mm}"{style} data-row="{r}" data-col="{c}" data-class="{class}" data-expected="{e}" data-actual="{a}" data-cases="{cases}" data-mismatch="{mismatch}" title="{tip}">{text}</td>"#,
        class = main.key(),
        mm = if mismatch { " mismatch" } else { "" },
        r = escape(&label),
        c = escape(caller),
        e = expected.join(" "),
        a = actual.join(" "),
        tip = escape(&tip),
        text = escape(&text),
    );
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Matrix {
        Matrix::from_details(&json!({"matrix": {
        "title": "Declarations × callers",
        "dimensions": ["auth", "checkoutPolicy", "companyResolution"],
        "rows": [["board", "none", "issue"], ["board", "none", "body"],
                 ["agent", "always", "issue"], ["agent", "always", "<b>"]],
        "columns": ["board", "agent B"],
        "cells": [
            {"row": 0, "column": 0, "expected": 200, "actual": 200, "cases": 2},
            {"row": 0, "column": 1, "expected": 403, "actual": 200, "cases": 1},
            {"row": 2, "column": 1, "expected": 403, "actual": 403, "cases": 1},
            {"row": 2, "column": 1, "expected": 409, "actual": 409, "cases": 3},
            {"row": 3, "column": 0, "expected": 200, "actual": null, "cases": 1},
            {"row": 9, "column": 0, "expected": 200, "actual": 200, "cases": 1}
        ]}}))
        .expect("a matrix")
    }

    #[test]
    fn statuses_fall_into_the_legend_classes() {
        assert_eq!(Class::of(Some(204)), Class::Allowed);
        assert_eq!(Class::of(Some(409)), Class::S409);
        assert_eq!(Class::of(Some(502)), Class::S5xx);
        assert_eq!(Class::of(Some(413)), Class::Other);
        assert_eq!(Class::of(None), Class::Other);
    }

    #[test]
    fn every_row_and_column_gets_a_cell_and_mismatches_are_marked() {
        let m = sample();
        assert_eq!(m.outcomes.len(), 4, "the out-of-range cell is dropped");
        // 403 answered 200, and 200 not answered at all.
        assert_eq!(m.mismatched_cells(), 2);
        let mut html = String::new();
        render(&m, &mut html);
        assert_eq!(html.matches(r#"<td class="m "#).count(), 8);
        assert_eq!(html.matches("data-mismatch=\"true\"").count(), 2);
        assert!(html.contains(r#"class="m c-2xx mismatch""#));
        assert!(html.contains("✕ expected 403, got 200 (1 case)"));
        // Two panels (board, agent), the checkout policy spanning two rows.
        assert_eq!(html.matches(r#"<figure class="panel">"#).count(), 2);
        assert!(html.contains(r#"rowspan="2">none</th>"#));
        // Several classes in one cell: stripes, one per class.
        assert!(html.contains("linear-gradient(90deg,var(--c-403) 0% 50%,var(--c-409) 50% 100%)"));
        assert!(html.contains(r#"data-actual="403 409""#));
        // Row labels are escaped; a missing answer is its own value.
        assert!(html.contains("&lt;b&gt;"));
        assert!(!html.contains("<b>"));
        assert!(html.contains(r#"data-actual="none""#));
    }

    #[test]
    fn a_check_without_a_matrix_has_none() {
        assert!(Matrix::from_details(&json!({"skipped_steps": []})).is_none());
        assert!(Matrix::from_details(&json!({"matrix": {"rows": []}})).is_none());
    }
}
