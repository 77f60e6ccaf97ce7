//! Manifest validation with the rules and messages of contract-http.md
//! §3.5/§3.6 (zod's wording), stripping the keys zod would drop.

use serde_json::{Map, Value};

use super::vocabulary::{
    id_re, path_re, route_key_re, slug_re, CAPABILITIES, CATEGORIES, CORE_READ_TABLES, ROUTE_KEYS,
    TOP_LEVEL,
};

struct Issues(Vec<(String, String)>);

impl Issues {
    fn add(&mut self, path: &str, msg: impl Into<String>) {
        self.0.push((path.to_string(), msg.into()));
    }
}

fn check_str(m: &Map<String, Value>, key: &str, min: usize, max: usize, iss: &mut Issues) {
    match m.get(key) {
        None => iss.add(key, "Required"),
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n < min {
                iss.add(
                    key,
                    format!("String must contain at least {min} character(s)"),
                );
            } else if n > max {
                iss.add(
                    key,
                    format!("String must contain at most {max} character(s)"),
                );
            }
        }
        Some(_) => iss.add(key, "Expected string"),
    }
}

fn string_list<'a>(m: &'a Map<String, Value>, key: &str) -> Vec<&'a str> {
    m.get(key)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// Validates a manifest; returns it with unknown top-level and route keys
/// stripped (as zod parsing does), or the install error message.
pub fn validate(manifest: &Value) -> std::result::Result<Value, String> {
    validate_with(manifest, &[])
}

