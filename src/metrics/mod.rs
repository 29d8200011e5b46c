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

use crate::engine::{StatusStore, WorkspaceView};
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
    ///
    /// A fleet's check families are written in parts, one thread each:
    /// walking ten thousand workspaces' results waits on memory more than
    /// it computes (each result is its own allocation), and a scrape is
    /// the one thing labwatch does that a second core shortens. The
    /// caller is on the blocking pool, never a runtime worker.
    pub fn render_chunks(&self, instances: &[InstanceView]) -> Vec<String> {
        let views = self.store.snapshot();
        let mut out = text::Text::default();
        let mut build = text::Family::gauge("labwatch_build_info", "labwatch build information; always 1.".into(), 0);
        build.sample(&[("version", env!("CARGO_PKG_VERSION"))], 1.0);
        build.finish(&mut out);
        let counters = self.gitlab.snapshot();
        let slices: Vec<&[WorkspaceView]> = views.chunks(views.len().div_ceil(parts(views.len())).max(1)).collect();
        let status = if slices.len() < 2 {
            gitlab::write(&counters, &mut out);
            slices.iter().map(|slice| status_part(slice)).collect()
        } else {
            std::thread::scope(|scope| {
                let spawned: Vec<_> = slices
                    .iter()
                    .map(|&slice| {
                        let thread = std::thread::Builder::new().name("labwatch-metrics".into());
                        (slice, thread.spawn_scoped(scope, move || status_part(slice)))
                    })
                    .collect();
                gitlab::write(&counters, &mut out);
                spawned
                    .into_iter()
                    .map(|(slice, spawned)| match spawned {
                        Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                        // No thread to be had: this one writes that part.
                        Err(_) => status_part(slice),
                    })
                    .collect()
            })
        };
        status::StatusFamilies::finish(status, &mut out);
        instances::write(instances, &mut out);
        out.into_chunks()
    }
}

/// Workspaces from which a scrape is written by more than one thread: below
/// it, a part takes less than starting a thread would save.
const PARALLEL_FROM: usize = 1_000;

/// Into how many parts a scrape of `workspaces` is split: one per core, at
/// most four.
fn parts(workspaces: usize) -> usize {
    if workspaces < PARALLEL_FROM {
        return 1;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// The check families of some workspaces.
fn status_part(views: &[WorkspaceView]) -> status::StatusFamilies {
    let checks = views.iter().map(|w| w.checks.len()).sum();
    let mut families = status::StatusFamilies::new(checks, views.len());
    for ws in views {
        families.add(ws);
    }
    families
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::OffsetDateTime;

    use super::*;
    use crate::engine::{CheckKey, Outcome};

    /// `n` workspaces with a token check and a repository check each.
    fn fleet(n: usize) -> Arc<StatusStore> {
        let store = Arc::new(StatusStore::new());
        let names: Vec<String> = (0..n).map(|i| format!("ws-{i:05}")).collect();
        store.set_layout(
            names
                .iter()
                .map(|name| {
                    let checks = vec![
                        ("token".to_owned(), None),
                        ("repository".to_owned(), Some(format!("{name}/app"))),
                    ];
                    (name.clone(), "https://gitlab.com".to_owned(), checks)
                })
                .collect(),
        );
        for (i, name) in names.iter().enumerate() {
            let token = Outcome::ok("ok").with_measurement("expiry_timestamp_seconds", 1_790_000_000.0 + i as f64);
            let keys = [
                ("token", None, token),
                ("repository", Some(format!("{name}/app")), Outcome::ok("ok")),
            ];
            for (check, target, outcome) in keys {
                let key = CheckKey {
                    workspace: name.clone(),
                    check: check.to_owned(),
                    target,
                };
                store.record(
                    &key,
                    outcome,
                    None,
                    Duration::from_millis(3),
                    OffsetDateTime::UNIX_EPOCH,
                );
            }
        }
        store
    }

    fn written(parts: Vec<status::StatusFamilies>) -> String {
        let mut out = text::Text::default();
        status::StatusFamilies::finish(parts, &mut out);
        out.into_string()
    }

    #[test]
    fn families_written_in_parts_read_as_if_written_in_one() {
        let views = fleet(50).snapshot();
        let whole = written(vec![status_part(&views)]);
        let (a, b) = views.split_at(17);
        let (b, c) = b.split_at(20);
        assert_eq!(written(vec![status_part(a), status_part(b), status_part(c)]), whole);
        assert_eq!(
            whole
                .matches("# TYPE labwatch_token_expiry_timestamp_seconds gauge")
                .count(),
            1
        );
        assert_eq!(whole.matches("labwatch_check_status{").count(), 100);
    }

    #[test]
    fn a_fleet_scrape_has_each_family_once_and_every_workspace_in_name_order() {
        let n = PARALLEL_FROM + 200;
        let body = Metrics::new(fleet(n), &GitlabMetrics::new()).render(&[]);
        for family in ["labwatch_check_status", "labwatch_token_expiry_timestamp_seconds"] {
            assert_eq!(body.matches(&format!("# TYPE {family} gauge\n")).count(), 1, "{family}");
        }
        let expiries: Vec<&str> = body
            .lines()
            .filter(|l| l.starts_with("labwatch_token_expiry_timestamp_seconds{"))
            .collect();
        assert_eq!(expiries.len(), n);
        for (i, line) in expiries.iter().enumerate() {
            let expected = format!(
                "labwatch_token_expiry_timestamp_seconds{{workspace=\"ws-{i:05}\"}} {}",
                1_790_000_000 + i
            );
            assert_eq!(*line, expected);
        }
    }
}
