//! Three replicas of the daemon on one PostgreSQL and one simulator: they
//! split the fleet so that each workspace is checked by exactly one of
//! them, a killed one's workspaces are taken over by the others, a paused
//! one finds its leases gone when it wakes, and an admin call made on any
//! replica reaches the workspace's owner.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use labwatch::sim::Counters;
use labwatch::sim::{self, AccessLevel, Expiry, NewToken, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::client;
use crate::support::in_process;
use crate::support::postgres::Postgres;
use crate::support::process::Daemon;

const ADMIN: &str = "admin-secret-for-the-replica-tests";
/// Workspaces in all: `ws-000` … and `alerted`.
const WORKSPACES: usize = 300;
/// Short, so a dead replica's leases expire within seconds.
const LEASE: &str = "3s";
/// How long a condition the replicas must reach may take; reaching it
/// means the test failed.
const DEADLINE: Duration = Duration::from_secs(60);

struct Fleet {
    sim: SimHandle,
    tokens: Vec<NewToken>,
    /// A token five days from expiry, for workspace `alerted`.
    expiring: NewToken,
    pg: Postgres,
    _dir: tempfile::TempDir,
    config: PathBuf,
}

/// `workspaces` workspaces `ws-NNN`, each with its own token, and
/// `alerted` (renewed on alerts, not connected yet), on three replicas'
/// config.
async fn fleet(workspaces: usize) -> Fleet {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let expiring = s
        .add_token(
            TokenSpec::new("alice", "expiring")
                .scopes(&["api"])
                .expires(Expiry::InDays(5)),
        )
        .unwrap();
    let tokens: Vec<NewToken> = (0..workspaces)
        .map(|i| {
            s.add_token(
                TokenSpec::new("alice", format!("ws-{i:03}"))
                    .scopes(&["api"])
                    .expires(Expiry::InDays(60)),
            )
            .unwrap()
        })
        .collect();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let pg = tokio::task::block_in_place(Postgres::start);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("admin"), ADMIN).unwrap();
    std::fs::write(d.join("store.key"), [5u8; 32]).unwrap();
    let mut text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{a}\"\n\
         [store]\nbackend = \"postgres\"\nkey_file = \"{k}\"\n\
         [store.postgres]\nurl = \"{url}\"\npassword_file = \"{pw}\"\nlease = \"{LEASE}\"\n\
         [defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n",
        a = d.join("admin").display(),
        k = d.join("store.key").display(),
        url = pg.url(),
        pw = pg.password_file().display(),
    );
    for (i, token) in tokens.iter().enumerate() {
        let file = d.join(format!("token-{i:03}"));
        std::fs::write(&file, &token.token).unwrap();
        text.push_str(&format!(
            "[[workspace]]\nname = \"ws-{i:03}\"\ninstance_url = \"{}\"\ntoken_file = \"{}\"\nrepositories = [\"acme/backend\"]\n",
            sim.base_url(),
            file.display()
        ));
    }
    text.push_str(&format!(
        "[[workspace]]\nname = \"alerted\"\ninstance_url = \"{}\"\n[workspace.renewal]\nmode = \"alert\"\nrenew_before = \"14d\"\n",
        sim.base_url()
    ));
    let config = d.join("lw.toml");
    std::fs::write(&config, text).unwrap();
    Fleet {
        sim,
        tokens,
        expiring,
        pg,
        _dir: dir,
        config,
    }
}

fn start(config: &Path, name: &str) -> Daemon {
    tokio::task::block_in_place(|| {
        let mut d = Daemon::spawn_with_env(
            &["run".as_ref(), "-c".as_ref(), config.as_os_str()],
            &[("LABWATCH_REPLICA_ID", name)],
        );
        d.wait_serving();
        d
    })
}

/// Waits until `replica` logs that it owns `owned` workspaces.
fn wait_owning(replica: &mut Daemon, owned: u64) -> Value {
    tokio::task::block_in_place(|| {
        replica.wait_until_event(&format!("owning {owned}"), |e| {
            (e["message"] == "Workspace leases changed"
                || e["message"] == "Sharing the fleet with the other replicas on the database")
                && e["owned"] == owned
        })
    })
}

