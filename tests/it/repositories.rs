//! Choosing repositories as a person does: searching what the token can
//! see (not only memberships), SSH clone addresses, warnings for archived
//! or repository-disabled projects when chosen, and what reconnecting and
//! disconnecting do to the choice.

use labwatch::config::Config;
use labwatch::sim::{
    self, AccessLevel, Expiry, ProjectSpec, RepositoryAccess, Scenario, SimHandle, TokenSpec, UserSpec, Visibility,
};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::in_process;

const ADMIN: &str = "admin-secret-for-repository-tests";
const TOKEN: &str = "glpat-repositories-test-token-0001";

struct Lab {
    sim: SimHandle,
    dir: TempDir,
    served: in_process::InProcess,
    http: reqwest::Client,
}

/// alice (token `TOKEN`) is a member of acme/backend, acme/legacy
/// (archived) and acme/wiki-only (repository disabled); acme/docs is public
/// and internal/tools internal, both without her as a member. Workspace
/// `acme` watches acme/backend in the config.
async fn lab() -> Lab {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_token(
        TokenSpec::new("alice", "workspace")
            .scopes(&["api"])
            .secret(TOKEN)
            .expires(Expiry::InDays(60)),
    )
    .unwrap();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s.add_project(
        ProjectSpec::new("acme/legacy")
            .member("alice", AccessLevel::DEVELOPER)
            .archived(),
    )
    .unwrap();
    s.add_project(
        ProjectSpec::new("acme/wiki-only")
            .member("alice", AccessLevel::DEVELOPER)
            .repository(RepositoryAccess::Disabled),
    )
    .unwrap();
    s.add_project(ProjectSpec::new("acme/docs").visibility(Visibility::Public))
        .unwrap();
    s.add_project(ProjectSpec::new("internal/tools").visibility(Visibility::Internal))
        .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\nrepositories = [\"acme/backend\"]\n",
        d = dir.path().display(),
        url = sim.base_url(),
    );
    std::fs::write(dir.path().join("lw.toml"), &text).unwrap();
    let config = Config::parse(&dir.path().join("lw.toml"), &text).unwrap();
    let served = in_process::serve(config, Some(ADMIN)).await;
    Lab {
        sim,
        dir,
        served,
        http: in_process::http_client(),
    }
}

impl Lab {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        in_process::call(&self.http, self.served.addr, ADMIN, method, path, body).await
    }

    async fn connect(&self, extra: Value) -> (u16, Value) {
        let mut body = json!({ "token": TOKEN });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.call(reqwest::Method::POST, "/api/v1/workspaces/acme/connect", Some(body))
            .await
    }

    async fn search(&self, q: &str) -> (u16, Value) {
        let path = format!(
            "/api/v1/workspaces/acme/repositories?search={}",
            url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
        );
        self.call(reqwest::Method::GET, &path, None).await
    }

    async fn select(&self, list: Value) -> (u16, Value) {
        self.call(reqwest::Method::PUT, "/api/v1/workspaces/acme/repositories", Some(list))
            .await
    }

    /// The simulator's host, without its (HTTP) port.
    fn host(&self) -> String {
        let with_port = self.sim.base_url().trim_start_matches("http://");
        with_port.rsplit_once(':').unwrap().0.to_owned()
    }
}

