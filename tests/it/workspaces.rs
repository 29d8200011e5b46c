//! Workspaces as data (`/api/v1/workspaces`, `labwatch workspaces`): the
//! API against an in-process daemon and the simulator (validation and bad
//! input, the config file's workspaces read-only, pagination, creation
//! through connect, deletion removing every trace), and the real binary for
//! what needs a process: persistence across a restart, a SIGHUP reload, a
//! stored workspace the new config refuses, the CLI's output and exit codes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use labwatch::config::Config;
use labwatch::sim::{self, AccessLevel, Expiry, NewToken, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use reqwest::Method;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::watch;

use crate::support::in_process;
use crate::support::process::Daemon;

const ADMIN: &str = "admin-secret-for-workspace-tests";

struct Lab {
    sim: SimHandle,
    alice: NewToken,
    alice2: NewToken,
    dir: TempDir,
    addr: SocketAddr,
    http: reqwest::Client,
    passes: watch::Receiver<u64>,
    served: in_process::InProcess,
}

/// A daemon whose config has workspace `fixed` (on the simulator), `extra`
/// added at the top of the file.
async fn lab(extra: &str) -> Lab {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let alice = s
        .add_token(
            TokenSpec::new("alice", "workspace")
                .scopes(&["api"])
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    let alice2 = s
        .add_token(
            TokenSpec::new("alice", "second")
                .scopes(&["api"])
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{extra}\n[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"fixed\"\ninstance_url = \"{url}\"\n",
        d = dir.path().display(),
        url = sim.base_url(),
    );
    let config = Config::parse(&dir.path().join("lw.toml"), &text).unwrap();
    let served = in_process::serve(config, Some(ADMIN)).await;
    Lab {
        sim,
        alice,
        alice2,
        dir,
        addr: served.addr,
        http: in_process::http_client(),
        passes: served.passes.clone(),
        served,
    }
}

impl Lab {
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        in_process::call(&self.http, self.addr, ADMIN, method, path, body).await
    }

    async fn put(&self, ws: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, &format!("/api/v1/workspaces/{ws}"), Some(body))
            .await
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Waits, pass by pass, until every check of `ws` has run.
    async fn ran(&mut self, ws: &str) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let (code, text) = self.get(&format!("/status/{ws}")).await;
            let status: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let ran = code == 200
                && status["checks"]
                    .as_array()
                    .is_some_and(|c| !c.is_empty() && c.iter().all(|c| c["reason"] != "pending"));
            if ran {
                return status;
            }
            tokio::time::timeout_at(deadline, self.passes.changed())
                .await
                .unwrap_or_else(|_| panic!("the checks of {ws} never ran: {text}"))
                .unwrap();
        }
    }

    fn store_files(&self, ws: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path().join("store"))
            .unwrap()
            .filter_map(|e| e.unwrap().file_name().into_string().ok())
            .filter(|n| n.starts_with(&format!("{ws}.")))
            .collect();
        names.sort();
        names
    }

    fn audit(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("store/audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn field_errors(body: &Value) -> Vec<(String, String)> {
    body["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no field errors in {body}"))
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn put_creates_a_workspace_that_runs_and_a_second_put_updates_it() {
    let mut lab = lab("").await;
    let url = lab.sim.base_url().to_owned();
    let (code, body) = lab
        .put("team-a", json!({"instance_url": url, "repositories": ["acme/backend"]}))
        .await;
    assert_eq!(code, 201, "{body}");
    assert_eq!(
        (body["origin"].as_str(), body["valid"].as_bool()),
        (Some("api"), Some(true))
    );
    // The config's [defaults] are inherited, every value shown.
    assert_eq!(body["interval"], "1h");
    assert_eq!(body["timeout"], "10s");
    assert_eq!(body["repositories"], json!(["acme/backend"]));
    assert_eq!(body["renewal"]["mode"], "manual");
    assert!(body.get("token_file").is_none(), "{body}");

    let status = lab.ran("team-a").await;
    let token = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token")
        .unwrap();
    assert_eq!(token["reason"], "not-connected", "{status}");
    assert_eq!(lab.store_files("team-a"), ["team-a.workspace"]);
    let record = std::fs::read_to_string(lab.dir.path().join("store/team-a.workspace")).unwrap();
    assert!(record.contains("acme/backend"), "{record}");

    // The GET answer goes back as it is; a new interval replaces the old.
    let (_, mut shown) = lab.call(Method::GET, "/api/v1/workspaces/team-a", None).await;
    shown["interval"] = "2h".into();
    let (code, body) = lab.put("team-a", shown).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["interval"], "2h");
    assert_eq!(
        body["created_at"],
        lab.call(Method::GET, "/api/v1/workspaces/team-a", None).await.1["created_at"]
    );
    let actions: Vec<Value> = lab.audit().into_iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, ["workspace-created", "workspace-updated"]);
}

