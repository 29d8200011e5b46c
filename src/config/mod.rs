//! Configuration: the TOML file is parsed into raw serde types
//! ([`raw`], unknown keys rejected) and then validated into the types below
//! (and those of [`plugins`] for `[[plugin]]` and `[[http_check]]`), which
//! the rest of labwatch uses. Every problem is reported as
//! `FILE:LINE:COL: message` with a hint on how to fix it.

pub mod capabilities;
pub mod condition;
mod error;
pub mod instance_url;
mod instances;
mod plugins;
mod raw;
mod repository;
pub mod scopes;
mod validate;
pub mod workspace_body;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

pub use condition::Condition;
pub use error::{ConfigError, ConfigErrors, edit_distance};
pub use instances::InstanceConfig;
pub use plugins::{HttpCheckConfig, PluginConfig, runs_in};
pub use repository::RepositoryRef;
pub use workspace_body::FieldError;

/// The built-in checks' names; plugins and HTTP checks may not take them.
/// The check registry builds exactly these (a test there holds the two
/// together).
pub const BUILTIN_CHECKS: &[&str] = &["instance", "token", "scopes", "repository"];
/// The built-ins others may depend on: the workspace-level ones
/// (`repository` runs once per repository).
pub const DEPENDABLE_BUILTINS: &[&str] = &["instance", "token", "scopes"];

/// Where the config is looked for when `-c` is not given.
pub const DEFAULT_PATHS: &[&str] = &["config/labwatch.toml", "/etc/labwatch/labwatch.toml"];
/// Overrides [`DEFAULT_PATHS`].
pub const CONFIG_ENV: &str = "LABWATCH_CONFIG";

/// A validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, for messages and SIGHUP reloads.
    pub source: PathBuf,
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub engine: EngineConfig,
    /// In file order; names are unique.
    pub workspaces: Vec<WorkspaceConfig>,
    /// What `[defaults]` gives every workspace, kept so that a workspace
    /// created through the admin API ([`workspace_body`]) inherits it too.
    pub defaults: WorkspaceDefaults,
    /// Instances `connect` may use; empty means any http(s) URL.
    pub allowed_instances: Vec<Url>,
    /// External executable checks (`[[plugin]]`), in file order.
    pub plugins: Vec<PluginConfig>,
    /// Declarative HTTP checks (`[[http_check]]`), in file order.
    pub http_checks: Vec<HttpCheckConfig>,
    /// Per-instance settings (`[[instance]]`), at most one per URL.
    pub instances: Vec<InstanceConfig>,
    /// What `/metrics` exports (`[metrics]`).
    pub metrics: MetricsConfig,
}

/// What `/metrics` exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MetricsConfig {
    pub repository_series: RepositorySeries,
    pub capability_series: CapabilitySeries,
}

/// Which capability verdicts are `labwatch_repository_capability` series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CapabilitySeries {
    /// Those a repository's `capabilities` (its entry's, or its
    /// workspace's) lists: the ones that judge its check.
    #[default]
    Listed,
    /// All five for every repository: more than twice a fleet's series.
    All,
}

/// How the repository checks appear in `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepositorySeries {
    /// Each repository's own series (`target` = its path).
    #[default]
    PerRepository,
    /// One set per workspace for all its repositories (`target="*"`): a
    /// fleet's scrape and Prometheus's series shrink by its repositories'
    /// share, and `/status` still tells which repository fails.
    PerWorkspace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Address of the HTTP endpoints; loopback by default because the
    /// read-only endpoints carry no authentication.
    pub listen: SocketAddr,
    /// File holding the admin bearer token; `None` turns the admin API off.
    pub admin_token_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Which backend keeps the connections.
    pub backend: StoreBackend,
    /// Directory of the file store's encrypted connection files.
    pub dir: PathBuf,
    /// The store's encryption key (the file store creates it 0600 when
    /// missing; the PostgreSQL store never does).
    pub key_file: PathBuf,
    /// `[store.postgres]`: required by `backend = "postgres"`, and the
    /// target of `labwatch store migrate` whatever the backend.
    pub postgres: Option<crate::store::PostgresOptions>,
}

