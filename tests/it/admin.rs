//! The admin API end to end against the simulator: connect, update token,
//! rotate, disconnect, repositories, and their failure paths; with a canary
//! token that must never show up in responses, metrics, the store's bytes
//! or the audit log.

use std::net::SocketAddr;
use std::sync::Arc;

use labwatch::actions::Actions;
use labwatch::config::Config;
use labwatch::engine::CheckKey;
use labwatch::runtime::Runtime;
use labwatch::sim::{self, AccessLevel, Expiry, NewToken, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use labwatch::store::{ConnectionStore, RotationMarker};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::in_process;
use tokio::sync::watch;

const ADMIN: &str = "admin-secret-for-tests";
const CANARY: &str = "glpat-canary-admin-api-0000000001";

struct Lab {
    sim: SimHandle,
    alice: NewToken,
    alice2: NewToken,
    bob: NewToken,
    narrow: NewToken,
    expiring: NewToken,
    dir: TempDir,
    addr: SocketAddr,
    http: reqwest::Client,
    passes: watch::Receiver<u64>,
    store: Arc<ConnectionStore>,
    runtime: Arc<Runtime>,
    /// Serves for as long as the test runs.
    _served: in_process::InProcess,
}

async fn lab(admin: bool, extra_config: &str) -> Lab {
    lab_with(admin, extra_config, "").await
}

/// [`lab`] with `workspaces` appended to the config; `{url}` in them
/// becomes the simulator's URL.
async fn lab_with(admin: bool, extra_config: &str, workspaces: &str) -> Lab {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_user(UserSpec::new("bob")).unwrap();
    let alice = s
        .add_token(
            TokenSpec::new("alice", "workspace")
                .scopes(&["api"])
                .secret(CANARY)
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    let alice2 = s
        .add_token(
            TokenSpec::new("alice", "laptop")
                .scopes(&["api"])
                .expires(Expiry::InDays(90)),
        )
        .unwrap();
    let narrow = s
        .add_token(
            TokenSpec::new("alice", "narrow")
                .scopes(&["read_api"])
                .expires(Expiry::InDays(90)),
        )
        .unwrap();
    let bob = s
        .add_token(
            TokenSpec::new("bob", "bob")
                .scopes(&["api"])
                .expires(Expiry::InDays(90)),
        )
        .unwrap();
    let expiring = s
        .add_token(
            TokenSpec::new("alice", "expiring")
                .scopes(&["api"])
                .expires(Expiry::InDays(5)),
        )
        .unwrap();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s.add_project(ProjectSpec::new("acme/frontend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s.add_project(
        ProjectSpec::new("acme/renamed")
            .member("alice", AccessLevel::DEVELOPER)
            .redirect_from("acme/legacy"),
    )
    .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{extra_config}\n[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n\
         [[workspace]]\nname = \"narrow\"\ninstance_url = \"{url}\"\nrequired_scopes = [\"read_api\"]\n\
         [[workspace]]\nname = \"auto\"\ninstance_url = \"{url}\"\n[workspace.renewal]\nmode = \"auto\"\nrenew_before = \"14d\"\n\
         [[workspace]]\nname = \"alerted\"\ninstance_url = \"{url}\"\n[workspace.renewal]\nmode = \"alert\"\nrenew_before = \"14d\"\n\
         {workspaces}",
        d = dir.path().display(),
        url = sim.base_url(),
        workspaces = workspaces.replace("{url}", sim.base_url()),
    );
    std::fs::write(dir.path().join("lw.toml"), &text).unwrap();
    let config = Config::parse(&dir.path().join("lw.toml"), &text).unwrap();
    let served = in_process::serve(config, admin.then_some(ADMIN)).await;
    Lab {
        sim,
        alice,
        alice2,
        bob,
        narrow,
        expiring,
        dir,
        addr: served.addr,
        http: in_process::http_client(),
        passes: served.passes.clone(),
        store: served.store.clone(),
        runtime: served.runtime.clone(),
        _served: served,
    }
}

impl Lab {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        in_process::call(&self.http, self.addr, ADMIN, method, path, body).await
    }

    /// Alertmanager's webhook call with `payload`.
    async fn post_alert(&self, payload: Value) -> (u16, Value) {
        self.call(reqwest::Method::POST, "/api/v1/alerts", Some(payload)).await
    }

    async fn connect(&self, ws: &str, token: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({ "instance_url": self.sim.base_url(), "token": token });
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.call(
            reqwest::Method::POST,
            &format!("/api/v1/workspaces/{ws}/connect"),
            Some(body),
        )
        .await
    }

    /// Waits, round by round, until the workspace's /status satisfies
    /// `done` (actions re-plan the workspace, so its checks run again).
    async fn until(&mut self, ws: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let status = self.get(&format!("/status/{ws}")).await;
            let ran = status["checks"]
                .as_array()
                .is_some_and(|c| c.iter().all(|c| c["reason"] != "pending"));
            if ran && done(&status) {
                return status;
            }
            tokio::time::timeout_at(deadline, self.passes.changed())
                .await
                .unwrap_or_else(|_| panic!("/status/{ws} never became as expected: {status}"))
                .unwrap();
        }
    }

    async fn get(&self, path: &str) -> Value {
        let text = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    fn check<'a>(status: &'a Value, name: &str) -> &'a Value {
        status["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap()
    }
}

#[tokio::test]
async fn the_admin_api_is_off_without_an_admin_token_and_needs_the_token_when_on() {
    let off = lab(false, "").await;
    let (code, body) = off.connect("acme", CANARY, json!({})).await;
    assert_eq!((code, body["error"].as_str()), (404, Some("admin-api-off")), "{body}");

    let on = lab(true, "").await;
    for auth in [None, Some("Bearer wrong"), Some("Basic YWRtaW4=")] {
        let mut req = on
            .http
            .post(format!("http://{}/api/v1/workspaces/acme/connect", on.addr))
            .json(&json!({"token": CANARY}));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert!(resp.headers().contains_key("www-authenticate"));
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["error"], "unauthorized");
    }
}

