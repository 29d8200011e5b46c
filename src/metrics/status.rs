//! The check families of `/metrics`, rendered from the [`StatusStore`] at
//! scrape time: a scrape shows exactly what the last scheduled runs found,
//! never triggers a GitLab call, and never shows series of checks that a
//! reload removed. Label names are written in sorted order, as the client
//! library writes the other families.

use super::text::{Family, Text};
use crate::checks::{self, plugin};
use crate::config::{CapabilitySeries, MetricsConfig, RepositorySeries};
use crate::engine::{CheckState, WorkspaceView};

/// The `target` of a workspace's repository series under
/// `repository_series = "per-workspace"`: all of its repositories.
pub const ALL_REPOSITORIES: &str = "*";

const FROM_SCHEDULE: &str = "(from the last scheduled run; scrapes never trigger GitLab calls)";

/// The name of the repository check, whose series `repository_series`
/// may fold into one set per workspace.
const REPOSITORY: &str = "repository";

/// What the four series of a check show.
struct Summary<'a> {
    status: u8,
    reason: &'a str,
    duration_seconds: f64,
    /// Unix seconds.
    last_success: Option<i64>,
}

impl Summary<'_> {
    fn of(state: &CheckState) -> Summary<'_> {
        Summary {
            status: state.outcome.status.code(),
            reason: state.outcome.reason.as_str(),
            duration_seconds: state.duration.as_secs_f64(),
            last_success: state.last_success.map(|t| t.unix_timestamp()),
        }
    }
}

/// A workspace's repositories as one: the worst status (and, of the
/// repositories that have it, the first one's reason), the longest
/// duration, and the time by which every repository had last passed (none
/// while one never has).
#[derive(Default)]
struct Repositories<'a>(Option<Summary<'a>>);

impl<'a> Repositories<'a> {
    fn add(&mut self, state: &'a CheckState) {
        let next = Summary::of(state);
        let Some(all) = &mut self.0 else {
            self.0 = Some(next);
            return;
        };
        if next.status > all.status {
            all.status = next.status;
            all.reason = next.reason;
        }
        all.duration_seconds = all.duration_seconds.max(next.duration_seconds);
        all.last_success = all.last_success.zip(next.last_success).map(|(a, b)| a.min(b));
    }
}

/// The families, each collecting its samples during one walk of the store.
pub struct StatusFamilies {
    status: Family,
    reason: Family,
    duration: Family,
    last_success: Family,
    phase: Family,
    tls_expiry: Family,
    token_expiry: Family,
    renewal_due: Family,
    scope_missing: Family,
    plugin_measurement: Family,
    capability: Family,
    repository_series: RepositorySeries,
    capability_series: CapabilitySeries,
}

impl StatusFamilies {
    /// Families sized for `checks` checks of `workspaces` workspaces, so
    /// they are written without reallocating.
    pub fn new(checks: usize, workspaces: usize, series: MetricsConfig) -> StatusFamilies {
        let MetricsConfig {
            repository_series,
            capability_series,
        } = series;
        // A workspace's series of one kind (a phase, an expiry) take about
        // 80 bytes each; the instance probe has four phases.
        let g = |name, help| Family::gauge(name, help, workspaces * 80);
        let per_check = |name, help| Family::gauge(name, help, checks * 110);
        StatusFamilies {
            status: per_check(
                "labwatch_check_status",
                format!("Check status: 0 ok, 1 warning, 2 critical, 3 unknown {FROM_SCHEDULE}."),
            ),
            reason: per_check(
                "labwatch_check_reason_info",
                format!("1 for the check's current reason code {FROM_SCHEDULE}."),
            ),
            duration: per_check(
                "labwatch_check_duration_seconds",
                format!("Duration of the check's last run {FROM_SCHEDULE}."),
            ),
            last_success: per_check(
                "labwatch_check_last_success_timestamp_seconds",
                format!("Unix time the check last passed {FROM_SCHEDULE}."),
            ),
            phase: Family::gauge(
                "labwatch_instance_phase_duration_seconds",
                format!("Duration of each phase of the instance probe: dns, connect, tls, http {FROM_SCHEDULE}."),
                workspaces * 4 * 80,
            ),
            tls_expiry: g(
                "labwatch_tls_cert_expiry_timestamp_seconds",
                format!("Unix time the instance's TLS leaf certificate expires {FROM_SCHEDULE}."),
            ),
            token_expiry: g(
                "labwatch_token_expiry_timestamp_seconds",
                format!("Unix time the workspace's token stops working: 00:00 UTC of its expires_at {FROM_SCHEDULE}."),
            ),
            renewal_due: g(
                "labwatch_token_renewal_due_timestamp_seconds",
                format!("Unix time the renewal policy wants a new token {FROM_SCHEDULE}."),
            ),
            scope_missing: g(
                "labwatch_token_scope_missing",
                format!("1 for each required scope the token lacks, 0 for those it has {FROM_SCHEDULE}."),
            ),
            plugin_measurement: g(
                "labwatch_plugin_measurement",
                format!(
                    "A measurement a plugin or HTTP check reported (perfdata or JSON), in base units named by its suffix; at most {} per check {FROM_SCHEDULE}.",
                    plugin::MAX_MEASUREMENTS
                ),
            ),
            // Five series of about 100 bytes per repository check, and none
            // when repositories are folded per workspace.
            capability: Family::gauge(
                "labwatch_repository_capability",
                format!(
                    "1 when GitLab would let the connection do the capability with the repository, 0 when not (docs/capabilities.md) {FROM_SCHEDULE}."
                ),
                match repository_series {
                    RepositorySeries::PerWorkspace => 0,
                    _ => checks * 5 * 100,
                },
            ),
            repository_series,
            capability_series,
        }
    }

