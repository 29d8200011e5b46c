//! Which external tools the test suite can use, as `cfg`s: `has_promtool`,
//! `has_chromium`, … for each tool found on `PATH` at build time.
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

use std::env;
use std::path::PathBuf;

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

pub fn emit() {
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    let dirs: Vec<PathBuf> = env::var_os("PATH")
        .map(|p| env::split_paths(&p).filter(|d| d.is_absolute() && d.is_dir()).collect())
        .unwrap_or_default();
    for dir in &dirs {
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
}