#[tokio::test]
async fn a_bad_body_is_422_invalid_workspace_naming_every_field() {
    let lab = lab("allowed_instances = [\"https://gitlab.com\", \"http://127.0.0.1\"]").await;
    let (code, body) = lab
        .put(
            "bad",
            json!({
                "interval": "soon",
                "repositories": ["acme/backend", "acme/backend"],
                "renewal": {"mode": "sometimes", "renew_on": null},
                "intervall": "5m",
                "token_file": "/etc/shadow",
                "name": "other",
                "timeout": null,
            }),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("invalid-workspace")),
        "{body}"
    );
    let errors = field_errors(&body);
    let at = |f: &str| {
        errors
            .iter()
            .find(|(field, _)| field == f)
            .map(|(_, m)| m.clone())
            .unwrap_or_else(|| panic!("no error for {f}: {errors:?}"))
    };
    assert!(at("interval").starts_with("`soon` is not a duration"));
    assert_eq!(at("repositories[1]"), "repository `acme/backend` is listed twice");
    assert!(at("renewal.mode").contains("renewal mode `sometimes` is unknown"));
    assert!(at("renewal.renew_on").contains("is null"));
    assert!(at("intervall").contains("did you mean `interval`?"));
    assert!(at("token_file").contains("labwatch connect"));
    assert!(at("name").contains("the URL `bad`"));
    assert!(at("timeout").contains("leave the key out"));
    assert!(!errors.iter().any(|(_, m)| m.contains("<admin API>")), "{errors:?}");
    // Nothing was created.
    assert_eq!(lab.call(Method::GET, "/api/v1/workspaces/bad", None).await.0, 404);
    assert!(lab.store_files("bad").is_empty());

    let (code, body) = lab.put("bad", json!({"interval": 300})).await;
    assert_eq!(code, 422);
    assert_eq!(field_errors(&body)[0].0, "interval");
    assert!(field_errors(&body)[0].1.contains("expected a string"), "{body}");

    let (code, body) = lab
        .put("bad", json!({"instance_url": "https://gitlab.example.com"}))
        .await;
    assert_eq!(code, 422);
    assert_eq!(field_errors(&body)[0].0, "instance_url");
    assert!(field_errors(&body)[0].1.contains("allowed_instances"), "{body}");

    let (code, body) = lab.put("Not_A_Name", json!({})).await;
    assert_eq!(code, 422);
    assert_eq!(field_errors(&body)[0].0, "name", "{body}");

    let (code, body) = lab.put("bad", json!(["not", "an", "object"])).await;
    assert_eq!((code, field_errors(&body)[0].0.as_str()), (422, ""), "{body}");

    let resp = lab
        .http
        .put(format!("http://{}/api/v1/workspaces/bad", lab.addr))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn the_workspace_api_needs_the_admin_token() {
    let lab = lab("").await;
    for (method, path) in [
        (Method::GET, "/api/v1/workspaces"),
        (Method::GET, "/api/v1/workspaces/fixed"),
        (Method::PUT, "/api/v1/workspaces/x"),
        (Method::DELETE, "/api/v1/workspaces/x"),
    ] {
        let (code, body) = in_process::call(&lab.http, lab.addr, "wrong", method.clone(), path, Some(json!({}))).await;
        assert_eq!(
            (code, body["error"].as_str()),
            (401, Some("unauthorized")),
            "{method} {path}"
        );
    }
    assert!(lab.store_files("x").is_empty());
}