#[tokio::test]
async fn bad_bodies_get_json_errors_and_large_ones_413() {
    let lab = lab(true, "").await;
    let (code, body) = lab
        .call(
            reqwest::Method::POST,
            "/api/v1/workspaces/acme/connect",
            Some(json!({"tokn": "x"})),
        )
        .await;
    assert_eq!((code, body["error"].as_str()), (422, Some("bad-request")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("tokn"), "{body}");
    let huge = "x".repeat(70 * 1024);
    let (code, body) = lab
        .call(
            reqwest::Method::POST,
            "/api/v1/workspaces/acme/connect",
            Some(json!({ "token": huge })),
        )
        .await;
    assert_eq!((code, body["error"].as_str()), (413, Some("body-too-large")), "{body}");
    // An action on a workspace that does not exist is 404 (connect would
    // create it: tests/it/workspaces.rs).
    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/nope/rotate", None)
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (404, Some("unknown-workspace")),
        "{body}"
    );
}

#[tokio::test]
async fn connect_stores_the_connection_encrypted_and_the_checks_run_with_it() {
    let mut lab = lab(true, "").await;
    let (code, body) = lab
        .connect(
            "acme",
            CANARY,
            json!({ "repositories": ["acme/backend", "acme/legacy"] }),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["user"]["username"], "alice");
    assert_eq!(body["token"]["id"], lab.alice.id);
    assert_eq!(
        body["watched"],
        json!(["acme/backend", "acme/renamed"]),
        "a moved path is stored as its new path"
    );
    let accessible: Vec<&str> = body["accessible"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert!(accessible.contains(&"acme/frontend"), "{accessible:?}");
    // Each with the verdicts a user choosing repositories reads.
    let frontend = body["accessible"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "acme/frontend")
        .unwrap();
    let names: Vec<&str> = frontend["capabilities"]
        .as_array()
        .unwrap_or_else(|| panic!("no capabilities in {frontend}"))
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["clone", "push", "issues", "merge_requests", "pipelines"]);
    assert_eq!(
        frontend["capabilities"][0],
        json!({"name": "clone", "verdict": "yes", "needed": true})
    );

    let status = lab.until("acme", |s| Lab::check(s, "token")["status"] == "ok").await;
    assert_eq!(status["connection"]["username"], "alice");
    let repos: Vec<&str> = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["target"].as_str())
        .collect();
    assert_eq!(repos, ["acme/backend", "acme/renamed"]);

    let file = lab.store.dir().unwrap().join("acme.conn");
    let bytes = std::fs::read(&file).unwrap();
    assert!(
        !String::from_utf8_lossy(&bytes).contains(CANARY),
        "the store holds the token in plain text"
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);

    // Connecting again without a list keeps the chosen repositories, and
    // the answer says so.
    let (code, body) = lab.connect("acme", CANARY, json!({})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["watched"], json!(["acme/backend", "acme/renamed"]));
}

#[tokio::test]
async fn connect_refuses_with_the_troubleshooting_steps() {
    let lab = lab(true, "").await;
    let (code, body) = lab
        .call(
            reqwest::Method::POST,
            "/api/v1/workspaces/acme/connect",
            Some(json!({"instance_url": "ftp://gitlab.example.com", "token": CANARY})),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("instance-url-invalid")),
        "{body}"
    );

    let (code, body) = lab
        .call(
            reqwest::Method::POST,
            "/api/v1/workspaces/acme/connect",
            Some(json!({"instance_url": "http://127.0.0.1:1", "token": CANARY})),
        )
        .await;
    assert_eq!((code, body["error"].as_str()), (422, Some("tcp-refused")), "{body}");
    assert!(
        body["remediation"][0]
            .as_str()
            .unwrap()
            .contains("Verify your instance URL"),
        "{body}"
    );

    lab.sim.sim().expire_token(lab.alice2.id).unwrap();
    let (code, body) = lab.connect("acme", &lab.alice2.token, json!({})).await;
    assert_eq!((code, body["error"].as_str()), (422, Some("token-expired")), "{body}");

    let (code, body) = lab.connect("acme", &lab.narrow.token, json!({})).await;
    assert_eq!((code, body["error"].as_str()), (422, Some("scopes-missing")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("read_repository"), "{body}");

    let (code, body) = lab
        .connect("acme", CANARY, json!({ "repositories": ["acme/backen"] }))
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("repo-not-found-or-no-access")),
        "{body}"
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Did you mean `acme/backend`"),
        "{body}"
    );
    assert!(
        body["remediation"][0]
            .as_str()
            .unwrap()
            .contains("labwatch repos --workspace acme --search backen"),
        "{body}"
    );

    let (code, body) = lab
        .connect(
            "acme",
            CANARY,
            json!({ "repositories": ["https://gitlab.other.example/acme/backend"] }),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("repo-on-other-instance")),
        "{body}"
    );
    assert!(
        lab.store.load("acme").unwrap().is_none(),
        "nothing is stored after a refused connect"
    );
}

