//! One kind of "connected" (docs/admin-api.md#connections): a workspace
//! whose token comes from its config's `token_file` works with every admin
//! command, as one connected through the store does. The first command that
//! needs the store's copy adopts the file's token into the store and says
//! so; one GitLab account per workspace holds for both. Through the
//! `labwatch` binary, against the daemon served in-process with the
//! simulator behind it; no command prints a token it knows.
//!
//! And the steps `/status` gives for a missing or ageing token name the
//! command that fixes it when the admin API is on.

use std::sync::Mutex;

use labwatch::config::Config;
use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use serde_json::Value;
use tempfile::TempDir;

use crate::support::in_process::{self, InProcess};

const ADMIN: &str = "admin-token-for-the-file-token-tests";
/// In the token_file of workspace `boot`.
const BOOT: &str = "glpat-canary-FILE-alice-boot-01";
/// In the token_file of workspace `other`.
const OTHER: &str = "glpat-canary-FILE-alice-other-2";
const ALICE_2: &str = "glpat-canary-FILE-alice-second-3";
const BOB: &str = "glpat-canary-FILE-bob-0000000004";
/// In the token_file of workspace `due`: it stops working in two days.
const DUE: &str = "glpat-canary-FILE-alice-due-0005";

const ROTATE: &str = "POST /api/v4/personal_access_tokens/self/rotate";
const ADOPTED: &str = "Adopted the token from token_file into the store first";

fn scenario() -> Scenario {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_user(UserSpec::new("bob")).unwrap();
    let tokens = [
        ("alice", "boot", BOOT, Expiry::InDays(60)),
        ("alice", "other", OTHER, Expiry::InDays(60)),
        ("alice", "second", ALICE_2, Expiry::InDays(90)),
        ("bob", "bobs", BOB, Expiry::InDays(60)),
        ("alice", "due", DUE, Expiry::InDays(2)),
    ];
    for (user, name, secret, expiry) in tokens {
        s.add_token(
            TokenSpec::new(user, name)
                .secret(secret)
                .scopes(&["api"])
                .expires(expiry),
        )
        .unwrap();
    }
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s
}

/// The simulator, the daemon (restartable on the same config and store),
/// and the tokens no command may print.
struct Lab {
    sim: SimHandle,
    dir: TempDir,
    admin: bool,
    served: InProcess,
    canaries: Mutex<Vec<String>>,
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(&self) -> &str {
        assert_eq!((self.code, self.stderr.as_str()), (0, ""), "{self:#?}");
        &self.stdout
    }

    #[track_caller]
    fn failed(&self, code: i32, parts: &[&str]) {
        assert_eq!(self.code, code, "{self:#?}");
        for part in parts {
            assert!(self.stderr.contains(part), "stderr lacks `{part}`: {self:#?}");
        }
    }
}

