//! `[[generate]]` scenario tables: a thousand users with a token and
//! projects each, made from a seed, started by `labwatch sim` and listed in
//! `--summary-json`; the same seed makes the same tokens; bad tables get
//! errors that name the field and the fix.

use std::collections::BTreeSet;
use std::ffi::OsStr;

use labwatch::sim::Scenario;
use serde_json::Value;

use crate::support::process::Daemon;

const FLEET: &str = r#"
today = "2026-03-01"

[[users]]
username = "alice"
[[users.tokens]]
name = "hand-written"
token = "glpat-alice-hand-written-000"
scopes = ["api"]

[[generate]]
users = 1000
projects_per_user = 2
seed = 42

# A hand-written project may name generated users.
[[projects]]
path = "acme/shared"
members = { gen0007 = "developer" }
"#;

fn client() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).expect("TLS config");
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_generated_fleet_starts_and_its_summary_lists_every_user_and_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = dir.path().join("fleet.toml");
    std::fs::write(&scenario, FLEET).expect("write scenario");
    let json = dir.path().join("summary.json");
    let mut sim = tokio::task::block_in_place(|| {
        Daemon::spawn(&[
            OsStr::new("sim"),
            OsStr::new("--listen"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--scenario"),
            scenario.as_os_str(),
            OsStr::new("--summary-json"),
            json.as_os_str(),
        ])
    });
    let control = tokio::task::block_in_place(|| sim.wait_for_stdout("Control API:"));
    let base = control
        .split_whitespace()
        .nth(2)
        .expect("the control URL")
        .trim_end_matches("/-/sim/summary")
        .to_owned();

    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("summary")).expect("JSON");
    let users = summary["users"].as_array().expect("users");
    assert_eq!(users.len(), 1001);
    assert_eq!(users[0]["username"], "alice");
    assert_eq!(users[1]["username"], "gen0001");
    assert_eq!(users[1000]["username"], "gen1000");
    let mut secrets = BTreeSet::new();
    for user in &users[1..] {
        let tokens = user["tokens"].as_array().expect("tokens");
        assert_eq!(tokens.len(), 1, "{user}");
        let token = &tokens[0];
        let secret = token["token"].as_str().expect("secret");
        assert!(secret.starts_with("glpat-") && secret.len() == 26, "{secret}");
        assert_eq!(token["scopes"], serde_json::json!(["api", "read_repository"]));
        assert_eq!(token["expires_at"], "2027-03-01");
        assert_eq!(token["active"], true);
        secrets.insert(secret.to_owned());
    }
    assert_eq!(secrets.len(), 1000, "every generated token is unique");
    let projects = summary["projects"].as_array().expect("projects");
    assert_eq!(projects.len(), 2001);
    assert_eq!(projects[0]["path_with_namespace"], "gen0001/p1");
    assert_eq!(projects[0]["members"][0]["username"], "gen0001");
    assert_eq!(projects[0]["members"][0]["role"], "owner");
    let shared = projects
        .iter()
        .find(|p| p["path_with_namespace"] == "acme/shared")
        .expect("acme/shared");
    assert_eq!(shared["members"][0]["username"], "gen0007");

    // A generated token works like any other: the API knows its user, and
    // git may read the user's project.
    let token = users[500]["tokens"][0]["token"].as_str().expect("secret");
    let me = client()
        .get(format!("{base}/api/v4/user"))
        .header("PRIVATE-TOKEN", token)
        .send()
        .await
        .expect("answered");
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.expect("JSON");
    assert_eq!(me["username"], "gen0500");
    let refs = client()
        .get(format!("{base}/gen0500/p2.git/info/refs?service=git-upload-pack"))
        .basic_auth("oauth2", Some(token))
        .send()
        .await
        .expect("answered");
    assert_eq!(refs.status(), 200);
    let other = client()
        .get(format!("{base}/gen0501/p1.git/info/refs?service=git-upload-pack"))
        .basic_auth("oauth2", Some(token))
        .send()
        .await
        .expect("answered");
    assert_eq!(other.status(), 404, "another user's private project");

    sim.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| sim.wait_exit()), Some(0));
}