#[tokio::test]
async fn only_allowed_instances_can_be_connected() {
    let lab = lab(true, "allowed_instances = [\"https://gitlab.example.com\"]").await;
    let (code, body) = lab.connect("acme", CANARY, json!({})).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (403, Some("instance-not-allowed")),
        "{body}"
    );
}

#[tokio::test]
async fn one_account_per_workspace() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    let (code, body) = lab.connect("acme", &lab.bob.token, json!({})).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("account-mismatch")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("@alice") && message.contains("@bob"), "{body}");
    let steps = body["remediation"].to_string();
    assert!(
        steps.contains("disconnect first") && steps.contains("--replace"),
        "{body}"
    );
    // The same account may reconnect (with another token).
    assert_eq!(lab.connect("acme", &lab.alice2.token, json!({})).await.0, 200);
}

#[tokio::test]
async fn update_token_swaps_to_the_same_accounts_new_token_and_can_revoke_the_old() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    let path = "/api/v1/workspaces/acme/token";
    let (code, body) = lab
        .call(reqwest::Method::PUT, path, Some(json!({"token": lab.bob.token})))
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("account-mismatch")),
        "{body}"
    );

    let (code, body) = lab
        .call(
            reqwest::Method::PUT,
            path,
            Some(json!({"token": lab.alice2.token, "revoke_old": true})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        (body["token"]["id"].as_u64(), body["old_token_revoked"].as_bool()),
        (Some(lab.alice2.id), Some(true))
    );
    assert!(lab.sim.sim().token(lab.alice.id).unwrap().revoked);
    let status = lab
        .until("acme", |s| s["connection"]["token"]["name"] == "laptop")
        .await;
    assert_eq!(Lab::check(&status, "token")["status"], "ok");
}

#[tokio::test]
async fn rotate_replaces_the_token_and_counts_the_renewal() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    lab.sim.sim().reset_counters();
    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/acme/rotate", None)
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["previous_token_id"], lab.alice.id);
    let new_id = body["token"]["id"].as_u64().unwrap();
    assert_ne!(new_id, lab.alice.id);
    assert_eq!(
        lab.sim
            .sim()
            .counters()
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        1
    );
    assert!(
        lab.sim.sim().token(lab.alice.id).unwrap().revoked,
        "GitLab revoked the old token"
    );
    assert_eq!(
        lab.store.load("acme").unwrap().unwrap().token_id,
        new_id,
        "the new token is stored"
    );
    assert!(lab.store.read_marker("acme").unwrap().is_none());
    let status = lab.until("acme", |s| s["connection"]["token"]["id"] == new_id).await;
    assert_eq!(Lab::check(&status, "token")["status"], "ok");
    let metrics = lab.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("labwatch_token_renewals_total{trigger=\"manual\",workspace=\"acme\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn impossible_rotations_are_refused_before_touching_the_token() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("narrow", &lab.narrow.token, json!({})).await.0, 200);
    lab.sim.sim().reset_counters();
    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/narrow/rotate", None)
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("renewal-impossible")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("`api` or `self_rotate`"),
        "{body}"
    );
    assert!(
        body["remediation"][0]
            .as_str()
            .unwrap()
            .contains("Create a new personal access token"),
        "{body}"
    );
    assert_eq!(
        lab.sim
            .sim()
            .counters()
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        0
    );
    assert!(!lab.sim.sim().token(lab.narrow.id).unwrap().revoked);

    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/acme/rotate", None)
        .await;
    assert_eq!((code, body["error"].as_str()), (409, Some("not-connected")), "{body}");
    let (code, body) = lab
        .call(
            reqwest::Method::POST,
            "/api/v1/workspaces/narrow/rotate",
            Some(json!({"expires_at": "2020-01-01"})),
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("expires-at-invalid")),
        "{body}"
    );
}

/// The sum of `labwatch_token_renewal_failures_total` over its series in
/// `/metrics` (absent series count 0).
async fn renewal_failures(lab: &Lab) -> f64 {
    let metrics = lab.get("/metrics").await;
    metrics
        .as_str()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("labwatch_token_renewal_failures_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum()
}

/// LabwatchRenewalFailing fires on this counter: a request refused before
/// GitLab was asked to rotate is the caller's to fix and is not counted;
/// a rotation GitLab failed is.
#[tokio::test]
async fn renewal_failures_count_only_rotations_gitlab_was_asked_for() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("narrow", &lab.narrow.token, json!({})).await.0, 200);
    assert_eq!(lab.connect("alerted", &lab.expiring.token, json!({})).await.0, 200);
    let refused = [
        ("acme", json!({}), "not-connected"),
        ("alerted", json!({"expires_at": "2020-01-01"}), "expires-at-invalid"),
        ("alerted", json!({"expires_at": "2026-13-45"}), "expires-at-invalid"),
        ("narrow", json!({}), "renewal-impossible"),
    ];
    for (ws, body, error) in refused {
        let (code, answer) = lab
            .call(
                reqwest::Method::POST,
                &format!("/api/v1/workspaces/{ws}/rotate"),
                Some(body),
            )
            .await;
        assert!(code >= 400, "{answer}");
        assert_eq!(answer["error"].as_str(), Some(error), "{answer}");
    }
    assert_eq!(rotations(&lab), 0);
    assert_eq!(renewal_failures(&lab).await, 0.0);

    lab.sim.sim().fail_next(labwatch::sim::FailSpec {
        count: 1,
        status: 503,
        path_prefix: Some("/api/v4/personal_access_tokens/self/rotate".into()),
        body: None,
        content_type: None,
        headers: Default::default(),
    });
    let (code, answer) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/alerted/rotate", None)
        .await;
    assert_eq!(
        (code, answer["error"].as_str()),
        (502, Some("renewal-failed")),
        "{answer}"
    );
    assert_eq!(rotations(&lab), 1);
    assert_eq!(renewal_failures(&lab).await, 1.0);
    let metrics = lab.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("labwatch_token_renewal_failures_total{trigger=\"manual\",workspace=\"alerted\"} 1"),
        "{metrics}"
    );
}