impl Lab {
    /// Workspaces `boot`, `other` and `due` with a token_file each, and
    /// `bare` with none; the admin API on or off.
    async fn start(admin: bool) -> Lab {
        let sim = sim::start(scenario(), tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let secret_file = |name: &str, secret: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("{secret}\n")).unwrap();
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
            path.display().to_string()
        };
        let server = if admin {
            format!(
                "[server]\nadmin_token_file = \"{}\"\n",
                secret_file("admin.token", ADMIN)
            )
        } else {
            String::new()
        };
        let url = sim.base_url();
        let mut text = format!(
            "{server}[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\n\
             [[workspace]]\nname = \"bare\"\ninstance_url = \"{url}\"\n",
            d = dir.path().display(),
        );
        for (name, secret) in [("boot", BOOT), ("other", OTHER), ("due", DUE)] {
            let file = secret_file(&format!("{name}.token"), secret);
            text.push_str(&format!(
                "[[workspace]]\nname = \"{name}\"\ninstance_url = \"{url}\"\ntoken_file = \"{file}\"\n"
            ));
        }
        std::fs::write(dir.path().join("lw.toml"), text).unwrap();
        let served = serve(&dir, admin).await;
        let canaries = Mutex::new([BOOT, OTHER, ALICE_2, BOB, DUE, ADMIN].map(str::to_owned).to_vec());
        Lab {
            sim,
            dir,
            admin,
            served,
            canaries,
        }
    }

    /// A daemon started afresh on the same config and store, as after a
    /// restart.
    async fn restart(&mut self) {
        self.served = serve(&self.dir, self.admin).await;
    }

    /// `labwatch <args> --daemon <lab> --admin-token-file <lab's>`, with
    /// `stdin`; off the runtime's worker threads, which serve the daemon.
    async fn admin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
        cmd.args(args)
            .arg("--daemon")
            .arg(format!("http://{}", self.served.addr))
            .arg("--admin-token-file")
            .arg(self.dir.path().join("admin.token"))
            .env_remove("LABWATCH_ADMIN_TOKEN")
            .env_remove("LABWATCH_DAEMON")
            .env("RUST_LOG", "error");
        if let Some(input) = stdin {
            cmd.write_stdin(format!("{input}\n"));
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for canary in self.canaries.lock().unwrap().iter() {
            assert!(
                !run.stdout.contains(canary.as_str()) && !run.stderr.contains(canary.as_str()),
                "a token leaked: {run:#?}"
            );
        }
        run
    }

    async fn get(&self, path: &str) -> Value {
        let text = in_process::http_client()
            .get(format!("http://{}{path}", self.served.addr))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for canary in self.canaries.lock().unwrap().iter() {
            assert!(!text.contains(canary.as_str()), "a token leaked through {path}");
        }
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    }

    /// Waits, round by round, until `/status/{ws}` has run every check and
    /// satisfies `done`.
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
            tokio::time::timeout_at(deadline, self.served.passes.changed())
                .await
                .unwrap_or_else(|_| panic!("/status/{ws} never became as expected: {status}"))
                .unwrap();
        }
    }

    /// The audit log's lines for `ws`, as `action result` pairs.
    fn audit(&self, ws: &str) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("store/audit.log")).unwrap_or_default();
        for canary in self.canaries.lock().unwrap().iter() {
            assert!(!text.contains(canary.as_str()), "a token leaked into the audit log");
        }
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|l| l["workspace"] == ws)
            .map(|l| format!("{} {}", l["action"].as_str().unwrap(), l["result"].as_str().unwrap()))
            .collect()
    }
}

async fn serve(dir: &TempDir, admin: bool) -> InProcess {
    let config = Config::load(&dir.path().join("lw.toml")).unwrap();
    in_process::serve(config, admin.then_some(ADMIN)).await
}

fn token_check(status: &Value) -> &Value {
    status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token")
        .unwrap()
}

fn token_ok_with(id: u64) -> impl Fn(&Value) -> bool {
    move |s: &Value| token_check(s)["status"] == "ok" && s["connection"]["token"]["id"] == id
}

/// `labwatch rotate` on a workspace that only has a token_file: the token
/// is adopted into the store, rotated once at GitLab, and the new one is
/// used, also after a restart (the file still holds the old, revoked one).
/// A disconnect then keeps the file's token from connecting it again.
#[tokio::test(flavor = "multi_thread")]
async fn rotate_adopts_the_token_file_token_and_a_restart_keeps_the_rotated_one() {
    let mut lab = Lab::start(true).await;
    let old = lab.sim.sim().token(BOOT).unwrap().id;
    lab.until("boot", token_ok_with(old)).await;
    assert!(lab.served.store.load("boot").unwrap().is_none());
    lab.sim.sim().reset_counters();

    let run = lab.admin(&["rotate", "-w", "boot"], None).await;
    let out = run.ok();
    assert!(
        out.contains(ADOPTED) && out.contains("token_file of workspace boot is no longer read"),
        "{run:#?}"
    );
    assert_eq!(lab.sim.sim().counters().route(ROTATE), 1, "GitLab saw one rotation");
    assert!(
        lab.sim.sim().token(old).unwrap().revoked,
        "GitLab revoked the file's token"
    );
    let stored = lab
        .served
        .store
        .load("boot")
        .unwrap()
        .expect("the rotated token is stored");
    let new = lab.sim.sim().token(stored.token_id).unwrap();
    assert_eq!(
        (new.previous_id, new.active, new.username.as_str()),
        (Some(old), true, "alice")
    );
    assert!(
        out.contains(&format!("id {}", new.id)) && out.contains(&format!("(id {old})")),
        "{run:#?}"
    );
    lab.canaries.lock().unwrap().push(new.token.clone());
    assert_eq!(lab.audit("boot"), ["adopt-token ok", "rotate ok"]);
    lab.until("boot", token_ok_with(new.id)).await;

    // A restart uses the store's rotated token, not the file's revoked one.
    lab.restart().await;
    lab.until("boot", token_ok_with(new.id)).await;
    // Adopted once: the next rotation is a plain one.
    let run = lab.admin(&["rotate", "-w", "boot"], None).await;
    assert!(!run.ok().contains(ADOPTED), "{run:#?}");
    let newer = lab.served.store.load("boot").unwrap().unwrap().token_id;
    lab.canaries
        .lock()
        .unwrap()
        .push(lab.sim.sim().token(newer).unwrap().token);

    // Disconnected, the workspace stays so: the file's token is not used
    // again (it would show as token-revoked), after a restart either.
    lab.admin(&["disconnect", "-w", "boot"], None).await.ok();
    lab.until("boot", |s| token_check(s)["reason"] == "not-connected").await;
    lab.restart().await;
    let status = lab.until("boot", |s| token_check(s)["reason"] != "pending").await;
    assert_eq!(token_check(&status)["reason"], "not-connected", "{status}");
    assert_eq!(status["connection"]["connected"], false, "{status}");
    lab.admin(&["rotate", "-w", "boot"], None)
        .await
        .failed(65, &["(not-connected)"]);
}

