//! The page's actions in headless chromium against `labwatch demo`, driven
//! as a person does (typing into fields, clicking links, buttons and
//! checkboxes; no script submits a form): sign in, connect `spare` and
//! choose its repositories, update its token, rotate `healthy`, disconnect
//! `spare` with revoke, create and delete a workspace, a form without its
//! CSRF token refused, sign out. Once at desktop width with JavaScript on,
//! once at phone width with JavaScript off, which proves the forms need no
//! script. Every page the browser showed and everything the daemon printed
//! is then searched for the tokens the flow used.

use std::path::PathBuf;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support;
use crate::support::browser::{Browser, http_client, png_size};
use crate::support::process::Daemon;

/// A GitLab token no one has: the simulator answers 401.
const WRONG_GITLAB_TOKEN: &str = "glpat-not-a-token-of-anyone-00";
/// Not the demo's admin token (that one is 64 hex digits).
const WRONG_ADMIN_TOKEN: &str = "not-the-admin-token-of-this-demo";

/// A viewport the flow runs at.
struct Width {
    name: &'static str,
    width: u32,
    height: u32,
    /// Phone emulation (viewport meta tag, touch).
    mobile: bool,
    javascript: bool,
}

const DESKTOP: Width = Width {
    name: "desktop",
    width: 1280,
    height: 900,
    mobile: false,
    javascript: true,
};

const PHONE: Width = Width {
    name: "phone",
    width: 390,
    height: 844,
    mobile: true,
    javascript: false,
};

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(all(has_chromium, has_chromedriver)),
    ignore = "chromium or chromedriver not installed: apt-get install chromium chromium-driver (scripts/test does)"
)]
async fn every_page_action_works_at_desktop_width_with_javascript() {
    run_flow(DESKTOP).await;
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(all(has_chromium, has_chromedriver)),
    ignore = "chromium or chromedriver not installed: apt-get install chromium chromium-driver (scripts/test does)"
)]
async fn every_page_action_works_at_phone_width_without_javascript() {
    run_flow(PHONE).await;
}

/// `labwatch demo` with what the test needs from its banner.
struct Demo {
    daemon: Daemon,
    /// `http://127.0.0.1:PORT`, the daemon's origin.
    origin: String,
    sim: String,
    admin_token: String,
    /// The banner's lines that show the admin token, on purpose: the only
    /// places it may appear.
    admin_token_lines: Vec<String>,
    /// alice's token for `spare`, from the file the banner names.
    spare_token: String,
}

fn start_demo() -> Demo {
    let support::demo::Demo {
        mut daemon,
        origin,
        sim,
        admin_token,
        admin_line,
    } = support::demo::start();
    // The banner's lines after the admin token's, still queued in order.
    let export_line = daemon.wait_for_stdout("export LABWATCH_ADMIN_TOKEN=");
    let connect = daemon.wait_until_event("the banner's `connect --workspace spare` line", |e| {
        e["stdout"]
            .as_str()
            .is_some_and(|l| l.contains("connect --workspace spare --token-file "))
    });
    let file = connect["stdout"]
        .as_str()
        .and_then(|l| l.split("--token-file ").nth(1))
        .expect("the token file")
        .trim()
        .trim_matches('\'');
    let spare_token = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .trim()
        .to_owned();
    assert!(
        spare_token.starts_with("glpat-"),
        "the spare token file holds a GitLab token"
    );
    Demo {
        daemon,
        origin,
        sim,
        admin_token,
        admin_token_lines: vec![admin_line, export_line],
        spare_token,
    }
}

impl Demo {
    /// Waits until a round of `workspace` ran its repository check of
    /// `path` and then finished (log events, no polling): the page shows
    /// the result from then on.
    fn wait_for_repository_check(&mut self, workspace: &str, path: &str) {
        let result = self
            .daemon
            .wait_until_event("the repository check of the new choice", |e| {
                ["Check passed", "Check warns", "Check failed"].contains(&e["message"].as_str().unwrap_or_default())
                    && e["workspace"] == workspace
                    && e["check"] == "repository"
                    && e["repository"] == path
            });
        // Events of both streams queue up, so an older "Round finished" may
        // come first: take the first one logged after the result.
        let after = timestamp(&result);
        self.daemon
            .wait_until_event("the round after the repository check", |e| {
                e["message"] == "Round finished" && e["workspace"] == workspace && timestamp(e) >= after
            });
    }
}

