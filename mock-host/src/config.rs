//! Host configuration: what the CLI flags and the library API both feed into
//! [`crate::serve`].

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::error::Error;

/// `PAPERCLIP_DEPLOYMENT_MODE` of the real host. The CLI's `--mode` takes
/// the same spellings (`clap::ValueEnum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DeploymentMode {
    /// No credentials = the implicit local board (instance admin).
    #[default]
    #[value(name = "local_trusted")]
    LocalTrusted,
    /// No credentials = nobody; boards sign up and use sessions or board keys.
    #[value(name = "authenticated")]
    Authenticated,
}

impl DeploymentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentMode::LocalTrusted => "local_trusted",
            DeploymentMode::Authenticated => "authenticated",
        }
    }
}

impl FromStr for DeploymentMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "local_trusted" => Ok(DeploymentMode::LocalTrusted),
            "authenticated" => Ok(DeploymentMode::Authenticated),
            other => Err(Error::Config(format!(
                "unknown deployment mode '{other}': use local_trusted or authenticated"
            ))),
        }
    }
}

impl fmt::Display for DeploymentMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deliberate deviation from the real host, switched on with `--defect`.
/// The suite uses them to prove that its checks catch a misbehaving host
/// (`tests/tests/kill_matrix.rs`, `docs/kill-matrix.md`). Each one is a small
/// branch at the place the rule is implemented, commented `Defect …`.
///
/// This enum is the only list: the CLI name is the kebab-case variant name
/// (`strum`; names with a number spell it out with `serialize`),
/// [`Defect::description`] is the one-line text `--list-defects` prints, and
/// [`Defect::iter`] / [`defect_names`] enumerate them. A new variant without
/// a description does not compile. The names are an interface (the suite's
/// `--host mock:defect=NAME`, docs/kill-matrix.md): do not rename them.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::EnumString,
    strum::EnumIter,
    strum::IntoStaticStr,
    strum::Display,
)]
#[strum(serialize_all = "kebab-case")]
pub enum Defect {
    /// Unknown scoped plugin routes answer 503 instead of 404.
    #[strum(serialize = "unknown-route-503")]
    UnknownRoute503,
    /// The checkout policy is not enforced for agents (no 401/409).
    SkipCheckoutPolicy,
    /// Plugin-origin activity rows are written with actor_type `system`.
    ActivityActorSystem,
    /// Agents of another company are let through on scoped routes.
    SkipCompanyAccess,
    /// Malformed JSON bodies answer 400 instead of the real host's 500.
    #[strum(serialize = "malformed-json-400")]
    MalformedJson400,
    /// Scoped routes authenticate before the plugin and route lookups.
    AuthBeforeLookup,
    /// A terminal (or released) checkout is never adopted by a live run.
    NoStaleAdoption,
    /// The checkout owner check accepts any run id.
    AnyRunAccepted,
    /// In authenticated mode an unknown bearer token is the board.
    BogusBearerBoard,
    /// Revoked agent API keys still authenticate.
    RevokedKeyAccepted,
    /// Plugin-origin activity rows carry no initiating actor.
    ActivityNoInitiator,
    /// Plugin-origin activity rows name the plugin key as actor_id.
    ActivityActorKey,
    /// Re-activation runs already applied migrations again.
    ReapplyMigrations,
    /// An applied migration whose file changed is skipped, not refused.
    IgnoreChecksum,
    /// A failed migration leaves no `failed` ledger row.
    NoFailedLedgerRow,
    /// `ctx.db.execute` may write tables outside the plugin's namespace.
    ExecutePublicAllowed,
    /// `issues.get` returns an issue of another company than the one asked for.
    CrossCompanyRead,
    /// The namespace hash is taken from the slug instead of the plugin key.
    NamespaceSlugHash,
    /// Re-activation stamps applied ledger rows with a new applied time.
    LedgerRetimed,
    // Scoped-route contract (the `routes` property).
    /// Other spellings of a company id (upper case, braced, urn, no hyphens) count as that company.
    NonCanonicalCompanyId,
    /// An empty `companyId` string resolves the company.
    EmptyCompanyResolves,
    /// The `Authorization` header reaches the worker.
    ForwardAuthorization,
    /// The `Cookie` header reaches the worker.
    ForwardCookie,
    /// A plugin's `Set-Cookie` header is copied to the response.
    CopySetCookie,
    /// `always-for-agent` is enforced only on in-progress issues of the caller.
    SkipAlwaysForAgent,
    /// The checkout param is `companyResolution.param` instead of `issueId`.
    CheckoutParamFromResolution,
    /// Webhook routes authenticate like board-or-agent instead of answering 422.
    WebhookAuthenticated,
    /// No 413 for bodies over 1,000,000 bytes.
    NoBodyLimit,
    /// Route params reach the worker without percent-decoding.
    RawParams,
    /// The last declared matching route wins instead of the first.
    LastRouteWins,
    /// A repeated query key gives its first value, not an array.
    QueryFirstValue,
    /// Worker errors answer 500 instead of 502.
    #[strum(serialize = "worker-error-500")]
    WorkerError500,
    /// Board routes answer 401 to unauthenticated callers instead of 403.
    #[strum(serialize = "board-route-401")]
    BoardRoute401,
    /// A trailing slash in the request path does not match.
    StrictTrailingSlash,
    /// Worker statuses outside 200–599 answer 500 instead of 200.
    StatusNotClamped,
    // Sharp edges (the `edges.*` scenarios).
    /// A repeated run id header counts as its first value.
    RunIdFirstValue,
    /// The scoped mount matches only in lower case.
    MountCaseSensitive,
    /// Method names are upper-cased instead of refused.
    LenientMethods,
    /// JSON bodies nested deeper than 128 levels are refused.
    ShallowJson,
    /// A malformed escape in the plugin id is looked up as written.
    LenientPluginEscape,
    /// OPTIONS on the scoped mount is answered with 204.
    OptionsAnswered,
    // UI bridge (the `ui-bridge.*` scenarios).
    /// UI contributions list ready plugins without slots or launchers too.
    UiContributionsUnfiltered,
    /// Agents reach the worker's getData through the data bridge.
    UiDataAgentsAllowed,
    /// The data bridge skips the company check of the request body.
    UiDataNoCompanyCheck,
    /// The action bridge skips the company check of the request body.
    UiActionNoCompanyCheck,
    /// The action bridge sends performAction without actorContext.
    UiActionNoActorContext,
    /// The action bridge looks the plugin up before it authenticates.
    UiActionLookupBeforeAuth,
    /// Worker errors on the bridge answer 500 instead of a 502 bridge error.
    #[strum(serialize = "ui-bridge-error-500")]
    UiBridgeError500,
    // Methods the mock does not serve (the `host-methods` property).
    /// Unserved methods answer -32603 from a catch-all.
    UnservedMethodInternalError,
    /// Unserved methods answer -32601 as if the host had no handler.
    UnservedMethodNotFound,
    /// Unserved methods skip the capability gate.
    UnservedMethodUngated,
    // Invocation scopes across versions (the `scoping` property's last phase).
    /// Host calls made outside any invocation are refused, as from 2026.722.0.
    UnscopedCallsRefused,
    // Orchestration host services (the `host-services` property).
    /// Invocation-scope denials answer -32603 instead of -32005.
    HostCallWrongErrorCode,
    /// `issues.relations.addBlockers` skips the capability gate.
    HostCallCapabilityUnchecked,
    /// `issues.documents.upsert` skips the invocation-scope gate.
    HostCallScopeUnchecked,
    /// `issues.createComment` writes its activity row as the system.
    HostCallNoAttribution,
    /// A new document gets no revision row.
    DocumentRevisionNotWritten,
    /// Wakeups are de-duplicated by idempotency key.
    WakeupDedupWrong,
    /// A plugin's child issue does not inherit its parent's project workspace.
    WorkspaceNotInherited,
    /// A JSON body that starts with a UTF-8 byte order mark is refused.
    BomRefused,
    /// A plugin's new issue is made the company default's responsibility.
    PluginIssueCompanyResponsible,
}