/// `repos` lists with the file's token and adopts nothing; `repos --set`
/// and `renew` adopt it first and say so.
#[tokio::test(flavor = "multi_thread")]
async fn repos_and_renew_work_on_a_token_file_workspace_and_say_they_adopted_it() {
    let mut lab = Lab::start(true).await;
    let run = lab.admin(&["repos", "-w", "boot"], None).await;
    let out = run.ok();
    assert!(out.contains("acme/backend") && !out.contains(ADOPTED), "{run:#?}");
    assert!(
        lab.served.store.load("boot").unwrap().is_none(),
        "reading adopts nothing"
    );

    let run = lab.admin(&["repos", "-w", "boot", "--set", "acme/backend"], None).await;
    let out = run.ok();
    assert!(
        out.contains("now watches: acme/backend") && out.contains(ADOPTED),
        "{run:#?}"
    );
    let stored = lab.served.store.load("boot").unwrap().unwrap();
    assert_eq!(
        (stored.username.as_str(), stored.token_id, stored.repositories),
        (
            "alice",
            lab.sim.sim().token(BOOT).unwrap().id,
            Some(vec!["acme/backend".to_owned()])
        )
    );
    assert_eq!(lab.audit("boot"), ["adopt-token ok", "set-repositories ok"]);

    // renew on the other workspace: the file's token is adopted, then
    // replaced by the new one, and revoked as asked.
    let old = lab.sim.sim().token(OTHER).unwrap().id;
    let run = lab
        .admin(&["renew", "-w", "other", "--revoke-old"], Some(ALICE_2))
        .await;
    let out = run.ok();
    assert!(
        out.contains(ADOPTED) && out.contains(&format!("was token id {old}")),
        "{run:#?}"
    );
    assert!(lab.sim.sim().token(old).unwrap().revoked);
    let second = lab.sim.sim().token(ALICE_2).unwrap().id;
    assert_eq!(lab.served.store.load("other").unwrap().unwrap().token_id, second);
    assert_eq!(lab.audit("other"), ["adopt-token ok", "update-token ok"]);
    lab.until("other", token_ok_with(second)).await;
}