/// [`validate`], also taking the capabilities a later release added
/// (`Plays::added_capabilities`).
pub fn validate_with(
    manifest: &Value,
    added_capabilities: &[&str],
) -> std::result::Result<Value, String> {
    let Some(m) = manifest.as_object() else {
        return Err("Invalid plugin manifest: : Expected object, received array".into());
    };
    let mut iss = Issues(Vec::new());
    match m.get("id").and_then(Value::as_str) {
        None => iss.add("id", "Required"),
        Some(id) if !id_re().is_match(id) => iss.add("id", "Invalid"),
        _ => {}
    }
    if m.get("apiVersion") != Some(&Value::from(1)) {
        iss.add("apiVersion", "Invalid literal value, expected 1");
    }
    match m.get("version").and_then(Value::as_str) {
        None => iss.add("version", "Required"),
        Some(v) if semver::Version::parse(v).is_err() => iss.add("version", "Invalid"),
        _ => {}
    }
    check_str(m, "displayName", 1, 100, &mut iss);
    check_str(m, "description", 1, 500, &mut iss);
    check_str(m, "author", 1, 200, &mut iss);
    match m.get("categories").and_then(Value::as_array) {
        None => iss.add("categories", "Required"),
        Some(a) if a.is_empty() => {
            iss.add("categories", "Array must contain at least 1 element(s)")
        }
        Some(a) => {
            for (i, c) in a.iter().enumerate() {
                if !c.as_str().is_some_and(|c| CATEGORIES.contains(&c)) {
                    iss.add(&format!("categories.{i}"), "Invalid enum value. Expected 'connector' | 'workspace' | 'automation' | 'ui'");
                }
            }
        }
    }
    let caps = string_list(m, "capabilities");
    match m.get("capabilities").and_then(Value::as_array) {
        None => iss.add("capabilities", "Required"),
        Some(a) if a.is_empty() => {
            iss.add("capabilities", "Array must contain at least 1 element(s)")
        }
        Some(a) => {
            for (i, c) in a.iter().enumerate() {
                let known = |c: &str| CAPABILITIES.contains(&c) || added_capabilities.contains(&c);
                if !c.as_str().is_some_and(known) {
                    iss.add(&format!("capabilities.{i}"), "Invalid enum value");
                }
            }
        }
    }
    match m.get("entrypoints").and_then(Value::as_object) {
        None => iss.add("entrypoints", "Required"),
        Some(e) => match e.get("worker").and_then(Value::as_str) {
            Some(w) if !w.is_empty() => {}
            Some(_) => iss.add(
                "entrypoints.worker",
                "String must contain at least 1 character(s)",
            ),
            None => iss.add("entrypoints.worker", "Required"),
        },
    }
    for key in ["minimumHostVersion", "minimumPaperclipVersion"] {
        if let Some(v) = m.get(key) {
            if v.as_str()
                .is_none_or(|s| semver::Version::parse(s).is_err())
            {
                iss.add(key, "Invalid");
            }
        }
    }
    if let (Some(a), Some(b)) = (
        m.get("minimumHostVersion"),
        m.get("minimumPaperclipVersion"),
    ) {
        if a != b {
            iss.add(
                "minimumHostVersion",
                "minimumHostVersion and minimumPaperclipVersion must match when both are provided",
            );
        }
    }
    if let Some(db) = m.get("database") {
        match db.as_object() {
            None => iss.add("database", "Expected object"),
            Some(db) => {
                if let Some(sl) = db.get("namespaceSlug") {
                    if !sl
                        .as_str()
                        .is_some_and(|s| slug_re().is_match(s) && s.len() <= 40)
                    {
                        iss.add("database.namespaceSlug", "namespaceSlug must be lowercase letters, digits, or underscores and start with a letter or digit");
                    }
                }
                match db.get("migrationsDir").and_then(Value::as_str) {
                    None => iss.add("database.migrationsDir", "Required"),
                    Some("") => iss.add(
                        "database.migrationsDir",
                        "String must contain at least 1 character(s)",
                    ),
                    Some(d) if d.starts_with('/') || d.contains("..") || d.contains('\\') => iss
                        .add(
                        "database.migrationsDir",
                        "migrationsDir must be a relative package path without '..' or backslashes",
                    ),
                    _ => {}
                }
                let tables = string_list(db, "coreReadTables");
                for (i, t) in tables.iter().enumerate() {
                    if !CORE_READ_TABLES.contains(t) {
                        iss.add(
                            &format!("database.coreReadTables.{i}"),
                            "Invalid enum value",
                        );
                    }
                }
                let dups = duplicates(&tables);
                if !dups.is_empty() {
                    iss.add(
                        "database.coreReadTables",
                        format!("Duplicate database coreReadTables: {}", dups.join(", ")),
                    );
                }
            }
        }
        for cap in ["database.namespace.migrate", "database.namespace.read"] {
            if !caps.contains(&cap) {
                iss.add(
                    "capabilities",
                    format!("Capability '{cap}' is required when database migrations are declared"),
                );
            }
        }
    }
    let routes = m
        .get("apiRoutes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut keys = Vec::new();
    let mut sigs = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let p = |f: &str| format!("apiRoutes.{i}.{f}");
        let Some(r) = r.as_object() else {
            iss.add(&format!("apiRoutes.{i}"), "Expected object");
            continue;
        };
        match r.get("routeKey").and_then(Value::as_str) {
            Some(k) if !k.is_empty() && k.len() <= 100 && route_key_re().is_match(k) => {
                keys.push(k.to_string())
            }
            Some(_) => iss.add(&p("routeKey"), "Invalid"),
            None => iss.add(&p("routeKey"), "Required"),
        }
        let method = r.get("method").and_then(Value::as_str).unwrap_or_default();
        if !["GET", "POST", "PATCH", "DELETE"].contains(&method) {
            iss.add(
                &p("method"),
                "Invalid enum value. Expected 'GET' | 'POST' | 'PATCH' | 'DELETE'",
            );
        }
        match r.get("path").and_then(Value::as_str) {
            Some(path) if !path.is_empty() && path_re().is_match(path) => {
                let escapes = path.contains("..")
                    || path.contains("//")
                    || path == "/api"
                    || path.starts_with("/api/")
                    || path == "/plugins"
                    || path.starts_with("/plugins/");
                if escapes {
                    iss.add(&p("path"), "path must stay inside the plugin api namespace");
                }
                sigs.push(format!("{method} {path}"));
            }
            Some(_) => iss.add(
                &p("path"),
                "path must start with / and contain only path-safe literal or :param segments",
            ),
            None => iss.add(&p("path"), "Required"),
        }
        if !r
            .get("auth")
            .and_then(Value::as_str)
            .is_some_and(|a| ["board", "agent", "board-or-agent", "webhook"].contains(&a))
        {
            iss.add(
                &p("auth"),
                "Invalid enum value. Expected 'board' | 'agent' | 'board-or-agent' | 'webhook'",
            );
        }
        if r.get("capability").and_then(Value::as_str) != Some("api.routes.register") {
            iss.add(
                &p("capability"),
                "Invalid literal value, expected \"api.routes.register\"",
            );
        }
        if let Some(cp) = r.get("checkoutPolicy") {
            if !cp.as_str().is_some_and(|c| {
                ["none", "required-for-agent-in-progress", "always-for-agent"].contains(&c)
            }) {
                iss.add(&p("checkoutPolicy"), "Invalid enum value. Expected 'none' | 'required-for-agent-in-progress' | 'always-for-agent'");
            }
        }
        if let Some(cr) = r.get("companyResolution") {
            let from = cr.get("from").and_then(Value::as_str).unwrap_or_default();
            let field = match from {
                "body" | "query" => "key",
                "issue" => "param",
                _ => {
                    iss.add(
                        &p("companyResolution.from"),
                        "Invalid discriminator value. Expected 'body' | 'query' | 'issue'",
                    );
                    ""
                }
            };
            if !field.is_empty()
                && cr
                    .get(field)
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
            {
                iss.add(&p(&format!("companyResolution.{field}")), "Required");
            }
        }
    }
    if !routes.is_empty() && !caps.contains(&"api.routes.register") {
        iss.add(
            "capabilities",
            "Capability 'api.routes.register' is required when apiRoutes are declared",
        );
    }
    let dk = duplicates(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    if !dk.is_empty() {
        iss.add(
            "apiRoutes",
            format!("Duplicate api route keys: {}", dk.join(", ")),
        );
    }
    let ds = duplicates(&sigs.iter().map(String::as_str).collect::<Vec<_>>());
    if !ds.is_empty() {
        iss.add(
            "apiRoutes",
            format!("Duplicate api routes: {}", ds.join(", ")),
        );
    }
    for (feature, cap) in [
        ("tools", "agent.tools.register"),
        ("jobs", "jobs.schedule"),
        ("webhooks", "webhooks.receive"),
    ] {
        if m.get(feature)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
            && !caps.contains(&cap)
        {
            iss.add(
                "capabilities",
                format!("Capability '{cap}' is required when {feature} are declared"),
            );
        }
    }
    let ui_slots = manifest
        .pointer("/ui/slots")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let ui_launchers = manifest
        .pointer("/ui/launchers")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    if (ui_slots || ui_launchers) && manifest.pointer("/entrypoints/ui").is_none() {
        iss.add(
            "entrypoints.ui",
            "entrypoints.ui is required when ui.slots or ui.launchers are declared",
        );
    }
    if !iss.0.is_empty() {
        let text: Vec<String> = iss.0.iter().map(|(p, m)| format!("{p}: {m}")).collect();
        return Err(format!("Invalid plugin manifest: {}", text.join("; ")));
    }
    Ok(strip(m))
}

fn duplicates(items: &[&str]) -> Vec<String> {
    let mut seen = Vec::new();
    let mut dups = Vec::new();
    for i in items {
        if seen.contains(i) {
            if !dups.contains(&i.to_string()) {
                dups.push(i.to_string());
            }
        } else {
            seen.push(*i);
        }
    }
    dups
}

fn strip(m: &Map<String, Value>) -> Value {
    let mut out = Map::new();
    for (k, v) in m {
        if !TOP_LEVEL.contains(&k.as_str()) {
            continue;
        }
        if k == "apiRoutes" {
            let routes: Vec<Value> = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| {
                            let mut o = Map::new();
                            for (rk, rv) in r.as_object().into_iter().flatten() {
                                if ROUTE_KEYS.contains(&rk.as_str()) {
                                    o.insert(rk.clone(), rv.clone());
                                }
                            }
                            Value::Object(o)
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.insert(k.clone(), Value::Array(routes));
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "id": "acme.test", "apiVersion": 1, "version": "1.0.0", "displayName": "T",
            "description": "d", "author": "a", "categories": ["automation"],
            "capabilities": ["api.routes.register"], "entrypoints": {"worker": "./w.js"},
            "apiRoutes": [{"routeKey": "r", "method": "GET", "path": "/x", "auth": "board", "capability": "api.routes.register"}],
            "extra": true,
        })
    }

    #[test]
    fn strips_unknown_keys() {
        let v = validate(&base()).unwrap();
        assert!(v.get("extra").is_none());
    }

    #[rstest]
    #[case(
        "/api/issues/:issueId",
        "path must stay inside the plugin api namespace"
    )]
    #[case("/plugins/x", "path must stay inside the plugin api namespace")]
    #[case("/a/../b", "path must stay inside the plugin api namespace")]
    #[case(
        "no-slash",
        "path must start with / and contain only path-safe literal or :param segments"
    )]
    fn route_paths(#[case] path: &str, #[case] msg: &str) {
        let mut m = base();
        m["apiRoutes"][0]["path"] = json!(path);
        let err = validate(&m).unwrap_err();
        assert_eq!(
            err,
            format!("Invalid plugin manifest: apiRoutes.0.path: {msg}")
        );
    }

    #[test]
    fn routes_need_the_capability() {
        let mut m = base();
        m["capabilities"] = json!(["issues.read"]);
        assert_eq!(
            validate(&m).unwrap_err(),
            "Invalid plugin manifest: capabilities: Capability 'api.routes.register' is required when apiRoutes are declared"
        );
    }

    #[test]
    fn database_needs_migrate_and_read() {
        let mut m = base();
        m["database"] = json!({"migrationsDir": "migrations"});
        let err = validate(&m).unwrap_err();
        assert!(err.contains("Capability 'database.namespace.migrate' is required when database migrations are declared"), "{err}");
    }
}