impl Defect {
    /// The CLI name (`--defect NAME`), e.g. `unknown-route-503`.
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The one-line description `--list-defects` prints after the name.
    pub fn description(self) -> &'static str {
        match self {
            Defect::UnknownRoute503 => "unknown scoped plugin routes answer 503 instead of 404 \"Plugin API route not found\"",
            Defect::SkipCheckoutPolicy => "scoped routes never enforce checkoutPolicy for agents (no 401/409)",
            Defect::ActivityActorSystem => "plugin-origin activity rows are written with actor_type 'system' instead of 'plugin'",
            Defect::SkipCompanyAccess => "scoped routes skip the company access check (cross-company agents pass)",
            Defect::MalformedJson400 => "malformed JSON bodies answer 400 instead of 500 \"Internal server error\"",
            Defect::AuthBeforeLookup => "scoped routes check authentication before the plugin and route lookups (401 instead of 404)",
            Defect::NoStaleAdoption => "a live run of the assignee never takes over a checkout whose run ended (409 instead of adoption)",
            Defect::AnyRunAccepted => "the checkout owner check accepts any run id of the assignee (no 409)",
            Defect::BogusBearerBoard => "in authenticated mode an unknown bearer token is treated as the board instead of nobody",
            Defect::RevokedKeyAccepted => "revoked agent API keys still authenticate as their agent",
            Defect::ActivityNoInitiator => "plugin-origin activity rows leave out the initiating actor (agent_id, run_id, details.initiating*)",
            Defect::ActivityActorKey => "plugin-origin activity rows name the plugin key as actor_id instead of the plugin's row id",
            Defect::ReapplyMigrations => "re-activation (enable, restart) applies already applied migrations again",
            Defect::IgnoreChecksum => "an applied migration whose file changed is skipped instead of failing with a checksum mismatch",
            Defect::NoFailedLedgerRow => "a migration that fails on activation leaves no 'failed' row in plugin_migrations",
            Defect::ExecutePublicAllowed => "ctx.db.execute may write tables outside the plugin's namespace (public included)",
            Defect::CrossCompanyRead => "issues.get returns an issue of another company instead of null (issueOfB with companyId A)",
            Defect::NamespaceSlugHash => "the namespace's hash suffix is taken from sha256(namespaceSlug) instead of sha256(pluginKey)",
            Defect::LedgerRetimed => "re-activation (enable, restart) stamps the applied rows of plugin_migrations with a new applied_at",
            Defect::NonCanonicalCompanyId => "upper-case, braced, urn:uuid: and unhyphenated spellings of a company id count as that company on scoped routes",
            Defect::EmptyCompanyResolves => "an empty companyId (body or query) resolves the company instead of 400",
            Defect::ForwardAuthorization => "the Authorization header is forwarded to the plugin worker",
            Defect::ForwardCookie => "the Cookie header is forwarded to the plugin worker",
            Defect::CopySetCookie => "a plugin's Set-Cookie response header is copied to the client",
            Defect::SkipAlwaysForAgent => "always-for-agent routes check the checkout only on the caller's in-progress issues",
            Defect::CheckoutParamFromResolution => "the checkout policy reads companyResolution.param instead of the hard-coded issueId (no 422)",
            Defect::WebhookAuthenticated => "webhook routes authenticate like board-or-agent instead of answering 422",
            Defect::NoBodyLimit => "scoped routes accept bodies over 1,000,000 bytes (no 413)",
            Defect::RawParams => "route params reach the worker without percent-decoding",
            Defect::LastRouteWins => "the last declared matching route wins instead of the first",
            Defect::QueryFirstValue => "a repeated query key reaches the worker as its first value instead of an array",
            Defect::WorkerError500 => "a worker that throws answers 500 instead of 502",
            Defect::BoardRoute401 => "board routes answer 401 to unauthenticated callers instead of 403 \"Board access required\"",
            Defect::StrictTrailingSlash => "a trailing slash in the request path no longer matches the declared route",
            Defect::StatusNotClamped => "a worker status outside 200-599 answers 500 instead of being clamped to 200",
            Defect::RunIdFirstValue => "an X-Paperclip-Run-Id header sent twice counts as its first value instead of the joined pair",
            Defect::MountCaseSensitive => "the scoped mount matches only in lower case (/API/PLUGINS/…/API/… is not served)",
            Defect::LenientMethods => "a lower-case method is served as its upper-case twin instead of refused with 400",
            Defect::ShallowJson => "JSON bodies nested deeper than 128 levels answer 500 (serde_json's default limit)",
            Defect::LenientPluginEscape => "a malformed percent-escape in the plugin id is looked up as written (404) instead of failing with 500",
            Defect::OptionsAnswered => "OPTIONS on the scoped mount answers an empty 204 instead of 404 \"Plugin API route not found\"",
            Defect::UiContributionsUnfiltered => "GET /api/plugins/ui-contributions lists every ready plugin, also those that declare no UI slot or launcher",
            Defect::UiDataAgentsAllowed => "agents reach the worker's getData through POST /api/plugins/:id/data/:key instead of 403 \"Board access required\"",
            Defect::UiDataNoCompanyCheck => "the data bridge skips the company check of the body (a board key gets data of a company it has no access to; no instance admin needed without companyId)",
            Defect::UiActionNoCompanyCheck => "the action bridge skips the company check of the body (an agent acts in another company; no instance admin needed without companyId)",
            Defect::UiActionNoActorContext => "the action bridge sends performAction without actorContext (the worker sees a system actor and no company)",
            Defect::UiActionLookupBeforeAuth => "the action bridge looks the plugin up before authenticating (404 instead of 401 for nobody on an unknown plugin)",
            Defect::UiBridgeError500 => "a worker error on the UI bridge answers 500 {\"error\"} instead of 502 {\"code\", \"message\"}",
            Defect::UnservedMethodInternalError => "worker-to-host methods the mock does not serve answer -32603 \"Host method … is not implemented by the mock host\" from a catch-all instead of what 2026.707.0 answers to their params (e.g. \"companyId is required for this operation\")",
            Defect::UnservedMethodNotFound => "worker-to-host methods 2026.707.0 serves but the mock does not answer -32601 \"Host does not handle method\" instead of passing the capability gate and answering like 707.0",
            Defect::UnservedMethodUngated => "worker-to-host methods the mock does not serve skip the capability gate (no -32001 for a plugin that lacks their capability)",
            Defect::UnscopedCallsRefused => "host calls a worker makes while none of its invocations is active are refused with -32005 \"company context is required\" (as from 2026.722.0) instead of passing unchecked as on 2026.707.0",
            Defect::HostCallWrongErrorCode => "worker-to-host calls refused by the invocation-scope gate answer -32603 (every handler error's code) instead of -32005",
            Defect::HostCallCapabilityUnchecked => "issues.relations.addBlockers skips the capability gate (no -32001 for a plugin without issue.relations.write)",
            Defect::HostCallScopeUnchecked => "issues.documents.upsert skips the invocation-scope gate (company B may be named inside an invocation of company A)",
            Defect::HostCallNoAttribution => "issues.createComment writes its issue.comment.created row as actor_type 'system' without the plugin in details",
            Defect::DocumentRevisionNotWritten => "issues.documents.upsert of a new key writes no document_revisions row and leaves latest_revision_id null",
            Defect::WakeupDedupWrong => "issues.requestWakeup(s) de-duplicate by idempotency key (a repeated key writes no wakeup request and answers queued false) instead of only storing the key",
            Defect::WorkspaceNotInherited => "issues.create with parentId / inheritExecutionWorkspaceFromIssueId leaves project_workspace_id empty instead of copying the source issue's",
            Defect::BomRefused => "a JSON body that starts with a UTF-8 byte order mark answers 500 instead of being parsed without the mark",
            Defect::PluginIssueCompanyResponsible => "issues.create from a plugin makes the company's default responsible user responsible instead of resolving it (explicit id, acting user, parent, creator, else none)",
        }
    }

    /// Every defect, in declaration order (the `--list-defects` order).
    pub fn iter() -> impl Iterator<Item = Defect> {
        <Defect as strum::IntoEnumIterator>::iter()
    }

    /// Parses a CLI name; unlike `str::parse`, the error says where the
    /// names are listed.
    pub fn parse(name: &str) -> Result<Self, Error> {
        name.parse::<Defect>().map_err(|_| {
            Error::Config(format!(
                "unknown defect '{name}'; list them with --list-defects"
            ))
        })
    }
}

