//! Raw config → validated [`Config`]. Collects every problem with its
//! location instead of stopping at the first.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::store::PostgresOptions;

use super::error::{ConfigError, ConfigErrors, Locator, suggest};
use super::raw::{RawConfig, RawDefaults, RawRenewal, RawRepository, RawWorkspace};
use super::{
    CapabilitySeries, Config, EngineConfig, MetricsConfig, RenewBefore, RenewalMode, RenewalPolicy, RepositoryRef,
    RepositorySeries, ServerConfig, StoreBackend, StoreConfig, WorkspaceConfig, WorkspaceDefaults, capabilities,
    instance_url, scopes,
};

const DEFAULT_LISTEN: &str = "127.0.0.1:9471";
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_CONCURRENCY: i64 = 16;
/// Store calls are few (actions, not checks): a handful of connections is plenty.
const DEFAULT_POOL_SIZE: usize = 4;
const MIN_LEASE: Duration = Duration::from_secs(3);
const MAX_LEASE: Duration = Duration::from_secs(300);
const DEFAULT_TLS_WARNING: Duration = Duration::from_secs(14 * 86_400);
const DEFAULT_RPS: f64 = 5.0;
const DEFAULT_TOKEN_CRITICAL: Duration = Duration::from_secs(3 * 86_400);
/// Reporter: the lowest role that can clone a private project.
const DEFAULT_MIN_ACCESS: u32 = 20;
/// GitLab's role names and access levels (docs/gitlab.md §8).
const ACCESS_LEVELS: &[(&str, u32)] = &[
    ("guest", 10),
    ("planner", 15),
    ("reporter", 20),
    ("developer", 30),
    ("maintainer", 40),
    ("owner", 50),
];
const DEFAULT_LIFETIME: Duration = Duration::from_secs(90 * 86_400);
/// GitLab's ceiling with `buffered_token_expiration_limit` (docs/gitlab.md §4); the
/// instance's own maximum (365 days by default) caps it again at rotation.
const MAX_LIFETIME: Duration = Duration::from_secs(400 * 86_400);
/// Checks more often than this would hammer GitLab for no gain.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// A check rarer than yearly tells nothing. humantime alone accepts up to
/// 2^64 s, on which the scheduler's `now + interval` overflows.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 86_400);

pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let loc = Locator::new(path, text);
    let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigErrors(vec![syntax_error(&loc, &e)]))?;
    let mut v = Validator {
        loc,
        errors: Vec::new(),
    };
    let config = v.config(path, raw);
    if v.errors.is_empty() {
        return Ok(config);
    }
    v.errors.sort_by_key(|e| (e.line, e.column));
    Err(ConfigErrors(v.errors))
}

/// The text of one `[[workspace]]` table (and nothing else), validated as
/// the file's workspaces are, inheriting `defaults` as they inherit
/// `[defaults]`: the admin API's workspace bodies go through here
/// (`config::workspace_body`), so there is one validator.
pub(super) fn one_workspace(
    path: &Path,
    text: &str,
    defaults: &WorkspaceDefaults,
) -> Result<WorkspaceConfig, Vec<ConfigError>> {
    let loc = Locator::new(path, text);
    let raw: RawConfig = toml::from_str(text).map_err(|e| vec![syntax_error(&loc, &e)])?;
    let mut v = Validator {
        loc,
        errors: Vec::new(),
    };
    let base = Inherited {
        interval: defaults.interval,
        timeout: defaults.timeout,
        tls_expiry_warning: defaults.tls_expiry_warning,
    };
    let mut tables = raw.workspace.into_iter();
    let (Some(raw), None) = (tables.next(), tables.next()) else {
        return Err(vec![v.loc.whole_file("expected exactly one [[workspace]] table")]);
    };
    let ws = v.workspace(raw.into_inner(), &base);
    if v.errors.is_empty() {
        return Ok(ws);
    }
    v.errors.sort_by_key(|e| (e.line, e.column));
    Err(v.errors)
}

