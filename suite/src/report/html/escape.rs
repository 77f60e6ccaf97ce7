//! Escaping text for HTML: the one way host-controlled text (bodies,
//! headers, messages) enters the page.

use std::borrow::Cow;

/// `text` safe as element content and as a double- or single-quoted
/// attribute value. Everything the page shows goes through here, so a body
/// that contains `</pre><script>` stays text.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// A fragment usable in an `id` and in `href="#…"`: letters, digits, `-`,
/// `_` and `.` kept, everything else `-`.
pub fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_become_entities() {
        assert_eq!(
            escape(r#"</pre><script>alert("x")</script> & 'y'"#),
            "&lt;/pre&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn plain_text_is_borrowed_and_unicode_kept() {
        assert!(matches!(escape("POST /api → 201"), Cow::Borrowed(_)));
        assert_eq!(escape("café ✕ <"), "café ✕ &lt;");
        // An entity in the input is shown as typed, not interpreted.
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }

    #[test]
    fn anchors_keep_only_safe_characters() {
        assert_eq!(anchor("smoke.plugin ready/\"x\""), "smoke.plugin-ready--x-");
    }
}
