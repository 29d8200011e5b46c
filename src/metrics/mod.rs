//! `/metrics`, written at scrape time in the Prometheus text format by
//! [`text`]'s writer: build info, the GitLab client's counters ([`gitlab`]),
//! the check families from the [`StatusStore`] ([`status`]) and the
//! instances ([`instances`]). No client library: a fleet's hundreds of
//! thousands of series cost a walk and a write each, not a registry's
//! copies and sorts.

mod gitlab;
mod instances;
mod replica;
mod status;
mod text;

use std::sync::{Arc, Mutex};

use crate::config::MetricsConfig;
use crate::engine::{StatusStore, WorkspaceView};
use crate::gitlab::GitlabMetrics;
use crate::report::InstanceView;
use crate::runtime::Ownership;
use crate::store::ConnectionStore;

/// What a scrape renders.
pub struct Metrics {
    store: Arc<StatusStore>,
    gitlab: GitlabMetrics,
    /// The config's `[metrics]`, as last loaded.
    config: Mutex<MetricsConfig>,
    /// When replicas share the fleet: this one, and the store's calls.
    replica: Option<(Arc<Ownership>, Arc<ConnectionStore>)>,
}

impl Metrics {
    pub fn new(store: Arc<StatusStore>, gitlab: &GitlabMetrics) -> Metrics {
        Metrics {
            store,
            gitlab: gitlab.clone(),
            config: Mutex::default(),
            replica: None,
        }
    }

    /// A replica's metrics: its own families besides the workspaces'.
    pub fn sharing(mut self, ownership: Arc<Ownership>, store: Arc<ConnectionStore>) -> Metrics {
        self.replica = Some((ownership, store));
        self
    }

    /// Renders by `config` from the next scrape on (at start and after
    /// every reload).
    pub fn configure(&self, config: MetricsConfig) {
        *self.config.lock().unwrap_or_else(|e| e.into_inner()) = config;
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
        let series = *self.config.lock().unwrap_or_else(|e| e.into_inner());
        let slices: Vec<&[WorkspaceView]> = views.chunks(views.len().div_ceil(parts(views.len())).max(1)).collect();
        let status = if slices.len() < 2 {
            gitlab::write(&counters, &mut out);
            slices.iter().map(|slice| status_part(slice, series)).collect()
        } else {
            std::thread::scope(|scope| {
                let spawned: Vec<_> = slices
                    .iter()
                    .map(|&slice| {
                        let thread = std::thread::Builder::new().name("labwatch-metrics".into());
                        (slice, thread.spawn_scoped(scope, move || status_part(slice, series)))
                    })
                    .collect();
                gitlab::write(&counters, &mut out);
                spawned
                    .into_iter()
                    .map(|(slice, spawned)| match spawned {
                        Ok(handle) => handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                        // No thread to be had: this one writes that part.
                        Err(_) => status_part(slice, series),
                    })
                    .collect()
            })
        };
        status::StatusFamilies::finish(status, &mut out);
        instances::write(instances, &mut out);
        if let Some((ownership, store)) = &self.replica {
            replica::write(ownership, store.stats(), &mut out);
        }
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
fn status_part(views: &[WorkspaceView], series: MetricsConfig) -> status::StatusFamilies {
    let checks = views.iter().map(|w| w.checks.len()).sum();
    let mut families = status::StatusFamilies::new(checks, views.len(), series);
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
    use crate::config::RepositorySeries;
    use crate::engine::{CheckKey, Outcome, Reason, Status};

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
        let part = |views| status_part(views, MetricsConfig::default());
        let whole = written(vec![part(&views)]);
        let (a, b) = views.split_at(17);
        let (b, c) = b.split_at(20);
        assert_eq!(written(vec![part(a), part(b), part(c)]), whole);
        assert_eq!(
            whole
                .matches("# TYPE labwatch_token_expiry_timestamp_seconds gauge")
                .count(),
            1
        );
        assert_eq!(whole.matches("labwatch_check_status{").count(), 100);
    }

    /// One workspace whose repositories `a`, `b`, `c` found `outcomes`, run
    /// at 1,000 s, 2,000 s and 3,000 s after the epoch and taking 1, 5 and
    /// 2 ms, as scraped under `series`.
    fn repositories_scraped(outcomes: [Outcome; 3], series: RepositorySeries) -> String {
        let store = Arc::new(StatusStore::new());
        let checks = ["a", "b", "c"].map(|t| ("repository".to_owned(), Some(t.to_owned())));
        store.set_layout(vec![("acme".into(), "https://gitlab.com".into(), checks.to_vec())]);
        let runs = [(1_000, 1), (2_000, 5), (3_000, 2)];
        for (((_, target), outcome), (at, ms)) in checks.into_iter().zip(outcomes).zip(runs) {
            let key = CheckKey {
                workspace: "acme".into(),
                check: "repository".into(),
                target,
            };
            let at = OffsetDateTime::from_unix_timestamp(at).unwrap();
            store.record(&key, outcome, None, Duration::from_millis(ms), at);
        }
        let metrics = Metrics::new(store, &GitlabMetrics::new());
        metrics.configure(MetricsConfig {
            repository_series: series,
            ..MetricsConfig::default()
        });
        metrics.render(&[])
    }

    fn samples<'a>(body: &'a str, family: &str) -> Vec<&'a str> {
        body.lines().filter(|l| l.starts_with(&format!("{family}{{"))).collect()
    }

    #[test]
    fn per_workspace_repository_series_show_the_worst_its_reason_the_longest_run_and_when_all_last_passed() {
        let missing = || Outcome::new(Status::Critical, Reason::RepoNotFoundOrNoAccess, "404");
        let archived = Outcome::new(Status::Warning, Reason::RepoArchived, "archived");
        let body = repositories_scraped(
            [Outcome::ok("ok"), missing(), missing()],
            RepositorySeries::PerWorkspace,
        );
        let all = r#"{check="repository",target="*",workspace="acme"}"#;
        assert_eq!(
            samples(&body, "labwatch_check_status"),
            [format!("labwatch_check_status{all} 2")]
        );
        assert_eq!(
            samples(&body, "labwatch_check_reason_info"),
            [
                r#"labwatch_check_reason_info{check="repository",reason="repo-not-found-or-no-access",target="*",workspace="acme"} 1"#
            ]
        );
        assert_eq!(
            samples(&body, "labwatch_check_duration_seconds"),
            [format!("labwatch_check_duration_seconds{all} 0.005")]
        );
        // `b` and `c` never passed: no time by which all had.
        assert!(
            samples(&body, "labwatch_check_last_success_timestamp_seconds").is_empty(),
            "{body}"
        );

        let body = repositories_scraped(
            [Outcome::ok("ok"), archived, Outcome::ok("ok")],
            RepositorySeries::PerWorkspace,
        );
        assert_eq!(
            samples(&body, "labwatch_check_status"),
            [format!("labwatch_check_status{all} 1")]
        );
        assert_eq!(
            samples(&body, "labwatch_check_last_success_timestamp_seconds"),
            [format!("labwatch_check_last_success_timestamp_seconds{all} 1000")]
        );

        let each = repositories_scraped(
            [Outcome::ok("ok"), missing(), missing()],
            RepositorySeries::PerRepository,
        );
        assert_eq!(
            samples(&each, "labwatch_check_status"),
            ["a 0", "b 2", "c 2"].map(|s| {
                let (target, value) = s.split_once(' ').unwrap();
                format!(r#"labwatch_check_status{{check="repository",target="{target}",workspace="acme"}} {value}"#)
            })
        );
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
