//! The rows of the kill matrix: each deliberate defect of the mock host,
//! the deployment mode where it shows, the checks that must catch it and the
//! rule it breaks. The runner is `kill_matrix.rs`.

pub const LOCAL: &str = "local_trusted";
pub const AUTH: &str = "authenticated";

/// One defect: where it shows and what must catch it.
pub struct Row {
    pub defect: &'static str,
    /// Deployment mode of its run.
    pub mode: &'static str,
    /// Checks that must be among the failed ones.
    pub must_catch: &'static [&'static str],
    /// The rule the defect breaks, where it comes from.
    pub rule: &'static str,
    /// Extra options of its run: a focused run (`--only routes`), or an
    /// upgrade (`--upgrade-from mock --only upgrade`: the older host is a
    /// clean mock, the defective one opens its database). Empty: the full
    /// suite.
    pub args: &'static [&'static str],
}

pub const UPGRADE: &[&str] = &["--upgrade-from", "mock", "--only", "upgrade"];
/// The scoped-route defects are caught by the `routes` property; running it
/// alone keeps the matrix inside CI's time (16 full runs would add minutes).
const ROUTES: &[&str] = &["--only", "routes"];

/// A local_trusted row whose run selects only what catches the defect.
const fn row_with(
    args: &'static [&'static str],
    defect: &'static str,
    must_catch: &'static [&'static str],
    rule: &'static str,
) -> Row {
    Row {
        defect,
        mode: LOCAL,
        must_catch,
        rule,
        args,
    }
}

/// A defect the upgrade checks must catch.
const fn upgrade_row(
    defect: &'static str,
    must_catch: &'static [&'static str],
    rule: &'static str,
) -> Row {
    row_with(UPGRADE, defect, must_catch, rule)
}

const fn row(
    defect: &'static str,
    mode: &'static str,
    must_catch: &'static [&'static str],
    rule: &'static str,
) -> Row {
    Row {
        defect,
        mode,
        must_catch,
        rule,
        args: &[],
    }
}

/// The sharp-edge scenarios run alone for their defects.
const EDGES: &[&str] = &["--only", "tag:edges"];

/// A sharp-edge defect: the named `edges.*` scenario must catch it.
const fn edges_row(
    defect: &'static str,
    must_catch: &'static [&'static str],
    rule: &'static str,
) -> Row {
    row_with(EDGES, defect, must_catch, rule)
}

/// The UI bridge scenarios run alone for their defects.
const UI_BRIDGE: &[&str] = &["--only", "tag:ui-bridge"];

/// A UI bridge defect: the named `ui-bridge.*` scenario must catch it.
const fn ui_bridge_row(
    defect: &'static str,
    mode: &'static str,
    must_catch: &'static [&'static str],
    rule: &'static str,
) -> Row {
    Row {
        args: UI_BRIDGE,
        ..row(defect, mode, must_catch, rule)
    }
}

/// A scoped-route defect: the routes property alone must catch it.
const fn routes_row(defect: &'static str, mode: &'static str, rule: &'static str) -> Row {
    Row {
        defect,
        mode,
        must_catch: &["routes"],
        rule,
        args: ROUTES,
    }
}