fn secrets(toml: &str) -> Vec<String> {
    let scenario = Scenario::from_toml(toml).unwrap_or_else(|e| panic!("{e}"));
    scenario
        .summary()
        .users
        .iter()
        .flat_map(|u| u.tokens.iter().map(|t| t.token.clone()))
        .collect()
}

#[test]
fn the_same_seed_makes_the_same_tokens_and_another_seed_others() {
    let table = |seed: u64| format!("[[generate]]\nusers = 50\nseed = {seed}\n");
    let first = secrets(&table(42));
    assert_eq!(first.len(), 50);
    assert_eq!(first, secrets(&table(42)));
    let other = secrets(&table(43));
    assert!(first.iter().all(|s| !other.contains(s)), "{first:?} / {other:?}");
    // Without a seed of its own a table takes the scenario's.
    let scenario_seed = |seed: u64| format!("seed = {seed}\n[[generate]]\nusers = 5\n");
    assert_eq!(secrets(&scenario_seed(7)), secrets(&scenario_seed(7)));
    assert_ne!(secrets(&scenario_seed(7)), secrets(&scenario_seed(8)));
    // Two tables with other prefixes.
    let two = "[[generate]]\nusers = 3\n[[generate]]\nusers = 3\nprefix = \"ci\"\nprojects_per_user = 0\n";
    let summary = Scenario::from_toml(two).expect("two tables").summary();
    let names: Vec<&str> = summary.users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["gen1", "gen2", "gen3", "ci1", "ci2", "ci3"]);
    assert_eq!(summary.projects.len(), 3);
}

#[test]
fn bad_generate_tables_get_errors_naming_the_field_and_the_fix() {
    let cases = [
        (
            "users = 0",
            "generate[0]: users = 0 is out of range: give 1 to 100000 (remove the table",
        ),
        ("users = -5", "generate[0]: users = -5 is out of range"),
        ("users = 1000000", "users = 1000000 is out of range: give 1 to 100000"),
        (
            "users = 2\nprojects_per_user = -1",
            "projects_per_user = -1 is out of range: give 0 to 100",
        ),
        (
            "users = 100000\nprojects_per_user = 100",
            "users × projects_per_user = 10000000 projects is over the maximum 200000",
        ),
        ("users = 2\nprefix = \"-x\"", "prefix = \"-x\" cannot start a username"),
        (
            "users = 2\nprefix = \"a b\"",
            "prefix = \"a b\" cannot start a username",
        ),
        (
            "users = 2\nexpires_in_days = 99999999",
            "expires_in_days = 99999999 is out of range",
        ),
        ("users = 2\nscopes = []", "scopes must name at least one scope"),
        ("users = 2\nuserz = 3", "unknown field `userz`"),
        ("projects_per_user = 2", "missing field `users`"),
        ("users = \"many\"", "invalid type"),
    ];
    for (body, says) in cases {
        let err = Scenario::from_toml(&format!("[[generate]]\n{body}\n")).expect_err(body);
        assert!(err.contains(says), "{body}: {err}");
    }
    let clash_user = "[[users]]\nusername = \"gen3\"\n[[generate]]\nusers = 5\n";
    let err = Scenario::from_toml(clash_user).expect_err("user clash");
    assert!(
        err.contains("generate[0]: user 'gen3' exists already") && err.contains("set another prefix"),
        "{err}"
    );
    let clash_project = "[[generate]]\nusers = 5\n[[projects]]\npath = \"gen2/p1\"\n";
    let err = Scenario::from_toml(clash_project).expect_err("project clash");
    assert!(
        err.contains("generate[0]: project 'gen2/p1' is also a [[projects]] entry"),
        "{err}"
    );
    let two_tables = "[[generate]]\nusers = 2\n[[generate]]\nusers = 2\n";
    let err = Scenario::from_toml(two_tables).expect_err("same prefix twice");
    assert!(err.contains("generate[1]: user 'gen1' exists already"), "{err}");
}