#[tokio::test]
async fn config_file_workspaces_are_shown_but_not_changed() {
    let lab = lab("").await;
    let (code, body) = lab.call(Method::GET, "/api/v1/workspaces/fixed", None).await;
    assert_eq!((code, body["origin"].as_str()), (200, Some("config")), "{body}");
    assert_eq!(body["instance_url"], lab.sim.base_url());
    for (method, body) in [(Method::PUT, Some(json!({}))), (Method::DELETE, None)] {
        let (code, answer) = lab.call(method, "/api/v1/workspaces/fixed", body).await;
        assert_eq!(
            (code, answer["error"].as_str()),
            (409, Some("workspace-in-config")),
            "{answer}"
        );
        assert!(answer["message"].as_str().unwrap().contains("lw.toml"), "{answer}");
        assert!(
            answer["remediation"][0].as_str().unwrap().contains("SIGHUP"),
            "{answer}"
        );
    }
    assert!(lab.store_files("fixed").is_empty());
    let (code, body) = lab.call(Method::GET, "/api/v1/workspaces/nobody", None).await;
    assert_eq!((code, body["error"].as_str()), (404, Some("unknown-workspace")));
}

#[tokio::test]
async fn the_listing_is_by_name_a_page_at_a_time_with_the_total() {
    let lab = lab("").await;
    for ws in ["w5", "w3", "w1", "w4", "w2"] {
        assert_eq!(lab.put(ws, json!({"instance_url": "http://127.0.0.1:9"})).await.0, 201);
    }
    let (code, all) = lab.call(Method::GET, "/api/v1/workspaces", None).await;
    assert_eq!(code, 200);
    let names = |page: &Value| -> Vec<String> {
        page["workspaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| format!("{}:{}", w["name"].as_str().unwrap(), w["origin"].as_str().unwrap()))
            .collect()
    };
    assert_eq!(
        names(&all),
        ["fixed:config", "w1:api", "w2:api", "w3:api", "w4:api", "w5:api"]
    );
    assert_eq!((all["total"].as_u64(), all["per_page"].as_u64()), (Some(6), Some(100)));
    assert_eq!(all["next_page"], Value::Null);
    let (_, page) = lab
        .call(Method::GET, "/api/v1/workspaces?page=2&per_page=4", None)
        .await;
    assert_eq!(names(&page), ["w4:api", "w5:api"]);
    let (_, page) = lab
        .call(Method::GET, "/api/v1/workspaces?page=1&per_page=4", None)
        .await;
    assert_eq!(page["next_page"], 2);
    let (_, page) = lab.call(Method::GET, "/api/v1/workspaces?page=9", None).await;
    assert_eq!((names(&page).len(), page["total"].as_u64()), (0, Some(6)));
    for bad in ["per_page=0", "per_page=1001", "page=0", "page=x"] {
        let (code, body) = lab.call(Method::GET, &format!("/api/v1/workspaces?{bad}"), None).await;
        assert_eq!((code, body["error"].as_str()), (400, Some("bad-request")), "{bad}");
    }
}

#[tokio::test]
async fn connect_on_an_unknown_workspace_creates_it_and_a_failed_one_creates_nothing() {
    let mut lab = lab("").await;
    let url = lab.sim.base_url().to_owned();
    let (code, body) = lab
        .call(
            Method::POST,
            "/api/v1/workspaces/newbie/connect",
            Some(
                json!({"instance_url": url, "token": "glpat-not-a-token-at-all-000", "repositories": ["acme/backend"]}),
            ),
        )
        .await;
    assert!((400..500).contains(&code), "{code} {body}");
    assert_eq!(lab.call(Method::GET, "/api/v1/workspaces/newbie", None).await.0, 404);
    assert!(lab.store_files("newbie").is_empty());

    let (code, body) = lab
        .call(
            Method::POST,
            "/api/v1/workspaces/newbie/connect",
            Some(json!({"instance_url": url, "token": lab.alice.token, "repositories": ["acme/backend"]})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, ws) = lab.call(Method::GET, "/api/v1/workspaces/newbie", None).await;
    assert_eq!((code, ws["origin"].as_str()), (200, Some("api")), "{ws}");
    assert_eq!(
        (ws["instance_url"].as_str(), &ws["repositories"]),
        (Some(url.as_str()), &json!(["acme/backend"]))
    );
    assert_eq!(lab.store_files("newbie"), ["newbie.conn", "newbie.workspace"]);
    let status = lab.ran("newbie").await;
    assert_eq!(status["status"], "ok", "{status}");
    let actions: Vec<Value> = lab.audit().into_iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, ["connect", "workspace-created", "connect"]);
}

#[tokio::test]
async fn deleting_a_workspace_removes_its_status_metrics_history_and_store_files() {
    let mut lab = lab("").await;
    let url = lab.sim.base_url().to_owned();
    let connect = json!({"instance_url": url, "token": lab.alice.token, "repositories": ["acme/backend"]});
    for ws in ["gone", "stays"] {
        let token = if ws == "stays" {
            &lab.alice2.token
        } else {
            &lab.alice.token
        };
        let mut body = connect.clone();
        body["token"] = token.as_str().into();
        let (code, answer) = lab
            .call(Method::POST, &format!("/api/v1/workspaces/{ws}/connect"), Some(body))
            .await;
        assert_eq!(code, 200, "{answer}");
        lab.ran(ws).await;
    }
    let (_, metrics) = lab.get("/metrics").await;
    assert!(metrics.contains("workspace=\"gone\""), "{metrics}");
    let (_, history) = lab.get("/status/history").await;
    assert!(history.contains("\"gone\""), "{history}");
    // A connection file set aside as unreadable by an earlier disconnect.
    std::fs::write(lab.dir.path().join("store/gone.conn.unreadable"), b"x").unwrap();

    // A revocation GitLab refuses keeps everything.
    lab.sim.sim().fail_next(labwatch::sim::FailSpec {
        count: 1,
        status: 500,
        path_prefix: Some("/api/v4/personal_access_tokens/self".into()),
        body: None,
        content_type: None,
        headers: Default::default(),
    });
    let (code, body) = lab
        .call(Method::DELETE, "/api/v1/workspaces/gone?revoke=true", None)
        .await;
    assert_eq!((code, body["error"].as_str()), (502, Some("revoke-failed")), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("the workspace is kept"),
        "{body}"
    );
    assert_eq!(lab.get("/status/gone").await.0, 200);
    assert_eq!(lab.store_files("gone").len(), 3);

    let (code, body) = lab
        .call(Method::DELETE, "/api/v1/workspaces/gone?revoke=true", None)
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["token_revoked"], true);
    assert_eq!(
        body["removed_files"],
        json!(["gone.conn", "gone.conn.unreadable", "gone.workspace"])
    );
    assert!(lab.sim.sim().token(lab.alice.id).unwrap().revoked);
    assert_eq!(lab.get("/status/gone").await.0, 404);
    let (_, status) = lab.get("/status").await;
    assert!(!status.contains("\"gone\""), "{status}");
    let (_, metrics) = lab.get("/metrics").await;
    assert!(!metrics.contains("workspace=\"gone\""), "{metrics}");
    assert!(metrics.contains("workspace=\"stays\""), "{metrics}");
    let (_, history) = lab.get("/status/history").await;
    assert!(!history.contains("\"gone\""), "{history}");
    assert!(history.contains("\"stays\""), "{history}");
    assert!(lab.store_files("gone").is_empty());
    assert_eq!(lab.store_files("stays"), ["stays.conn", "stays.workspace"]);
    assert_eq!(lab.call(Method::GET, "/api/v1/workspaces/gone", None).await.0, 404);
    // The audit log is appended to, never rewritten.
    let audit = lab.audit();
    let gone: Vec<(String, String)> = audit
        .iter()
        .filter(|e| e["workspace"] == "gone")
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["result"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        gone,
        [
            ("workspace-created".to_owned(), "ok".to_owned()),
            ("connect".to_owned(), "ok".to_owned()),
            ("workspace-deleted".to_owned(), "revoke-failed".to_owned()),
            ("workspace-deleted".to_owned(), "ok".to_owned()),
        ]
    );
    // The runtime is left with the others.
    assert!(lab.served.runtime.workspace("gone").is_none());
    assert!(lab.served.runtime.workspace("stays").is_some());
}