/// A marker left by a crash, while GitLab does not answer at start: the
/// daemon cannot tell whether the token was lost, keeps the marker, and
/// settles it after the first round whose token check passed.
#[tokio::test]
async fn an_interrupted_rotation_is_settled_once_gitlab_answers_again() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    let marker = RotationMarker {
        workspace: "acme".into(),
        old_token_id: lab.alice.id,
        started_at: time::OffsetDateTime::now_utc(),
        trigger: "manual".into(),
    };
    lab.store.write_marker(&marker).unwrap();
    lab.sim.sim().fail_next(labwatch::sim::FailSpec {
        count: 1000,
        status: 503,
        path_prefix: Some("/api/v4/personal_access_tokens/self".into()),
        body: None,
        content_type: None,
        headers: Default::default(),
    });
    // What the daemon does as it starts.
    let actions = Arc::new(Actions::new(lab.runtime.clone(), lab.store.clone()));
    actions.settle_interrupted_rotations().await;
    assert_eq!(
        lab.store.read_marker("acme").unwrap(),
        Some(marker),
        "GitLab did not answer: the marker waits"
    );

    lab.sim.sim().clear_faults();
    tokio::spawn(labwatch::actions::run_after_rounds(actions));
    // Settling removes the marker, then writes its audit line: wait for
    // the line, the last of the two.
    let settled = |audit: &str| {
        audit.lines().any(|l| {
            l.contains(r#""actor":"daemon","action":"settle-rotation","result":"ok""#) && l.contains("after a round")
        })
    };
    let audit_log = lab.store.dir().unwrap().join("audit.log");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !settled(&std::fs::read_to_string(&audit_log).unwrap()) {
        lab.passes.borrow_and_update();
        assert!(lab.runtime.run_now(Some("acme")));
        tokio::time::timeout_at(deadline, lab.passes.changed())
            .await
            .expect("the marker is settled after a round")
            .unwrap();
    }
    assert_eq!(lab.store.read_marker("acme").unwrap(), None);
    let status = lab.get("/status/acme").await;
    assert_eq!(Lab::check(&status, "token")["reason"], "ok", "{status}");
}

#[tokio::test]
async fn a_rotation_gitlab_refuses_keeps_the_working_token() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    lab.sim.sim().fail_next(labwatch::sim::FailSpec {
        count: 1,
        status: 400,
        path_prefix: Some("/api/v4/personal_access_tokens/self/rotate".into()),
        body: Some(r#"{"message":"400 Bad request - Expires at must be before 2027-01-01"}"#.into()),
        content_type: None,
        headers: Default::default(),
    });
    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/acme/rotate", None)
        .await;
    assert_eq!((code, body["error"].as_str()), (422, Some("renewal-failed")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("still works"), "{body}");
    assert_eq!(lab.store.load("acme").unwrap().unwrap().token_id, lab.alice.id);
    assert!(lab.store.read_marker("acme").unwrap().is_none());
}

#[tokio::test]
async fn in_auto_mode_a_token_due_for_renewal_is_rotated_on_schedule() {
    let mut lab = lab(true, "").await;
    let (code, body) = lab.connect("auto", &lab.expiring.token, json!({})).await;
    assert_eq!(code, 200, "{body}");
    let old = lab.expiring.id;
    let status = lab
        .until("auto", |s| {
            s["connection"]["token"]["id"].as_u64().is_some_and(|id| id != old)
        })
        .await;
    assert_eq!(
        Lab::check(&status, "token")["status"],
        "ok",
        "the new token is far from expiry: {status}"
    );
    assert!(lab.sim.sim().token(old).unwrap().revoked);
    assert_eq!(
        lab.sim
            .sim()
            .counters()
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        1
    );
    let metrics = lab.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("labwatch_token_renewals_total{trigger=\"schedule\",workspace=\"auto\"} 1"),
        "{metrics}"
    );
    let audit = std::fs::read_to_string(lab.store.dir().unwrap().join("audit.log")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"actor\":\"schedule\"") && l.contains("\"action\":\"rotate\"")),
        "{audit}"
    );
}

