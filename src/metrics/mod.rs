//! `/metrics`, written at scrape time in the Prometheus text format by
//! [`text`]'s writer: build info, the GitLab client's counters ([`gitlab`]),
//! the check families from the [`StatusStore`] ([`status`]) and the
//! instances ([`instances`]). No client library: a fleet's hundreds of
//! thousands of series cost a walk and a write each, not a registry's
//! copies and sorts.

mod gitlab;
mod instances;
mod status;
mod text;

use std::sync::Arc;

use crate::engine::StatusStore;
use crate::gitlab::GitlabMetrics;
use crate::report::InstanceView;

/// What a scrape renders.
pub struct Metrics {
    store: Arc<StatusStore>,
    gitlab: GitlabMetrics,
}

impl Metrics {
    pub fn new(store: Arc<StatusStore>, gitlab: &GitlabMetrics) -> Metrics {
        Metrics {
            store,
            gitlab: gitlab.clone(),
        }
    }

    /// The Prometheus text exposition format, with the families of the
    /// `instances` the workspaces use.
    pub fn render(&self, instances: &[InstanceView]) -> String {
        self.render_chunks(instances).concat()
    }

    /// The same in the pieces it was written in, for `/metrics` to send
    /// without joining them first (a fleet's scrape is tens of megabytes).
    pub fn render_chunks(&self, instances: &[InstanceView]) -> Vec<String> {
        let views = self.store.snapshot();
        let checks: usize = views.iter().map(|w| w.checks.len()).sum();
        let mut out = text::Text::default();
        let mut build = text::Family::gauge("labwatch_build_info", "labwatch build information; always 1.".into(), 0);
        build.sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
        build.finish(&mut out);
        gitlab::write(&self.gitlab, &mut out);
        let mut families = status::StatusFamilies::new(checks, views.len());
        for ws in &views {
            families.add(ws);
        }
        families.finish(&mut out);
        instances::write(instances, &mut out);
        out.into_chunks()
    }
}
