//! A real, unmodified third-party client against `labwatch sim`:
//! python-gitlab (Debian package `python3-gitlab`) runs
//! `tests/python_gitlab/conformance.py` against the simulator serving
//! `tests/python_gitlab/scenario.toml` and prints what each call answered.
//! It sends booleans as Python spells them (`True`, `False`), orders by
//! every `order_by` GitLab declares, and uses the token and user endpoints,
//! the calls the simulator once got wrong (project issue 18).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::process::Daemon;
use crate::support::tools;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python_gitlab")
        .join(name)
}

#[test]
#[cfg_attr(
    not(has_python_gitlab),
    ignore = "python-gitlab not installed: apt-get install python3-gitlab (scripts/test does)"
)]
fn python_gitlab_works_against_the_simulator() {
    let python = tools::require_python_module("gitlab", "python3-gitlab");
    let scenario = fixture("scenario.toml");
    let mut sim = Daemon::spawn(&[
        OsStr::new("sim"),
        OsStr::new("--listen"),
        OsStr::new("127.0.0.1:0"),
        OsStr::new("--scenario"),
        scenario.as_os_str(),
    ]);
    // "Control API: http://127.0.0.1:PORT/-/sim/summary (…)": the simulator
    // serves plain HTTP on the address it was given.
    let control = sim.wait_for_stdout("Control API:");
    let url = control
        .split_whitespace()
        .nth(2)
        .and_then(|u| u.strip_suffix("/-/sim/summary"))
        .unwrap_or_else(|| panic!("no URL in {control:?}"))
        .to_owned();
    let out = Command::new(python)
        .arg(fixture("conformance.py"))
        .args([url.as_str(), "glpat-pygitlab-alice-api-000", "ci job"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python-gitlab failed:\n{stderr}\n{stdout}");
    let answers: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));

    assert_eq!(answers["user"], "alice");
    assert_eq!(
        answers["membership"],
        json!(["acme/backend", "acme/back-office"]),
        "membership=True&simple=True&archived=False"
    );
    // Newest first for the orders a regular user cannot have or that tie;
    // similarity without a search is the default order too.
    let newest_first = json!(["acme/legacy", "acme/back-office", "acme/backend"]);
    for order_by in ["star_count", "storage_size", "repository_size", "similarity"] {
        assert_eq!(answers["orders"][order_by], newest_first, "order_by={order_by}");
    }
    assert_eq!(
        answers["similar"],
        json!(["acme/backend", "acme/back-office"]),
        "search=back&order_by=similarity: own projects, best match first"
    );
    assert_eq!(answers["project"]["path"], "acme/backend");
    assert_eq!(answers["project"]["visibility"], "private");
    assert_eq!(answers["project_by_id"], "acme/backend");
    assert_eq!(
        answers["tokens"],
        json!(["ci job", "workspace"]),
        "alice's own tokens only"
    );
    assert_eq!(answers["token_by_id"], "ci job");
    assert_eq!(answers["revoked"], json!(["ci job"]));
    assert_eq!(
        answers["missing_token"], 401,
        "a non-admin is not told a token is missing"
    );
    assert_eq!(answers["user_by_name"], json!(["bob"]));
    assert_eq!(answers["user_by_id"], "bob");
    assert_eq!(answers["unknown_user"], json!([]));
    assert_eq!(answers["missing_user"], 404);

    sim.signal("TERM");
    assert_eq!(sim.wait_exit(), Some(0));
}
