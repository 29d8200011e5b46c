//! External tools the suite uses (promtool, amtool, prometheus, chromium,
//! git, …).
//!
//! A test that needs a tool is marked
//! `#[cfg_attr(not(has_promtool), ignore = "promtool not installed: …")]`:
//! `build/tools.rs` sets `has_<tool>` when the tool is on PATH at build time,
//! so without it the test shows as *ignored*, not as a pass. Under CI=true
//! every `has_<tool>` is set, and [`require`] fails the test naming the
//! package: CI never passes by skipping.

use std::path::PathBuf;

/// Path of `name` on PATH. Panics naming the Debian `package` when it is
/// missing: the test's `cfg_attr(not(has_…), ignore)` said it was there
/// (or CI=true said it must be).
pub fn require(name: &str, package: &str) -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("`{name}` not found on PATH; install the Debian package `{package}` (scripts/test does)")
    })
}

/// Debian's Python, `/usr/bin/python3`, checked to import `module`.
/// Panics naming the Debian `package` otherwise, like [`require`]: Debian's
/// `python3-*` packages install for this interpreter only.
pub fn require_python_module(module: &str, package: &str) -> PathBuf {
    let python = PathBuf::from("/usr/bin/python3");
    let imports = std::process::Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        imports,
        "{} cannot import `{module}`; install the Debian package `{package}` (scripts/test does)",
        python.display()
    );
    python
}

/// Runs `promtool check metrics` on a `/metrics` body and fails the test
/// with promtool's words when it objects.
///
/// Built without promtool (no `has_promtool`) it checks nothing: the tests
/// calling it test more than the metrics' syntax and still run, while
/// `http::metrics_pass_promtool` and the promtool tests in `rules` show as
/// ignored, which is how a run without promtool is told apart.
pub fn assert_promtool_accepts(metrics: &str) {
    #[cfg(has_promtool)]
    promtool_check_metrics(metrics);
    #[cfg(not(has_promtool))]
    let _ = metrics;
}

#[cfg(has_promtool)]
fn promtool_check_metrics(metrics: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let promtool = require("promtool", "prometheus");
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(metrics.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("wait for promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics ---\n{metrics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
