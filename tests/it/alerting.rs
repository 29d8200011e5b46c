//! The whole alert chain with the real Debian `prometheus` and
//! `prometheus-alertmanager`, on loopback with short intervals:
//! labwatch watches the simulator, whose token expires in a few days;
//! Prometheus scrapes labwatch and `LabwatchTokenExpiringSoon` fires;
//! Alertmanager posts it to labwatch, which rotates the token in the
//! simulator; the next scrape shows the later expiry and the alert resolves.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, TokenSpec, UserSpec};
use serde_json::{Value, json};

use crate::support::process::Daemon;
use crate::support::tools;

const ADMIN: &str = "alerting-test-admin-token-7c1e9f0b2d";

/// A child process killed when the test ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(bin: &Path, args: &[String], log: &Path) -> Proc {
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    Proc(
        Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap(),
    )
}

fn http() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(all(has_prometheus, has_prometheus_alertmanager)),
    ignore = "prometheus or prometheus-alertmanager not installed: apt-get install prometheus prometheus-alertmanager (scripts/test does)"
)]
async fn an_expiring_token_is_rotated_through_prometheus_and_alertmanager() {
    let prometheus = tools::require("prometheus", "prometheus");
    let alertmanager = tools::require("prometheus-alertmanager", "prometheus-alertmanager");

    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let token = s
        .add_token(
            TokenSpec::new("alice", "workspace")
                .scopes(&["api"])
                .expires(Expiry::InDays(4)),
        )
        .unwrap();
    s.add_project(ProjectSpec::new("acme/app").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let gitlab = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("admin"), ADMIN).unwrap();
    let config = d.join("labwatch.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{dir}/admin\"\n[store]\ndir = \"{dir}/store\"\nkey_file = \"{dir}/store.key\"\n\
             [defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
             [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n[workspace.renewal]\nmode = \"alert\"\nrenew_before = \"14d\"\nlifetime = \"90d\"\n",
            dir = d.display(),
            url = gitlab.base_url()
        ),
    )
    .unwrap();
    let mut labwatch = tokio::task::block_in_place(|| Daemon::start(&config));
    let connected = http()
        .post(format!("http://{}/api/v1/workspaces/acme/connect", labwatch.addr))
        .bearer_auth(ADMIN)
        .json(&json!({ "token": token.token }))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status().as_u16(), 200, "{}", connected.text().await.unwrap());
    let old_expiry = (time::OffsetDateTime::now_utc().date() + time::Duration::days(4))
        .midnight()
        .assume_utc()
        .unix_timestamp();

    // The shipped rules, with `for:` shortened so the test runs in seconds.
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/prometheus/labwatch-rules.yml"
    ))
    .unwrap();
    let rules: String = shipped
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("for:") {
                format!("{}for: 0s", &l[..l.len() - l.trim_start().len()])
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(d.join("rules.yml"), rules).unwrap();

    let (prom_port, am_port) = (free_port(), free_port());
    std::fs::write(
        d.join("alertmanager.yml"),
        format!(
            "route:\n  receiver: labwatch-renew\n  group_by: [alertname, workspace]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: labwatch-renew\n    webhook_configs:\n      - url: http://{lw}/api/v1/alerts\n        send_resolved: true\n\
             \x20       http_config:\n          authorization:\n            type: Bearer\n            credentials_file: {dir}/admin\n",
            lw = labwatch.addr,
            dir = d.display()
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: [{dir}/rules.yml]\n\
             alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n\
             scrape_configs:\n  - job_name: labwatch\n    static_configs:\n      - targets: ['{lw}']\n",
            dir = d.display(),
            lw = labwatch.addr
        ),
    )
    .unwrap();
    let s = |v: &str| v.to_owned();
    let _am = spawn(
        &alertmanager,
        &[
            format!("--config.file={}/alertmanager.yml", d.display()),
            format!("--storage.path={}/am", d.display()),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            s("--cluster.listen-address="),
        ],
        &d.join("alertmanager.log"),
    );
    let _prom = spawn(
        &prometheus,
        &[
            format!("--config.file={}/prometheus.yml", d.display()),
            format!("--storage.tsdb.path={}/prom", d.display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
            s("--rules.alert.resend-delay=1s"),
        ],
        &d.join("prometheus.log"),
    );

    let logs = |name: &str| std::fs::read_to_string(d.join(name)).unwrap_or_default();
    let rotated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tokio::task::block_in_place(|| labwatch.wait_until_event("the webhook's rotation", |e| decided(e, "rotated")))
    }));
    let Ok(rotated) = rotated else {
        panic!(
            "no rotation; prometheus log:\n{}\nalertmanager log:\n{}",
            logs("prometheus.log"),
            logs("alertmanager.log")
        );
    };
    assert_eq!(rotated["workspace"], "acme");
    tokio::task::block_in_place(|| labwatch.wait_until_event("the resolved alert", |e| decided(e, "resolved")));

    assert_eq!(
        gitlab
            .sim()
            .counters()
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        1,
        "exactly one rotate call"
    );
    let metrics = reqwest_text(&format!("http://{}/metrics", labwatch.addr)).await;
    assert!(
        metrics.contains("labwatch_token_renewals_total{trigger=\"alert\",workspace=\"acme\"} 1"),
        "{metrics}"
    );
    let query = format!("http://127.0.0.1:{prom_port}/api/v1/query?query=labwatch_token_expiry_timestamp_seconds");
    let v: Value = serde_json::from_str(&reqwest_text(&query).await).unwrap();
    let scraped: f64 = v["data"]["result"][0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(
        scraped > old_expiry as f64 + 30.0 * 86_400.0,
        "Prometheus shows the new expiry: {scraped} vs {old_expiry}"
    );
}

async fn reqwest_text(url: &str) -> String {
    http()
        .get(url)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Whether `event` is the webhook's log line of an alert it `decision`ed.
fn decided(event: &serde_json::Value, decision: &str) -> bool {
    event["message"] == "Alert webhook decision"
        && event["alertname"] == "LabwatchTokenExpiringSoon"
        && event["decision"] == decision
}
