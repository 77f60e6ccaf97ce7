//! The install-time check that declared features and UI placements come
//! with the capabilities they need.

use serde_json::Value;

/// Install-time capability consistency (features and UI placements).
pub fn check_capability_consistency(manifest: &Value) -> std::result::Result<(), String> {
    let caps: Vec<&str> = manifest
        .get("capabilities")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut missing: Vec<&str> = Vec::new();
    for (feature, cap) in [
        ("tools", "agent.tools.register"),
        ("jobs", "jobs.schedule"),
        ("webhooks", "webhooks.receive"),
    ] {
        if manifest.get(feature).is_some_and(Value::is_array)
            && !caps.contains(&cap)
            && !missing.contains(&cap)
        {
            missing.push(cap);
        }
    }
    let placements = [
        ("page", "ui.page.register"),
        ("detailTab", "ui.detailTab.register"),
        ("taskDetailView", "ui.detailTab.register"),
        ("dashboardWidget", "ui.dashboardWidget.register"),
        ("sidebar", "ui.sidebar.register"),
        ("sidebarPanel", "ui.sidebar.register"),
        ("projectSidebarItem", "ui.sidebar.register"),
        ("globalToolbarButton", "ui.action.register"),
        ("toolbarButton", "ui.action.register"),
        ("contextMenuItem", "ui.action.register"),
        ("commentContextMenuItem", "ui.action.register"),
        ("commentAnnotation", "ui.commentAnnotation.register"),
        ("settingsPage", "instance.settings.register"),
    ];
    let mut types: Vec<&str> = Vec::new();
    for ptr in ["/ui/slots", "/ui/launchers", "/launchers"] {
        for s in manifest
            .pointer(ptr)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = s
                .get("type")
                .or_else(|| s.get("placementZone"))
                .and_then(Value::as_str)
            {
                types.push(t);
            }
        }
    }
    for t in types {
        if let Some((_, cap)) = placements.iter().find(|(p, _)| *p == t) {
            if !caps.contains(cap) && !missing.contains(cap) {
                missing.push(cap);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        let id = manifest
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Err(format!(
            "Plugin {id} manifest has inconsistent capabilities. Missing required capabilities for declared features: {}",
            missing.join(", ")
        ))
    }
}
