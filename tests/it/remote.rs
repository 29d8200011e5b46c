//! The admin commands end to end: the `labwatch` binary against a daemon
//! started in-process on 127.0.0.1:0 with the GitLab simulator behind it.
//! Every run also checks that no token it knows (GitLab's, rotated ones,
//! the admin token) appears in the command's stdout or stderr (the canary
//! rule of `docs/admin-api.md`).

use std::path::PathBuf;
use std::process::Output;
use std::sync::Mutex;

use labwatch::config::Config;
use labwatch::sim::{self, AccessLevel, Expiry, FailSpec, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const ADMIN: &str = "admin-token-for-the-remote-tests";
const ALICE: &str = "glpat-canary-REMOTE-alice-0001";
const ALICE_2: &str = "glpat-canary-REMOTE-alice-0002";
const EXPIRED: &str = "glpat-canary-REMOTE-expired-03";
const BOB: &str = "glpat-canary-REMOTE-bob-000004";

/// Alice has 22 projects (two pages of 20) and four tokens; bob has one.
fn scenario() -> Scenario {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_user(UserSpec::new("bob")).unwrap();
    let tokens = [
        ("alice", "workspace", ALICE, Expiry::InDays(60)),
        ("alice", "second", ALICE_2, Expiry::InDays(90)),
        ("alice", "old", EXPIRED, Expiry::InDays(-1)),
        ("bob", "bobs", BOB, Expiry::InDays(60)),
    ];
    for (user, name, secret, expiry) in tokens {
        s.add_token(
            TokenSpec::new(user, name)
                .secret(secret)
                .scopes(&["api", "read_repository"])
                .expires(expiry),
        )
        .unwrap();
    }
    let mut paths = vec!["acme/backend".to_owned(), "acme/frontend".to_owned()];
    paths.extend((1..=20).map(|i| format!("acme/svc-{i:02}")));
    for path in paths {
        s.add_project(ProjectSpec::new(path).member("alice", AccessLevel::DEVELOPER))
            .unwrap();
    }
    s.add_project(ProjectSpec::new("acme/secret").member("bob", AccessLevel::OWNER))
        .unwrap();
    s
}

/// A simulator, a daemon pointed at it with the admin API on (or off), and
/// the GitLab tokens no command may ever print.
struct Lab {
    sim: SimHandle,
    dir: TempDir,
    url: String,
    canaries: Mutex<Vec<String>>,
    stop: Option<oneshot::Sender<()>>,
    daemon: JoinHandle<std::io::Result<()>>,
}

impl Lab {
    async fn start() -> Lab {
        Lab::with_admin_api(true).await
    }

    async fn with_admin_api(admin: bool) -> Lab {
        let sim = sim::start(scenario(), tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let admin_file = dir.path().join("admin.token");
        std::fs::write(&admin_file, format!("{ADMIN}\n")).unwrap();
        let server = if admin {
            format!("[server]\nadmin_token_file = \"{}\"\n", admin_file.display())
        } else {
            String::new()
        };
        let text = format!(
            "{server}[store]\ndir = \"{}\"\nkey_file = \"{}\"\n[defaults]\ninterval = \"1h\"\n\
             [[workspace]]\nname = \"acme\"\ninstance_url = \"{}\"\n",
            dir.path().join("store").display(),
            dir.path().join("store.key").display(),
            sim.base_url()
        );
        let path = dir.path().join("labwatch.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        // Bound before the daemon starts, so connections wait in the backlog.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let daemon = tokio::spawn(labwatch::daemon::run(
            config,
            listener,
            labwatch::daemon::NoReload,
            shutdown,
        ));
        let canaries = Mutex::new([ALICE, ALICE_2, EXPIRED, BOB, ADMIN].map(str::to_owned).to_vec());
        Lab {
            sim,
            dir,
            url,
            canaries,
            stop: Some(stop),
            daemon,
        }
    }

    fn admin_file(&self) -> PathBuf {
        self.dir.path().join("admin.token")
    }

    /// A file `name` holding `secret` and a newline, for --token-file.
    fn token_file(&self, name: &str, secret: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        path
    }

    /// `labwatch <args> --daemon <lab> --admin-token-file <lab's>`, and for
    /// `connect` the simulator's `--instance-url` (connect's default is
    /// gitlab.com, not the workspace's configured URL).
    async fn admin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut full: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        if args.first() == Some(&"connect") {
            full.extend(["--instance-url".to_owned(), self.sim.base_url().to_owned()]);
        }
        full.extend(["--daemon".to_owned(), self.url.clone(), "--admin-token-file".to_owned()]);
        full.push(self.admin_file().display().to_string());
        self.run(full, stdin, &[]).await
    }

    /// The binary, off the runtime's worker threads: the daemon it talks to
    /// lives on them.
    async fn run(&self, args: Vec<String>, stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
        cmd.args(&args)
            .env_remove("LABWATCH_ADMIN_TOKEN")
            .env_remove("LABWATCH_DAEMON")
            .env("RUST_LOG", "error");
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(input) = stdin {
            cmd.write_stdin(input.to_owned());
        }
        let out: Output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
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

    async fn connect(&self) -> Run {
        let run = self
            .admin(&["connect", "--workspace", "acme"], Some(&format!("{ALICE}\n")))
            .await;
        run.ok();
        run
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.daemon).await.unwrap().unwrap();
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(&self) {
        assert_eq!(self.code, 0, "{self:#?}");
        assert!(self.stderr.is_empty(), "{self:#?}");
    }

    #[track_caller]
    fn failed(&self, code: i32, stderr: &[&str]) {
        assert_eq!(self.code, code, "{self:#?}");
        assert!(self.stdout.is_empty(), "{self:#?}");
        assert!(self.stderr.starts_with("error: "), "{self:#?}");
        for part in stderr {
            assert!(self.stderr.contains(part), "stderr lacks `{part}`: {self:#?}");
        }
    }
}

fn expiry(days: i64, lab: &Lab) -> String {
    (lab.sim.sim().today() + time::Duration::days(days)).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_reads_the_token_from_stdin_and_prints_the_identity_and_repositories() {
    let lab = Lab::start().await;
    let run = lab
        .run(
            [
                "connect",
                "-w",
                "acme",
                "--daemon",
                &lab.url,
                "--instance-url",
                lab.sim.base_url(),
            ]
            .map(String::from)
            .to_vec(),
            Some(&format!("{ALICE}\n")),
            &[("LABWATCH_ADMIN_TOKEN", ADMIN)],
        )
        .await;
    run.ok();
    let id = lab.sim.sim().token(ALICE).unwrap().id;
    let first = format!(
        "Connected workspace acme to {} as @alice (token 'workspace', id {id}, scopes api, read_repository, expires {}).\n",
        lab.sim.base_url(),
        expiry(60, &lab)
    );
    assert!(run.stdout.starts_with(&first), "{run:#?}");
    assert!(
        run.stdout
            .contains("Watching: nothing yet; choose with `labwatch repos --workspace acme --set PATH...`.")
    );
    // GitLab lists the newest first.
    assert!(
        run.stdout.contains("Accessible repositories (page 1):\n  acme/svc-20 "),
        "{run:#?}"
    );
    assert!(run.stdout.contains("developer"));
    assert!(
        run.stdout.contains("More: `labwatch repos --workspace acme --page 2`"),
        "{run:#?}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_reads_a_token_file_and_sets_the_watched_repositories() {
    let lab = Lab::start().await;
    let file = lab.token_file("alice", ALICE);
    let file = file.to_str().unwrap();
    let args = [
        "connect",
        "--workspace",
        "acme",
        "--token-file",
        file,
        "--repo",
        "acme/backend",
        "--repo",
        "acme/svc-03",
    ];
    let run = lab.admin(&args, None).await;
    run.ok();
    assert!(run.stdout.contains("as @alice (token 'workspace'"), "{run:#?}");
    assert!(run.stdout.contains("Watching: acme/backend, acme/svc-03\n"), "{run:#?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_refusals_exit_65_with_the_numbered_remediation() {
    let lab = Lab::start().await;
    let run = lab
        .admin(&["connect", "--workspace", "acme"], Some(&format!("{EXPIRED}\n")))
        .await;
    run.failed(65, &["(token-expired)", "\n  1. "]);

    let run = lab
        .admin(&["connect", "-w", "acme", "--repo", "acme/secret"], Some(ALICE))
        .await;
    run.failed(
        65,
        &[
            "(repo-not-found-or-no-access)",
            "`labwatch repos --workspace acme --search secret`",
        ],
    );

    let run = lab.admin(&["rotate", "-w", "nope"], None).await;
    run.failed(65, &["(unknown-workspace)", "no workspace `nope`"]);

    lab.connect().await;
    let run = lab.admin(&["connect", "-w", "acme"], Some(BOB)).await;
    run.failed(65, &["(account-mismatch)", "disconnect first", "--replace"]);

    let run = lab.admin(&["connect", "-w", "acme"], Some("")).await;
    run.failed(64, &["no token on stdin", "--token-file"]);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_token_is_required_checked_and_explained() {
    let lab = Lab::start().await;
    let daemon = ["--daemon".to_owned(), lab.url.clone()];
    let args = |cmd: &str| {
        [
            vec![cmd.to_owned(), "-w".to_owned(), "acme".to_owned()],
            daemon.to_vec(),
        ]
        .concat()
    };

    for cmd in ["connect", "renew", "rotate", "disconnect", "repos"] {
        let run = lab.run(args(cmd), Some(ALICE), &[]).await;
        run.failed(
            64,
            &["no admin token", "--admin-token-file FILE", "LABWATCH_ADMIN_TOKEN"],
        );
    }
    let run = lab.run(args("repos"), None, &[("LABWATCH_ADMIN_TOKEN", "wrong")]).await;
    run.failed(77, &["refused the admin token", "admin_token_file"]);
    let empty = lab.token_file("empty", " ");
    let mut with_empty = args("repos");
    with_empty.extend(["--admin-token-file".to_owned(), empty.display().to_string()]);
    lab.run(with_empty, None, &[]).await.failed(64, &["holds no token"]);
    lab.stop().await;

    let off = Lab::with_admin_api(false).await;
    let run = off.admin(&["rotate", "-w", "acme"], None).await;
    run.failed(77, &["(admin-api-off)", "admin_token_file", "restart `labwatch run`"]);
    off.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_daemon_exits_69_and_asks_whether_it_runs() {
    let lab = Lab::start().await;
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let args = vec![
        "repos".into(),
        "-w".into(),
        "acme".into(),
        "--daemon".into(),
        url.clone(),
    ];
    let run = lab.run(args, None, &[("LABWATCH_ADMIN_TOKEN", ADMIN)]).await;
    run.failed(
        69,
        &[
            &format!("cannot reach the daemon at {url}/"),
            "Is `labwatch run` running at",
        ],
    );

    let args = vec![
        "repos".into(),
        "-w".into(),
        "acme".into(),
        "--daemon".into(),
        "ftp://x".into(),
    ];
    lab.run(args, None, &[("LABWATCH_ADMIN_TOKEN", ADMIN)])
        .await
        .failed(64, &["http:// or https://"]);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn renew_swaps_the_token_and_revokes_the_old_one() {
    let lab = Lab::start().await;
    lab.connect().await;
    let (old, new) = (
        lab.sim.sim().token(ALICE).unwrap().id,
        lab.sim.sim().token(ALICE_2).unwrap().id,
    );
    let bob = lab.token_file("bob", BOB);
    let run = lab
        .admin(&["renew", "-w", "acme", "--token-file", bob.to_str().unwrap()], None)
        .await;
    run.failed(65, &["(account-mismatch)", "@bob"]);

    let file = lab.token_file("alice-2", ALICE_2);
    let run = lab
        .admin(
            &[
                "renew",
                "-w",
                "acme",
                "--token-file",
                file.to_str().unwrap(),
                "--revoke-old",
            ],
            None,
        )
        .await;
    run.ok();
    let expected = format!(
        "Updated the token of workspace acme: now token 'second', id {new}, scopes api, read_repository, expires {} (was token id {old}).\n\
         The old token (id {old}) is revoked at GitLab.\n",
        expiry(90, &lab)
    );
    assert_eq!(run.stdout, expected);
    assert!(lab.sim.sim().token(old).unwrap().revoked);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gitlab_failing_during_renew_exits_75() {
    let lab = Lab::start().await;
    lab.connect().await;
    let mut fail = FailSpec::new(1000, 500);
    fail.path_prefix = Some("/api/v4/personal_access_tokens/self".into());
    lab.sim.sim().fail_next(fail);
    let run = lab.admin(&["renew", "-w", "acme"], Some(ALICE_2)).await;
    run.failed(75, &["GitLab answered 500", "\n  1. "]);
    lab.sim.sim().clear_faults();
    lab.stop().await;
}

/// Renewing is how a revoked or expired token is replaced: the answer says
/// what GitLab says of the old token, never that a dead one "still works".
#[tokio::test(flavor = "multi_thread")]
async fn renew_after_a_revoked_token_says_it_was_already_revoked() {
    let lab = Lab::start().await;
    lab.connect().await;
    let old = lab.sim.sim().token(ALICE).unwrap().id;
    lab.sim.sim().revoke_token(ALICE).unwrap();
    // With --revoke-old too: there is nothing to revoke, and no warning.
    let run = lab.admin(&["renew", "-w", "acme", "--revoke-old"], Some(ALICE_2)).await;
    run.ok();
    let out = &run.stdout;
    assert!(
        out.contains(&format!(
            "The old token (id {old}) was already revoked at GitLab: nothing to revoke."
        )),
        "{run:#?}"
    );
    assert!(!out.contains("still works") && !out.contains("warning"), "{run:#?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rotate_prints_the_new_token_id() {
    let lab = Lab::start().await;
    lab.admin(&["rotate", "-w", "acme", "--expires-at", "31/01/2027"], None)
        .await
        .failed(64, &["YYYY-MM-DD"]);
    lab.admin(&["rotate", "-w", "acme"], None)
        .await
        .failed(65, &["(not-connected)", "connect it first"]);
    lab.connect().await;
    let old = lab.sim.sim().token(ALICE).unwrap().id;
    let until = expiry(30, &lab);
    let run = lab.admin(&["rotate", "-w", "acme", "--expires-at", &until], None).await;
    run.ok();
    let id: u64 = run
        .stdout
        .split("new token 'workspace', id ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no new token id: {run:#?}"));
    let new = lab.sim.sim().token(id).unwrap();
    assert_eq!((new.previous_id, new.active), (Some(old), true));
    lab.canaries.lock().unwrap().push(new.token.clone());
    assert_eq!(
        run.stdout,
        format!(
            "Rotated the token of workspace acme: new token 'workspace', id {id}, scopes api, read_repository, expires {until}.\n\
             GitLab revoked the previous token (id {old}).\n"
        )
    );
    // The rotated token is in use: listing works, and never shows it.
    lab.admin(&["repos", "-w", "acme"], None).await.ok();
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn repos_lists_searches_pages_and_sets_the_watched_list() {
    let lab = Lab::start().await;
    lab.connect().await;
    let run = lab.admin(&["repos", "-w", "acme"], None).await;
    run.ok();
    assert!(
        run.stdout
            .starts_with("Repositories accessible to workspace acme (page 1):\n  acme/svc-20 "),
        "{run:#?}"
    );
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("  acme/")).count(),
        20,
        "{run:#?}"
    );
    assert!(
        run.stdout
            .ends_with("More: `labwatch repos --workspace acme --page 2`\n"),
        "{run:#?}"
    );

    let run = lab.admin(&["repos", "-w", "acme", "--page", "2"], None).await;
    run.ok();
    assert!(
        run.stdout
            .starts_with("Repositories accessible to workspace acme (page 2):\n"),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .ends_with("\n  acme/frontend  private   developer\n    can: clone yes*, push yes, issues yes, merge_requests yes, pipelines yes (* needed)\n  acme/backend   private   developer\n    can: clone yes*, push yes, issues yes, merge_requests yes, pipelines yes (* needed)\n"),
        "{run:#?}"
    );
    assert!(!run.stdout.contains("More:"));

    let run = lab.admin(&["repos", "-w", "acme", "--search", "front"], None).await;
    run.ok();
    assert!(
        run.stdout
            .starts_with("Repositories matching \"front\" accessible to workspace acme (page 1):\n")
    );
    assert!(
        run.stdout.contains("  acme/frontend  private   developer\n    can: clone yes*, push yes, issues yes, merge_requests yes, pipelines yes (* needed)\n"),
        "{run:#?}"
    );
    assert_eq!(run.stdout.lines().count(), 3, "{run:#?}");

    let run = lab
        .admin(&["repos", "-w", "acme", "--set", "acme/frontend", "acme/svc-07"], None)
        .await;
    run.ok();
    assert_eq!(run.stdout, "Workspace acme now watches: acme/frontend, acme/svc-07\n");
    let run = lab.admin(&["repos", "-w", "acme", "--set", "acme/secret"], None).await;
    run.failed(65, &["(repo-not-found-or-no-access)"]);
    let run = lab
        .admin(&["repos", "-w", "acme", "--set", "acme/x", "--page", "2"], None)
        .await;
    assert_eq!(run.code, 64, "{run:#?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_revokes_the_token_and_the_workspace_is_then_not_connected() {
    let lab = Lab::start().await;
    lab.connect().await;
    let run = lab.admin(&["disconnect", "-w", "acme", "--revoke"], None).await;
    run.ok();
    assert_eq!(
        run.stdout,
        "Disconnected workspace acme; the token is revoked at GitLab.\nIts checks now report not-connected.\n"
    );
    assert!(lab.sim.sim().token(ALICE).unwrap().revoked);
    lab.admin(&["repos", "-w", "acme"], None)
        .await
        .failed(65, &["(not-connected)"]);
    lab.admin(&["disconnect", "-w", "acme"], None)
        .await
        .failed(65, &["(not-connected)"]);
    lab.stop().await;
}

#[test]
fn the_help_documents_the_exit_codes_and_offers_no_token_argument() {
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(["connect", "--help"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for part in [
        "--token-file",
        "--admin-token-file",
        "LABWATCH_DAEMON",
        "Exit codes:",
        "  77  ",
    ] {
        assert!(help.contains(part), "help lacks `{part}`:\n{help}");
    }
    assert!(!help.contains("--token "), "{help}");
}
