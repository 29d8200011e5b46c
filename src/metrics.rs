//! Prometheus metrics on an explicit [`Registry`] (never the global one).
//!
//! Check results are rendered from the [`StatusStore`] at scrape time by a
//! custom collector, so a scrape shows exactly what the last scheduled runs
//! found, never triggers a GitLab call, and never shows series of checks that
//! a reload removed.

use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, GaugeVec, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::checks::{self, plugin};
use crate::engine::{CheckState, StatusStore, WorkspaceView};
use crate::gitlab::GitlabMetrics;

const FROM_SCHEDULE: &str = "(from the last scheduled run; scrapes never trigger GitLab calls)";

/// The registry and everything registered on it.
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub fn new(store: Arc<StatusStore>, gitlab: &GitlabMetrics) -> Metrics {
        let registry = Registry::new();
        if let Err(e) = gitlab.register(&registry) {
            tracing::error!(error = %e, "Metrics registration failed");
        }
        let collector = StatusCollector::new(store);
        // Registration fails only on duplicate or inconsistent descriptors,
        // which the constant definitions below rule out.
        if let Err(e) = registry.register(Box::new(collector)) {
            tracing::error!(error = %e, "Metrics registration failed");
        }
        let build = IntGaugeVec::new(
            Opts::new("labwatch_build_info", "labwatch build information; always 1."),
            &["version"],
        )
        .expect("constant metric definition is valid");
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        if let Err(e) = registry.register(Box::new(build)) {
            tracing::error!(error = %e, "Metrics registration failed");
        }
        Metrics { registry }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "Metrics encoding failed");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Gauge families built fresh from the store on every scrape.
struct Families {
    status: IntGaugeVec,
    reason: IntGaugeVec,
    duration: GaugeVec,
    last_success: GaugeVec,
    phase: GaugeVec,
    tls_expiry: GaugeVec,
    token_expiry: GaugeVec,
    renewal_due: GaugeVec,
    scope_missing: GaugeVec,
    plugin_measurement: GaugeVec,
}