/// toml's message, with a "did you mean" for misspelt keys.
fn syntax_error(loc: &Locator<'_>, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().to_owned();
    let hint = unknown_field_hint(&message);
    let full = match hint {
        Some(h) => format!("{message}; {h}"),
        None => format!("{message}; see config/labwatch.toml for a commented example"),
    };
    match e.span() {
        Some(span) => loc.error(span, full),
        None => loc.whole_file(full),
    }
}

/// toml says "unknown field `x`, expected one of `a`, `b`": turn that into a
/// suggestion of the closest expected key.
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let names: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    match suggest(field, &names) {
        Some(s) => Some(format!("did you mean `{s}`?")),
        None => Some(format!("remove `{field}` or use one of the keys listed")),
    }
}

pub(super) struct Validator<'a> {
    pub(super) loc: Locator<'a>,
    pub(super) errors: Vec<ConfigError>,
}

impl Validator<'_> {
    pub(super) fn err<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.errors.push(self.loc.error(spanned.span(), message));
    }

    fn config(&mut self, path: &Path, raw: RawConfig) -> Config {
        let server = self.server(raw.server);
        let store = self.store(raw.store);
        let defaults = raw.defaults.map(Spanned::into_inner);
        let (engine, base) = self.defaults(defaults);
        let mut workspaces = Vec::new();
        let mut names = HashSet::new();
        // With the admin API on, workspaces may all be created at run time
        // (`PUT /api/v1/workspaces/{ws}`); without it, none could ever run.
        if raw.workspace.is_empty() && server.admin_token_file.is_none() {
            self.errors.push(self.loc.whole_file(
                "no [[workspace]] is configured; add one with at least `name = \"…\"` (see config/labwatch.toml), \
                 or turn on the admin API (`admin_token_file` in [server]) to create workspaces at run time",
            ));
        }
        for ws in raw.workspace {
            let ws = ws.into_inner();
            if !names.insert(ws.name.get_ref().clone()) {
                self.err(
                    &ws.name,
                    format!(
                        "workspace `{}` is defined twice; workspace names must be unique",
                        ws.name.get_ref()
                    ),
                );
            }
            workspaces.push(self.workspace(ws, &base));
        }
        let mut allowed_instances = Vec::new();
        for s in raw.allowed_instances.unwrap_or_default() {
            match instance_url::normalize(s.get_ref()) {
                Ok(u) => allowed_instances.push(u),
                Err(m) => self.err(&s, m),
            }
        }
        let workspace_names: Vec<&str> = workspaces.iter().map(|w: &WorkspaceConfig| w.name.as_str()).collect();
        let (plugins, http_checks) = self.plugin_checks(path, raw.plugin, raw.http_check, &workspace_names, &base);
        let instances = self.instances(raw.instance);
        let metrics = self.metrics(raw.metrics);
        Config {
            source: path.to_path_buf(),
            server,
            store,
            engine,
            workspaces,
            defaults: WorkspaceDefaults {
                interval: base.interval,
                timeout: base.timeout,
                tls_expiry_warning: base.tls_expiry_warning,
            },
            allowed_instances,
            plugins,
            http_checks,
            instances,
            metrics,
        }
    }

    fn metrics(&mut self, raw: Option<Spanned<super::raw::RawMetrics>>) -> MetricsConfig {
        let mut metrics = MetricsConfig::default();
        let Some(raw) = raw.map(Spanned::into_inner) else {
            return metrics;
        };
        if let Some(series) = raw.capability_series {
            metrics.capability_series = match series.get_ref().as_str() {
                "listed" => CapabilitySeries::Listed,
                "all" => CapabilitySeries::All,
                other => {
                    self.err(
                        &series,
                        format!(
                            "capability_series `{other}` is unknown; use \"listed\" (the capabilities each repository's `capabilities` lists, the default) \
                             or \"all\" (all five for every repository)"
                        ),
                    );
                    CapabilitySeries::Listed
                }
            };
        }
        let Some(series) = raw.repository_series else {
            return metrics;
        };
        metrics.repository_series = match series.get_ref().as_str() {
            "per-repository" => RepositorySeries::PerRepository,
            "per-workspace" => RepositorySeries::PerWorkspace,
            other => {
                self.err(
                    &series,
                    format!(
                        "repository_series `{other}` is unknown; use \"per-repository\" (each repository's own series, the default) \
                         or \"per-workspace\" (one set per workspace for all its repositories)"
                    ),
                );
                RepositorySeries::PerRepository
            }
        };
        metrics
    }

    fn server(&mut self, raw: Option<Spanned<super::raw::RawServer>>) -> ServerConfig {
        let raw = raw.map(Spanned::into_inner);
        let listen = match raw.as_ref().and_then(|r| r.listen.as_ref()) {
            None => DEFAULT_LISTEN.parse().expect("constant is a valid socket address"),
            Some(s) => s.get_ref().parse().unwrap_or_else(|_| {
                self.err(
                    s,
                    format!(
                        "`{}` is not an address to listen on; write IP:PORT, for example \"127.0.0.1:9471\"",
                        s.get_ref()
                    ),
                );
                DEFAULT_LISTEN.parse().expect("constant is a valid socket address")
            }),
        };
        let admin_token_file = raw.and_then(|r| r.admin_token_file).map(|p| self.path(&p));
        ServerConfig {
            listen,
            admin_token_file,
        }
    }

    fn store(&mut self, raw: Option<Spanned<super::raw::RawStore>>) -> StoreConfig {
        let raw = raw.map(Spanned::into_inner);
        let dir = raw.as_ref().and_then(|r| r.dir.as_ref()).map(|p| self.path(p));
        let key_file = raw.as_ref().and_then(|r| r.key_file.as_ref()).map(|p| self.path(p));
        let mut backend = StoreBackend::File;
        let backend_span = raw.as_ref().and_then(|r| r.backend.as_ref()).map(Spanned::span);
        if let Some(b) = raw.as_ref().and_then(|r| r.backend.as_ref()) {
            match b.get_ref().as_str() {
                "file" => {}
                "postgres" => backend = StoreBackend::Postgres,
                other => self.err(
                    b,
                    format!("unknown store backend `{other}`: use \"file\" (the default) or \"postgres\""),
                ),
            }
        }
        let postgres = raw.and_then(|r| r.postgres).and_then(|p| self.postgres(p));
        if let (StoreBackend::Postgres, None, Some(span)) = (backend, &postgres, backend_span) {
            self.errors.push(self.loc.error(
                span,
                "backend = \"postgres\" needs a [store.postgres] table with `url` \
                 (postgres://user@host:port/dbname): add it, or use backend = \"file\"",
            ));
        }
        StoreConfig {
            backend,
            dir: dir.unwrap_or_else(|| PathBuf::from("/var/lib/labwatch")),
            key_file: key_file.unwrap_or_else(|| PathBuf::from("/etc/labwatch/store.key")),
            postgres,
        }
    }

    /// `[store.postgres]`: the URL is checked as the driver reads it, and
    /// must not hold a password; the password file is only named here
    /// (it is read when the store opens).
    fn postgres(&mut self, raw: Spanned<super::raw::RawPostgres>) -> Option<PostgresOptions> {
        let table = raw.span();
        let raw = raw.into_inner();
        let Some(url) = raw.url else {
            self.errors.push(self.loc.error(
                table,
                "[store.postgres] needs `url` (postgres://user@host:port/dbname, without the password)",
            ));
            return None;
        };
        if let Err(problem) = crate::store::postgres::check_url(url.get_ref()) {
            self.err(&url, problem);
        }
        let mut pool_size = DEFAULT_POOL_SIZE;
        if let Some(p) = &raw.pool_size {
            match usize::try_from(*p.get_ref()) {
                Ok(n @ 1..=64) => pool_size = n,
                _ => self.err(p, format!("pool_size must be between 1 and 64, not {}", p.get_ref())),
            }
        }
        let password_file = raw.password_file.as_ref().map(|p| self.path(p));
        let ca_file = raw.ca_file.as_ref().map(|p| self.path(p));
        let mut lease = crate::store::postgres::DEFAULT_LEASE;
        if let Some(l) = &raw.lease {
            match self.duration(l, "lease") {
                Some(d) if (MIN_LEASE..=MAX_LEASE).contains(&d) => lease = d,
                Some(d) => self.err(
                    l,
                    format!(
                        "lease must be between 3s and 5m, not {}: shorter ones cost the database a round \
                         every second, longer ones leave a dead replica's workspaces unchecked for minutes",
                        humantime::format_duration(d)
                    ),
                ),
                None => {}
            }
        }
        Some(PostgresOptions {
            url: url.into_inner(),
            password_file,
            pool_size,
            ca_file,
            lease,
        })
    }

    fn path(&mut self, raw: &Spanned<String>) -> PathBuf {
        if raw.get_ref().trim().is_empty() {
            self.err(
                raw,
                "the path is empty; give a file or directory path, or remove the key",
            );
        }
        PathBuf::from(raw.get_ref())
    }

    /// Engine settings and the per-workspace defaults.
    fn defaults(&mut self, raw: Option<RawDefaults>) -> (EngineConfig, Inherited) {
        let mut base = Inherited {
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            tls_expiry_warning: DEFAULT_TLS_WARNING,
        };
        let mut concurrency = DEFAULT_CONCURRENCY;
        if let Some(raw) = raw {
            base = self.inherit(
                &base,
                raw.interval.as_ref(),
                raw.timeout.as_ref(),
                raw.tls_expiry_warning.as_ref(),
            );
            if let Some(c) = raw.concurrency {
                if !(1..=1024).contains(c.get_ref()) {
                    self.err(
                        &c,
                        format!("concurrency must be between 1 and 1024, not {}", c.get_ref()),
                    );
                } else {
                    concurrency = *c.get_ref();
                }
            }
        }
        let concurrency = usize::try_from(concurrency).unwrap_or(1);
        (EngineConfig { concurrency }, base)
    }

    pub(super) fn inherit(
        &mut self,
        base: &Inherited,
        interval: Option<&Spanned<String>>,
        timeout: Option<&Spanned<String>>,
        tls_warning: Option<&Spanned<String>>,
    ) -> Inherited {
        let interval_v = interval
            .and_then(|s| self.duration(s, "interval"))
            .unwrap_or(base.interval);
        let timeout_v = timeout
            .and_then(|s| self.duration(s, "timeout"))
            .unwrap_or(base.timeout);
        let tls = tls_warning
            .and_then(|s| self.duration(s, "tls_expiry_warning"))
            .unwrap_or(base.tls_expiry_warning);
        if let Some(s) = interval {
            if interval_v < MIN_INTERVAL {
                self.err(s, "interval must be at least 1s; GitLab should not be polled faster");
            } else if interval_v > MAX_INTERVAL {
                self.err(
                    s,
                    "interval must be at most 365d; a check that runs less than once a year tells nothing",
                );
            }
        }
        // Only where this table sets one of the two: values it inherits were
        // checked where they are set, and repeating that error for every
        // workspace and check that inherits them would bury it.
        if let Some(at) = timeout.or(interval).filter(|_| timeout_v > interval_v) {
            self.err(
                at,
                format!(
                    "timeout ({}) is longer than interval ({}); a check must finish before the next one is due — lower timeout or raise interval",
                    humantime::format_duration(timeout_v),
                    humantime::format_duration(interval_v)
                ),
            );
        }
        Inherited {
            interval: interval_v,
            timeout: timeout_v,
            tls_expiry_warning: tls,
        }
    }

    /// A positive humantime duration ("90s", "14d").
    pub(super) fn duration(&mut self, raw: &Spanned<String>, key: &str) -> Option<Duration> {
        match humantime::parse_duration(raw.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.err(raw, format!("{key} must be greater than zero"));
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                self.err(
                    raw,
                    format!(
                        "`{}` is not a duration ({e}); write it like \"90s\", \"5m\" or \"14d\"",
                        raw.get_ref()
                    ),
                );
                None
            }
        }
    }

    fn workspace(&mut self, raw: RawWorkspace, base: &Inherited) -> WorkspaceConfig {
        let name = raw.name.get_ref().clone();
        if !valid_name(&name) {
            self.err(
                &raw.name,
                format!("workspace name `{name}` must be 1-63 characters of a-z, 0-9, `-` or `_`, starting with a letter or digit (it appears in URLs and metric labels)"),
            );
        }
        let instance_url = match &raw.instance_url {
            None => instance_url::normalize(instance_url::DEFAULT_INSTANCE).expect("constant URL is valid"),
            Some(s) => instance_url::normalize(s.get_ref()).unwrap_or_else(|m| {
                self.err(s, m);
                instance_url::normalize(instance_url::DEFAULT_INSTANCE).expect("constant URL is valid")
            }),
        };
        let t = self.inherit(
            base,
            raw.interval.as_ref(),
            raw.timeout.as_ref(),
            raw.tls_expiry_warning.as_ref(),
        );
        WorkspaceConfig {
            required_scopes: self.scopes(raw.required_scopes),
            repositories: self.repositories(raw.repositories, &RepositoryRef::host_of(&instance_url)),
            ca_file: raw.ca_file.as_ref().and_then(|p| self.ca_file(p)),
            nameservers: raw.nameservers.iter().filter_map(|s| self.nameserver(s)).collect(),
            requests_per_second: self.rps(raw.requests_per_second.as_ref()),
            interval: t.interval,
            timeout: t.timeout,
            tls_expiry_warning: t.tls_expiry_warning,
            renewal: self.renewal(raw.renewal.map(Spanned::into_inner)),
            token_file: raw.token_file.as_ref().and_then(|p| self.token_file(p)),
            token_expiry_critical: raw
                .token_expiry_critical
                .as_ref()
                .and_then(|s| self.duration(s, "token_expiry_critical"))
                .unwrap_or(DEFAULT_TOKEN_CRITICAL),
            min_access_level: raw
                .min_access_level
                .as_ref()
                .map_or(DEFAULT_MIN_ACCESS, |s| self.access_level(s)),
            clone_probe: raw.clone_probe.unwrap_or(true),
            capabilities: raw.capabilities.map(|c| self.capabilities(c)),
            name,
            instance_url,
        }
    }

    fn scopes(&mut self, raw: Option<Vec<Spanned<String>>>) -> Vec<String> {
        let Some(raw) = raw else {
            return scopes::DEFAULT_REQUIRED.iter().map(|s| (*s).to_owned()).collect();
        };
        let mut out: Vec<String> = Vec::new();
        for s in raw {
            let scope = s.get_ref();
            if !scopes::KNOWN.contains(&scope.as_str()) {
                let hint = suggest(scope, scopes::KNOWN).map_or_else(
                    || format!("known scopes are: {}", scopes::KNOWN.join(", ")),
                    |m| format!("did you mean `{m}`?"),
                );
                self.err(&s, format!("`{scope}` is not a GitLab token scope; {hint}"));
            } else if !out.contains(scope) {
                out.push(scope.clone());
            }
        }
        out
    }

    /// Known capability names, each once; a typo is an error naming the
    /// closest name, or all of them.
    fn capabilities(&mut self, raw: Vec<Spanned<String>>) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::with_capacity(raw.len());
        for s in raw {
            let name = s.get_ref();
            match capabilities::KNOWN.iter().find(|k| **k == name.as_str()) {
                Some(known) if !out.contains(known) => out.push(known),
                Some(_) => {}
                None => {
                    let hint = suggest(name, capabilities::KNOWN).map_or_else(
                        || format!("the capabilities are: {}", capabilities::KNOWN.join(", ")),
                        |m| {
                            format!(
                                "did you mean `{m}`? The capabilities are: {}",
                                capabilities::KNOWN.join(", ")
                            )
                        },
                    );
                    self.err(&s, format!("`{name}` is not a capability; {hint}"));
                }
            }
        }
        out
    }

    fn repositories(&mut self, raw: Vec<Spanned<RawRepository>>, instance_host: &str) -> Vec<RepositoryRef> {
        let mut out: Vec<RepositoryRef> = Vec::with_capacity(raw.len());
        // Lower-cased keys seen so far: GitLab paths are case-insensitive, and
        // a set keeps a list of thousands of repositories linear.
        let mut seen = std::collections::HashSet::with_capacity(raw.len());
        for s in raw {
            let (path, capabilities) = match s.get_ref() {
                RawRepository::Path(path) => (path, None),
                RawRepository::Table(t) => (&t.path, t.capabilities.as_ref()),
            };
            // A table's names are pointed at by its entry: the table's
            // own values keep no position.
            let capabilities = capabilities.map(|names| {
                let at = |name: &String| Spanned::new(s.span(), name.clone());
                self.capabilities(names.iter().map(at).collect())
            });
            match RepositoryRef::parse(path).map(|r| r.relative_to(instance_host)) {
                Ok(r) if !seen.insert(r.key().to_lowercase()) => {
                    self.err(&s, format!("repository `{}` is listed twice", r.key()));
                }
                Ok(r) => out.push(RepositoryRef { capabilities, ..r }),
                Err(m) => self.err(&s, m),
            }
        }
        out
    }

    /// The CA file must exist and hold at least one PEM certificate now,
    /// not at the first TLS handshake hours later.
    fn ca_file(&mut self, raw: &Spanned<String>) -> Option<PathBuf> {
        let path = PathBuf::from(raw.get_ref());
        match crate::tls::load_ca_file(&path) {
            Ok(_) => Some(path),
            Err(m) => {
                self.err(raw, m);
                None
            }
        }
    }

    /// The token file must be readable and hold something now; its content
    /// is read again (into a secret) when the workspace starts.
    fn token_file(&mut self, raw: &Spanned<String>) -> Option<PathBuf> {
        let path = PathBuf::from(raw.get_ref());
        let text = crate::files::read_text_capped(&path, crate::files::MAX_TOKEN_FILE).map(zeroize::Zeroizing::new);
        match text {
            Ok(text) if text.trim().is_empty() => {
                self.err(
                    raw,
                    format!(
                        "token_file `{}` is empty; put the personal access token in it",
                        path.display()
                    ),
                );
                None
            }
            Ok(_) => Some(path),
            Err(e) => {
                self.err(
                    raw,
                    format!(
                        "cannot read token_file `{}`: {e}; check the path and its permissions",
                        path.display()
                    ),
                );
                None
            }
        }
    }

    fn access_level(&mut self, raw: &Spanned<String>) -> u32 {
        let name = raw.get_ref().trim().to_ascii_lowercase();
        if let Some((_, level)) = ACCESS_LEVELS.iter().find(|(n, _)| *n == name) {
            return *level;
        }
        let names: Vec<&str> = ACCESS_LEVELS.iter().map(|(n, _)| *n).collect();
        self.err(
            raw,
            format!(
                "`{}` is not a GitLab role; use one of: {}",
                raw.get_ref(),
                names.join(", ")
            ),
        );
        DEFAULT_MIN_ACCESS
    }

    fn nameserver(&mut self, raw: &Spanned<String>) -> Option<SocketAddr> {
        let s = raw.get_ref();
        if let Ok(addr) = s.parse::<SocketAddr>() {
            return Some(addr);
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Some(SocketAddr::new(ip, 53));
        }
        self.err(raw, format!("`{s}` is not a DNS server address; write an IP, optionally with a port: \"10.0.0.53\", \"127.0.0.1:5353\" or \"[::1]:53\""));
        None
    }

    fn rps(&mut self, raw: Option<&Spanned<f64>>) -> f64 {
        match raw {
            None => DEFAULT_RPS,
            Some(r) if r.get_ref().is_finite() && *r.get_ref() > 0.0 && *r.get_ref() <= 1000.0 => *r.get_ref(),
            Some(r) => {
                self.err(r, format!("requests_per_second must be above 0 and at most 1000 (0.2 means one request every 5 s), not {}", r.get_ref()));
                DEFAULT_RPS
            }
        }
    }

    fn renewal(&mut self, raw: Option<RawRenewal>) -> RenewalPolicy {
        let mut policy = RenewalPolicy {
            mode: RenewalMode::Manual,
            renew_before: RenewBefore::Fraction(1.0 / 3.0),
            lifetime: DEFAULT_LIFETIME,
            renew_on: vec![super::DEFAULT_RENEW_ON.to_owned()],
        };
        let Some(raw) = raw else { return policy };
        if let Some(m) = &raw.mode {
            policy.mode = match m.get_ref().as_str() {
                "auto" => RenewalMode::Auto,
                "alert" => RenewalMode::Alert,
                "manual" => RenewalMode::Manual,
                other => {
                    self.err(
                        m,
                        format!("renewal mode `{other}` is unknown; use \"auto\", \"alert\" or \"manual\""),
                    );
                    RenewalMode::Manual
                }
            };
        }
        if let Some(l) = &raw.lifetime {
            if let Some(d) = self.duration(l, "lifetime") {
                if d < Duration::from_secs(86_400) || d > MAX_LIFETIME {
                    self.err(l, "lifetime must be between 1d and 400d (GitLab caps tokens at 365 days, 400 with the buffered limit)");
                } else {
                    policy.lifetime = d;
                }
            }
        }
        if let Some(names) = &raw.renew_on {
            policy.renew_on.clear();
            for n in names {
                let name = n.get_ref().trim();
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    self.err(
                        n,
                        format!("`{}` is not an alert name (letters, digits, `_` and `:`)", n.get_ref()),
                    );
                } else {
                    policy.renew_on.push(name.to_owned());
                }
            }
        }
        if let Some(b) = &raw.renew_before {
            if let Some(rb) = self.renew_before(b) {
                if let RenewBefore::Duration(d) = rb {
                    if d >= policy.lifetime {
                        self.err(
                            b,
                            "renew_before must be shorter than lifetime, or every new token would be due at once",
                        );
                    }
                }
                policy.renew_before = rb;
            }
        }
        policy
    }

    /// "14d", or a fraction of the lifetime: "1/3", "0.25", "25%".
    fn renew_before(&mut self, raw: &Spanned<String>) -> Option<RenewBefore> {
        let s = raw.get_ref().trim();
        let fraction = if let Some((a, b)) = s.split_once('/') {
            match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
                (Ok(a), Ok(b)) if b != 0.0 => Some(a / b),
                _ => None,
            }
        } else if let Some(p) = s.strip_suffix('%') {
            p.trim().parse::<f64>().ok().map(|p| p / 100.0)
        } else {
            s.parse::<f64>().ok()
        };
        match fraction {
            Some(f) if f > 0.0 && f < 1.0 => Some(RenewBefore::Fraction(f)),
            Some(_) => {
                self.err(raw, "renew_before as a fraction of the lifetime must be between 0 and 1, for example \"1/3\" or \"25%\"");
                None
            }
            None => self.duration(raw, "renew_before").map(RenewBefore::Duration),
        }
    }
}

/// Interval, timeout and TLS warning, inherited from `[defaults]`.
pub(super) struct Inherited {
    pub(super) interval: Duration,
    pub(super) timeout: Duration,
    pub(super) tls_expiry_warning: Duration,
}

/// The role name of an access level ("developer"), as `min_access_level`
/// takes it; a level GitLab has no name for is shown as its number.
pub(super) fn access_level_name(level: u32) -> String {
    ACCESS_LEVELS
        .iter()
        .find(|(_, l)| *l == level)
        .map_or_else(|| level.to_string(), |(n, _)| (*n).to_owned())
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}