pub const MATRIX: &[Row] = &[
    // Dispatch order and error mapping.
    row(
        "unknown-route-503",
        LOCAL,
        &["dispatch.unknown-route", "authz", "routes"],
        "contract-http.md §4.1 step 6; real-host.md §7 #11",
    ),
    row(
        "auth-before-lookup",
        AUTH,
        &[
            "dispatch.unknown-route",
            "dispatch.unknown-plugin",
            "authz",
            "routes",
        ],
        "contract-http.md §4.1, §11 item 1; real-host.md §6, §7 #19",
    ),
    row(
        "malformed-json-400",
        LOCAL,
        &["dispatch.malformed-json-500"],
        "contract-http.md §0, §11 item 6; real-host.md §7 #15",
    ),
    // Actors and company access.
    row(
        "bogus-bearer-board",
        AUTH,
        &["auth.bogus-bearer-401", "authz", "routes"],
        "contract-http.md §1 B.4, §6; real-host.md §7 #18",
    ),
    row(
        "revoked-key-accepted",
        AUTH,
        &["auth.revoked-agent-key-401", "authz", "routes"],
        "contract-http.md §1 B.2, B.4; real-host.md §10 #5",
    ),
    row(
        "skip-company-access",
        LOCAL,
        &["authz.cross-company-agent", "authz", "routes"],
        "contract-http.md §2 (assertCompanyAccess), §4.2 step 9; real-host.md §7 #9",
    ),
    // Checkout policy.
    row(
        "skip-checkout-policy",
        LOCAL,
        &[
            "checkout.assignee-needs-its-run",
            "checkout.stale-run-adopted",
            "routes",
        ],
        "contract-http.md §5.1, §6 (checkout rows); real-host.md §7 #4–5",
    ),
    row(
        "any-run-accepted",
        LOCAL,
        &[
            "checkout.assignee-needs-its-run",
            "checkout.stale-run-adopted",
            "routes",
        ],
        "contract-http.md §5.2, §6 (checkout rows); real-host.md §7 #5",
    ),
    row(
        "no-stale-adoption",
        LOCAL,
        &["checkout.stale-run-adopted"],
        "contract-http.md §5.2, §6 (terminal checkout run); real-host.md §6",
    ),
    // Activity attribution.
    row(
        "activity-actor-system",
        LOCAL,
        &["attribution.board-initialize", "attribution"],
        "contract-http.md §8.2; real-host.md §8 (activity_log)",
    ),
    row(
        "activity-actor-key",
        LOCAL,
        &["attribution.board-initialize", "attribution"],
        "contract-http.md §8.2; real-host.md §8 (actor_id is the plugin row uuid)",
    ),
    row(
        "activity-no-initiator",
        LOCAL,
        &["attribution.board-initialize", "attribution"],
        "contract-http.md §8.2, §8.4; real-host.md §8 (initiator attribution)",
    ),
    // Namespaces and migrations.
    // The host refuses the smoke plugin's migration ("…outside namespace…"):
    // a refused bundled plugin is a failed install check.
    row(
        "namespace-slug-hash",
        LOCAL,
        &["plugin.install-health"],
        "contract-db-worker.md A1 (the hash is of the plugin key, the slug is never hashed)",
    ),
    row(
        "reapply-migrations",
        LOCAL,
        &["migrations"],
        "contract-db-worker.md A3 (applied, same checksum: skipped); real-host.md §9",
    ),
    row(
        "ignore-checksum",
        LOCAL,
        &["migrations"],
        "contract-db-worker.md A3 (checksum mismatch); docs/findings.md F6",
    ),
    row(
        "no-failed-ledger-row",
        LOCAL,
        &["migrations"],
        "contract-db-worker.md A3 (failure recorder); docs/findings.md F6",
    ),
    // Host services.
    // Upgrades: a clean older mock, then the defective one on its database.
    upgrade_row(
        "reapply-migrations",
        &["upgrade.new-migration-once"],
        "contract-db-worker.md A3 (applied once, also across an upgrade)",
    ),
    upgrade_row(
        "ledger-retimed",
        &["upgrade.plugin-ledger-kept"],
        "contract-db-worker.md A3 (the ledger keeps each row's applied time)",
    ),
    row(
        "ledger-retimed",
        LOCAL,
        &["restart.plugin-state-kept"],
        "contract-db-worker.md A3; real-host.md §9 (a restart keeps the ledger)",
    ),
    row(
        "execute-public-allowed",
        LOCAL,
        &["scoping"],
        "contract-db-worker.md A4 (validatePluginRuntimeExecute steps 5–6)",
    ),
    row(
        "cross-company-read",
        LOCAL,
        &["scoping"],
        "contract-db-worker.md B3 (issues.get of another company's issue is null)",
    ),
    // The scoped-route contract (the routes property and its fixture).
    routes_row(
        "non-canonical-company-id",
        LOCAL,
        "contract-http.md §2, §4.2 steps 8–9 (ids compared as strings); docs/findings.md F18",
    ),
    routes_row(
        "empty-company-resolves",
        LOCAL,
        "contract-http.md §4.2 step 8; docs/findings.md F18",
    ),
    routes_row(
        "forward-authorization",
        LOCAL,
        "contract-http.md §4.3 (forwarded header allowlist)",
    ),
    routes_row(
        "forward-cookie",
        LOCAL,
        "contract-http.md §4.3 (forwarded header allowlist)",
    ),
    routes_row(
        "copy-set-cookie",
        LOCAL,
        "contract-http.md §4.4 (response header allowlist)",
    ),
    routes_row(
        "skip-always-for-agent",
        LOCAL,
        "contract-http.md §5.1 item 4, §6 (always-for-agent rows)",
    ),
    routes_row(
        "checkout-param-from-resolution",
        LOCAL,
        "contract-http.md §5.1 item 1 (the hard-coded issueId, 422)",
    ),
    routes_row(
        "webhook-authenticated",
        LOCAL,
        "contract-http.md §4.2 step 7, §6 (webhook column)",
    ),
    routes_row(
        "no-body-limit",
        LOCAL,
        "contract-http.md §4.2 step 12 (1,000,000 bytes re-serialised, 413)",
    ),
    routes_row(
        "raw-params",
        LOCAL,
        "contract-http.md §4.1 step 6 (params decoded), §4.3",
    ),
    routes_row(
        "last-route-wins",
        LOCAL,
        "contract-http.md §4.1 step 6, §3.6 (first declared wins)",
    ),
    routes_row(
        "query-first-value",
        LOCAL,
        "contract-http.md §0 (simple query parser), §4.3 (query)",
    ),
    routes_row(
        "worker-error-500",
        LOCAL,
        "contract-http.md §4.5 rule 4 (worker error 502)",
    ),
    routes_row(
        "board-route-401",
        AUTH,
        "contract-http.md §2 (assertBoard), §4.2 step 7, §6 (authenticated, no credentials)",
    ),
    routes_row(
        "strict-trailing-slash",
        LOCAL,
        "contract-http.md §4.1 step 6 (trailing slashes stripped)",
    ),
    routes_row(
        "status-not-clamped",
        LOCAL,
        "contract-http.md §4.4 (status outside 200–599 becomes 200)",
    ),
    // Sharp edges.
    edges_row(
        "run-id-first-value",
        &["edges.run-id-headers"],
        "docs/findings.md F24 (a repeated run id header is one joined value)",
    ),
    edges_row(
        "mount-case-sensitive",
        &["edges.paths"],
        "docs/findings.md F25 (Express mounts match in any case)",
    ),
    edges_row(
        "lenient-methods",
        &["edges.methods"],
        "docs/findings.md F25 (Node refuses unknown method names: 400)",
    ),
    edges_row(
        "shallow-json",
        &["edges.bodies"],
        "contract-http.md §0 (express.json); docs/findings.md F25 (deep nesting parses)",
    ),
    edges_row(
        "lenient-plugin-escape",
        &["edges.paths"],
        "docs/findings.md F25 (a malformed escape in the plugin id: 500)",
    ),
    edges_row(
        "options-answered",
        &["edges.methods"],
        "contract-http.md §4.1 step 6; docs/findings.md F25 (OPTIONS matches no route)",
    ),
    // UI bridge.
    ui_bridge_row(
        "ui-contributions-unfiltered",
        LOCAL,
        &["ui-bridge.contributions"],
        "contract-http.md §3.4 (ui-contributions: ready plugins with UI slots or launchers)",
    ),
    ui_bridge_row(
        "ui-data-agents-allowed",
        LOCAL,
        &["ui-bridge.data-agents"],
        "contract-http.md §2 (assertBoardOrgAccess), §3.4 (data bridge)",
    ),
    ui_bridge_row(
        "ui-data-no-company-check",
        AUTH,
        &["ui-bridge.unknown-company-authenticated"],
        "contract-http.md §2 (assertCompanyAccess), §3.4 (data bridge company)",
    ),
    ui_bridge_row(
        "ui-action-no-company-check",
        LOCAL,
        &["ui-bridge.action-refusals"],
        "contract-http.md §2 (assertCompanyAccess, assertInstanceAdmin), §3.4 (action bridge company)",
    ),
    ui_bridge_row(
        "ui-action-no-actor-context",
        LOCAL,
        &["ui-bridge.action-actors"],
        "contract-db-worker.md B2 (performAction actorContext); contract-http.md §3.4",
    ),
    ui_bridge_row(
        "ui-action-lookup-before-auth",
        AUTH,
        &["ui-bridge.unauthenticated"],
        "contract-http.md §2 (assertAuthenticated), §3.4 (action bridge: caller before plugin)",
    ),
    ui_bridge_row(
        "ui-bridge-error-500",
        LOCAL,
        &["ui-bridge.worker-errors"],
        "contract-db-worker.md B1 (WORKER_ERROR); contract-http.md §3.4 (502 bridge error)",
    ),
    // Methods the mock does not serve: the host-methods property alone.
    row_with(
        &["--only", "host-methods"],
        "unserved-method-internal-error",
        &["host-methods"],
        "contract-db-worker.md B1 (a handler's own error message); docs/host-methods.md",
    ),
    row_with(
        &["--only", "host-methods"],
        "unserved-method-not-found",
        &["host-methods"],
        "contract-db-worker.md B1 (-32601 only without a handler), B2.2 (the methods 2026.707.0 serves); docs/host-methods.md",
    ),
    row_with(
        &["--only", "host-methods"],
        "unserved-method-ungated",
        &["host-methods"],
        "contract-db-worker.md B3 (the capability gate before every handler); docs/host-methods.md",
    ),
    // Invocation scopes by version: the scoping property alone (its last
    // phase makes the calls outside any invocation).
    row_with(
        &["--only", "scoping"],
        "unscoped-calls-refused",
        &["scoping"],
        "docs/findings.md F11 (2026.707.0: host calls outside any invocation pass unchecked); contract-db-worker.md B3",
    ),    // Orchestration host services: the host-services property alone.
    row_with(
        &["--only", "host-services"],
        "host-call-wrong-error-code",
        &["host-services"],
        "contract-db-worker.md B1 (the host keeps a plugin error's code), B3 (INVOCATION_SCOPE_DENIED -32005)",
    ),
    row_with(
        &["--only", "host-services"],
        "host-call-capability-unchecked",
        &["host-services"],
        "contract-db-worker.md B2.2 (issues.relations.addBlockers needs issue.relations.write), B3 (the capability gate before every handler)",
    ),
    row_with(
        &["--only", "host-services"],
        "host-call-scope-unchecked",
        &["host-services"],
        "contract-db-worker.md B3 [HEAD] (a call naming another company than the invocation's is refused); docs/findings.md F10",
    ),
    row_with(
        &["--only", "host-services"],
        "host-call-no-attribution",
        &["host-services"],
        "contract-db-worker.md B2.3 (plugin-origin activity: actor_type plugin, actor_id the plugin row, details.sourcePluginId/Key)",
    ),
    row_with(
        &["--only", "host-services"],
        "document-revision-not-written",
        &["host-services"],
        "contract-db-worker.md B2.2 (documents.upsert of a new key: documents and document_revisions at revision 1), B5",
    ),
    row_with(
        &["--only", "host-services"],
        "wakeup-dedup-wrong",
        &["host-services"],
        "contract-db-worker.md B2.2 (wakeup semantics: idempotencyKey is only stored, no de-duplication by key)",
    ),
    row_with(
        &["--only", "host-services", "--only", "smoke.workspace-inherited"],
        "workspace-not-inherited",
        &["host-services", "smoke.workspace-inherited"],
        "contract-db-worker.md B2.2 (issues.create: the inheritance source's projectWorkspaceId is copied)",
    ),
    row_with(
        &["--only", "host-services"],
        "plugin-issue-company-responsible",
        &["host-services"],
        "contract-db-worker.md B2.2 (issues.create); docs/findings.md F35 (a plugin's issue: explicit id, acting user, parent, creator, else no responsible user)",
    ),
    edges_row(
        "bom-refused",
        &["edges.bodies"],
        "contract-http.md §0 (express.json decodes the body first: a leading byte order mark is skipped); docs/findings.md F32",
    ),
];
