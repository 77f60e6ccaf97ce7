//! Comparing two runs' reports check by check.
//!
//! Two hosts can only be compared after the values that differ by nature
//! are normalised: ids (UUIDs), issue identifiers (`CON-12`), timestamps and
//! durations. What remains — statuses, error texts, body shapes, row values —
//! must be equal. Arrays of rows are compared as multisets, because row order
//! without an `ORDER BY` on unique values is not part of any contract.
//!
//! Also normalised: run directories (`/tmp/conformance-run-…`), issue
//! numbers (allocated in whatever order concurrent checks create issues).
//! Not compared: `GET /api/health`, whose body identifies the host.
//! Host-service answers recorded in a check's details are compared call by
//! call (`crate::answers`).
//!
//! Bodies under `/api/plugins/` — the plugin host API under test — must be
//! equal. Core REST answers that checks use as fixtures (agents, issues,
//! heartbeat runs) may omit fields on the right-hand side, but every field it
//! returns must equal the left-hand one (the mock host returns the fields the
//! contract inspects, not the real host's whole objects).

use serde_json::{Map, Value};

/// Differences between two reports, one line each; empty when they agree.
pub fn compare_reports(
    left_name: &str,
    left: &Value,
    right_name: &str,
    right: &Value,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let checks = |r: &Value| -> Vec<Value> { r["checks"].as_array().cloned().unwrap_or_default() };
    let (l, r) = (checks(left), checks(right));
    for lc in &l {
        let id = lc["id"].as_str().unwrap_or_default();
        let Some(rc) = r.iter().find(|c| c["id"] == lc["id"]) else {
            diffs.push(format!("{id}: only in {left_name}"));
            continue;
        };
        if lc["status"] != rc["status"] {
            diffs.push(format!(
                "{id}: status {left_name}={} {right_name}={}",
                lc["status"], rc["status"]
            ));
            continue;
        }
        let responses = |c: &Value| -> Vec<Value> {
            c["exchanges"]
                .as_array()
                .map(|xs| {
                    xs.iter()
                        .filter(|x| !x["request"]["url"].as_str().unwrap_or_default().ends_with("/api/health"))
                        .map(|x| {
                            serde_json::json!({
                                "request": format!("{} {}", x["request"]["method"].as_str().unwrap_or(""), path_of(x["request"]["url"].as_str().unwrap_or(""))),
                                "status": x["response"]["status"],
                                "body": normalize(&data_answers_as_types(id, &x["response"]["body"])),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let (lx, rx) = (responses(lc), responses(rc));
        if lx.len() != rx.len() {
            diffs.push(format!(
                "{id}: {} exchanges in {left_name}, {} in {right_name}",
                lx.len(),
                rx.len()
            ));
        }
        for (i, (a, b)) in lx.iter().zip(&rx).enumerate() {
            let plugin_api = a["request"]
                .as_str()
                .unwrap_or_default()
                .contains(" /api/plugins/");
            let difference = if plugin_api {
                first_difference(a, b, String::new())
            } else {
                first_difference_subset(a, b, String::new())
            };
            if let Some((path, x, y)) = difference {
                diffs.push(format!(
                    "{id}: exchange {i} ({}) at {path}: {left_name}={x} {right_name}={y}",
                    a["request"].as_str().unwrap_or_default()
                ));
            }
        }
        let rows = |c: &Value| -> Vec<Value> {
            c["rows"]
                .as_array()
                .map(|xs| xs.iter().map(|x| sorted(normalize(&x["rows"]))).collect())
                .unwrap_or_default()
        };
        let (lr, rr) = (rows(lc), rows(rc));
        for (i, (a, b)) in lr.iter().zip(&rr).enumerate() {
            if let Some((path, x, y)) = first_difference(a, b, String::new()) {
                diffs.push(format!(
                    "{id}: rows of sql step {i} at {path}: {left_name}={x} {right_name}={y}"
                ));
            }
        }
        if lr.len() != rr.len() {
            diffs.push(format!(
                "{id}: {} sql steps in {left_name}, {} in {right_name}",
                lr.len(),
                rr.len()
            ));
        }
        diffs.extend(crate::answers::answer_differences(
            id, left_name, lc, right_name, rc,
        ));
    }
    for rc in &r {
        if !l.iter().any(|c| c["id"] == rc["id"]) {
            diffs.push(format!(
                "{}: only in {right_name}",
                rc["id"].as_str().unwrap_or_default()
            ));
        }
    }
    diffs
}

/// `host-methods` answers each host call with its result (`{ok}`) or its
/// error. The results are data of the moment — `companies.list` sees the
/// companies and issue counters the checks running beside it have made so
/// far — and the check itself compares only codes and messages, so here a
/// result is compared by its JSON type; errors stay exact.
fn data_answers_as_types(check: &str, body: &Value) -> Value {
    let mut body = body.clone();
    if check != "host-methods" {
        return body;
    }
    let type_of = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let as_type = |answer: &mut Value| {
        if let Some(ok) = answer.get_mut("ok") {
            *ok = Value::String(format!("<{}>", type_of(ok)));
        }
    };
    if let Some(Value::Array(list)) = body.get_mut("answers") {
        list.iter_mut().for_each(as_type);
    } else {
        as_type(&mut body);
    }
    body
}

fn path_of(url: &str) -> String {
    // Drop scheme, host and port: the two hosts listen on different ports.
    match url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
    {
        Some(start) => normalize_str(&url[start..]),
        None => url.to_string(),
    }
}

/// The JSON pointer of the first place where `a` and `b` differ, with the
/// two values there (a missing key shows as `<absent>`).
pub fn first_difference(a: &Value, b: &Value, path: String) -> Option<(String, String, String)> {
    let cut = |v: &Value| {
        let t = v.to_string();
        match t.char_indices().nth(160) {
            Some((i, _)) => format!("{}…", &t[..i]),
            None => t,
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, v) in x {
                let p = format!("{path}/{k}");
                match y.get(k) {
                    Some(w) => {
                        if let Some(d) = first_difference(v, w, p) {
                            return Some(d);
                        }
                    }
                    None => return Some((p, cut(v), "<absent>".into())),
                }
            }
            y.iter()
                .find(|(k, _)| !x.contains_key(*k))
                .map(|(k, w)| (format!("{path}/{k}"), "<absent>".into(), cut(w)))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, format!("{path}/{i}"))),
        _ if a == b => None,
        _ => Some((
            if path.is_empty() { "/".into() } else { path },
            cut(a),
            cut(b),
        )),
    }
}

/// Like [`first_difference`], but keys missing from `b`'s objects are fine.
pub fn first_difference_subset(
    a: &Value,
    b: &Value,
    path: String,
) -> Option<(String, String, String)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => y.iter().find_map(|(k, w)| match x.get(k) {
            Some(v) => first_difference_subset(v, w, format!("{path}/{k}")),
            None => Some((format!("{path}/{k}"), "<absent>".into(), w.to_string())),
        }),
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference_subset(v, w, format!("{path}/{i}"))),
        _ => first_difference(a, b, path),
    }
}

/// Replaces run-specific values with placeholders.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(normalize_str(s)),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let value = match k.as_str() {
                    "issueNumber" | "issue_number" if v.is_number() => Value::String("<n>".into()),
                    _ => normalize(v),
                };
                out.insert(k.clone(), value);
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

fn normalize_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        // Both ends on char boundaries before slicing: the text may hold
        // multi-byte characters (`…` in clipped messages).
        if i + 36 <= s.len()
            && s.is_char_boundary(i + 36)
            && uuid::Uuid::parse_str(&s[i..i + 36]).is_ok()
        {
            out.push_str("<uuid>");
            i += 36;
            continue;
        }
        let c = s[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    let out = normalize_embedded_times(&normalize_nonce(&normalize_run_dirs(&out)));
    if let Some(namespace) = normalize_namespace(&out) {
        return namespace;
    }
    // User ids of authenticated hosts: 32 random alphanumerics.
    if out.len() == 32 && out.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return "<user-id>".into();
    }
    if is_timestamp(&out) {
        return "<time>".into();
    }
    if is_identifier(&out) {
        return "<identifier>".into();
    }
    out
}

