//! Which external tools the test suite can use, as `cfg`s: `has_promtool`,
//! `has_chromium`, … for each tool found on `PATH` at build time, and
//! `has_postgres` for a PostgreSQL server (below).
//!
//! Why: a test that needs a missing tool used to return early and report
//! `ok`, so a run without promtool looked like a run that checked the
//! metrics. Now such a test is marked
//! `#[cfg_attr(not(has_promtool), ignore = "…")]` and shows as ignored, with
//! the package to install. Under `CI=true` every tool counts as present, so
//! the tests run and a missing tool fails them (`tests/it/support/tools.rs`
//! says which package to install): CI never passes by skipping.
//!
//! The build script runs again when `PATH` or `CI` change, or when a file
//! appears in a `PATH` directory (installing a package adds one), so the
//! answer follows `apt-get install` (which `scripts/test` runs first).
//! Except in release builds: only the tests read these `cfg`s, and the
//! test suite is built in the test profile. A release build that ran again
//! whenever `/usr/bin` or `~/.cargo/bin` changed would compile labwatch
//! again (minutes, with its link-time optimisation), as it did when CI
//! installed cargo-deb or lintian, or labwatch's own package, between two
//! release builds. A `cargo test --release` sees the tools of its first
//! build.
//!
//! `has_python_gitlab` says Debian's Python has python-gitlab (below).
//!
//! One more, `has_postgres`, for the tests that start their own PostgreSQL
//! server (`tests/it/support/postgres.rs`): Debian keeps the server's
//! programs off `PATH`, in `/usr/lib/postgresql/<major>/bin/`, so `initdb`
//! is looked for there as well as on `PATH`. `/usr/lib/postgresql` is
//! watched only when it exists: cargo runs a build script on every build
//! while a path it watches is missing. Before that, `PATH` is what tells
//! an install: the package brings postgresql-common, whose programs go to
//! `/usr/bin`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

/// Every tool a test may need: the cfg is `has_` and the name with `-` as `_`.
const TOOLS: &[&str] = &[
    "promtool",
    "prometheus",
    "amtool",
    "prometheus-alertmanager",
    "chromium",
    "chromedriver",
    "git",
    "jq",
    "curl",
];

/// Whether to run again when a watched directory changes: not for a
/// release build (see the top of this file).
fn watch_paths() -> bool {
    env::var("PROFILE").map_or(true, |p| p != "release")
}

pub fn emit() {
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    let dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).filter(|d| d.is_absolute() && d.is_dir()).collect())
        .unwrap_or_default();
    for dir in dirs.iter().filter(|_| watch_paths()) {
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    let ci = env::var("CI").is_ok_and(|v| v == "true");
    for tool in TOOLS {
        let cfg = format!("has_{}", tool.replace('-', "_"));
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if ci || dirs.iter().any(|d| d.join(tool).is_file()) {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
    postgres(ci, &dirs);
    python_gitlab(ci);
}

/// Debian's Python, for which Debian's `python3-*` packages install
/// modules (another `python3` on `PATH`, such as pyenv's, does not see them).
const DEBIAN_PYTHON: &str = "/usr/bin/python3";
const DEBIAN_PYTHON_MODULES: &str = "/usr/lib/python3/dist-packages";

/// `has_python_gitlab`: Debian's Python can `import gitlab` (package
/// `python3-gitlab`), for the python-gitlab conformance test. Installing
/// the package adds a folder to dist-packages, which is watched.
fn python_gitlab(ci: bool) {
    println!("cargo::rustc-check-cfg=cfg(has_python_gitlab)");
    if watch_paths() && Path::new(DEBIAN_PYTHON_MODULES).is_dir() {
        println!("cargo::rerun-if-changed={DEBIAN_PYTHON_MODULES}");
    }
    let found = std::process::Command::new(DEBIAN_PYTHON)
        .args(["-c", "import gitlab"])
        .output()
        .is_ok_and(|out| out.status.success());
    if ci || found {
        println!("cargo::rustc-cfg=has_python_gitlab");
    }
}

/// Debian's server programs: `/usr/lib/postgresql/<major>/bin/initdb`.
const POSTGRES_VERSIONS: &str = "/usr/lib/postgresql";

/// `has_postgres`: an `initdb` under `/usr/lib/postgresql/*/bin/` or on
/// `PATH` (or CI=true, where a missing server must fail the tests).
fn postgres(ci: bool, path: &[PathBuf]) {
    println!("cargo::rustc-check-cfg=cfg(has_postgres)");
    let versions = Path::new(POSTGRES_VERSIONS);
    if watch_paths() && versions.is_dir() {
        println!("cargo::rerun-if-changed={POSTGRES_VERSIONS}");
    }
    let debian = fs::read_dir(versions)
        .into_iter()
        .flatten()
        .flatten()
        .any(|version| version.path().join("bin/initdb").is_file());
    if ci || debian || path.iter().any(|d| d.join("initdb").is_file()) {
        println!("cargo::rustc-cfg=has_postgres");
    }
}
