//! `/metrics`: counters that live in the process (GitLab requests,
//! renewals, build info) on an explicit [`Registry`] (never the global one),
//! followed by the check families written from the [`StatusStore`] at scrape
//! time ([`status`]).

mod instances;
mod status;
mod text;

use std::sync::Arc;

use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};

use crate::engine::StatusStore;
use crate::gitlab::GitlabMetrics;
use crate::report::InstanceView;

/// What a scrape renders.
pub struct Metrics {
    registry: Registry,
    store: Arc<StatusStore>,
}

impl Metrics {
    pub fn new(store: Arc<StatusStore>, gitlab: &GitlabMetrics) -> Metrics {
        let registry = Registry::new();
        // Registration fails only on duplicate or inconsistent descriptors,
        // which the constant definitions rule out.
        if let Err(e) = gitlab.register(&registry) {
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
        Metrics { registry, store }
    }

    /// The Prometheus text exposition format, with the families of the
    /// `instances` the workspaces use.
    pub fn render(&self, instances: &[InstanceView]) -> String {
        let mut buf = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(error = %e, "Metrics encoding failed");
        }
        let mut out = String::from_utf8(buf).unwrap_or_default();
        let views = self.store.snapshot();
        let checks: usize = views.iter().map(|w| w.checks.len()).sum();
        // About 400 bytes per check across its families.
        out.reserve(checks * 400);
        let mut families = status::StatusFamilies::new(checks);
        for ws in &views {
            families.add(ws);
        }
        families.finish(&mut out);
        instances::write(instances, &mut out);
        out
    }
}