/// `[store] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StoreBackend {
    /// One file per workspace and record in `dir` (the default).
    #[default]
    File,
    /// Tables in a PostgreSQL database (`[store.postgres]`).
    Postgres,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// How many checks may run at once across all workspaces, so a daemon
    /// watching many repositories does not open hundreds of connections.
    pub concurrency: usize,
}

/// The per-workspace settings `[defaults]` sets (or labwatch's own
/// defaults where it does not).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkspaceDefaults {
    pub interval: Duration,
    pub timeout: Duration,
    pub tls_expiry_warning: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkspaceConfig {
    pub name: String,
    /// Normalised GitLab root: no trailing `/`, no `/api/v4`.
    pub instance_url: Url,
    pub required_scopes: Vec<String>,
    pub repositories: Vec<RepositoryRef>,
    /// Extra CA certificates (PEM) trusted for this instance, on top of the
    /// system's.
    pub ca_file: Option<PathBuf>,
    /// DNS servers to ask instead of the system's; empty means the system's.
    pub nameservers: Vec<SocketAddr>,
    /// Budget of GitLab API requests per second (may be below 1).
    pub requests_per_second: f64,
    pub interval: Duration,
    pub timeout: Duration,
    /// A TLS certificate that expires within this is a warning.
    pub tls_expiry_warning: Duration,
    pub renewal: RenewalPolicy,
    /// A file holding the token: the workspace's connection until one is
    /// made through the admin API (which then wins). Read into a secret at
    /// start and at every reload; a disconnect silences the token it held.
    pub token_file: Option<PathBuf>,
    /// A token this close to expiry is critical (the renewal threshold makes
    /// it a warning earlier).
    pub token_expiry_critical: Duration,
    /// Watched repositories need at least this access level (GitLab's
    /// numbers: 10 guest, 20 reporter, 30 developer, …).
    pub min_access_level: u32,
    /// Probe `git clone` (info/refs) once per token change per repository.
    pub clone_probe: bool,
    /// The capabilities the workspace's repositories need
    /// ([`capabilities::KNOWN`] names, no duplicates), when `capabilities`
    /// is set: the repository check then judges each one's verdict. `None`
    /// (the key left out) needs `clone` alone, judged as before the key
    /// existed: by `min_access_level` and the clone probe.
    pub capabilities: Option<Vec<&'static str>>,
}

impl WorkspaceConfig {
    /// The capabilities listed for `repo`: its own entry's, else the
    /// workspace's `capabilities` key; `None` when neither says (`clone`
    /// is then needed, and judged as before the key existed). With no
    /// repository (a project a user is choosing), the workspace's.
    pub fn listed_capabilities<'a>(&'a self, repo: Option<&'a RepositoryRef>) -> Option<&'a [&'static str]> {
        repo.and_then(|r| r.capabilities.as_deref())
            .or(self.capabilities.as_deref())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewalMode {
    /// Rotate through GitLab's API when renewal is due.
    Auto,
    /// Rotate when Alertmanager says so.
    Alert,
    /// Only tell a person.
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RenewBefore {
    /// A fixed time before expiry.
    Duration(Duration),
    /// A fraction of the token's lifetime (created → expires).
    Fraction(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct RenewalPolicy {
    pub mode: RenewalMode,
    pub renew_before: RenewBefore,
    /// Lifetime asked for on rotation, capped at the instance maximum.
    pub lifetime: Duration,
    /// Alert names that make labwatch rotate when Alertmanager posts them
    /// (in `alert` and `auto` mode).
    pub renew_on: Vec<String>,
}

/// The alert labwatch's own rules raise when renewal is due.
pub const DEFAULT_RENEW_ON: &str = "LabwatchTokenExpiringSoon";

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = crate::files::read_text_capped(path, crate::files::MAX_CONFIG_FILE).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("cannot read the config file: {e}; pass the right file with -c or set {CONFIG_ENV}"),
            }])
        })?;
        Config::parse(path, &text)
    }

    /// Validates config text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
        validate::parse(path, text)
    }

    pub fn workspace(&self, name: &str) -> Option<&WorkspaceConfig> {
        self.workspaces.iter().find(|w| w.name == name)
    }

    /// The `[[instance]]` table of this (normalised) instance URL.
    pub fn instance(&self, url: &Url) -> Option<&InstanceConfig> {
        let url = instance_url::display(url);
        self.instances.iter().find(|i| instance_url::display(&i.url) == url)
    }

    /// Whether `connect` may use this (normalised) instance URL.
    pub fn instance_allowed(&self, url: &Url) -> bool {
        self.allowed_instances.is_empty()
            || self
                .allowed_instances
                .iter()
                .any(|a| instance_url::display(a) == instance_url::display(url))
    }
}