#[tokio::test]
async fn a_reload_keeps_run_time_workspaces_and_one_the_new_config_refuses_is_listed_with_its_error() {
    let mut lab = lab("").await;
    let url = lab.sim.base_url().to_owned();
    assert_eq!(lab.put("kept", json!({"instance_url": url})).await.0, 201);
    lab.ran("kept").await;
    let config = lab.served.runtime.config();
    lab.served.runtime.apply((*config).clone());
    assert_eq!(lab.get("/status/kept").await.0, 200);

    let mut refusing = (*config).clone();
    refusing.allowed_instances = vec![url::Url::parse("https://gitlab.example.com").unwrap()];
    lab.served.runtime.apply(refusing);
    let (code, ws) = lab.call(Method::GET, "/api/v1/workspaces/kept", None).await;
    assert_eq!((code, ws["valid"].as_bool()), (200, Some(false)), "{ws}");
    assert_eq!(field_errors(&ws)[0].0, "instance_url");
    assert_eq!(ws["instance_url"], url.as_str(), "the stored settings are shown: {ws}");
    assert_eq!(lab.get("/status/kept").await.0, 404, "it does not run");
    let (code, body) = lab
        .call(
            Method::POST,
            "/api/v1/workspaces/kept/connect",
            Some(json!({"token": lab.alice.token})),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("workspace-invalid")),
        "{body}"
    );
    assert_eq!(lab.store_files("kept"), ["kept.workspace"], "nothing vanished");

    lab.served.runtime.apply((*config).clone());
    lab.ran("kept").await;
}

