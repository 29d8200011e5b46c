//! `labwatch demo` and `labwatch sim` as a person runs them: no network, no
//! config, URLs printed, the broken workspaces explained.

use std::ffi::OsStr;

use crate::support::client::get;
use crate::support::process::Daemon;

#[tokio::test(flavor = "multi_thread")]
async fn demo_shows_healthy_broken_and_unconnected_workspaces() {
    let mut demo = tokio::task::block_in_place(|| {
        Daemon::spawn(&[OsStr::new("demo"), OsStr::new("--listen"), OsStr::new("127.0.0.1:0")])
    });
    tokio::task::block_in_place(|| {
        demo.wait_serving();
        let status_line = demo.wait_for_stdout("status JSON");
        assert!(
            status_line.contains(&format!("http://{}/status", demo.addr)),
            "{status_line}"
        );
        for _ in 0..4 {
            demo.wait_for("First round finished");
        }
    });

    let (code, body) = get(demo.addr, "/status").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ws = |name: &str| {
        v["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .cloned()
            .unwrap()
    };
    let reasons = |name: &str| -> Vec<String> {
        ws(name)["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["reason"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(ws("healthy")["status"], "ok", "{}", ws("healthy"));
    assert_eq!(ws("healthy")["connection"]["username"], "alice");
    let expiring = reasons("expiring");
    assert!(
        expiring.contains(&"token-expiring".into()) && expiring.contains(&"scopes-missing".into()),
        "{expiring:?}"
    );
    let repos = reasons("repositories");
    for r in [
        "repo-not-found-or-no-access",
        "repo-on-other-instance",
        "repo-moved",
        "repo-archived",
        "ok",
    ] {
        assert!(repos.contains(&r.to_owned()), "`{r}` missing from {repos:?}");
    }
    assert!(
        reasons("spare").contains(&"not-connected".into()),
        "{:?}",
        reasons("spare")
    );
    assert!(
        demo.seen.iter().any(|l| l.contains("Admin API token (demo only): ")),
        "the admin token is printed"
    );
    assert_eq!(get(demo.addr, "/health?workspace=healthy").await.0, 200);
    assert_eq!(get(demo.addr, "/health").await.0, 503);

    demo.signal("INT");
    tokio::task::block_in_place(|| demo.wait_for("Shut down"));
    assert_eq!(tokio::task::block_in_place(|| demo.wait_exit()), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn sim_prints_its_scenario_and_writes_the_summary_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("summary.json");
    let mut sim = tokio::task::block_in_place(|| {
        Daemon::spawn(&[
            OsStr::new("sim"),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--summary-json"),
            json.as_os_str(),
        ])
    });
    let control = tokio::task::block_in_place(|| sim.wait_for_stdout("Control API:"));
    let url = control
        .split_whitespace()
        .nth(2)
        .unwrap()
        .trim_end_matches("/-/sim/summary")
        .to_owned();
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();

    let summary: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let users = summary["users"].as_array().unwrap();
    assert!(users.len() >= 2);
    for user in users {
        assert!(user["username"].is_string() && user["user_id"].is_u64(), "{user}");
        for t in user["tokens"].as_array().unwrap() {
            assert!(t["token"].as_str().unwrap().starts_with("glpat-"), "{t}");
            assert!(
                t["name"].is_string() && t["scopes"].is_array() && t["active"].is_boolean(),
                "{t}"
            );
        }
    }
    let projects = summary["projects"].as_array().unwrap();
    assert!(
        projects
            .iter()
            .all(|p| p["path_with_namespace"].is_string() && p["visibility"].is_string() && p["members"].is_array())
    );
    // The printed summary names the tokens a person can try.
    let first = users[0]["tokens"][0]["token"].as_str().unwrap().to_owned();
    assert!(sim.seen.iter().any(|l| l.contains(&first)), "{:?}", sim.seen);

    let (code, body) = get(addr, "/api/v4/version").await;
    assert_eq!((code, body.contains("401 Unauthorized")), (401, true));
    sim.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| sim.wait_exit()), Some(0));
}

#[test]
fn sim_rejects_a_broken_scenario_with_the_place_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[users]]\nusername = \"a\"\nfavourite_colour = \"red\"\n").unwrap();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(["sim", "--listen", "127.0.0.1:0", "--scenario"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("favourite_colour"),
        "{stderr}"
    );
}