fn paths(page: &Value) -> Vec<String> {
    page["repositories"]
        .as_array()
        .unwrap_or_else(|| panic!("{page}"))
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_search_by_name_covers_every_project_the_token_can_see() {
    let lab = lab().await;
    assert_eq!(lab.connect(json!({})).await.0, 200);
    // Public and internal projects alice is no member of: found by name.
    let (code, page) = lab.search("docs").await;
    assert_eq!((code, paths(&page)), (200, vec!["acme/docs".to_owned()]), "{page}");
    assert_eq!(page["repositories"][0]["access"], Value::Null, "{page}");
    let (_, page) = lab.search("tools").await;
    assert_eq!(paths(&page), ["internal/tools"], "{page}");
    // Her own, with her role.
    let (_, page) = lab.search("backend").await;
    assert_eq!(paths(&page), ["acme/backend"], "{page}");
    assert_eq!(page["repositories"][0]["access"], "developer", "{page}");
    // Without a search: her memberships only, as before.
    let (_, page) = lab
        .call(reqwest::Method::GET, "/api/v1/workspaces/acme/repositories", None)
        .await;
    let mut listed = paths(&page);
    listed.sort();
    assert_eq!(listed, ["acme/backend", "acme/legacy", "acme/wiki-only"], "{page}");
    // A path that does not exist falls back to a search on its last segment,
    // over the same projects.
    let (_, page) = lab.search("elsewhere/docs").await;
    assert_eq!(paths(&page), ["acme/docs"], "{page}");
}

#[tokio::test]
async fn ssh_clone_addresses_name_projects_on_the_instance() {
    let lab = lab().await;
    let host = lab.host();
    assert_eq!(lab.connect(json!({})).await.0, 200);
    // The clone dialog's two forms; an SSH port says nothing about the
    // HTTP one, so the host alone decides the instance.
    let (code, body) = lab
        .select(json!([
            format!("git@{host}:acme/backend.git"),
            format!("ssh://git@{host}:2222/acme/docs.git"),
            format!("ssh://git@{host}/internal/tools.git"),
        ]))
        .await;
    assert_eq!(
        (code, body["repositories"].clone()),
        (200, json!(["acme/backend", "acme/docs", "internal/tools"])),
        "{body}"
    );
    let (_, page) = lab.search(&format!("git@{host}:acme/docs.git")).await;
    assert_eq!(paths(&page), ["acme/docs"], "{page}");

    // Another host: the wrong-instance reason, whatever the form.
    for other in [
        "git@gitlab.other.example:acme/backend.git",
        "ssh://git@gitlab.other.example/acme/backend.git",
    ] {
        let (code, body) = lab.select(json!([other])).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (422, Some("repo-on-other-instance")),
            "{other}: {body}"
        );
    }
    // Malformed or hostile: a clear refusal, never a panic.
    for (bad, says) in [
        ("git@:acme/backend.git".to_owned(), "no host"),
        (format!("git@{host}:"), "does not name a project"),
        (format!("git@{host}:acme/../../etc/passwd"), "`..`"),
        (format!("ssh://git@{host}/acme/back end.git"), "cannot hold"),
        ("ssh://git@[::1/acme/x.git".to_owned(), "not a valid URL"),
        (
            "git@evil host\u{0}:acme/backend.git".to_owned(),
            "does not start with a host name",
        ),
    ] {
        let (code, body) = lab.select(json!([bad])).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (422, Some("repository-invalid")),
            "{bad}: {body}"
        );
        assert!(body["message"].as_str().unwrap().contains(says), "{bad}: {body}");
    }
}

#[test]
fn the_config_accepts_ssh_clone_addresses_and_names_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lw.toml");
    let ok = "[[workspace]]\nname = \"a\"\ninstance_url = \"https://gitlab.example.com:8443\"\n\
              repositories = [\"git@gitlab.example.com:acme/backend.git\", \"ssh://git@gitlab.example.com:2222/acme/sub/frontend.git\", \"git@gitlab.other.example:acme/x.git\"]\n";
    let config = Config::parse(&path, ok).unwrap();
    let keys: Vec<String> = config.workspaces[0].repositories.iter().map(|r| r.key()).collect();
    assert_eq!(
        keys,
        ["acme/backend", "acme/sub/frontend", "gitlab.other.example/acme/x"]
    );
    let bad = "[[workspace]]\nname = \"a\"\ninstance_url = \"https://gitlab.example.com\"\nrepositories = [\"git@:acme/x.git\"]\n";
    let err = Config::parse(&path, bad).unwrap_err().to_string();
    assert!(err.contains("lw.toml:4:") && err.contains("has no host"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn choosing_an_archived_or_repository_disabled_project_warns_and_still_chooses_it() {
    let lab = lab().await;
    assert_eq!(lab.connect(json!({})).await.0, 200);
    let (code, body) = lab
        .select(json!(["acme/backend", "acme/legacy", "acme/wiki-only"]))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["repositories"],
        json!(["acme/backend", "acme/legacy", "acme/wiki-only"])
    );
    let warnings: Vec<(String, String)> = body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["path"].as_str().unwrap().to_owned(),
                w["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        [
            ("acme/legacy".to_owned(), "repo-archived".to_owned()),
            ("acme/wiki-only".to_owned(), "repo-disabled".to_owned())
        ],
        "{body}"
    );
    assert!(
        body["warnings"][0]["remediation"][0]
            .as_str()
            .unwrap()
            .contains("unarchive"),
        "{body}"
    );
    // Nothing to warn about: an empty list.
    let (_, body) = lab.select(json!(["acme/backend"])).await;
    assert_eq!(body["warnings"], json!([]), "{body}");

    // The command prints each warning with its code and steps, and exits 0.
    // The daemon serves on this test's runtime: the blocking wait must
    // leave it its workers.
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
            .args(["repos", "--workspace", "acme", "--set", "acme/legacy", "acme/backend"])
            .args(["--daemon", &format!("http://{}", lab.served.addr)])
            .env("LABWATCH_ADMIN_TOKEN", ADMIN)
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Workspace acme now watches: acme/legacy, acme/backend\nwarning: `acme/legacy` is archived")
            && stdout.contains("(repo-archived)\n  1. Ask a project owner to unarchive it"),
        "{stdout}"
    );
}