/// A real daemon's config with the admin API on and no workspace at all.
fn process_config(dir: &Path, extra: &str) -> PathBuf {
    let d = dir.display();
    std::fs::write(dir.join("admin"), ADMIN).unwrap();
    let path = dir.join("lw.toml");
    std::fs::write(
        &path,
        format!(
            "{extra}\n[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{d}/admin\"\n[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n\
             [defaults]\ninterval = \"1h\"\ntimeout = \"2s\"\n"
        ),
    )
    .unwrap();
    path
}

fn start(config: &Path) -> Daemon {
    tokio::task::block_in_place(|| Daemon::start(config))
}

fn labwatch(addr: SocketAddr, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(args)
        .arg("--daemon")
        .arg(format!("http://{addr}"))
        .arg("--admin-token-file")
        .arg(dir.join("admin"))
        .env_remove("LABWATCH_ADMIN_TOKEN")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn run_time_workspaces_survive_a_restart_and_a_sighup_and_a_refused_one_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let config = process_config(dir.path(), "");
    let mut first = start(&config);
    let http = in_process::http_client();
    let body = json!({"instance_url": "http://127.0.0.1:9", "repositories": ["g/p"]});
    let (code, created) = in_process::call(
        &http,
        first.addr,
        ADMIN,
        Method::PUT,
        "/api/v1/workspaces/durable",
        Some(body),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    first.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| first.wait_exit()), Some(0));

    // A one-shot check on the same config and store checks it too (its
    // instance refuses connections: critical, exit 2).
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(["check", "--output", "json", "--workspace", "durable", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(out.status.code(), Some(2), "{doc}");
    assert_eq!(doc["workspaces"][0]["name"], "durable", "{doc}");
    assert_eq!(doc["workspaces"][0]["status"], "critical", "{doc}");

    let mut second = start(&config);
    let (code, shown) = in_process::call(
        &http,
        second.addr,
        ADMIN,
        Method::GET,
        "/api/v1/workspaces/durable",
        None,
    )
    .await;
    assert_eq!(code, 200, "{shown}");
    assert_eq!(
        (&shown["created_at"], &shown["repositories"]),
        (&created["created_at"], &json!(["g/p"]))
    );
    assert_eq!(crate::support::client::get(second.addr, "/status/durable").await.0, 200);

    // A reload keeps it.
    second.signal("HUP");
    tokio::task::block_in_place(|| second.wait_for("Configuration reloaded"));
    assert_eq!(crate::support::client::get(second.addr, "/status/durable").await.0, 200);

    // A reload under which it no longer validates: logged, listed, not run, kept.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).unwrap().replace(
            "[server]",
            "allowed_instances = [\"https://gitlab.example.com\"]\n[server]",
        ),
    )
    .unwrap();
    second.signal("HUP");
    let logged = tokio::task::block_in_place(|| {
        second.wait_for(
            "A workspace created at run time does not validate against the config and is not run; \
             fix it with PUT /api/v1/workspaces/{ws} or delete it",
        )
    });
    assert_eq!(logged["workspace"], "durable");
    assert!(
        logged["errors"].as_str().unwrap().starts_with("instance_url: "),
        "{logged}"
    );
    tokio::task::block_in_place(|| second.wait_for("Configuration reloaded"));
    let (_, shown) = in_process::call(
        &http,
        second.addr,
        ADMIN,
        Method::GET,
        "/api/v1/workspaces/durable",
        None,
    )
    .await;
    assert_eq!(shown["valid"], false, "{shown}");
    assert_eq!(crate::support::client::get(second.addr, "/status/durable").await.0, 404);
    assert!(dir.path().join("store/durable.workspace").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workspaces_commands_print_what_happened_and_exit_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let config = process_config(dir.path(), "");
    let daemon = start(&config);
    let (addr, d) = (daemon.addr, dir.path());

    let (code, out, err) = labwatch(addr, d, &["workspaces", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("No workspaces;"), "{out}");

    let body = dir.path().join("ws.json");
    std::fs::write(&body, r#"{"repositories": ["g/p"], "interval": "10m"}"#).unwrap();
    let (code, out, err) = labwatch(
        addr,
        d,
        &[
            "workspaces",
            "create",
            "cli-made",
            "--from-json",
            body.to_str().unwrap(),
            "--instance-url",
            "http://127.0.0.1:9",
            "--repo",
            "g/q",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Workspace cli-made is saved"), "{out}");
    assert!(out.contains("instance_url           http://127.0.0.1:9"), "{out}");
    assert!(out.contains("repositories           g/q"), "the flag wins: {out}");
    assert!(out.contains("interval               10m"), "{out}");

    let (code, out, err) = labwatch(addr, d, &["workspaces", "create", "cli-bad", "--interval", "soon"]);
    assert_eq!(code, 65, "{out}");
    assert!(
        err.starts_with("error: The settings of workspace `cli-bad` are not valid"),
        "{err}"
    );
    assert!(
        err.contains("(invalid-workspace)\n  interval: `soon` is not a duration"),
        "{err}"
    );

    let (code, out, _) = labwatch(addr, d, &["workspaces", "list", "--per-page", "1"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("cli-made  api     http://127.0.0.1:9\n"), "{out}");
    assert!(out.contains("Workspaces 1-1 of 1\n"), "{out}");

    let (code, out, _) = labwatch(addr, d, &["workspaces", "show", "cli-made", "--json"]);
    assert_eq!(code, 0);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (shown["origin"].as_str(), shown["interval"].as_str()),
        (Some("api"), Some("10m"))
    );

    let (code, out, _) = labwatch(addr, d, &["workspaces", "delete", "cli-made"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Deleted workspace cli-made; its token (if any) was not revoked.\n"),
        "{out}"
    );
    assert!(out.contains("Removed from the store: cli-made.workspace"), "{out}");

    let (code, _, err) = labwatch(addr, d, &["workspaces", "show", "cli-made"]);
    assert_eq!(code, 65);
    assert!(err.contains("(unknown-workspace)"), "{err}");

    std::fs::write(dir.path().join("admin"), "wrong").unwrap();
    let (code, _, err) = labwatch(addr, d, &["workspaces", "list"]);
    assert_eq!(code, 77, "{err}");
    drop(daemon);
    let (code, _, _) = labwatch(addr, d, &["workspaces", "list"]);
    assert_eq!(code, 69);
}
