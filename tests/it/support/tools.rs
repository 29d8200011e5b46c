//! External tools the suite uses (promtool). Locally a missing tool skips the
//! test with a message; under CI=true it fails, so CI never passes by skipping.

use std::path::PathBuf;

/// Path of `name` on PATH, or `None` (after saying so) when it is missing
/// outside CI. Panics under CI=true.
pub fn require(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!("`{name}` not found; install the Debian package `{package}` (scripts/test does)");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    found
}
