//! What the real host's HTTP stack does before any of its routes run:
//! Node's request parser refuses method names it does not know, and
//! Express matches mount paths without regard to case.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::Defect;
use crate::host::AppState;

/// The method names Node's HTTP parser accepts (llhttp), upper case only:
/// any other spelling (`get`, `FOO`) never reaches a route.
const NODE_METHODS: &[&str] = &[
    "ACL",
    "BIND",
    "CHECKOUT",
    "CONNECT",
    "COPY",
    "DELETE",
    "GET",
    "HEAD",
    "LINK",
    "LOCK",
    "M-SEARCH",
    "MERGE",
    "MKACTIVITY",
    "MKCALENDAR",
    "MKCOL",
    "MOVE",
    "NOTIFY",
    "OPTIONS",
    "PATCH",
    "POST",
    "PROPFIND",
    "PROPPATCH",
    "PURGE",
    "PUT",
    "QUERY",
    "REBIND",
    "REPORT",
    "SEARCH",
    "SOURCE",
    "SUBSCRIBE",
    "TRACE",
    "UNBIND",
    "UNLINK",
    "UNLOCK",
    "UNSUBSCRIBE",
];

/// Runs before routing (the router is wrapped, see `http::app`).
pub async fn before_routing(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let defects = &state.config.defects;
    let upper = req.method().as_str().to_ascii_uppercase();
    if defects.has(Defect::LenientMethods) && NODE_METHODS.contains(&upper.as_str()) {
        // Defect lenient-methods: `get` is served as GET.
        if let Ok(method) = Method::from_bytes(upper.as_bytes()) {
            *req.method_mut() = method;
        }
    }
    if !NODE_METHODS.contains(&req.method().as_str()) {
        // Node answers a parse error with a bare 400 and closes.
        let mut res = StatusCode::BAD_REQUEST.into_response();
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return res;
    }
    // Defect mount-case-sensitive: the mount only in lower case.
    let lowered = (!defects.has(Defect::MountCaseSensitive))
        .then(|| scoped_mount_lowercased(req.uri()))
        .flatten();
    if let Some(uri) = lowered {
        *req.uri_mut() = uri;
    }
    next.run(req).await
}

/// `/API/PLUGINS/<id>/API/rest` → `/api/plugins/<id>/api/rest`: the mounts
/// (`/api`, `/plugins/:pluginId/api`) match in any case; the plugin id and
/// the rest of the path keep theirs (routes compare them exactly).
fn scoped_mount_lowercased(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    let mut parts = path.splitn(5, '/');
    let (empty, api, plugins, id) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let inner = parts.next();
    let mount = inner.map(|rest| rest.split('/').next().unwrap_or(rest));
    let is_scoped = empty.is_empty()
        && api.eq_ignore_ascii_case("api")
        && plugins.eq_ignore_ascii_case("plugins")
        && mount.is_some_and(|m| m.eq_ignore_ascii_case("api"));
    let already = api == "api" && plugins == "plugins" && mount == Some("api");
    if !is_scoped || already {
        return None;
    }
    let rest = &inner?[3..];
    let mut text = format!("/api/plugins/{id}/api{rest}");
    if let Some(q) = uri.query() {
        text.push('?');
        text.push_str(q);
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lowered(path: &str) -> Option<String> {
        scoped_mount_lowercased(&path.parse().unwrap()).map(|u| u.to_string())
    }

    #[test]
    fn only_the_mounts_lose_their_case() {
        assert_eq!(
            lowered("/API/Plugins/My.Key/Api/Issues/X?q=A").as_deref(),
            Some("/api/plugins/My.Key/api/Issues/X?q=A")
        );
        assert_eq!(
            lowered("/API/PLUGINS/k/API").as_deref(),
            Some("/api/plugins/k/api")
        );
        assert_eq!(lowered("/api/plugins/k/api/x"), None);
        assert_eq!(lowered("/API/PLUGINS/k/apix/y"), None);
        assert_eq!(lowered("/API/ISSUES/x"), None);
    }
}