/// Fixture agent names end in the scenario's nonce: `… worker 1bb39462`,
/// and so do the URL keys hosts derive from them (`…-worker-1bb39462`) and
/// the keys of generated fixture plugins, also inside paths and messages
/// (`/api/plugins/conformance.host-call-all-capabilities-df57a0ca/api/call`).
fn normalize_nonce(s: &str) -> String {
    let is_nonce = |t: &str| {
        t.len() == 8
            && t.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    if let Some((head, tail)) = s.rsplit_once(' ') {
        if is_nonce(tail) {
            return format!("{head} <nonce>");
        }
    }
    // `-` + eight lower-case hex digits, not followed by more of a word.
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('-') {
        let (before, after) = rest.split_at(pos + 1);
        out.push_str(before);
        let candidate = after.get(..8).unwrap_or("");
        let next = after[candidate.len()..].chars().next();
        if is_nonce(candidate) && !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            out.push_str("<nonce>");
            rest = &after[8..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// `/tmp/conformance-run-AbC123/plugins/x` → `<run-dir>/plugins/x`.
fn normalize_run_dirs(s: &str) -> String {
    const MARK: &str = "/conformance-run-";
    let mut out = String::new();
    let mut rest = s;
    while let Some(pos) = rest.find(MARK) {
        let start = rest[..pos]
            .rfind(|c: char| c == '"' || c.is_whitespace())
            .map(|i| i + 1)
            .unwrap_or(0);
        out.push_str(&rest[..start]);
        out.push_str("<run-dir>");
        let tail = &rest[pos + MARK.len()..];
        let end = tail.find('/').unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// JS ISO timestamps inside a longer text (`…\nparams: …,2026-12-07T05:28:26.794Z`)
/// become `<time>`; a whole-string timestamp is handled by [`is_timestamp`].
fn normalize_embedded_times(s: &str) -> String {
    const LEN: usize = "2026-12-07T05:28:26.794Z".len();
    let is_iso = |t: &[u8]| {
        t.len() == LEN
            && t.iter().enumerate().all(|(i, &b)| match i {
                4 | 7 => b == b'-',
                10 => b == b'T',
                13 | 16 => b == b':',
                19 => b == b'.',
                23 => b == b'Z',
                _ => b.is_ascii_digit(),
            })
    };
    if s.len() <= LEN {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if i + LEN <= s.len() && is_iso(&bytes[i..i + LEN]) {
            out.push_str("<time>");
            i += LEN;
            continue;
        }
        let c = s[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// A plugin namespace (`plugin_<slug>_<10 hex of the key's hash>`): the
/// hash follows the plugin key, which carries a per-run nonce for
/// generated fixtures.
fn normalize_namespace(s: &str) -> Option<String> {
    let rest = s.strip_prefix("plugin_")?;
    let (slug, hash) = rest.rsplit_once('_')?;
    let hex = hash.len() == 10
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    (hex && !slug.is_empty()).then(|| format!("plugin_{slug}_<hash>"))
}

fn is_timestamp(s: &str) -> bool {
    // 2026-11-25T06:27:15.431Z, 2026-11-25 06:27:15.431+00, …
    s.len() >= 19
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && (s.as_bytes()[10] == b'T' || s.as_bytes()[10] == b' ')
        && s.as_bytes()[13] == b':'
        && s[..4].bytes().all(|b| b.is_ascii_digit())
}

fn is_identifier(s: &str) -> bool {
    match s.split_once('-') {
        Some((prefix, n)) => {
            !prefix.is_empty()
                && prefix.bytes().all(|b| b.is_ascii_uppercase())
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// Sorts arrays (recursively) so that order does not matter.
fn sorted(value: Value) -> Value {
    match value {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.into_iter().map(sorted).collect();
            items.sort_by_key(|v| v.to_string());
            Value::Array(items)
        }
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, sorted(v))).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_with_multi_byte_characters_is_normalised_without_panicking() {
        let text = format!("{}… (209 characters)", "x".repeat(34));
        assert_eq!(normalize_str(&text), text);
    }

    #[test]
    fn ids_times_and_identifiers_are_normalised() {
        let v = json!({"id": "0eed70df-2801-4e56-ad75-4233591f97b8", "at": "2026-11-25T06:27:15.431Z",
                       "identifier": "CON-12", "code": "plugin-smoke:0eed70df-2801-4e56-ad75-4233591f97b8", "n": 3});
        assert_eq!(
            normalize(&v),
            json!({"id": "<uuid>", "at": "<time>", "identifier": "<identifier>", "code": "plugin-smoke:<uuid>", "n": 3})
        );
        assert_eq!(
            normalize(&json!({"issueNumber": 62, "path": "/tmp/conformance-run-oJbX7g/plugins/x"})),
            json!({"issueNumber": "<n>", "path": "<run-dir>/plugins/x"})
        );
    }

    #[test]
    fn reports_that_differ_are_reported_and_equal_ones_are_not() {
        let report = |status: u16, error: &str| {
            json!({"checks": [{"id": "x", "status": "passed", "exchanges": [
                {"request": {"method": "GET", "url": "http://127.0.0.1:1/api/a"}, "response": {"status": status, "body": {"error": error}}}
            ], "rows": [{"step": "s", "rows": [{"a": 1}, {"a": 2}]}]}]})
        };
        assert!(compare_reports(
            "real",
            &report(404, "Plugin not found"),
            "mock",
            &report(404, "Plugin not found")
        )
        .is_empty());
        let diffs = compare_reports(
            "real",
            &report(404, "Plugin not found"),
            "mock",
            &report(503, "x"),
        );
        assert_eq!(diffs.len(), 1, "{diffs:?}");
        assert!(diffs[0].contains("exchange 0"), "{diffs:?}");
    }

    #[test]
    fn nonces_are_normalized_at_the_end_and_inside_paths() {
        assert_eq!(
            normalize_nonce("scope worker 1bb39462"),
            "scope worker <nonce>"
        );
        assert_eq!(
            normalize_nonce("scope-worker-1bb39462"),
            "scope-worker-<nonce>"
        );
        assert_eq!(
            normalize_nonce(
                "POST /api/plugins/conformance.host-call-all-capabilities-df57a0ca/api/call"
            ),
            "POST /api/plugins/conformance.host-call-all-capabilities-<nonce>/api/call"
        );
        assert_eq!(
            normalize_nonce("Plugin \"conformance.host-call-none-0a1b2c3d\" is missing"),
            "Plugin \"conformance.host-call-none-<nonce>\" is missing"
        );
        // Longer hex runs and words are left alone.
        assert_eq!(normalize_nonce("x-0a1b2c3d4e"), "x-0a1b2c3d4e");
        assert_eq!(normalize_nonce("route-matrix"), "route-matrix");
    }

    #[test]
    fn embedded_times_and_namespace_hashes_are_normalized() {
        assert_eq!(
            normalize_str("Failed query: x\nparams: a,,default,2026-12-07T05:28:26.794Z,2026-12-07T05:28:26.794Z"),
            "Failed query: x\nparams: a,,default,<time>,<time>"
        );
        assert_eq!(
            normalize_str("plugin_host_call_76944f61ae"),
            "plugin_host_call_<hash>"
        );
        assert_eq!(normalize_str("plugin_host_call"), "plugin_host_call");
    }
}