/// The CLI name of every defect, in `--list-defects` order.
pub fn defect_names() -> impl Iterator<Item = &'static str> {
    Defect::iter().map(Defect::name)
}

/// The set of defects switched on for a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defects(BTreeSet<Defect>);

impl Defects {
    pub fn none() -> Self {
        Self::default()
    }
    pub fn with(mut self, d: Defect) -> Self {
        self.0.insert(d);
        self
    }
    pub fn has(&self, d: Defect) -> bool {
        self.0.contains(&d)
    }
    pub fn iter(&self) -> impl Iterator<Item = Defect> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Defect> for Defects {
    fn from_iter<T: IntoIterator<Item = Defect>>(iter: T) -> Self {
        Defects(iter.into_iter().collect())
    }
}

/// Everything [`crate::serve`] needs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Postgres URL of the host's own database (the schema is applied there).
    pub database_url: String,
    /// Port on 127.0.0.1; 0 picks a free one (see `HostHandle::base_url`).
    pub port: u16,
    pub mode: DeploymentMode,
    pub defects: Defects,
    /// `node` binary used for manifests and workers.
    pub node: PathBuf,
    /// Instance id (cookie prefix, worker `instanceInfo`).
    pub instance_id: String,
    /// The release whose host services the mock plays (`--plays`).
    pub plays: crate::plays::Plays,
}

