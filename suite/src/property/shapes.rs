//! Values that change from run to run, found by their shape in free text
//! (error messages, SQL failures) and replaced by a placeholder, so two
//! hosts' texts compare equal when only those values differ.

/// `text` with every run of `shape` replaced by `placeholder`. In `shape`,
/// `x` stands for a hex digit, `d` for a decimal digit, and any other byte
/// for itself.
pub fn replace_shape(text: &str, shape: &[u8], placeholder: &str) -> String {
    let bytes = text.as_bytes();
    let fits = |at: usize| {
        bytes.len() >= at + shape.len()
            && shape.iter().zip(&bytes[at..]).all(|(s, b)| match s {
                b'x' => b.is_ascii_hexdigit(),
                b'd' => b.is_ascii_digit(),
                other => other == b,
            })
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if fits(i) {
            out.push_str(placeholder);
            i += shape.len();
        } else {
            let ch = text[i..].chars().next().unwrap_or_default();
            out.push(ch);
            i += ch.len_utf8().max(1);
        }
    }
    out
}

/// `text` with every ISO-8601 UTC timestamp (`2026-12-07T04:30:43.774Z`)
/// replaced by `{timestamp}`: query failures list the times they bound.
pub fn without_timestamps(text: &str) -> String {
    replace_shape(text, b"dddd-dd-ddTdd:dd:dd.dddZ", "{timestamp}")
}

/// `text` with every UUID replaced by `{uuid}`.
pub fn without_uuids(text: &str) -> String {
    replace_shape(text, b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "{uuid}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_are_replaced_and_other_text_kept() {
        assert_eq!(
            without_timestamps("p: x,2026-12-07T04:30:43.774Z é"),
            "p: x,{timestamp} é"
        );
        assert_eq!(
            without_uuids("id 0f8fad5b-d9cb-469f-a165-70867728950e, é 0f8fad5b"),
            "id {uuid}, é 0f8fad5b"
        );
    }
}