#[tokio::test]
async fn disconnect_with_revoke_revokes_at_gitlab_and_the_checks_say_not_connected() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    lab.until("acme", |s| s["connection"]["connected"] == true).await;
    let (code, body) = lab
        .call(
            reqwest::Method::DELETE,
            "/api/v1/workspaces/acme/connection?revoke=true",
            None,
        )
        .await;
    assert_eq!((code, body["token_revoked"].as_bool()), (200, Some(true)), "{body}");
    assert!(lab.sim.sim().token(lab.alice.id).unwrap().revoked);
    assert!(lab.store.load("acme").unwrap().is_none());
    let status = lab
        .until("acme", |s| Lab::check(s, "token")["reason"] == "not-connected")
        .await;
    assert_eq!(status["connection"]["connected"], false);
    let (code, body) = lab
        .call(reqwest::Method::DELETE, "/api/v1/workspaces/acme/connection", None)
        .await;
    assert_eq!((code, body["error"].as_str()), (409, Some("not-connected")), "{body}");
}

/// The token check of `ws` in a daemon started afresh on the lab's config
/// and store, as after a restart: its reason and summary.
async fn token_after_restart(lab: &Lab, ws: &str) -> (String, String) {
    let config = Config::load(&lab.dir.path().join("lw.toml")).unwrap();
    let runtime = Runtime::start(config, Some(lab.store.clone()));
    let mut passes = runtime.status().subscribe();
    let key = CheckKey {
        workspace: ws.into(),
        check: "token".into(),
        target: None,
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if let Some(s) = runtime.status().get(&key) {
            return (s.outcome.reason.clone(), s.outcome.summary.clone());
        }
        tokio::time::timeout_at(deadline, passes.changed())
            .await
            .expect("the restarted daemon ran no token check")
            .unwrap();
    }
}

/// A workspace connected by its config's token_file can be disconnected,
/// and that file does not connect it again (after a restart either) while it
/// holds the same token; a new token in the file, or a connect, does.
#[tokio::test(flavor = "multi_thread")]
async fn disconnect_also_holds_against_the_bootstrap_token_file_until_it_changes() {
    let files = tempfile::tempdir().unwrap();
    let token_file = files.path().join("boot.token");
    std::fs::write(&token_file, format!("{CANARY}\n")).unwrap();
    let boot = format!(
        "[[workspace]]\nname = \"boot\"\ninstance_url = \"{{url}}\"\ntoken_file = \"{}\"\n",
        token_file.display()
    );
    let mut lab = lab_with(true, "", &boot).await;
    lab.until("boot", |s| Lab::check(s, "token")["status"] == "ok").await;

    let (code, body) = lab
        .call(reqwest::Method::DELETE, "/api/v1/workspaces/boot/connection", None)
        .await;
    assert_eq!((code, body["token_revoked"].as_bool()), (200, Some(false)), "{body}");
    let status = lab
        .until("boot", |s| Lab::check(s, "token")["reason"] == "not-connected")
        .await;
    let summary = Lab::check(&status, "token")["summary"].as_str().unwrap().to_owned();
    assert!(
        summary.contains("was disconnected on") && summary.contains("token_file is not used again"),
        "{summary}"
    );
    assert_eq!(status["connection"]["connected"], false);
    // Nothing left to disconnect.
    let (code, body) = lab
        .call(reqwest::Method::DELETE, "/api/v1/workspaces/boot/connection", None)
        .await;
    assert_eq!((code, body["error"].as_str()), (409, Some("not-connected")), "{body}");
    // The record holds a hash, never the token.
    let record = std::fs::read_to_string(lab.dir.path().join("store/boot.disconnected")).unwrap();
    assert!(!record.contains(CANARY), "{record}");

    // A restart keeps the workspace disconnected.
    let (reason, summary) = token_after_restart(&lab, "boot").await;
    assert_eq!(reason, "not-connected", "{summary}");

    // A new token in the file counts again.
    std::fs::write(&token_file, &lab.alice2.token).unwrap();
    let (reason, summary) = token_after_restart(&lab, "boot").await;
    assert_eq!(reason, "ok", "{summary}");

    // Connecting supersedes the disconnect: the record goes.
    std::fs::write(&token_file, CANARY).unwrap();
    assert_eq!(lab.connect("boot", CANARY, json!({})).await.0, 200);
    assert!(lab.store.read_disconnected("boot").unwrap().is_none());
}

#[tokio::test]
async fn repositories_are_listed_searched_by_name_path_or_url_and_selected() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    let base = "/api/v1/workspaces/acme/repositories";
    let (code, body) = lab.call(reqwest::Method::GET, base, None).await;
    assert_eq!(code, 200, "{body}");
    assert!(body["repositories"].as_array().unwrap().len() >= 3, "{body}");
    let (_, body) = lab
        .call(reqwest::Method::GET, &format!("{base}?search=front"), None)
        .await;
    assert_eq!(body["repositories"][0]["path"], "acme/frontend", "{body}");
    let url = format!("{}/acme/backend", lab.sim.base_url());
    let (_, body) = lab
        .call(
            reqwest::Method::GET,
            &format!("{base}?search={}", urlencode(&url)),
            None,
        )
        .await;
    assert_eq!(body["repositories"][0]["path"], "acme/backend", "{body}");
    let (code, body) = lab
        .call(
            reqwest::Method::GET,
            &format!(
                "{base}?search={}",
                urlencode("https://gitlab.other.example/acme/backend")
            ),
            None,
        )
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("repo-on-other-instance")),
        "{body}"
    );

    let (code, body) = lab
        .call(reqwest::Method::PUT, base, Some(json!(["acme/frontend"])))
        .await;
    assert_eq!(
        (code, body["repositories"].clone()),
        (200, json!(["acme/frontend"])),
        "{body}"
    );
    lab.until("acme", |s| {
        let repos: Vec<&str> = s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["target"].as_str())
            .collect();
        repos == ["acme/frontend"]
    })
    .await;
    let (code, body) = lab.call(reqwest::Method::PUT, base, Some(json!(["acme/nope"]))).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("repo-not-found-or-no-access")),
        "{body}"
    );
}