/// The config path to use: `-c`, else `LABWATCH_CONFIG`, else the first of
/// [`DEFAULT_PATHS`] that exists (the last one when none does, so the error
/// names the system path).
pub fn resolve_path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os(CONFIG_ENV) {
        return PathBuf::from(p);
    }
    DEFAULT_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_PATHS[DEFAULT_PATHS.len() - 1]))
}

impl RenewalPolicy {
    /// When a token is due for renewal: `renew_before` ahead of the moment it
    /// stops working (00:00 UTC on `expires_at`), or that fraction of its
    /// lifetime before it. Without a creation time a fraction falls back to
    /// the configured lifetime. The expiry comes from GitLab and may be any
    /// date `time` represents (years -9999 to 9999): a renewal time before
    /// the earliest representable instant is that instant (long due), not
    /// a panic.
    pub fn renewal_due(
        &self,
        created_at: Option<time::OffsetDateTime>,
        expires: time::OffsetDateTime,
    ) -> time::OffsetDateTime {
        let before = match self.renew_before {
            RenewBefore::Duration(d) => d,
            RenewBefore::Fraction(f) => {
                let lifetime = created_at
                    .map(|c| (expires - c).unsigned_abs())
                    .filter(|l| !l.is_zero())
                    .unwrap_or(self.lifetime);
                lifetime.mul_f64(f)
            }
        };
        let before = time::Duration::try_from(before).unwrap_or(time::Duration::MAX);
        expires
            .checked_sub(before)
            .unwrap_or(time::PrimitiveDateTime::MIN.assume_utc())
    }
}

/// The moment a token with this expiry date stops working: 00:00 UTC on
/// that date (docs/gitlab.md §4).
pub fn expiry_moment(expires_at: time::Date) -> time::OffsetDateTime {
    expires_at.midnight().assume_utc()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::gitlab::types::TokenInfo;

    fn policy(renew_before: RenewBefore) -> RenewalPolicy {
        RenewalPolicy {
            mode: RenewalMode::Auto,
            renew_before,
            lifetime: Duration::from_secs(90 * 86_400),
            renew_on: Vec::new(),
        }
    }

    /// A token GitLab says expires in year -9999 (a date `time` parses, so
    /// decoding accepts it) made the renewal time overflow and panic the
    /// token check. The `gitlab_json` fuzz target takes decoded tokens
    /// through this arithmetic.
    #[test]
    fn renewal_of_a_token_expiring_at_the_earliest_date_is_due_not_a_panic() {
        let info: TokenInfo = serde_json::from_str(r#"{"id":1,"name":"x","expires_at":"-9999-01-01"}"#).unwrap();
        let expires = expiry_moment(info.expires_at.unwrap());
        let earliest = time::PrimitiveDateTime::MIN.assume_utc();
        for before in [
            RenewBefore::Duration(Duration::from_secs(14 * 86_400)),
            RenewBefore::Fraction(0.5),
        ] {
            assert_eq!(policy(before).renewal_due(info.created_at, expires), earliest);
        }
        let created = time::macros::datetime!(9999-12-31 0:00 UTC);
        assert_eq!(
            policy(RenewBefore::Fraction(0.5)).renewal_due(Some(created), expires),
            earliest
        );
    }

    #[test]
    fn renewal_is_due_before_expiry() {
        let expires = time::macros::datetime!(2027-01-31 0:00 UTC);
        let two_weeks = RenewBefore::Duration(Duration::from_secs(14 * 86_400));
        assert_eq!(
            policy(two_weeks).renewal_due(None, expires),
            time::macros::datetime!(2027-01-17 0:00 UTC)
        );
        let created = time::macros::datetime!(2026-11-02 0:00 UTC);
        assert_eq!(
            policy(RenewBefore::Fraction(0.5)).renewal_due(Some(created), expires),
            time::macros::datetime!(2026-12-17 0:00 UTC)
        );
    }
}