#[tokio::test]
async fn choosing_at_connect_warns_as_choosing_later_does() {
    let lab = lab().await;
    let (code, body) = lab
        .connect(json!({"repositories": ["acme/backend", "acme/legacy"]}))
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["watched"], json!(["acme/backend", "acme/legacy"]), "{body}");
    assert_eq!(body["warnings"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(
        (&body["warnings"][0]["path"], &body["warnings"][0]["code"]),
        (&json!("acme/legacy"), &json!("repo-archived")),
        "{body}"
    );
    // Nothing to warn about: no `warnings` at all.
    let (_, body) = lab.connect(json!({"repositories": ["acme/backend"]})).await;
    assert!(body.get("warnings").is_none(), "{body}");
}

#[tokio::test]
async fn reconnecting_keeps_the_chosen_repositories_and_a_disconnect_forgets_them() {
    let lab = lab().await;
    let (_, body) = lab.connect(json!({})).await;
    assert_eq!(body["watched"], json!(["acme/backend"]), "the config's list: {body}");
    let (code, _) = lab.select(json!(["acme/docs", "acme/legacy"])).await;
    assert_eq!(code, 200);
    // The same account again (a new token, say): the choice stays.
    let (code, body) = lab.connect(json!({})).await;
    assert_eq!(
        (code, body["watched"].clone()),
        (200, json!(["acme/docs", "acme/legacy"])),
        "{body}"
    );
    let stored = lab.served.store.load("acme").unwrap().unwrap();
    assert_eq!(
        stored.repositories,
        Some(vec!["acme/docs".to_owned(), "acme/legacy".to_owned()])
    );
    // Told otherwise: the new list.
    let (_, body) = lab.connect(json!({ "repositories": ["acme/backend"] })).await;
    assert_eq!(body["watched"], json!(["acme/backend"]), "{body}");

    // A disconnect ends the connection and the choice made through it: a
    // later connect (maybe of another account) watches the config's list
    // until told otherwise.
    let (_, _) = lab.select(json!(["acme/docs"])).await;
    let (code, body) = lab
        .call(reqwest::Method::DELETE, "/api/v1/workspaces/acme/connection", None)
        .await;
    assert_eq!(code, 200, "{body}");
    let (_, body) = lab.connect(json!({})).await;
    assert_eq!(body["watched"], json!(["acme/backend"]), "{body}");
    drop(lab.dir);
}

/// Issue 20: a user choosing a repository sees what the workspace will be
/// able to do with it, in the listing's answer and in `labwatch repos`.
#[tokio::test(flavor = "multi_thread")]
async fn the_repository_listing_shows_each_projects_capability_verdicts() {
    let lab = lab().await;
    assert_eq!(lab.connect(json!({})).await.0, 200);
    let (code, page) = lab
        .call(reqwest::Method::GET, "/api/v1/workspaces/acme/repositories", None)
        .await;
    assert_eq!(code, 200, "{page}");
    let repo = |path: &str| {
        page["repositories"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["path"] == path)
            .cloned()
            .unwrap_or_else(|| panic!("{path} not in {page}"))
    };
    let backend = repo("acme/backend");
    let names: Vec<&str> = backend["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["clone", "push", "issues", "merge_requests", "pipelines"]);
    assert_eq!(
        backend["capabilities"][0],
        json!({"name": "clone", "verdict": "yes", "needed": true})
    );
    let push = &repo("acme/legacy")["capabilities"][1];
    assert_eq!(
        (&push["verdict"], &push["reason"]),
        (&json!("no"), &json!("project-archived")),
        "{push}"
    );
    assert!(push["fix"].as_str().unwrap().contains("unarchive"), "{push}");

    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
            .args(["repos", "--workspace", "acme"])
            .args(["--daemon", &format!("http://{}", lab.served.addr)])
            .env("LABWATCH_ADMIN_TOKEN", ADMIN)
            .output()
            .unwrap()
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "    can: clone yes*, push no (project-archived), issues no (project-archived), merge_requests no (project-archived), pipelines no (project-archived) (* needed)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("    can: clone no* (feature-disabled), push no (feature-disabled)"),
        "{stdout}"
    );
}