#[tokio::test]
async fn run_checks_now_is_rate_limited() {
    let lab = lab(true, "").await;
    let (code, _) = lab
        .call(reqwest::Method::POST, "/api/v1/checks/run?workspace=acme", None)
        .await;
    assert_eq!(code, 202);
    let resp = lab
        .http
        .post(format!("http://{}/api/v1/checks/run?workspace=acme", lab.addr))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().contains_key("retry-after"));
    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/checks/run?workspace=nope", None)
        .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (404, Some("unknown-workspace")),
        "{body}"
    );
}

#[tokio::test]
async fn the_canary_token_never_leaves_through_responses_metrics_store_or_audit_log() {
    let mut lab = lab(true, "").await;
    let mut seen = Vec::new();
    let (_, b) = lab
        .connect("acme", CANARY, json!({ "repositories": ["acme/backend"] }))
        .await;
    seen.push(b.to_string());
    lab.until("acme", |s| Lab::check(s, "token")["status"] == "ok").await;
    let (_, b) = lab.connect("acme", &lab.bob.token, json!({})).await;
    seen.push(b.to_string());
    let (_, b) = lab
        .call(reqwest::Method::POST, "/api/v1/workspaces/acme/rotate", None)
        .await;
    seen.push(b.to_string());
    // The rotated-away canary, used again, is rejected; nothing echoes it.
    let (_, b) = lab
        .call(
            reqwest::Method::PUT,
            "/api/v1/workspaces/acme/token",
            Some(json!({"token": CANARY})),
        )
        .await;
    seen.push(b.to_string());
    for path in ["/status", "/metrics", "/health?verbose"] {
        seen.push(lab.get(path).await.to_string());
    }
    let (_, b) = lab
        .call(
            reqwest::Method::DELETE,
            "/api/v1/workspaces/acme/connection?revoke=true",
            None,
        )
        .await;
    seen.push(b.to_string());
    for entry in std::fs::read_dir(lab.store.dir().unwrap()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        seen.push(String::from_utf8_lossy(&bytes).into_owned());
    }
    let audit = std::fs::read_to_string(lab.store.dir().unwrap().join("audit.log")).unwrap();
    for action in ["\"connect\"", "\"rotate\"", "\"update-token\"", "\"disconnect\""] {
        assert!(audit.contains(action), "audit log lacks {action}:\n{audit}");
    }
    for s in &seen {
        assert!(!s.contains(CANARY), "the token leaked:\n{s}");
    }
    let _ = (&lab.alice, &lab.dir);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// reqwest with labwatch's TLS setup: the crate installs no global provider.
#[tokio::test]
async fn connect_without_an_instance_url_uses_the_configured_one() {
    let lab = lab(true, "").await;
    let (code, body) = lab
        .call(
            reqwest::Method::POST,
            "/api/v1/workspaces/acme/connect",
            Some(json!({"token": CANARY})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["instance_url"], lab.sim.base_url());
}

fn alert(status: &str, workspace: &str, fingerprint: &str) -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"LabwatchTokenExpiringSoon\"}",
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "labwatch-renew",
        "groupLabels": {"alertname": "LabwatchTokenExpiringSoon"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "notification_reason": "new",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "LabwatchTokenExpiringSoon", "workspace": workspace, "severity": "warning"},
            "annotations": {"summary": "renew"},
            "startsAt": "2026-11-25T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph",
            "fingerprint": fingerprint,
            "someFutureField": true
        }]
    })
}

fn rotations(lab: &Lab) -> u64 {
    lab.sim
        .sim()
        .counters()
        .route("POST /api/v4/personal_access_tokens/self/rotate")
}

#[tokio::test]
async fn a_firing_alert_rotates_once_however_often_it_is_delivered() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("alerted", &lab.expiring.token, json!({})).await.0, 200);
    let (code, body) = lab.post_alert(alert("firing", "alerted", "f1")).await;
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["results"][0]["action"], "rotated", "{body}");
    for _ in 0..2 {
        let (code, body) = lab.post_alert(alert("firing", "alerted", "f1")).await;
        assert_eq!(
            (code, body["results"][0]["action"].as_str()),
            (202, Some("duplicate")),
            "{body}"
        );
    }
    assert_eq!(rotations(&lab), 1);
    let metrics = lab.get("/metrics").await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("labwatch_token_renewals_total{trigger=\"alert\",workspace=\"alerted\"} 1"),
        "{metrics}"
    );
    let audit = std::fs::read_to_string(lab.store.dir().unwrap().join("audit.log")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("\"actor\":\"alert\"") && l.contains("\"result\":\"ok\"")),
        "{audit}"
    );

    // A new firing (new startsAt or fingerprint) of a token that is fresh now does nothing.
    let (_, body) = lab.post_alert(alert("firing", "alerted", "f2")).await;
    assert_eq!(body["results"][0]["action"], "not-due", "{body}");
    let (_, body) = lab.post_alert(alert("resolved", "alerted", "f1")).await;
    assert_eq!(body["results"][0]["action"], "resolved", "{body}");
    assert_eq!(rotations(&lab), 1);
}

