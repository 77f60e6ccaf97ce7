//! The wire-level request of a case and the host's reading of it: which
//! declared route a raw path matches, the decoded params, the parsed query
//! (contract-http.md §4.1 step 6, §4.3, §0 "simple" query parser).
//!
//! [`WireRequest`] is built from a case without any I/O, so the model and
//! the sender work from the same bytes.

use serde_json::{Map, Value};

use super::fixture::Route;

/// One request as it goes on the wire.
#[derive(Debug, Clone)]
pub struct WireRequest {
    pub method: &'static str,
    /// The `:pluginId` segment as sent.
    pub plugin_ref: String,
    /// The path below the mount (`…/api`), raw; empty for the bare mount.
    pub rel_path: String,
    /// The raw query string (without `?`), empty for none.
    pub query: String,
    pub body: WireBody,
    /// Every header sent, in order (names as written).
    pub headers: Vec<(String, String)>,
}

/// The body as sent.
#[derive(Debug, Clone, PartialEq)]
pub enum WireBody {
    None,
    Json(Value),
    Text(&'static str),
}

impl WireRequest {
    /// The path below the base URL.
    pub fn url_path(&self) -> String {
        let mut p = format!("/api/plugins/{}/api{}", self.plugin_ref, self.rel_path);
        if !self.query.is_empty() {
            p.push('?');
            p.push_str(&self.query);
        }
        p
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `req.path` of the scoped mount: `/` for the bare mount.
    pub fn request_path(&self) -> String {
        if self.rel_path.is_empty() {
            "/".to_string()
        } else {
            self.rel_path.clone()
        }
    }
}

/// `decodeURIComponent`: `None` where it throws a `URIError`.
pub fn decode_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The result of matching a request against the declarations.
#[derive(Debug, Clone, PartialEq)]
pub enum Matched<'a> {
    Route(&'a Route, Map<String, Value>),
    /// A param's escape is malformed: `decodeURIComponent` throws outside
    /// the route's try block (§4.1 step 6).
    MalformedEscape,
    None,
}

/// Route match (§4.1 step 6): manifest order, first match wins; the method
/// must be equal; empty segments are dropped on both sides (so `//` and a
/// trailing `/` do not count); segment counts must be equal; literals are
/// compared case-sensitively; params are decoded.
pub fn match_route<'a>(routes: &'a [Route], method: &str, path: &str) -> Matched<'a> {
    let req: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    for route in routes {
        if route.method != method {
            continue;
        }
        let pat: Vec<&str> = route.path.split('/').filter(|s| !s.is_empty()).collect();
        if pat.len() != req.len() {
            continue;
        }
        // Literals first: no fixture route has a param before a literal
        // that a generated path gets wrong, so the order of decoding and
        // comparing cannot show.
        if pat
            .iter()
            .zip(&req)
            .any(|(p, r)| !p.starts_with(':') && p != r)
        {
            continue;
        }
        let mut params = Map::new();
        for (p, r) in pat.iter().zip(&req) {
            if let Some(name) = p.strip_prefix(':') {
                match decode_component(r) {
                    Some(v) => {
                        params.insert(name.to_string(), Value::String(v));
                    }
                    None => return Matched::MalformedEscape,
                }
            }
        }
        return Matched::Route(route, params);
    }
    Matched::None
}

/// `node:querystring` parse as Express' "simple" parser does it: `+` is a
/// space, escapes are decoded leniently, a repeated key makes an array.
pub fn parse_query(q: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for pair in q.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            let s = s.replace('+', " ");
            decode_component(&s).unwrap_or(s)
        };
        let (k, v) = (dec(k), dec(v));
        match out.get_mut(&k) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            Some(existing) => {
                let prev = existing.take();
                *existing = Value::Array(vec![prev, Value::String(v)]);
            }
            None => {
                out.insert(k, Value::String(v));
            }
        }
    }
    out
}

/// `encodeURIComponent`.
pub fn encode_component(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture::routes;
    use super::*;
    use serde_json::json;

    #[test]
    fn first_declared_wins_and_params_decode() {
        let routes = routes();
        let Matched::Route(r, p) = match_route(&routes, "GET", "/x/shadow/literal") else {
            panic!("no match")
        };
        assert_eq!(
            (r.key.as_str(), Value::Object(p)),
            ("shadow.param", json!({"name": "literal"}))
        );
        let Matched::Route(r, _) = match_route(&routes, "GET", "/x/order/literal/") else {
            panic!("no match")
        };
        assert_eq!(r.key, "order.literal");
        let Matched::Route(r, p) = match_route(&routes, "GET", "/x//two/a%20b/%2F") else {
            panic!("no match")
        };
        assert_eq!(
            (r.key.as_str(), Value::Object(p)),
            ("two", json!({"first": "a b", "second": "/"}))
        );
        assert_eq!(
            match_route(&routes, "GET", "/x/two/%zz/b"),
            Matched::MalformedEscape
        );
        assert_eq!(match_route(&routes, "PUT", "/x/two/a/b"), Matched::None);
        assert_eq!(match_route(&routes, "GET", "/X/two/a/b"), Matched::None);
    }

    #[test]
    fn query_like_node() {
        let q = parse_query("a=1&a=2&b=x+y&flag&enc=%41");
        assert_eq!(
            Value::Object(q),
            json!({"a": ["1", "2"], "b": "x y", "flag": "", "enc": "A"})
        );
        assert_eq!(encode_component("{\"a\":1}"), "%7B%22a%22%3A1%7D");
    }
}