/// The workspaces whose verdicts a replica produced itself, as its
/// `/status` says (the others' come from the store, marked with theirs).
async fn reported(replica: &Daemon, name: &str) -> BTreeSet<String> {
    let (code, body) = client::get(replica.addr, "/status").await;
    assert_eq!(code, 200, "{body}");
    let doc: Value = serde_json::from_str(&body).unwrap();
    doc["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["verdict"]["replica"] == name)
        .map(|w| w["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The workspaces each replica produced the verdicts of, once each
/// produced `each` and together every workspace, none twice.
async fn wait_split(replicas: &[(&Daemon, &str)], each: usize) -> Vec<BTreeSet<String>> {
    until(&format!("never split {each} each"), || async {
        let mut split = Vec::new();
        for (r, name) in replicas {
            split.push(reported(r, name).await);
        }
        let all: BTreeSet<&String> = split.iter().flatten().collect();
        if split.iter().all(|s| s.len() == each) && all.len() == WORKSPACES {
            return Ok(split.clone());
        }
        let sizes: Vec<usize> = split.iter().map(BTreeSet::len).collect();
        Err(format!("{sizes:?}, {} in all", all.len()))
    })
    .await
}

/// Creates workspace `late` through `replica`.
async fn put_late(http: &reqwest::Client, replica: &Daemon, f: &Fleet) -> (u16, Value) {
    let body = json!({"instance_url": f.sim.base_url()});
    in_process::call(
        http,
        replica.addr,
        ADMIN,
        Method::PUT,
        "/api/v1/workspaces/late",
        Some(body),
    )
    .await
}

/// Calls `look` until it returns `Some`, every 50 ms, for [`DEADLINE`] at
/// most: polling the daemons or the simulator for a condition, not timing.
/// `what` names the condition when it never comes, with the last answer.
async fn until<T, F, Fut>(what: &str, mut look: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match look().await {
            Ok(found) => return found,
            Err(last) => assert!(tokio::time::Instant::now() < deadline, "{what}: {last}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Until `/readyz` answers `code`.
async fn wait_readyz(replica: &Daemon, code: u16) {
    until(&format!("/readyz never answered {code}"), || async {
        let (now, body) = client::get(replica.addr, "/readyz").await;
        if now == code {
            Ok(())
        } else {
            Err(format!("{now} {body}"))
        }
    })
    .await
}

/// Until `/status/{workspace}` on `replica` satisfies `holds`.
async fn wait_status(replica: &Daemon, workspace: &str, holds: impl Fn(&Value) -> bool) -> Value {
    until(&format!("/status/{workspace} never held"), || async {
        let (code, body) = client::get(replica.addr, &format!("/status/{workspace}")).await;
        match serde_json::from_str::<Value>(&body) {
            Ok(doc) if code == 200 && holds(&doc) => Ok(doc),
            _ => Err(format!("{code} {body}")),
        }
    })
    .await
}

/// Until `/readyz` answers 200: every workspace the replica owns finished
/// its first round.
async fn wait_ready(replica: &Daemon) {
    wait_readyz(replica, 200).await
}

/// `/status` of `replica` once it lists every workspace: its own, and the
/// others' verdicts, which their owners write after their rounds.
async fn wait_reporting_all(replica: &Daemon) -> Value {
    until("never lists every workspace", || async {
        let (code, body) = client::get(replica.addr, "/status").await;
        let doc: Value = serde_json::from_str(&body).map_err(|e| format!("{code} {e}"))?;
        match doc["workspaces"].as_array().map(Vec::len) {
            Some(WORKSPACES) => Ok(doc),
            n => Err(format!("{n:?} workspaces")),
        }
    })
    .await
}

async fn counters(sim: &SimHandle) -> Counters {
    in_process::sim_counters(sim).await
}

async fn reset(sim: &SimHandle) {
    let http = in_process::http_client();
    let status = http
        .delete(format!("{}/-/sim/counters", sim.base_url()))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
}

/// Each token's `personal_access_tokens/self` calls since the last reset,
/// once every token in `expected` was seen at least once.
async fn self_calls(sim: &SimHandle, expected: &BTreeSet<u64>) -> BTreeMap<u64, usize> {
    until("tokens never checked", || async {
        let c = counters(sim).await;
        let mut calls: BTreeMap<u64, usize> = BTreeMap::new();
        for r in c
            .recent
            .iter()
            .filter(|r| r.route == "GET /api/v4/personal_access_tokens/self")
        {
            if let Some(id) = r.token_id {
                *calls.entry(id).or_default() += 1;
            }
        }
        let missing: Vec<&u64> = expected.iter().filter(|id| !calls.contains_key(id)).collect();
        if missing.is_empty() {
            Ok(calls)
        } else {
            Err(format!("{missing:?}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
async fn three_replicas_split_the_fleet_and_take_over_a_killed_one() {
    let f = fleet(WORKSPACES - 1).await;
    let mut a = start(&f.config, "replica-a");
    let mut b = start(&f.config, "replica-b");
    let mut c = start(&f.config, "replica-c");
    for r in [&mut a, &mut b, &mut c] {
        wait_owning(r, 100);
    }

    // Each workspace is reported by exactly one replica.
    // Each workspace is reported by exactly one replica, its owner, once
    // the owners' first rounds replaced the verdicts the first replica
    // wrote while it owned everything.
    let split = wait_split(&[(&a, "replica-a"), (&b, "replica-b"), (&c, "replica-c")], 100).await;
    let rc = split[2].clone();

    // A round asked of every replica, once their first rounds are done,
    // checks each token exactly once.
    for r in [&a, &b, &c] {
        wait_ready(r).await;
    }
    reset(&f.sim).await;
    let http = in_process::http_client();
    for r in [&a, &b, &c] {
        let (code, body) = in_process::call(&http, r.addr, ADMIN, Method::POST, "/api/v1/checks/run", None).await;
        assert!(code < 300, "{code} {body}");
    }
    let ids: BTreeSet<u64> = f.tokens.iter().map(|t| t.id).collect();
    let calls = self_calls(&f.sim, &ids).await;
    let twice: Vec<_> = calls.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "tokens checked more than once: {twice:?}");

    // Any replica answers for any workspace, with its owner's verdict.
    let everything = wait_reporting_all(&a).await;
    let of_c = rc.iter().find(|n| n.starts_with("ws-")).unwrap().clone();
    let entry = everything["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == of_c.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["verdict"]["replica"], "replica-c", "{entry}");
    assert_eq!(entry["status"], "ok", "{entry}");
    let (code, body) = client::get(a.addr, &format!("/status/{of_c}")).await;
    assert_eq!(code, 200, "{body}");
    let one: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (one["name"].as_str(), one["verdict"]["replica"].as_str()),
        (Some(of_c.as_str()), Some("replica-c"))
    );
    assert!(one["verdict"]["at"].as_str().is_some_and(|t| t.ends_with('Z')), "{one}");
    assert_eq!(
        client::get(b.addr, &format!("/health?workspace={of_c}")).await,
        (200, "ok\n".to_owned())
    );
    let (code, body) = client::get(b.addr, "/health?workspace=alerted").await;
    assert_eq!(code, 503, "alerted is not connected: {body}");
    assert!(body.contains("alerted/token critical"), "{body}");

    // An admin call on a replica that does not own the workspace reaches
    // its owner: run one of c's workspaces through a.
    reset(&f.sim).await;
    let token = f.tokens[of_c[3..].parse::<usize>().unwrap()].id;
    let (code, body) = in_process::call(
        &http,
        a.addr,
        ADMIN,
        Method::POST,
        &format!("/api/v1/checks/run?workspace={of_c}"),
        None,
    )
    .await;
    assert!(code < 300, "{code} {body}");
    self_calls(&f.sim, &BTreeSet::from([token])).await;

    // c is killed: a and b take its workspaces over, and check them at once.
    reset(&f.sim).await;
    c.signal("KILL");
    wait_owning(&mut a, 150);
    wait_owning(&mut b, 150);
    let of_c: BTreeSet<u64> = rc
        .iter()
        .filter_map(|n| n.strip_prefix("ws-"))
        .map(|i| f.tokens[i.parse::<usize>().unwrap()].id)
        .collect();
    self_calls(&f.sim, &of_c).await;
    wait_split(&[(&a, "replica-a"), (&b, "replica-b")], 150).await;
    // Each replica's /metrics has its own workspaces' series only, and says
    // what it owns and took over.
    let (mut series, mut taken) = (0, 0);
    for (r, name) in [(&a, "replica-a"), (&b, "replica-b")] {
        let (code, metrics) = client::get(r.addr, "/metrics").await;
        assert_eq!(code, 200);
        crate::support::tools::assert_promtool_accepts(&metrics);
        assert!(
            metrics.contains(&format!(
                "labwatch_replica_owned_workspaces{{replica=\"{name}\"}} 150\n"
            )),
            "{metrics}"
        );
        let prefix = format!("labwatch_replica_leases_taken_over_total{{replica=\"{name}\"}} ");
        taken += metrics
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {prefix}in {metrics}"));
        assert!(
            metrics.contains("labwatch_store_calls_total{result=\"ok\"} "),
            "{metrics}"
        );
        let workspaces: BTreeSet<&str> = metrics
            .lines()
            .filter(|l| l.starts_with("labwatch_check_status{"))
            .filter_map(|l| l.split("workspace=\"").nth(1)?.split('"').next())
            .collect();
        assert_eq!(workspaces.len(), 150, "{name} exports {} workspaces", workspaces.len());
        series += workspaces.len();
    }
    assert_eq!(series, WORKSPACES, "each workspace's series once across the replicas");
    assert_eq!(taken, 100, "c's hundred workspaces were taken over");

    // b is paused past its lease: a takes everything; woken, b has lost
    // its leases, says so, and gets a share back.
    b.signal("STOP");
    let took = tokio::task::block_in_place(|| {
        a.wait_until_event("b's workspaces taken over", |e| {
            e["message"] == "Workspace leases changed" && e["owned"] == 300 && e["taken_over"] == 150
        })
    });
    assert_eq!(took["replicas"], 1, "{took}");
    b.signal("CONT");
    let woke = tokio::task::block_in_place(|| {
        b.wait_until_event("lost leases", |e| {
            e["message"] == "Workspace leases changed" && e["lost"] == 150
        })
    });
    assert_eq!(woke["owned"], 0, "{woke}");
    wait_owning(&mut b, 150);
    wait_owning(&mut a, 150);

    for r in [&mut a, &mut b] {
        r.signal("TERM");
        assert_eq!(tokio::task::block_in_place(|| r.wait_exit()), Some(0));
    }
}

fn alert() -> Value {
    json!({
        "version": "4",
        "groupKey": "{}:{alertname=\"LabwatchTokenExpiringSoon\"}",
        "status": "firing",
        "receiver": "labwatch-renew",
        "groupLabels": {"alertname": "LabwatchTokenExpiringSoon"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "LabwatchTokenExpiringSoon", "workspace": "alerted", "severity": "warning"},
            "annotations": {},
            "startsAt": "2026-12-07T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph",
            "fingerprint": "f1"
        }]
    })
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
async fn one_alert_sent_to_every_replica_fifty_times_rotates_the_token_once_and_a_database_restart_loses_nothing() {
    let f = fleet(5).await;
    let mut a = start(&f.config, "replica-a");
    let mut b = start(&f.config, "replica-b");
    let mut c = start(&f.config, "replica-c");
    for r in [&mut a, &mut b, &mut c] {
        wait_owning(r, 2);
    }
    let http = in_process::http_client();
    let connect = json!({"instance_url": f.sim.base_url(), "token": f.expiring.token});
    let (code, body) = in_process::call(
        &http,
        a.addr,
        ADMIN,
        Method::POST,
        "/api/v1/workspaces/alerted/connect",
        Some(connect),
    )
    .await;
    assert_eq!(code, 200, "{body}");

    let calls = (0..50).flat_map(|_| [a.addr, b.addr, c.addr]).map(|addr| {
        let http = http.clone();
        async move { in_process::call(&http, addr, ADMIN, Method::POST, "/api/v1/alerts", Some(alert())).await }
    });
    let answers = futures_join_all(calls).await;
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    for (code, body) in &answers {
        assert_eq!(*code, 202, "{body}");
        *actions
            .entry(body["results"][0]["action"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(actions.get("rotated"), Some(&1), "{actions:?}");
    assert_eq!(
        counters(&f.sim)
            .await
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        1,
        "{actions:?}"
    );
    // Every replica reads the rotated token from the database.
    for r in [&a, &b, &c] {
        let (code, body) = in_process::call(&http, r.addr, ADMIN, Method::POST, "/api/v1/alerts", Some(alert())).await;
        assert_eq!(code, 202, "{body}");
        assert_ne!(body["results"][0]["action"], "rotated", "{body}");
    }
    // The connect made on a reaches `alerted`'s owner, whichever it is:
    // its verdict shows the new connection, on every replica.
    for r in [&a, &b, &c] {
        wait_status(r, "alerted", |w| {
            w["status"] == "ok" && w["connection"]["username"] == "alice"
        })
        .await;
    }

    // PostgreSQL restarts: every replica says so on /readyz while it is
    // down, and afterwards serves again, with nothing lost.
    tokio::task::block_in_place(|| f.pg.stop());
    for r in [&a, &b, &c] {
        wait_readyz(r, 503).await;
    }
    let (code, body) = put_late(&http, &b, &f).await;
    assert_eq!(
        (code, body["error"].as_str()),
        (503, Some("store-unavailable")),
        "{body}"
    );
    tokio::task::block_in_place(|| f.pg.restart_after_stop());
    for r in [&a, &b, &c] {
        wait_readyz(r, 200).await;
    }
    let (code, body) = put_late(&http, &b, &f).await;
    assert_eq!(code, 201, "{body}");
    for r in [&a, &b, &c] {
        wait_status(r, "late", |w| w["verdict"]["replica"].is_string()).await;
        wait_status(r, "alerted", |w| w["connection"]["username"] == "alice").await;
    }
    // Its settings changed on c reach its owner, whichever it is; deleted
    // on a, it is gone from every replica.
    let body = json!({"instance_url": f.sim.base_url(), "repositories": ["acme/backend"]});
    let (code, answer) =
        in_process::call(&http, c.addr, ADMIN, Method::PUT, "/api/v1/workspaces/late", Some(body)).await;
    assert_eq!(code, 200, "{answer}");
    for r in [&a, &b, &c] {
        wait_status(r, "late", |w| {
            w["checks"]
                .as_array()
                .is_some_and(|checks| checks.iter().any(|k| k["target"] == "acme/backend"))
        })
        .await;
    }
    let (code, answer) = in_process::call(&http, a.addr, ADMIN, Method::DELETE, "/api/v1/workspaces/late", None).await;
    assert_eq!(code, 200, "{answer}");
    for r in [&a, &b, &c] {
        until("late never went away", || async {
            match client::get(r.addr, "/status/late").await {
                (404, _) => Ok(()),
                (code, body) => Err(format!("{code} {body}")),
            }
        })
        .await;
    }
    for r in [&mut a, &mut b, &mut c] {
        r.signal("TERM");
        assert_eq!(tokio::task::block_in_place(|| r.wait_exit()), Some(0));
    }
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(all(has_postgres, feature = "test-hooks")),
    ignore = "needs PostgreSQL and the pause points: scripts/test installs one and enables the other"
)]
async fn a_rotation_a_killed_replica_left_behind_is_settled_by_the_workspace_owner() {
    let f = fleet(3).await;
    // a rotates for an admin, and is killed after writing the marker but
    // before calling GitLab.
    let mut a = tokio::task::block_in_place(|| {
        let mut d = Daemon::spawn_with_env(
            &["run".as_ref(), "-c".as_ref(), f.config.as_os_str()],
            &[
                ("LABWATCH_REPLICA_ID", "replica-a"),
                ("LABWATCH_PAUSE_AT", "rotate-before-call"),
            ],
        );
        d.wait_serving();
        d
    });
    let mut b = start(&f.config, "replica-b");
    wait_owning(&mut a, 2);
    wait_owning(&mut b, 2);
    let http = in_process::http_client();
    let connect = json!({"instance_url": f.sim.base_url(), "token": f.expiring.token});
    let (code, body) = in_process::call(
        &http,
        b.addr,
        ADMIN,
        Method::POST,
        "/api/v1/workspaces/alerted/connect",
        Some(connect),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    // Its answer never comes: a is killed while it rotates.
    let rotating = tokio::spawn(
        http.post(format!("http://{}/api/v1/workspaces/alerted/rotate", a.addr))
            .bearer_auth(ADMIN)
            .send(),
    );
    let paused = tokio::task::block_in_place(|| a.wait_for("Paused at a test pause point"));
    assert_eq!(paused["point"], "rotate-before-call");
    let markers = "SELECT workspace FROM labwatch.rotation_markers";
    assert_eq!(f.pg.superuser_psql("labwatch", markers).trim(), "alerted");
    a.signal("KILL");
    assert_eq!(tokio::task::block_in_place(|| a.wait_exit()), None, "killed");
    assert!(rotating.await.unwrap().is_err(), "no answer from a killed replica");

    // b takes a's workspaces over, and with them the marker: the stored
    // token still works (GitLab was never asked), so b removes it.
    let settled = tokio::task::block_in_place(|| {
        b.wait_until_event("the rotation settled", |e| {
            e["message"] == "Interrupted rotation settled: the stored token works" && e["workspace"] == "alerted"
        })
    });
    assert_eq!(settled["token_id"], f.expiring.id, "{settled}");
    assert_eq!(f.pg.superuser_psql("labwatch", markers).trim(), "", "marker removed");
    let audit = f.pg.superuser_psql(
        "labwatch",
        "SELECT count(*) FROM labwatch.audit_log WHERE workspace = 'alerted' AND action = 'settle-rotation' AND result = 'ok'",
    );
    assert_eq!(audit.trim(), "1");
    assert_eq!(
        counters(&f.sim)
            .await
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        0
    );
    // The token was never rotated: still the expiring one, reported as
    // such, not as lost in a rotation.
    wait_status(&b, "alerted", |w| {
        w["connection"]["token"]["id"] == f.expiring.id
            && w["checks"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|k| k["check"] == "token" && k["reason"] == "token-expiring")
            })
    })
    .await;
    b.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| b.wait_exit()), Some(0));
}

/// Runs every future at once and gathers their outputs, in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