#[tokio::test]
async fn the_webhook_only_acts_for_alert_mode_and_listed_alert_names() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", &lab.expiring.token, json!({})).await.0, 200);
    let (code, body) = lab.post_alert(alert("firing", "acme", "m1")).await;
    assert_eq!(
        (code, body["results"][0]["action"].as_str()),
        (202, Some("ignored")),
        "{body}"
    );
    assert!(
        body["results"][0]["detail"].as_str().unwrap().contains("manual"),
        "{body}"
    );
    let mut other = alert("firing", "alerted", "o1");
    other["alerts"][0]["labels"]["alertname"] = json!("SomethingElse");
    let (_, body) = lab.post_alert(other).await;
    assert_eq!(body["results"][0]["action"], "ignored", "{body}");
    assert_eq!(rotations(&lab), 0);
}

#[tokio::test]
async fn the_webhook_rejects_bad_payloads_unknown_workspaces_and_missing_auth() {
    let lab = lab(true, "").await;
    let resp = lab
        .http
        .post(format!("http://{}/api/v1/alerts", lab.addr))
        .json(&alert("firing", "alerted", "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (code, body) = lab
        .call(reqwest::Method::POST, "/api/v1/alerts", Some(json!({"alerts": "nope"})))
        .await;
    assert_eq!((code, body["error"].as_str()), (422, Some("bad-request")), "{body}");
    let mut v3 = alert("firing", "alerted", "x");
    v3["version"] = json!("3");
    let (code, body) = lab.call(reqwest::Method::POST, "/api/v1/alerts", Some(v3)).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (400, Some("unsupported-payload")),
        "{body}"
    );
    let (code, body) = lab.post_alert(alert("firing", "ghost", "x")).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("unknown-workspace")),
        "{body}"
    );
    let resp = lab
        .http
        .post(format!("http://{}/api/v1/alerts", lab.addr))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
}

#[tokio::test]
async fn when_gitlab_fails_the_webhook_answers_5xx_and_a_retry_rotates() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("alerted", &lab.expiring.token, json!({})).await.0, 200);
    lab.sim.sim().fail_next(labwatch::sim::FailSpec {
        count: 1,
        status: 503,
        path_prefix: Some("/api/v4/personal_access_tokens/self/rotate".into()),
        body: None,
        content_type: None,
        headers: Default::default(),
    });
    let (code, body) = lab.post_alert(alert("firing", "alerted", "r1")).await;
    assert_eq!((code, body["error"].as_str()), (502, Some("renewal-failed")), "{body}");
    let (code, body) = lab.post_alert(alert("firing", "alerted", "r1")).await;
    assert_eq!(
        (code, body["results"][0]["action"].as_str()),
        (202, Some("rotated")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn labwatch_check_uses_connections_made_through_the_admin_api() {
    let lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    let config = lab.dir.path().join("lw.toml");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
            .args(["check", "--workspace", "acme", "--output", "json", "-c"])
            .arg(&config)
            .env_remove("LABWATCH_STORE_KEY")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    let ws = &v["workspaces"][0];
    assert_eq!(ws["connection"]["username"], "alice", "{ws}");
    assert_eq!(Lab::check(ws, "token")["status"], "ok", "{ws}");
    assert!(!stdout.contains(CANARY));
}

/// `labwatch checks list` runs on the config offline, and reads the
/// daemon's store as `labwatch check` does: the repositories chosen through
/// the admin API are the ones listed (the config names none for `acme`),
/// and so are workspaces created at run time.
#[tokio::test(flavor = "multi_thread")]
async fn checks_list_shows_the_repositories_chosen_through_the_admin_api() {
    let lab = lab(true, "").await;
    let (code, body) = lab
        .connect("acme", CANARY, json!({"repositories": ["acme/frontend"]}))
        .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = lab
        .connect(
            "created",
            &lab.alice2.token,
            json!({"repositories": ["acme/backend", "acme/renamed"]}),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let config = lab.dir.path().join("lw.toml");
    let list = |extra: &'static [&'static str]| {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
                .args(["checks", "list"])
                .args(extra)
                .arg("-c")
                .arg(&config)
                .env_remove("LABWATCH_STORE_KEY")
                .output()
                .unwrap()
        })
    };
    let out = list(&[]).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = |ws: &str| {
        stdout
            .split_inclusive('\n')
            .skip_while(|l| !l.starts_with(&format!("{ws} (")))
            .skip(1)
            .take_while(|l| l.starts_with(' '))
            .collect::<String>()
    };
    assert!(table("acme").contains("repository[acme/frontend]"), "{stdout}");
    assert!(!table("acme").contains("repository[acme/backend]"), "{stdout}");
    assert!(table("created").contains("repository[acme/backend]"), "{stdout}");
    assert!(table("created").contains("repository[acme/renamed]"), "{stdout}");
    assert!(!stdout.contains(CANARY) && !stdout.contains(&lab.alice2.token));

    let out = list(&["--workspace", "acme", "--output", "json"]).await.unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let targets: Vec<&str> = v[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["check"] == "repository")
        .filter_map(|c| c["target"].as_str())
        .collect();
    assert_eq!(targets, ["acme/frontend"], "{v}");
}