/// One GitLab account per workspace, whether its token_file or the store
/// connects it: another account's token is refused with the two ways on,
/// `--replace` switches, and the same account's token is taken.
#[tokio::test(flavor = "multi_thread")]
async fn connect_keeps_one_account_per_workspace_whatever_connects_it() {
    let mut lab = Lab::start(true).await;
    let url = lab.sim.base_url().to_owned();
    let connect = ["connect", "-w", "boot", "--instance-url", url.as_str()];

    // The file connects alice: bob's token is refused, and nothing changes.
    let run = lab.admin(&connect, Some(BOB)).await;
    run.failed(
        65,
        &[
            "(account-mismatch)",
            &format!("connected to @alice on {url} (through its token_file)"),
            &format!("this token is @bob on {url}"),
            "`labwatch disconnect --workspace boot`",
            "`labwatch connect --workspace boot --replace`",
        ],
    );
    assert!(lab.served.store.load("boot").unwrap().is_none());
    assert_eq!(lab.audit("boot"), ["connect account-mismatch"]);

    // alice's other token: the same account, adopted and replaced.
    let run = lab.admin(&connect, Some(ALICE_2)).await;
    assert!(run.ok().contains(ADOPTED), "{run:#?}");
    let second = lab.sim.sim().token(ALICE_2).unwrap().id;
    assert_eq!(lab.served.store.load("boot").unwrap().unwrap().token_id, second);

    // Now the store connects alice: bob is still refused...
    lab.admin(&connect, Some(BOB))
        .await
        .failed(65, &["(account-mismatch)", "@alice", "@bob", "--replace"]);
    // ...unless asked to replace.
    let mut replace = connect.to_vec();
    replace.push("--replace");
    let run = lab.admin(&replace, Some(BOB)).await;
    let out = run.ok();
    assert!(
        out.contains("as @bob") && out.contains(&format!("It replaces the connection of @alice on {url}")),
        "{run:#?}"
    );
    let bob = lab.sim.sim().token(BOB).unwrap().id;
    lab.until("boot", token_ok_with(bob)).await;
    assert!(
        !lab.sim.sim().token(ALICE_2).unwrap().revoked,
        "replacing revokes nothing"
    );

    // --replace over a token_file's connection, straight away. bob's one
    // token is boot's already: refused as shared, taken with --force and
    // a warning.
    let other = ["connect", "-w", "other", "--instance-url", &url, "--replace"];
    lab.admin(&other, Some(BOB))
        .await
        .failed(65, &["(token-shared)", "workspace `boot`", "--force"]);
    let mut forced = other.to_vec();
    forced.push("--force");
    let run = lab.admin(&forced, Some(BOB)).await;
    let out = run.ok();
    assert!(out.contains("It replaces the connection of @alice"), "{run:#?}");
    assert!(
        out.contains("warning: ") && out.contains("(token-shared)") && out.contains("workspace `boot`"),
        "{run:#?}"
    );
    assert_eq!(lab.served.store.load("other").unwrap().unwrap().username, "bob");
}

/// The steps `/status` gives for a missing token, a token due for renewal
/// and a dead one name the command that fixes it when the admin API is on,
/// and the token_file and a reload when it is off.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_steps_name_the_commands_when_the_admin_api_is_on() {
    let steps = |status: &Value| token_check(status)["remediation"].to_string();
    let mut lab = Lab::start(true).await;
    let status = lab.until("bare", |s| token_check(s)["reason"] == "not-connected").await;
    let text = steps(&status);
    assert!(
        text.contains("`labwatch connect --workspace bare`") && !text.contains("SIGHUP"),
        "{text}"
    );
    let status = lab.until("due", |s| token_check(s)["reason"] == "token-expiring").await;
    let text = steps(&status);
    assert!(
        text.contains("`labwatch rotate --workspace due`") && text.contains("`labwatch renew --workspace due`"),
        "{text}"
    );
    assert!(!text.contains("SIGHUP"), "{text}");

    // A token_file token that stopped working has no account left to
    // renew: the steps, and renew itself, say to connect a new one.
    lab.sim.sim().expire_token(OTHER).unwrap();
    assert!(lab.served.runtime.run_now(Some("other")));
    let status = lab
        .until("other", |s| token_check(s)["reason"] == "token-expired")
        .await;
    let text = steps(&status);
    assert!(text.contains("`labwatch connect --workspace other`"), "{text}");
    lab.admin(&["renew", "-w", "other"], Some(ALICE_2)).await.failed(
        65,
        &[
            "(token-expired)",
            "token_file of workspace `other` no longer works",
            "`labwatch connect --workspace other`",
        ],
    );

    let mut off = Lab::start(false).await;
    for (ws, reason) in [("bare", "not-connected"), ("due", "token-expiring")] {
        let status = off.until(ws, |s| token_check(s)["reason"] == reason).await;
        let text = steps(&status);
        assert!(text.contains("token_file") && text.contains("SIGHUP"), "{text}");
        assert!(!text.contains("`labwatch "), "{text}");
    }
}
