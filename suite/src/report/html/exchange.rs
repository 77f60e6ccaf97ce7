//! An HTTP exchange as plain text for a `<pre>` block: request line,
//! headers, pretty JSON bodies. (The human report prints bodies on one line;
//! a page has room to indent them.)

use serde_json::Value;

use crate::exchange::Exchange;

/// Bodies longer than this are cut: a megabyte echo is not for reading.
const MAX_BODY: usize = 12_000;

/// The exchange as text, unescaped (the page escapes it).
pub fn text(exchange: &Exchange) -> String {
    let request = &exchange.request;
    let mut out = format!("{} {}\n", request.method, request.url);
    for (name, value) in &request.headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    if let Some(body) = &request.body {
        out.push('\n');
        out.push_str(&pretty(body));
        out.push('\n');
    }
    out.push('\n');
    match (&exchange.response, &exchange.error) {
        (Some(response), _) => {
            out.push_str(&format!(
                "→ {} ({} ms)\n",
                response.status, exchange.duration_ms
            ));
            for (name, value) in &response.headers {
                out.push_str(&format!("{name}: {value}\n"));
            }
            let empty = matches!(&response.body, Value::String(s) if s.is_empty());
            if !empty {
                out.push('\n');
                out.push_str(&pretty(&response.body));
                out.push('\n');
            }
        }
        (None, Some(error)) => out.push_str(&format!("→ transport error: {error}\n")),
        (None, None) => out.push_str("→ no response\n"),
    }
    out
}

/// JSON indented (a raw text body as itself), cut at [`MAX_BODY`].
pub fn pretty(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_else(|_| other.to_string()),
    };
    if text.len() <= MAX_BODY {
        return text;
    }
    let mut cut = MAX_BODY;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n… ({} more bytes not shown)",
        &text[..cut],
        text.len() - cut
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::exchange;
    use serde_json::json;

    #[test]
    fn request_and_response_with_pretty_bodies() {
        let t = text(&exchange());
        assert!(t.starts_with("POST http://127.0.0.1:3100/api/plugins/p/api/issues/i/smoke\n"));
        assert!(t.contains("Authorization: Bearer pcp_84…\n"));
        assert!(t.contains("→ 200 (12 ms)\n"));
        assert!(t.contains("{\n  \"error\": \"nope\"\n}"), "{t}");
    }

    #[test]
    fn long_bodies_are_cut_on_a_character_boundary() {
        let long = json!("é".repeat(MAX_BODY));
        let p = pretty(&long);
        assert!(p.len() < MAX_BODY + 100);
        assert!(p.ends_with("more bytes not shown)"));
    }
}