/// The webhook decides on GitLab's expiry, the one `/status` shows, and
/// brings the stored one up to date; each declined firing is audited.
#[tokio::test]
async fn the_webhook_decides_on_gitlabs_expiry_and_refreshes_the_stored_one() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("alerted", &lab.alice2.token, json!({})).await.0, 200);
    let today = time::OffsetDateTime::now_utc().date();
    let stored = |lab: &Lab| lab.store.load("alerted").unwrap().unwrap().expires_at;
    assert_eq!(stored(&lab), Some(today + time::Duration::days(90)));

    // GitLab's expiry moves, still far off: not due, and the store follows.
    let later = today + time::Duration::days(60);
    lab.sim.sim().set_token_expiry(lab.alice2.id, Some(later)).unwrap();
    let (code, body) = lab.post_alert(alert("firing", "alerted", "e1")).await;
    assert_eq!(
        (code, body["results"][0]["action"].as_str()),
        (202, Some("not-due")),
        "{body}"
    );
    let detail = body["results"][0]["detail"].as_str().unwrap();
    assert!(detail.contains(&labwatch::gitlab::types::format_date(later)), "{body}");
    assert_eq!(stored(&lab), Some(later));
    let audit = std::fs::read_to_string(lab.store.dir().unwrap().join("audit.log")).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""actor":"alert","action":"rotate","result":"renewal-not-due""#)),
        "{audit}"
    );

    // Now GitLab says it expires in five days: /status says renewal is due,
    // and so does the webhook, though the store said otherwise.
    let soon = today + time::Duration::days(5);
    lab.sim.sim().set_token_expiry(lab.alice2.id, Some(soon)).unwrap();
    lab.passes.borrow_and_update();
    assert!(lab.runtime.run_now(Some("alerted")));
    lab.until("alerted", |s| Lab::check(s, "token")["reason"] == "token-expiring")
        .await;
    assert_eq!(stored(&lab), Some(later), "the store still has the older date");
    let (code, body) = lab.post_alert(alert("firing", "alerted", "e2")).await;
    assert_eq!(
        (code, body["results"][0]["action"].as_str()),
        (202, Some("rotated")),
        "{body}"
    );
    assert_eq!(rotations(&lab), 1);
    assert!(lab.sim.sim().token(lab.alice2.id).unwrap().revoked);
}

/// One token, one workspace: GitLab revokes a rotated token, so a token two
/// workspaces hold would die in one when the other rotates it. Connecting
/// or renewing with a token another workspace uses is refused, naming it,
/// unless forced, and then the answer warns.
#[tokio::test]
async fn a_token_another_workspace_uses_is_refused_unless_forced() {
    let mut lab = lab(true, "").await;
    assert_eq!(lab.connect("acme", CANARY, json!({})).await.0, 200);
    let first = lab.alice.id;
    lab.until("acme", |s| s["connection"]["token"]["id"] == first).await;

    let (code, body) = lab.connect("alerted", CANARY, json!({})).await;
    assert_eq!((code, body["error"].as_str()), (409, Some("token-shared")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`acme`"), "{body}");
    assert!(body["remediation"].to_string().contains("--force"), "{body}");
    assert!(lab.store.load("alerted").unwrap().is_none(), "nothing was connected");

    let (code, body) = lab.connect("alerted", CANARY, json!({"force": true})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["warnings"][0]["code"], "token-shared", "{body}");
    assert!(
        body["warnings"][0]["message"].as_str().unwrap().contains("`acme`"),
        "{body}"
    );
    assert!(!body.to_string().contains(CANARY));

    // The same for a renewal: acme's new token would be narrow's too.
    assert_eq!(lab.connect("narrow", &lab.alice2.token, json!({})).await.0, 200);
    let second = lab.alice2.id;
    lab.until("narrow", |s| s["connection"]["token"]["id"] == second).await;
    let path = "/api/v1/workspaces/acme/token";
    let (code, body) = lab
        .call(reqwest::Method::PUT, path, Some(json!({"token": lab.alice2.token})))
        .await;
    assert_eq!((code, body["error"].as_str()), (409, Some("token-shared")), "{body}");
    assert!(body["message"].as_str().unwrap().contains("`narrow`"), "{body}");
    assert_eq!(lab.store.load("acme").unwrap().unwrap().token_id, lab.alice.id);
    let (code, body) = lab
        .call(
            reqwest::Method::PUT,
            path,
            Some(json!({"token": lab.alice2.token, "force": true})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["warnings"][0]["code"], "token-shared", "{body}");
    // Reconnecting a workspace with its own token is no sharing.
    let (code, body) = lab.connect("narrow", &lab.alice2.token, json!({})).await;
    assert_eq!(code, 409, "acme holds it now too: {body}");
    let (code, body) = lab.connect("alerted", CANARY, json!({})).await;
    assert_eq!(code, 200, "only alerted holds alice's first token now: {body}");
    assert!(body["warnings"].as_array().is_none_or(|w| w.is_empty()), "{body}");
}