fn timestamp(event: &Value) -> OffsetDateTime {
    let text = event["timestamp"].as_str().expect("a timestamp");
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// One run of the whole sequence at one width.
struct Flow {
    browser: Browser,
    demo: Demo,
    width: Width,
    http: reqwest::Client,
    /// Where screenshots go (the temporary directory, unless
    /// `LABWATCH_SCREENSHOTS` names one to look at them).
    shots: PathBuf,
    _shots_dir: Option<tempfile::TempDir>,
    /// Every page's source and rendered text, by step, for the canary.
    shown: Vec<(String, String)>,
}

async fn run_flow(width: Width) {
    let browser = Browser::start().await;
    let demo = tokio::task::block_in_place(start_demo);
    browser.viewport(width.width, width.height, width.mobile).await;
    if !width.javascript {
        browser
            .cdp("Emulation.setScriptExecutionDisabled", json!({"value": true}))
            .await;
    }
    let (shots_dir, shots) = screenshot_dir(width.name);
    let mut flow = Flow {
        browser,
        demo,
        width,
        http: http_client(),
        shots,
        _shots_dir: shots_dir,
        shown: Vec::new(),
    };
    flow.sign_in().await;
    flow.connect_spare().await;
    flow.update_spare_token().await;
    let rotated = flow.rotate_healthy().await;
    flow.disconnect_spare().await;
    flow.create_and_delete_a_workspace().await;
    if flow.width.javascript {
        // Removing the field takes a script; without JavaScript a person
        // cannot send a form without it either.
        flow.a_form_without_its_csrf_token_is_refused().await;
    }
    flow.sign_out().await;
    flow.nothing_shows_a_token(&rotated).await;
}

impl Flow {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.demo.origin)
    }

    /// Where the browser is, without the origin.
    async fn path(&self) -> String {
        let url = self.browser.current_url().await;
        url.strip_prefix(&self.demo.origin).unwrap_or(&url).to_owned()
    }

    async fn assert_path(&self, want: &str) {
        let path = self.path().await;
        if path != want {
            let text = self.browser.eval("return document.body.innerText", json!([])).await;
            panic!(
                "{}: on {path}, not {want}; the page says:\n{}",
                self.width.name,
                text.as_str().unwrap_or_default()
            );
        }
    }

    /// Records what the page shows now (its DOM and its rendered text) for
    /// the canary, and at phone width checks that nothing is wider than
    /// the screen.
    async fn seen(&mut self, step: &str) {
        let source = self.browser.source().await;
        let text = self
            .browser
            .eval("return document.body.innerText", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if self.width.mobile {
            let widths = self
                .browser
                .eval(
                    "return [document.documentElement.scrollWidth, window.innerWidth]",
                    json!([]),
                )
                .await;
            let (scroll, inner) = (widths[0].as_u64().unwrap(), widths[1].as_u64().unwrap());
            assert!(
                scroll <= inner,
                "{step}: the page scrolls sideways at {} px: {widths}",
                self.width.width
            );
        }
        self.shown.push((format!("{step} (source)"), source));
        self.shown.push((format!("{step} (text)"), text));
    }

    /// The rendered text of the element matching `selector`.
    async fn text(&self, selector: &str) -> String {
        let element = self.browser.find(selector).await;
        self.browser.text_of(&element).await
    }

    /// What an input holds now.
    async fn value(&self, selector: &str) -> String {
        let element = self.browser.find(selector).await;
        let value = self.browser.property(&element, "value").await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The notice at the top of the page.
    async fn notice(&self) -> String {
        self.text("p.notice").await
    }

    /// Takes a screenshot of the viewport and of the whole page; both are
    /// PNGs as wide as the viewport, the first exactly its size.
    async fn shoot(&self, name: &str) {
        let path = self.shots.join(format!("{}-{name}.png", self.width.name));
        let (viewport, full) = self.browser.screenshot(&path).await;
        assert_eq!(
            png_size(&viewport),
            (self.width.width, self.width.height),
            "{}",
            viewport.display()
        );
        assert_eq!(png_size(&full).0, self.width.width, "{}", full.display());
        for path in [&viewport, &full] {
            let size = std::fs::metadata(path).unwrap().len();
            assert!(size > 5_000, "{} is only {size} bytes", path.display());
        }
        eprintln!("screenshots: {} {}", viewport.display(), full.display());
    }

    async fn summary(&self) -> Value {
        self.http
            .get(format!("{}/-/sim/summary", self.demo.sim))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// 1. Signing in: a wrong admin token is refused next to the field,
    ///    the right one signs in.
    async fn sign_in(&mut self) {
        self.browser.goto(&self.url("/")).await;
        assert_eq!(self.text(".account a[href=\"/sign-in\"]").await, "Sign in");
        assert!(
            !self.browser.exists("section.workspace .actions").await,
            "no actions before signing in"
        );
        if !self.width.javascript {
            // The proof that scripts are off: the <noscript> note shows.
            let note = self.text("header noscript p").await;
            assert!(note.contains("JavaScript is off"), "{note}");
        }
        self.seen("status page, signed out").await;
        self.browser.click_to_leave(".account a[href=\"/sign-in\"]").await;
        self.assert_path("/sign-in").await;
        self.seen("sign-in form").await;

        self.browser.type_into("#f-admin_token", WRONG_ADMIN_TOKEN).await;
        self.browser
            .click_to_leave("form[action=\"/sign-in\"] button[type=submit]")
            .await;
        self.assert_path("/sign-in").await;
        let error = self
            .text(r#"div.field.invalid #f-admin_token[aria-invalid="true"] + #f-admin_token-error[data-code="unauthorized"]"#)
            .await;
        assert!(error.contains("That is not the admin token."), "{error}");
        assert_eq!(
            self.value("#f-admin_token").await,
            "",
            "a password field is never refilled"
        );
        self.seen("sign-in form, wrong token").await;

        let admin_token = self.demo.admin_token.clone();
        self.browser.type_into("#f-admin_token", &admin_token).await;
        self.browser
            .click_to_leave("form[action=\"/sign-in\"] button[type=submit]")
            .await;
        self.assert_path("/").await;
        assert_eq!(
            self.text(".account form[action=\"/sign-out\"] button").await,
            "Sign out"
        );
        assert!(!self.browser.exists(".account a[href=\"/sign-in\"]").await);
        self.seen("status page, signed in").await;
    }

    /// 2. Connecting `spare`: a wrong token is refused next to its field,
    ///    then the right one leads to choosing repositories; the choice is
    ///    checked in the next round.
    async fn connect_spare(&mut self) {
        let connect = r#"section[data-workspace="spare"] .actions a[href="/workspaces/spare/connect"]"#;
        assert_eq!(self.text(connect).await, "Connect");
        self.browser.click_to_leave(connect).await;
        self.assert_path("/workspaces/spare/connect").await;
        assert_eq!(self.value("#f-instance_url").await, self.demo.sim, "prefilled");
        let sim = self.demo.sim.clone();
        self.browser.type_into("#f-instance_url", &sim).await;
        self.browser.type_into("#f-token", WRONG_GITLAB_TOKEN).await;
        let submit = r#"form[action="/workspaces/spare/connect"] button[type=submit]"#;
        self.browser.click_to_leave(submit).await;
        self.assert_path("/workspaces/spare/connect").await;
        let error = self
            .text(r#"div.field.invalid #f-token[aria-invalid="true"] + #f-token-error[data-code="token-invalid"]"#)
            .await;
        assert!(error.starts_with("token-invalid"), "{error}");
        assert_eq!(self.value("#f-token").await, "", "the token is never refilled");
        assert_eq!(
            self.value("#f-instance_url").await,
            self.demo.sim,
            "what was typed stays"
        );
        self.seen("connect form, wrong token").await;
        self.shoot("connect-error").await;

        let token = self.demo.spare_token.clone();
        self.browser.type_into("#f-token", &token).await;
        self.browser.click_to_leave(submit).await;
        self.assert_path("/workspaces/spare/repositories?done=connected").await;
        let notice = self.notice().await;
        assert!(notice.starts_with("Connected. Now choose the repositories"), "{notice}");
        assert!(self.text("fieldset").await.contains("None yet."), "nothing watched yet");
        self.seen("repositories form").await;
        self.shoot("repositories").await;

        self.browser.type_into("#f-search", "docs").await;
        self.browser.click_to_leave("form.search button[type=submit]").await;
        self.assert_path("/workspaces/spare/repositories?search=docs").await;
        let docs = r#"input[type=checkbox][name="repository"][value="acme/docs"]"#;
        let found = self.browser.find(docs).await;
        assert_eq!(self.browser.property(&found, "checked").await, json!(false));
        self.browser.click(&found).await;
        assert_eq!(self.browser.property(&found, "checked").await, json!(true));
        self.seen("repositories form, search docs").await;
        self.browser
            .click_to_leave(r#"form[method="post"][action="/workspaces/spare/repositories"] button[type=submit]"#)
            .await;
        self.assert_path("/?done=repositories-saved&ws=spare#ws-spare").await;
        let notice = self.notice().await;
        assert_eq!(
            notice,
            "Workspace spare: the choice of repositories is saved; they are being checked."
        );
        self.seen("status page, repositories saved").await;

        tokio::task::block_in_place(|| self.demo.wait_for_repository_check("spare", "acme/docs"));
        self.browser.reload().await;
        let row = self
            .text(r#"#ws-spare table.targets tr[data-target="acme/docs"]"#)
            .await;
        assert!(row.contains("acme/docs"), "{row}");
        let account = self.text("#ws-spare .conn").await;
        assert!(account.contains("alice"), "{account}");
        self.seen("status page, spare checked").await;
    }

    /// 3. Updating `spare`'s token (with the same one: alice has no other
    ///    token that is not some other workspace's).
    async fn update_spare_token(&mut self) {
        let link = r#"section[data-workspace="spare"] .actions a[href="/workspaces/spare/token"]"#;
        assert_eq!(self.text(link).await, "Update token");
        self.browser.click_to_leave(link).await;
        self.assert_path("/workspaces/spare/token").await;
        assert_eq!(self.value("#f-token").await, "");
        self.seen("update token form").await;
        let token = self.demo.spare_token.clone();
        self.browser.type_into("#f-token", &token).await;
        self.browser
            .click_to_leave(r#"form[action="/workspaces/spare/token"] button[type=submit]"#)
            .await;
        self.assert_path("/?done=token-updated&ws=spare#ws-spare").await;
        assert_eq!(
            self.notice().await,
            "Workspace spare: token updated; its checks are running again."
        );
        self.seen("status page, token updated").await;
    }

    /// 4. Rotating `healthy`'s token with its button; returns the new
    ///    token (from the simulator), which the page must never show.
    async fn rotate_healthy(&mut self) -> String {
        let before = self.summary().await;
        let button = r#"section[data-workspace="healthy"] .actions form[action="/workspaces/healthy/rotate"] button[type=submit]"#;
        assert_eq!(self.text(button).await, "Rotate now");
        self.browser.click_to_leave(button).await;
        self.assert_path("/?done=rotated&ws=healthy#ws-healthy").await;
        assert_eq!(
            self.notice().await,
            "Workspace healthy: token rotated; the new one is saved and the old one revoked."
        );
        self.seen("status page, rotated").await;
        let after = self.summary().await;
        let old = tokens(&before);
        let fresh: Vec<String> = tokens(&after)
            .into_iter()
            .filter(|(t, _, _)| !old.iter().any(|(o, _, _)| o == t))
            .map(|(t, _, _)| t)
            .collect();
        assert_eq!(fresh.len(), 1, "one new token at GitLab: {fresh:?}");
        let rotated = fresh[0].clone();
        assert!(!self.browser.source().await.contains(&rotated));
        rotated
    }

    /// 5. Disconnecting `spare` after a confirmation, revoking its token.
    async fn disconnect_spare(&mut self) {
        let link = r#"section[data-workspace="spare"] .actions a[href="/workspaces/spare/disconnect"]"#;
        assert_eq!(self.text(link).await, "Disconnect");
        self.browser.click_to_leave(link).await;
        self.assert_path("/workspaces/spare/disconnect").await;
        assert_eq!(self.text("main h1").await, "Disconnect spare");
        let label = self.text(r#"label[for="f-revoke"]"#).await;
        assert!(label.starts_with("Also revoke the token at GitLab"), "{label}");
        self.seen("disconnect confirmation").await;
        let revoke = self.browser.find("#f-revoke").await;
        assert_eq!(self.browser.property(&revoke, "checked").await, json!(false));
        self.browser.click(&revoke).await;
        assert_eq!(self.browser.property(&revoke, "checked").await, json!(true));
        self.browser
            .click_to_leave(r#"form[action="/workspaces/spare/disconnect"] button[type=submit]"#)
            .await;
        self.assert_path("/?done=disconnected-revoked&ws=spare#ws-spare").await;
        assert_eq!(
            self.notice().await,
            "Workspace spare: disconnected, and the token revoked at GitLab."
        );
        let connection = self.text("#ws-spare .conn").await;
        assert!(connection.contains("not connected"), "{connection}");
        self.seen("status page, disconnected").await;
        let spare = tokens(&self.summary().await)
            .into_iter()
            .find(|(t, _, _)| *t == self.demo.spare_token)
            .expect("the spare token at GitLab");
        assert_eq!((spare.1, spare.2), (3, false), "token id 3, revoked");
    }

    /// 6. A new workspace leads to its connect form; deleting it asks first.
    async fn create_and_delete_a_workspace(&mut self) {
        self.browser
            .click_to_leave(r#".account a[href="/workspaces/new"]"#)
            .await;
        self.assert_path("/workspaces/new").await;
        assert_eq!(self.value("#f-instance_url").await, "https://gitlab.com");
        self.seen("new workspace form").await;
        self.browser.type_into("#f-name", "ui-made").await;
        let sim = self.demo.sim.clone();
        self.browser.type_into("#f-instance_url", &sim).await;
        self.browser
            .click_to_leave(r#"form[action="/workspaces/new"] button[type=submit]"#)
            .await;
        self.assert_path("/workspaces/ui-made/connect").await;
        assert_eq!(self.value("#f-instance_url").await, self.demo.sim);
        self.seen("connect form of the new workspace").await;

        self.browser.click_to_leave(r#"header a[href="/"]"#).await;
        self.assert_path("/").await;
        let delete = r#"section[data-workspace="ui-made"] .actions a[href="/workspaces/ui-made/delete"]"#;
        assert_eq!(self.text(delete).await, "Delete");
        assert!(
            !self
                .browser
                .exists(r#"section[data-workspace="spare"] .actions a.danger[href$="/delete"]"#)
                .await,
            "a workspace of the config file has no Delete"
        );
        self.browser.click_to_leave(delete).await;
        self.assert_path("/workspaces/ui-made/delete").await;
        assert_eq!(self.text("main h1").await, "Delete ui-made");
        self.seen("delete confirmation").await;
        self.browser
            .click_to_leave(r#"form[action="/workspaces/ui-made/delete"] button[type=submit]"#)
            .await;
        self.assert_path("/?done=deleted&ws=ui-made#ws-ui-made").await;
        assert_eq!(self.notice().await, "Workspace ui-made: deleted.");
        assert!(!self.browser.exists(r#"section[data-workspace="ui-made"]"#).await);
        self.seen("status page, deleted").await;
    }

    /// 7. A form sent without its CSRF token is refused and changes nothing.
    async fn a_form_without_its_csrf_token_is_refused(&mut self) {
        self.browser.goto(&self.url("/workspaces/new")).await;
        self.browser.type_into("#f-name", "no-csrf").await;
        let removed = self
            .browser
            .eval(
                "const f = document.querySelector('form[action=\"/workspaces/new\"] input[name=csrf]'); f.remove(); return !document.querySelector('form[action=\"/workspaces/new\"] input[name=csrf]');",
                json!([]),
            )
            .await;
        assert_eq!(removed, json!(true));
        self.browser
            .click_to_leave(r#"form[action="/workspaces/new"] button[type=submit]"#)
            .await;
        self.assert_path("/workspaces/new").await;
        let problem = self.text(".form-error").await;
        assert!(problem.starts_with("csrf-invalid"), "{problem}");
        self.seen("csrf refused").await;
        self.browser.goto(&self.url("/")).await;
        assert!(!self.browser.exists(r#"section[data-workspace="no-csrf"]"#).await);
        let status: Value = self
            .http
            .get(self.url("/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(!status.to_string().contains("no-csrf"), "nothing was created");
    }

    /// 8. Signing out: the page offers to sign in again, and a form's page
    ///    leads to the sign-in form.
    async fn sign_out(&mut self) {
        self.browser.goto(&self.url("/")).await;
        self.browser
            .click_to_leave(r#".account form[action="/sign-out"] button"#)
            .await;
        self.assert_path("/?done=signed-out").await;
        assert_eq!(self.notice().await, "You are signed out.");
        assert_eq!(self.text(".account a[href=\"/sign-in\"]").await, "Sign in");
        assert!(!self.browser.exists("section.workspace .actions").await);
        self.seen("status page, signed out again").await;
        self.browser.goto(&self.url("/workspaces/spare/connect")).await;
        self.assert_path("/sign-in?expired=1").await;
        assert!(self.browser.exists("#f-admin_token").await);
        self.seen("connect form after signing out").await;
    }

    /// The canary: no page and no line the daemon printed holds a GitLab
    /// token of the simulator (the spare token, the rotated one, every
    /// other), the wrong ones typed, or the admin token outside the
    /// banner lines that show it on purpose.
    async fn nothing_shows_a_token(mut self, rotated: &str) {
        let mut secrets: Vec<String> = tokens(&self.summary().await).into_iter().map(|(t, _, _)| t).collect();
        assert!(secrets.contains(&self.demo.spare_token) && secrets.iter().any(|t| t == rotated));
        secrets.extend([
            WRONG_GITLAB_TOKEN.to_owned(),
            WRONG_ADMIN_TOKEN.to_owned(),
            self.demo.admin_token.clone(),
        ]);
        assert!(self.shown.len() >= 40, "every step's page was kept");
        for (what, content) in &self.shown {
            for secret in &secrets {
                assert!(
                    !content.contains(secret.as_str()),
                    "{}: {what} shows a token",
                    self.width.name
                );
            }
        }
        let allowed = self.demo.admin_token_lines.clone();
        let output = tokio::task::block_in_place(|| self.demo.daemon.stop_and_collect().to_vec());
        for line in &allowed {
            assert!(output.contains(line), "the banner was read to the end: {line}");
        }
        for line in output.iter().filter(|l| !allowed.contains(l)) {
            for secret in &secrets {
                assert!(!line.contains(secret.as_str()), "the daemon printed a token: {line}");
            }
        }
    }
}

/// Every token of the simulator: (secret, id, active).
fn tokens(summary: &Value) -> Vec<(String, u64, bool)> {
    summary["users"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|u| u["tokens"].as_array().into_iter().flatten())
        .map(|t| {
            (
                t["token"].as_str().unwrap_or_default().to_owned(),
                t["id"].as_u64().unwrap_or_default(),
                t["active"].as_bool().unwrap_or_default(),
            )
        })
        .collect()
}

/// Where screenshots go: `LABWATCH_SCREENSHOTS` when set (to look at them),
/// else a temporary directory of the test.
fn screenshot_dir(width: &str) -> (Option<tempfile::TempDir>, PathBuf) {
    match std::env::var_os("LABWATCH_SCREENSHOTS") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (None, dir.into())
        }
        None => {
            let tmp = tempfile::Builder::new()
                .prefix(&format!("labwatch-forms-{width}-"))
                .tempdir()
                .unwrap();
            let path = tmp.path().to_owned();
            (Some(tmp), path)
        }
    }
}
