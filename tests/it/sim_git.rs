//! The simulator's git smart HTTP against the real `git` binary: clone,
//! fetch and shallow clone in protocol v0 and v2 with the token as the Basic
//! password (given by a credential helper reading the environment, never in
//! argv), refused credentials, an empty project, and pushes (docs/gitlab.md
//! §11; the served repository is `tests/fixtures/git/`). Malformed request
//! bodies are sent with a plain HTTP client.

use std::path::Path;

use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec, Visibility};
use tempfile::TempDir;
use time::macros::date;

use crate::support::tools;

const TOKEN: &str = "glpat-git-alice-api-00000000";
const EXPIRED: &str = "glpat-git-alice-expired-0000";
/// The fixture's commits (tests/fixtures/git/README.md).
const TIP: &str = "245a17711f9dbb7c65d530911aec82f4ae8f92ae";
const FIRST: &str = "55ed3ff2a992f3bdc886887d919c7d9017fc4ed5";
const README: &str =
    "# Fixture\n\nThe repository the labwatch GitLab simulator serves for every project.\nIt has two commits.\n";

async fn serve() -> SimHandle {
    let mut s = Scenario::new(date!(2026 - 03 - 01));
    s.add_user(UserSpec::new("alice")).expect("user");
    s.add_token(TokenSpec::new("alice", "ws").scopes(&["api"]).secret(TOKEN))
        .expect("token");
    s.add_token(
        TokenSpec::new("alice", "old")
            .scopes(&["api"])
            .secret(EXPIRED)
            .expires(Expiry::InDays(-1)),
    )
    .expect("token");
    let member = |path: &str| ProjectSpec::new(path).member("alice", AccessLevel::DEVELOPER);
    s.add_project(member("acme/backend")).expect("project");
    s.add_project(member("acme/legacy").archived()).expect("project");
    let mut trunk = member("acme/trunk");
    trunk.default_branch = "trunk".to_owned();
    s.add_project(trunk).expect("project");
    let mut empty = member("acme/empty");
    empty.empty_repo = true;
    s.add_project(empty).expect("project");
    s.add_project(ProjectSpec::new("acme/docs").visibility(Visibility::Public))
        .expect("project");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    sim::start(s, listener).await.expect("simulator starts")
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs git in `dir` with no user or system config, the given protocol
/// version, and a credential helper that answers `oauth2` and `$LW_TOKEN`
/// (unset: no credentials at all).
async fn git(dir: &Path, token: Option<&str>, protocol: u8, args: &[&str]) -> Run {
    let mut command = tokio::process::Command::new(tools::require("git", "git"));
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("LC_ALL", "C")
        .args(["-c", &format!("protocol.version={protocol}")])
        .args(["-c", "user.name=Tester", "-c", "user.email=tester@example.invalid"])
        .args(["-c", "init.defaultBranch=main"]);
    if let Some(token) = token {
        command.env("LW_TOKEN", token).args([
            "-c",
            "credential.helper=!f() { echo username=oauth2; echo \"password=$LW_TOKEN\"; }; f",
        ]);
    }
    let out = command.args(args).output().await.expect("git runs");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn url(gitlab: &SimHandle, repo: &str) -> String {
    format!("{}/{repo}.git", gitlab.base_url())
}

#[tokio::test]
#[cfg_attr(not(has_git), ignore = "git not installed: apt-get install git (scripts/test does)")]
async fn git_clones_and_fetches_the_fixture_in_protocol_v0_and_v2() {
    let gitlab = serve().await;
    for protocol in [0, 2] {
        let tmp = TempDir::new().expect("tempdir");
        let clone = git(
            tmp.path(),
            Some(TOKEN),
            protocol,
            &["clone", &url(&gitlab, "acme/backend"), "c"],
        )
        .await;
        assert!(clone.ok, "v{protocol}: {}", clone.stderr);
        let work = tmp.path().join("c");
        assert_eq!(std::fs::read_to_string(work.join("README.md")).expect("README"), README);
        let log = git(&work, None, protocol, &["log", "--format=%H %s", "main"]).await;
        assert_eq!(
            log.stdout,
            format!("{TIP} Add hello.txt\n{FIRST} Add a README\n"),
            "v{protocol}"
        );

        // A fetch into a repository with 40 commits of its own: git
        // negotiates with `have` lines (gzipped once over 1 KiB) before
        // it is done.
        let other = tmp.path().join("other");
        std::fs::create_dir(&other).expect("mkdir");
        assert!(git(&other, None, protocol, &["init", "-q"]).await.ok);
        for i in 0..40 {
            let commit = git(
                &other,
                None,
                protocol,
                &["commit", "-q", "--allow-empty", "-m", &format!("c{i}")],
            )
            .await;
            assert!(commit.ok, "{}", commit.stderr);
        }
        let fetch = git(
            &other,
            Some(TOKEN),
            protocol,
            &["fetch", &url(&gitlab, "acme/backend"), "main"],
        )
        .await;
        assert!(fetch.ok, "v{protocol}: {}", fetch.stderr);
        let head = git(&other, None, protocol, &["rev-parse", "FETCH_HEAD"]).await;
        assert_eq!(head.stdout.trim(), TIP, "v{protocol}");

        // Another default branch is the same commits under its name.
        let trunk = git(
            tmp.path(),
            Some(TOKEN),
            protocol,
            &["clone", &url(&gitlab, "acme/trunk"), "t"],
        )
        .await;
        assert!(trunk.ok, "{}", trunk.stderr);
        let branch = git(
            &tmp.path().join("t"),
            None,
            protocol,
            &["rev-parse", "--abbrev-ref", "HEAD"],
        )
        .await;
        assert_eq!(branch.stdout.trim(), "trunk");

        // A shallow clone is accepted (with the whole history).
        let shallow = git(
            tmp.path(),
            Some(TOKEN),
            protocol,
            &["clone", "--depth", "1", &url(&gitlab, "acme/backend"), "s"],
        )
        .await;
        assert!(shallow.ok, "v{protocol}: {}", shallow.stderr);
        let head = git(&tmp.path().join("s"), None, protocol, &["rev-parse", "HEAD"]).await;
        assert_eq!(head.stdout.trim(), TIP);

        // A public project needs no credentials.
        let public = git(tmp.path(), None, protocol, &["clone", &url(&gitlab, "acme/docs"), "p"]).await;
        assert!(public.ok, "{}", public.stderr);
    }
    let counters = gitlab.counters();
    assert!(counters.route("POST /{path}.git/git-upload-pack") >= 10);
}

#[tokio::test]
#[cfg_attr(not(has_git), ignore = "git not installed: apt-get install git (scripts/test does)")]
async fn wrong_or_expired_tokens_fail_like_gitlab() {
    let gitlab = serve().await;
    for protocol in [0, 2] {
        for token in ["glpat-not-a-real-token-0000", EXPIRED] {
            let tmp = TempDir::new().expect("tempdir");
            let clone = git(
                tmp.path(),
                Some(token),
                protocol,
                &["clone", &url(&gitlab, "acme/backend"), "c"],
            )
            .await;
            assert!(!clone.ok);
            assert!(
                clone.stderr.contains("remote: HTTP Basic: Access denied."),
                "{}",
                clone.stderr
            );
            assert!(
                clone.stderr.contains(&format!(
                    "Authentication failed for '{}/'",
                    url(&gitlab, "acme/backend")
                )),
                "{}",
                clone.stderr
            );
            assert!(!tmp.path().join("c").exists());
        }
        let tmp = TempDir::new().expect("tempdir");
        let missing = git(
            tmp.path(),
            Some(TOKEN),
            protocol,
            &["clone", &url(&gitlab, "acme/nothing"), "c"],
        )
        .await;
        assert!(!missing.ok);
        assert!(
            missing.stderr.contains(
                "remote: The project you were looking for could not be found or you don't have permission to view it."
            ),
            "{}",
            missing.stderr
        );
    }
}

#[tokio::test]
#[cfg_attr(not(has_git), ignore = "git not installed: apt-get install git (scripts/test does)")]
async fn an_empty_project_clones_empty_with_its_default_branch() {
    let gitlab = serve().await;
    for protocol in [0, 2] {
        let tmp = TempDir::new().expect("tempdir");
        let clone = git(
            tmp.path(),
            Some(TOKEN),
            protocol,
            &["clone", &url(&gitlab, "acme/empty"), "e"],
        )
        .await;
        assert!(clone.ok, "{}", clone.stderr);
        assert!(
            clone.stderr.contains("You appear to have cloned an empty repository."),
            "{}",
            clone.stderr
        );
        let log = git(
            &tmp.path().join("e"),
            None,
            protocol,
            &["rev-parse", "--verify", "-q", "HEAD"],
        )
        .await;
        assert!(!log.ok, "no commits: {}", log.stdout);
    }
}

#[tokio::test]
#[cfg_attr(not(has_git), ignore = "git not installed: apt-get install git (scripts/test does)")]
async fn pushes_get_gitlabs_archived_message_or_a_clear_rejection() {
    let gitlab = serve().await;
    let tmp = TempDir::new().expect("tempdir");
    for repo in ["acme/legacy", "acme/backend"] {
        let dir = tmp.path().join(repo.replace('/', "-"));
        let clone = git(
            tmp.path(),
            Some(TOKEN),
            2,
            &["clone", "-q", &url(&gitlab, repo), dir.to_str().expect("utf-8")],
        )
        .await;
        assert!(clone.ok, "{}", clone.stderr);
        std::fs::write(dir.join("new.txt"), "new\n").expect("write");
        assert!(git(&dir, None, 0, &["add", "new.txt"]).await.ok);
        assert!(git(&dir, None, 0, &["commit", "-q", "-m", "new"]).await.ok);
    }

    let archived = git(
        &tmp.path().join("acme-legacy"),
        Some(TOKEN),
        0,
        &["push", "origin", "main"],
    )
    .await;
    assert!(!archived.ok);
    assert!(
        archived
            .stderr
            .contains("remote: You can't push code to an archived project."),
        "{}",
        archived.stderr
    );
    assert!(archived.stderr.contains("error: 403"), "{}", archived.stderr);

    let open = git(
        &tmp.path().join("acme-backend"),
        Some(TOKEN),
        0,
        &["push", "origin", "main"],
    )
    .await;
    assert!(!open.ok);
    assert!(
        open.stderr
            .contains("! [remote rejected] main -> main (the GitLab simulator does not store pushes)"),
        "{}",
        open.stderr
    );
    assert_eq!(gitlab.counters().route("POST /{path}.git/git-receive-pack"), 1);
}

// --- raw HTTP: what git itself never sends ---

fn client() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).expect("TLS config");
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

async fn post(gitlab: &SimHandle, repo: &str, v2: bool, body: &'static [u8]) -> reqwest::Response {
    let mut request = client()
        .post(format!("{}/git-upload-pack", url(gitlab, repo)))
        .basic_auth("oauth2", Some(TOKEN))
        .header("Content-Type", "application/x-git-upload-pack-request")
        .body(body);
    if v2 {
        request = request.header("Git-Protocol", "version=2");
    }
    request.send().await.expect("answered")
}

#[tokio::test]
async fn the_v2_advertisement_and_malformed_or_unauthorised_posts() {
    let gitlab = serve().await;
    let refs = client()
        .get(format!(
            "{}/info/refs?service=git-upload-pack",
            url(&gitlab, "acme/backend")
        ))
        .basic_auth("oauth2", Some(TOKEN))
        .header("Git-Protocol", "version=2")
        .send()
        .await
        .expect("answered");
    assert_eq!(refs.status(), 200);
    assert_eq!(
        refs.headers()["content-type"],
        "application/x-git-upload-pack-advertisement"
    );
    let body = refs.text().await.expect("body");
    assert!(
        body.starts_with("001e# service=git-upload-pack\n0000000eversion 2\n"),
        "{body}"
    );
    assert!(
        body.contains("ls-refs=unborn\n") && body.ends_with("object-format=sha1\n0000"),
        "{body}"
    );

    for (v2, body, says) in [
        (false, &b"zzzz"[..], "not 4 hex digits"),
        (false, &b"0011frobnicate 1\n0000"[..], "unexpected line"),
        (true, &b"0011command=push\n00010000"[..], "invalid command 'push'"),
        (true, &b"0012command=fetch\n0001"[..], "does not end with a flush"),
    ] {
        let answer = post(&gitlab, "acme/backend", v2, body).await;
        assert_eq!(answer.status(), 400, "{says}");
        assert_eq!(answer.headers()["content-type"], "text/plain; charset=utf-8");
        let text = answer.text().await.expect("body");
        assert!(text.contains(says), "{text}");
    }

    // An object the repository does not hold: git's ERR packet.
    let answer = post(
        &gitlab,
        "acme/backend",
        true,
        b"0012command=fetch\n00010032want 1111111111111111111111111111111111111111\n0009done\n0000",
    )
    .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/x-git-upload-pack-result");
    assert_eq!(
        answer.text().await.expect("body"),
        "0049ERR upload-pack: not our ref 1111111111111111111111111111111111111111"
    );

    // The same checks as info/refs: no credentials on a private project.
    let anonymous = client()
        .post(format!("{}/git-upload-pack", url(&gitlab, "acme/backend")))
        .body("0000")
        .send()
        .await
        .expect("answered");
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Basic realm=\"GitLab\"");

    // The RPC routes are POST only; a GET is the web UI's 404.
    let get = client()
        .get(format!("{}/git-upload-pack", url(&gitlab, "acme/backend")))
        .send()
        .await
        .expect("answered");
    assert_eq!(get.status(), 404);
    assert_eq!(get.headers()["content-type"], "text/html; charset=utf-8");
}
