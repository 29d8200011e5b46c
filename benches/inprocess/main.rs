//! In-process benchmarks (criterion): the parts of labwatch whose cost grows
//! with the number of watched repositories, measured without the network.
//!
//! - `metrics_render/N`: `/metrics` text for a store of N repository checks;
//! - `metrics_render_fleet/N`: the same for N workspaces of 3 repositories;
//! - `endpoint/{health,status,metrics}/N`: the same through the router, as a
//!   request costs when served;
//! - `config_parse/N`: parsing and validating a config watching N repositories;
//! - `gitlab_decode/project_page`: decoding one page of 100 projects, as
//!   GitLab sends them (the recorded fixture, repeated);
//! - `capability_verdicts`: judging one repository's five capabilities, one
//!   of them `no` (what a repository check pays when the project's facts or
//!   the token changed; otherwise it reuses the verdicts it kept).
//!
//! Run with `cargo bench --bench inprocess`; `benches/run` runs it with the
//! whole-process driver. Whole-process numbers (CPU per round, RSS, wrk) come
//! from `benches/whole_process`.

mod fixtures;

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use labwatch::config::Config;
use labwatch::gitlab::types::Project;

const SIZES: [usize; 3] = [100, 1_000, 10_000];

fn metrics_render(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_render");
    for n in SIZES {
        let metrics = fixtures::metrics(fixtures::store(n));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(metrics.render(&[])))
        });
    }
    group.finish();
}

/// `/metrics` of a fleet: N workspaces × (3 workspace checks + 3
/// repositories), the shape issue 16 asks to render in 100 ms at 10,000.
fn metrics_render_fleet(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics_render_fleet");
    group.sample_size(10);
    for n in [1_000, 10_000] {
        let metrics = fixtures::fleet(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(metrics.render(&[])))
        });
    }
    group.finish();
}

fn endpoints(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime builds");
    let mut group = c.benchmark_group("endpoint");
    for path in ["/health", "/status", "/metrics"] {
        for n in SIZES {
            let router = fixtures::router(fixtures::store(n));
            let id = BenchmarkId::new(path.trim_start_matches('/'), n);
            group.bench_with_input(id, &n, |b, _| {
                b.iter(|| black_box(runtime.block_on(fixtures::get(&router, path))))
            });
        }
    }
    group.finish();
}

fn config_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("config_parse");
    for n in SIZES {
        let text = fixtures::config_text(n);
        let path = std::path::Path::new("bench.toml");
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| black_box(Config::parse(path, &text).is_ok()))
        });
    }
    group.finish();
}

fn gitlab_decode(c: &mut Criterion) {
    let page = fixtures::project_page(100);
    c.bench_function("gitlab_decode/project_page", |b| {
        b.iter(|| black_box(serde_json::from_slice::<Vec<Project>>(&page).map(|v| v.len())))
    });
}

fn capability_verdicts(c: &mut Criterion) {
    use labwatch::gitlab::capabilities::{Facts, Features, Visibility};
    let text = "[[workspace]]\nname = \"acme\"\ninstance_url = \"https://gitlab.example.com\"\n\
                repositories = [\"acme/api\"]\ncapabilities = [\"clone\", \"issues\"]\n";
    let config = Config::parse(std::path::Path::new("bench.toml"), text).expect("the bench config parses");
    let ws = &config.workspaces[0];
    // A Reporter with an `api` token: push, merge requests and running
    // pipelines are `no`, each with its message and fix.
    let facts = Facts {
        scopes: vec!["api".to_owned(), "read_repository".to_owned()],
        access_level: Some(20),
        visibility: Visibility::Private,
        archived: false,
        features: Features::default(),
        public_jobs: true,
    };
    c.bench_function("capability_verdicts", |b| {
        b.iter(|| {
            black_box(labwatch::checks::capability_views(
                black_box(&facts),
                ws.listed_capabilities(None),
            ))
        })
    });
}

criterion_group!(
    benches,
    metrics_render,
    metrics_render_fleet,
    endpoints,
    config_parse,
    gitlab_decode,
    capability_verdicts
);
criterion_main!(benches);