    /// Adds the series of one workspace's checks that have run.
    pub fn add(&mut self, ws: &WorkspaceView) {
        let workspace = ws.name.as_str();
        let mut repositories = Repositories::default();
        let per_workspace = self.repository_series == RepositorySeries::PerWorkspace;
        for c in &ws.checks {
            let Some(state) = &c.state else { continue };
            let check = &*c.check;
            if per_workspace && check == REPOSITORY && c.target.is_some() {
                repositories.add(state);
                continue;
            }
            let target = c.target.as_deref().unwrap_or("");
            self.add_check(workspace, check, target, &Summary::of(state));
            if check == REPOSITORY {
                self.add_capabilities(workspace, target, state);
            }
            match (check, c.target.is_none()) {
                ("instance", true) => self.add_instance(workspace, state),
                ("token", true) => self.add_token(workspace, state),
                ("scopes", true) => self.add_scopes(workspace, state),
                (name, true) if !checks::is_builtin(name) => self.add_plugin(workspace, name, state),
                _ => {}
            }
        }
        if let Some(all) = repositories.0 {
            self.add_check(workspace, REPOSITORY, ALL_REPOSITORIES, &all);
        }
    }

    /// The four series every check has.
    fn add_check(&mut self, workspace: &str, check: &str, target: &str, s: &Summary<'_>) {
        let labels = [("check", check), ("target", target), ("workspace", workspace)];
        self.status.sample(&labels, f64::from(s.status));
        self.reason.sample(
            &[
                ("check", check),
                ("reason", s.reason),
                ("target", target),
                ("workspace", workspace),
            ],
            1.0,
        );
        self.duration.sample(&labels, s.duration_seconds);
        if let Some(t) = s.last_success {
            self.last_success.sample(&labels, t as f64);
        }
    }

    /// The instance check reports its phases as measurements; these become
    /// their own series because they are what people graph.
    fn add_instance(&mut self, workspace: &str, state: &CheckState) {
        let m = &state.outcome.measurements;
        for (phase, key) in [
            ("dns", "dns_seconds"),
            ("connect", "connect_seconds"),
            ("tls", "tls_seconds"),
            ("http", "http_seconds"),
        ] {
            if let Some(v) = m.get(key) {
                self.phase.sample(&[("phase", phase), ("workspace", workspace)], *v);
            }
        }
        if let Some(v) = m.get("tls_cert_expiry_timestamp_seconds") {
            self.tls_expiry.sample(&[("workspace", workspace)], *v);
        }
    }

    fn add_token(&mut self, workspace: &str, state: &CheckState) {
        let m = &state.outcome.measurements;
        if let Some(v) = m.get("expiry_timestamp_seconds") {
            self.token_expiry.sample(&[("workspace", workspace)], *v);
        }
        if let Some(v) = m.get("renewal_due_timestamp_seconds") {
            self.renewal_due.sample(&[("workspace", workspace)], *v);
        }
    }

    fn add_scopes(&mut self, workspace: &str, state: &CheckState) {
        for (name, value) in &state.outcome.measurements {
            if let Some(scope) = name.strip_prefix("scope_missing:") {
                self.scope_missing
                    .sample(&[("scope", scope), ("workspace", workspace)], *value);
            }
        }
    }

    /// A repository's verdicts on the capabilities its `capabilities` (or
    /// its workspace's) lists, 1 for yes and 0 for no; all five with
    /// `capability_series = "all"`. Only the listed ones by default: all
    /// five for every repository would more than double a fleet's series
    /// and the scrape's cost with it (`metrics_render` in benches), and
    /// without the key the repository check's own series already say
    /// whether it can clone. `/status` has every verdict.
    fn add_capabilities(&mut self, workspace: &str, repository: &str, state: &CheckState) {
        let all = self.capability_series == CapabilitySeries::All;
        for c in state.outcome.capabilities.iter().filter(|c| all || c.judged) {
            let labels = [
                ("capability", c.name),
                ("repository", repository),
                ("workspace", workspace),
            ];
            self.capability.sample(&labels, if c.is_yes() { 1.0 } else { 0.0 });
        }
    }

    /// Plugins and HTTP checks: every measurement of the last outcome, capped
    /// again here so no outcome can grow the series without bound.
    fn add_plugin(&mut self, workspace: &str, plugin: &str, state: &CheckState) {
        for (name, value) in state.outcome.measurements.iter().take(plugin::MAX_MEASUREMENTS) {
            self.plugin_measurement
                .sample(&[("name", name), ("plugin", plugin), ("workspace", workspace)], *value);
        }
    }

    /// Appends every family that has samples, in name order; a scrape of a
    /// fleet writes its workspaces in `parts`, in order, each on a thread
    /// of its own (see `Metrics::render_chunks`).
    pub fn finish(parts: Vec<StatusFamilies>, out: &mut Text) {
        let mut columns: [Vec<Family>; 11] = Default::default();
        for part in parts {
            for (column, family) in columns.iter_mut().zip(part.in_order()) {
                column.push(family);
            }
        }
        for column in columns {
            Family::finish_parts(column, out);
        }
    }

    /// The families in the order they are written: by name.
    fn in_order(self) -> [Family; 11] {
        [
            self.duration,
            self.last_success,
            self.reason,
            self.status,
            self.phase,
            self.plugin_measurement,
            self.capability,
            self.tls_expiry,
            self.token_expiry,
            self.renewal_due,
            self.scope_missing,
        ]
    }
}