impl Families {
    fn new() -> Families {
        let check_labels = &["workspace", "check", "target"];
        let g = |name: &str, help: String, labels: &[&str]| {
            GaugeVec::new(Opts::new(name, help), labels).expect("constant metric definition is valid")
        };
        let ig = |name: &str, help: String, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels).expect("constant metric definition is valid")
        };
        Families {
            status: ig(
                "labwatch_check_status",
                format!("Check status: 0 ok, 1 warning, 2 critical, 3 unknown {FROM_SCHEDULE}."),
                check_labels,
            ),
            reason: ig(
                "labwatch_check_reason_info",
                format!("1 for the check's current reason code {FROM_SCHEDULE}."),
                &["workspace", "check", "target", "reason"],
            ),
            duration: g(
                "labwatch_check_duration_seconds",
                format!("Duration of the check's last run {FROM_SCHEDULE}."),
                check_labels,
            ),
            last_success: g(
                "labwatch_check_last_success_timestamp_seconds",
                format!("Unix time the check last passed {FROM_SCHEDULE}."),
                check_labels,
            ),
            phase: g(
                "labwatch_instance_phase_duration_seconds",
                format!("Duration of each phase of the instance probe: dns, connect, tls, http {FROM_SCHEDULE}."),
                &["workspace", "phase"],
            ),
            tls_expiry: g(
                "labwatch_tls_cert_expiry_timestamp_seconds",
                format!("Unix time the instance's TLS leaf certificate expires {FROM_SCHEDULE}."),
                &["workspace"],
            ),
            token_expiry: g(
                "labwatch_token_expiry_timestamp_seconds",
                format!("Unix time the workspace's token stops working: 00:00 UTC of its expires_at {FROM_SCHEDULE}."),
                &["workspace"],
            ),
            renewal_due: g(
                "labwatch_token_renewal_due_timestamp_seconds",
                format!("Unix time the renewal policy wants a new token {FROM_SCHEDULE}."),
                &["workspace"],
            ),
            scope_missing: g(
                "labwatch_token_scope_missing",
                format!("1 for each required scope the token lacks, 0 for those it has {FROM_SCHEDULE}."),
                &["workspace", "scope"],
            ),
            plugin_measurement: g(
                "labwatch_plugin_measurement",
                format!(
                    "A measurement a plugin or HTTP check reported (perfdata or JSON), in base units named by its suffix; at most {} per check {FROM_SCHEDULE}.",
                    plugin::MAX_MEASUREMENTS
                ),
                &["workspace", "plugin", "name"],
            ),
        }
    }

    fn all(&self) -> [&dyn Collector; 10] {
        [
            &self.status,
            &self.reason,
            &self.duration,
            &self.last_success,
            &self.phase,
            &self.tls_expiry,
            &self.token_expiry,
            &self.renewal_due,
            &self.scope_missing,
            &self.plugin_measurement,
        ]
    }

    fn fill(&self, ws: &WorkspaceView) {
        for c in &ws.checks {
            let Some(state) = &c.state else { continue };
            let target = c.target.as_deref().unwrap_or("");
            let labels = [ws.name.as_str(), c.check.as_str(), target];
            self.status
                .with_label_values(&labels)
                .set(i64::from(state.outcome.status.code()));
            self.reason
                .with_label_values(&[
                    ws.name.as_str(),
                    c.check.as_str(),
                    target,
                    state.outcome.reason.as_str(),
                ])
                .set(1);
            self.duration
                .with_label_values(&labels)
                .set(state.duration.as_secs_f64());
            if let Some(t) = state.last_success {
                self.last_success
                    .with_label_values(&labels)
                    .set(t.unix_timestamp() as f64);
            }
            match (c.check.as_str(), c.target.is_none()) {
                ("instance", true) => self.fill_instance(&ws.name, state),
                ("token", true) => self.fill_token(&ws.name, state),
                ("scopes", true) => self.fill_scopes(&ws.name, state),
                (name, true) if !checks::is_builtin(name) => self.fill_plugin(&ws.name, name, state),
                _ => {}
            }
        }
    }

    /// The instance check reports its phases as measurements; these become
    /// their own series because they are what people graph.
    fn fill_instance(&self, workspace: &str, state: &CheckState) {
        for phase in ["dns", "connect", "tls", "http"] {
            if let Some(v) = state.outcome.measurements.get(&format!("{phase}_seconds")) {
                self.phase.with_label_values(&[workspace, phase]).set(*v);
            }
        }
        if let Some(v) = state.outcome.measurements.get("tls_cert_expiry_timestamp_seconds") {
            self.tls_expiry.with_label_values(&[workspace]).set(*v);
        }
    }
}

impl Families {
    fn fill_token(&self, workspace: &str, state: &CheckState) {
        let m = &state.outcome.measurements;
        if let Some(v) = m.get("expiry_timestamp_seconds") {
            self.token_expiry.with_label_values(&[workspace]).set(*v);
        }
        if let Some(v) = m.get("renewal_due_timestamp_seconds") {
            self.renewal_due.with_label_values(&[workspace]).set(*v);
        }
    }

    /// Plugins and HTTP checks: every measurement of the last outcome, capped
    /// again here so no outcome can grow the series without bound.
    fn fill_plugin(&self, workspace: &str, plugin: &str, state: &CheckState) {
        for (name, value) in state.outcome.measurements.iter().take(plugin::MAX_MEASUREMENTS) {
            self.plugin_measurement
                .with_label_values(&[workspace, plugin, name.as_str()])
                .set(*value);
        }
    }

    fn fill_scopes(&self, workspace: &str, state: &CheckState) {
        for (name, value) in &state.outcome.measurements {
            if let Some(scope) = name.strip_prefix("scope_missing:") {
                self.scope_missing.with_label_values(&[workspace, scope]).set(*value);
            }
        }
    }
}

struct StatusCollector {
    store: Arc<StatusStore>,
    /// Only for `desc()`: the registry checks descriptors once at registration.
    templates: Families,
}

impl StatusCollector {
    fn new(store: Arc<StatusStore>) -> StatusCollector {
        StatusCollector {
            store,
            templates: Families::new(),
        }
    }
}

impl Collector for StatusCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.templates.all().into_iter().flat_map(|c| c.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let families = Families::new();
        for ws in self.store.snapshot() {
            families.fill(&ws);
        }
        families.all().into_iter().flat_map(|c| c.collect()).collect()
    }
}