impl Config {
    pub fn new(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            port: 0,
            mode: DeploymentMode::LocalTrusted,
            defects: Defects::none(),
            node: PathBuf::from("node"),
            instance_id: "default".into(),
            plays: crate::plays::Plays::default(),
        }
    }
}

/// What `/api/health` reports as `version`. Not a real host version, so the
/// suite picks its earliest (2026.707) behaviour profile for the mock.
pub const MOCK_VERSION: &str = concat!("mock-", env!("CARGO_PKG_VERSION"));

/// What the worker `initialize` reports as `instanceInfo.hostVersion`
/// (the real server's default when it has no version to pass).
pub const WORKER_HOST_VERSION: &str = "0.0.0";

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are an interface (suite, kill matrix): a rename or a
    /// changed kebab-case rule must show up here.
    #[test]
    fn defect_names_are_stable_and_round_trip() {
        let names: Vec<&str> = defect_names().collect();
        assert_eq!(
            names,
            [
                "unknown-route-503",
                "skip-checkout-policy",
                "activity-actor-system",
                "skip-company-access",
                "malformed-json-400",
                "auth-before-lookup",
                "no-stale-adoption",
                "any-run-accepted",
                "bogus-bearer-board",
                "revoked-key-accepted",
                "activity-no-initiator",
                "activity-actor-key",
                "reapply-migrations",
                "ignore-checksum",
                "no-failed-ledger-row",
                "execute-public-allowed",
                "cross-company-read",
                "namespace-slug-hash",
                "ledger-retimed",
                "non-canonical-company-id",
                "empty-company-resolves",
                "forward-authorization",
                "forward-cookie",
                "copy-set-cookie",
                "skip-always-for-agent",
                "checkout-param-from-resolution",
                "webhook-authenticated",
                "no-body-limit",
                "raw-params",
                "last-route-wins",
                "query-first-value",
                "worker-error-500",
                "board-route-401",
                "strict-trailing-slash",
                "status-not-clamped",
                "run-id-first-value",
                "mount-case-sensitive",
                "lenient-methods",
                "shallow-json",
                "lenient-plugin-escape",
                "options-answered",
                "ui-contributions-unfiltered",
                "ui-data-agents-allowed",
                "ui-data-no-company-check",
                "ui-action-no-company-check",
                "ui-action-no-actor-context",
                "ui-action-lookup-before-auth",
                "ui-bridge-error-500",
                "unserved-method-internal-error",
                "unserved-method-not-found",
                "unserved-method-ungated",
                "unscoped-calls-refused",
                "host-call-wrong-error-code",
                "host-call-capability-unchecked",
                "host-call-scope-unchecked",
                "host-call-no-attribution",
                "document-revision-not-written",
                "wakeup-dedup-wrong",
                "workspace-not-inherited",
                "bom-refused",
                "plugin-issue-company-responsible",
            ]
        );
        for d in Defect::iter() {
            assert_eq!(Defect::parse(d.name()).unwrap(), d);
            assert_eq!(d.to_string(), d.name());
            assert!(!d.description().is_empty());
        }
        let err = Defect::parse("nope").unwrap_err().to_string();
        assert!(err.contains("--list-defects"), "{err}");
    }
}
