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

/// Runs one banner command with the banner's `export` line before it, as a
/// person pastes them into a shell: exit code, stdout, stderr.
fn run_printed(export: &str, command: &str) -> (Option<i32>, String, String) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{export}\n{command}"))
        .env_remove("LABWATCH_ADMIN_TOKEN")
        .env_remove("LABWATCH_DAEMON")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run sh");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every command of the banner's "Try" list, run as printed and in the
/// order printed, does what the banner says. A command the test does not
/// know fails it: a new line in the banner needs its check here.
#[tokio::test(flavor = "multi_thread")]
async fn every_command_the_demo_banner_prints_works_as_printed() {
    let mut demo = tokio::task::block_in_place(|| {
        let mut demo = Daemon::spawn(&[OsStr::new("demo"), OsStr::new("--listen"), OsStr::new("127.0.0.1:0")]);
        demo.wait_serving();
        demo.wait_for_stdout("Ctrl-C stops.");
        demo
    });
    // Stdout lines arrive in order on one thread; stderr's are JSON.
    let banner: Vec<String> = demo.seen.iter().filter(|l| !l.starts_with('{')).cloned().collect();
    let sim = banner
        .iter()
        .find(|l| l.trim_start().starts_with("GitLab sim"))
        .and_then(|l| l.split_whitespace().nth(2))
        .expect("the simulator's URL")
        .to_owned();
    let start = banner
        .iter()
        .position(|l| l.starts_with("Try, in another terminal"))
        .unwrap_or_else(|| panic!("no commands to try in\n{}", banner.join("\n")));
    let commands: Vec<&str> = banner[start + 1..]
        .iter()
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim())
        .collect();
    let (export, commands) = commands.split_first().expect("the export line");
    assert!(export.starts_with("export LABWATCH_ADMIN_TOKEN="), "{export}");
    // The binary's real path: `labwatch` is not on the test's PATH.
    let binary = std::fs::canonicalize(assert_cmd::cargo::cargo_bin!("labwatch")).unwrap();
    let labwatch = format!("{} ", binary.display());
    assert!(
        banner.iter().any(|l| l.contains("`labwatch` is not on your PATH")),
        "{banner:?}"
    );
    let mut seen = Vec::new();
    let mut rotated_to = None;
    for command in commands {
        let (code, stdout, stderr) = run_printed(export, command);
        let said = format!("`{command}` exited {code:?}\nstdout: {stdout}\nstderr: {stderr}");
        assert_eq!(code, Some(0), "{said}");
        let verb = if let Some(rest) = command.strip_prefix(&labwatch) {
            rest.split_whitespace().next().unwrap_or_default()
        } else if command.starts_with("curl ") {
            "curl"
        } else {
            panic!("the banner prints a command the test does not know: {command}");
        };
        match verb {
            "connect" => assert!(
                stdout.starts_with(&format!("Connected workspace spare to {sim} as @alice")),
                "{said}"
            ),
            "repos" => assert!(stdout.contains("acme/docs"), "{said}"),
            "rotate" => {
                let new = stdout
                    .strip_prefix("Rotated the token of workspace healthy: new token 'labwatch-demo', id ")
                    .unwrap_or_else(|| panic!("{said}"));
                rotated_to = new.split(',').next().and_then(|id| id.parse::<u64>().ok());
            }
            "curl" => {
                assert!(command.contains(&format!("{sim}/-/sim/tokens/")), "{said}");
                // "within 30s `spare` turns critical": the test asks for the
                // round now instead of waiting for it.
                let daemon = format!("http://{}", demo.addr);
                let run = run_printed(
                    export,
                    &format!(
                        "curl -fsS -X POST -H \"Authorization: Bearer $LABWATCH_ADMIN_TOKEN\" '{daemon}/api/v1/checks/run?workspace=spare'"
                    ),
                );
                assert_eq!(run.0, Some(0), "{run:?}");
                tokio::task::block_in_place(|| {
                    demo.wait_until_event("spare's token check: token-revoked", |e| {
                        e["message"] == "Check failed" && e["workspace"] == "spare" && e["reason"] == "token-revoked"
                    })
                });
            }
            other => panic!("the banner prints a command the test does not know: {other}"),
        }
        seen.push(verb);
    }
    assert_eq!(seen, ["connect", "repos", "rotate", "curl"], "{banner:?}");
    // The rotation went through the store: `healthy` now shows the new token.
    let (_, body) = get(demo.addr, "/status").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let healthy = v["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == "healthy")
        .unwrap();
    assert_eq!(healthy["connection"]["token"]["id"].as_u64(), rotated_to, "{healthy}");
    demo.signal("INT");
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
