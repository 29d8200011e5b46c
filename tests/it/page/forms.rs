//! The page's actions over HTTP, as a browser sends them: signing in (the
//! cookie's attributes, the limit on failed sign-ins, signing out), CSRF
//! refusals that change nothing, errors next to their field with the admin
//! API's codes, and the connect → choose repositories flow, with a canary
//! token that no answer may contain. The same flows in a real browser, at
//! two widths, are in `forms_in_browser`.

use std::net::SocketAddr;

use labwatch::config::Config;
use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use reqwest::header;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::in_process;

const ADMIN: &str = "admin-token-for-the-page-0123456789";
const CANARY: &str = "glpat-canary-page-forms-000000001";
const NARROW: &str = "glpat-narrow-page-forms-000000002";

struct Lab {
    sim: SimHandle,
    addr: SocketAddr,
    http: reqwest::Client,
    /// Every body the daemon answered, for the canary check.
    seen: std::sync::Mutex<Vec<String>>,
    _dir: TempDir,
    _served: in_process::InProcess,
}

/// One answer: status, headers, body.
struct Answer {
    status: u16,
    headers: header::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// `name=value` of the `Set-Cookie` for `name`, and the whole header.
    fn cookie(&self, name: &str) -> Option<(String, String)> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| (v.split(';').next().unwrap_or("").to_owned(), v.to_owned()))
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self.body.find(r#"name="csrf" value=""#).expect("a csrf field") + r#"name="csrf" value=""#.len();
        self.body[at..].split('"').next().unwrap().to_owned()
    }

    /// The code of the error shown with id `id`.
    fn error_code(&self, id: &str) -> Option<String> {
        let at = self.body.find(&format!(r#"id="{id}""#))?;
        let rest = &self.body[at..];
        let code = rest.split(r#"data-code=""#).nth(1)?.split('"').next()?;
        Some(code.to_owned())
    }
}

/// A form body as a browser encodes it.
fn encode(form: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish()
}

async fn lab(admin: bool) -> Lab {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_token(
        TokenSpec::new("alice", "page")
            .scopes(&["api", "read_repository"])
            .secret(CANARY)
            .expires(Expiry::InDays(60)),
    )
    .unwrap();
    s.add_token(
        TokenSpec::new("alice", "narrow")
            .scopes(&["read_user"])
            .secret(NARROW)
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
        "[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n\
         [[workspace]]\nname = \"beta\"\ninstance_url = \"{url}\"\n",
        d = dir.path().display(),
        url = sim.base_url(),
    );
    std::fs::write(dir.path().join("lw.toml"), &text).unwrap();
    let config = Config::parse(&dir.path().join("lw.toml"), &text).unwrap();
    let served = in_process::serve(config, admin.then_some(ADMIN)).await;
    let tls = labwatch::tls::client_config(None).unwrap();
    let http = reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    Lab {
        sim,
        addr: served.addr,
        http,
        seen: std::sync::Mutex::default(),
        _dir: dir,
        _served: served,
    }
}

impl Lab {
    async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        let resp = req.send().await.expect("the daemon answers");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.text().await.unwrap();
        self.seen.lock().unwrap().push(body.clone());
        Answer { status, headers, body }
    }

    async fn get(&self, path: &str, cookie: &str) -> Answer {
        let req = self
            .http
            .get(format!("http://{}{path}", self.addr))
            .header(header::COOKIE, cookie);
        self.send(req).await
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Answer {
        let req = self
            .http
            .post(format!("http://{}{path}", self.addr))
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(form));
        self.send(req).await
    }

    /// The sign-in form's cookie and CSRF token.
    async fn sign_in_form(&self) -> (String, String) {
        let form = self.get("/sign-in", "").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let (cookie, _) = form.cookie("labwatch_sign_in").expect("the sign-in cookie");
        (cookie, form.csrf())
    }

    /// Signs in; returns the session cookie (`labwatch_session=…`).
    async fn sign_in(&self) -> String {
        let (cookie, csrf) = self.sign_in_form().await;
        let answer = self
            .post("/sign-in", &cookie, &[("csrf", &csrf), ("admin_token", ADMIN)])
            .await;
        assert_eq!((answer.status, answer.location()), (303, "/"), "{}", answer.body);
        answer.cookie("labwatch_session").expect("a session cookie").0
    }

    /// The CSRF token forms on `/` carry for `session`.
    async fn csrf(&self, session: &str) -> String {
        self.get("/", session).await.csrf()
    }

    async fn status(&self, ws: &str) -> Value {
        let answer = self.get(&format!("/status/{ws}"), "").await;
        serde_json::from_str(&answer.body).unwrap()
    }

    fn assert_no_canary(&self) {
        for body in self.seen.lock().unwrap().iter() {
            for secret in [CANARY, NARROW, ADMIN] {
                assert!(!body.contains(secret), "an answer holds a secret:\n{body}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_gives_an_http_only_strict_cookie_for_eight_hours_secure_behind_tls() {
    let lab = lab(true).await;
    let (cookie, csrf) = lab.sign_in_form().await;
    let plain = lab
        .post("/sign-in", &cookie, &[("csrf", &csrf), ("admin_token", ADMIN)])
        .await;
    let (_, header) = plain.cookie("labwatch_session").unwrap();
    assert!(header.contains("HttpOnly"), "{header}");
    assert!(header.contains("SameSite=Strict"), "{header}");
    assert!(header.contains("Max-Age=28800"), "{header}");
    assert!(!header.contains("Secure"), "plain HTTP: {header}");

    let (cookie, csrf) = lab.sign_in_form().await;
    let req = lab
        .http
        .post(format!("http://{}/sign-in", lab.addr))
        .header(header::COOKIE, cookie)
        .header("x-forwarded-proto", "https")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[("csrf", csrf.as_str()), ("admin_token", ADMIN)]));
    let behind_tls = lab.send(req).await;
    let (_, header) = behind_tls.cookie("labwatch_session").unwrap();
    assert!(header.contains("; Secure"), "behind a TLS proxy: {header}");
    lab.assert_no_canary();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_stays_public_and_shows_actions_only_when_signed_in() {
    let lab = lab(true).await;
    let public = lab.get("/", "").await;
    assert_eq!(public.status, 200);
    assert!(
        public.body.contains(r#"<a href="/sign-in">Sign in</a>"#),
        "{}",
        public.body
    );
    assert!(!public.body.contains(r#"name="csrf""#), "no form without a session");
    assert!(!public.body.contains("/workspaces/acme/connect"));
    let csp = public.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("form-action 'self'"), "{csp}");

    let session = lab.sign_in().await;
    let signed_in = lab.get("/", &session).await;
    assert!(signed_in.body.contains("Sign out"), "{}", signed_in.body);
    assert!(signed_in.body.contains(r#"href="/workspaces/acme/connect""#));
    assert_eq!(signed_in.headers[header::CACHE_CONTROL], "no-store");

    // A form page without a session sends the browser to sign in.
    let form = lab.get("/workspaces/acme/connect", "").await;
    assert_eq!((form.status, form.location()), (303, "/sign-in?expired=1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_admin_api_there_is_no_sign_in() {
    let lab = lab(false).await;
    let page = lab.get("/", "").await;
    assert!(!page.body.contains("/sign-in"), "{}", page.body);
    let sign_in = lab.get("/sign-in", "").await;
    assert_eq!(sign_in.status, 404);
    assert!(sign_in.body.contains("<code>admin-api-off</code>"), "{}", sign_in.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let lab = lab(true).await;
    let session = lab.sign_in().await;
    let other = lab.sign_in().await;
    let others_csrf = lab.csrf(&other).await;
    let url = lab.sim.base_url().to_owned();
    for (what, form) in [
        ("no token", vec![("instance_url", url.as_str()), ("token", CANARY)]),
        (
            "another session's token",
            vec![
                ("csrf", others_csrf.as_str()),
                ("instance_url", url.as_str()),
                ("token", CANARY),
            ],
        ),
    ] {
        let answer = lab.post("/workspaces/acme/connect", &session, &form).await;
        assert_eq!(answer.status, 403, "{what}: {}", answer.body);
        assert!(
            answer.body.contains("<code>csrf-invalid</code>"),
            "{what}: {}",
            answer.body
        );
    }
    // From another site, even with the right token (a browser says so in
    // Sec-Fetch-Site).
    let csrf = lab.csrf(&session).await;
    let req = lab
        .http
        .post(format!("http://{}/workspaces/acme/connect", lab.addr))
        .header(header::COOKIE, &session)
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(encode(&[
            ("csrf", csrf.as_str()),
            ("instance_url", url.as_str()),
            ("token", CANARY),
        ]));
    assert_eq!(lab.send(req).await.status, 403);
    // Sign-in is a form too.
    let (_, sign_in_csrf) = lab.sign_in_form().await;
    let no_cookie = lab
        .post("/sign-in", "", &[("csrf", &sign_in_csrf), ("admin_token", ADMIN)])
        .await;
    assert_eq!(no_cookie.status, 403);
    assert!(no_cookie.cookie("labwatch_session").is_none());

    let status = lab.status("acme").await;
    assert_eq!(status["connection"]["connected"], false, "{status}");
    lab.assert_no_canary();
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_sign_ins_are_limited_per_address() {
    let lab = lab(true).await;
    for attempt in 1..=5 {
        let (cookie, csrf) = lab.sign_in_form().await;
        let answer = lab
            .post("/sign-in", &cookie, &[("csrf", &csrf), ("admin_token", "guess")])
            .await;
        assert_eq!(answer.status, 401, "attempt {attempt}");
        assert_eq!(
            answer.error_code("f-admin_token-error").as_deref(),
            Some("unauthorized")
        );
    }
    // Now even the right token waits for the window to end.
    let (cookie, csrf) = lab.sign_in_form().await;
    let limited = lab
        .post("/sign-in", &cookie, &[("csrf", &csrf), ("admin_token", ADMIN)])
        .await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(
        limited.error_code("f-admin_token-error").as_deref(),
        Some("too-many-sign-ins")
    );
    let retry: u64 = limited.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert!(limited.cookie("labwatch_session").is_none());
    // The admin API is not the page: the bearer token still works.
    let (code, _) = in_process::call(
        &in_process::http_client(),
        lab.addr,
        ADMIN,
        reqwest::Method::GET,
        "/api/v1/workspaces",
        None,
    )
    .await;
    assert_eq!(code, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session() {
    let lab = lab(true).await;
    let session = lab.sign_in().await;
    let csrf = lab.csrf(&session).await;
    let out = lab.post("/sign-out", &session, &[("csrf", &csrf)]).await;
    assert_eq!((out.status, out.location()), (303, "/?done=signed-out"));
    let (_, cleared) = out.cookie("labwatch_session").unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The same cookie, replayed, is refused.
    let replay = lab.get("/workspaces/acme/connect", &session).await;
    assert_eq!((replay.status, replay.location()), (303, "/sign-in?expired=1"));
    let page = lab.get("/?done=signed-out", &session).await;
    assert!(page.body.contains("You are signed out."), "{}", page.body);
    assert!(page.body.contains(r#"<a href="/sign-in">Sign in</a>"#));
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_shows_each_refusal_next_to_its_field_then_the_repositories_to_choose() {
    let lab = lab(true).await;
    let session = lab.sign_in().await;
    let csrf = lab.csrf(&session).await;
    let url = lab.sim.base_url().to_owned();

    let form = lab.get("/workspaces/acme/connect", &session).await;
    assert!(
        form.body
            .contains(&format!(r#"name="instance_url" type="url" value="{url}""#)),
        "prefilled with the workspace's instance: {}",
        form.body
    );

    let wrong = lab
        .post(
            "/workspaces/acme/connect",
            &session,
            &[
                ("csrf", &csrf),
                ("instance_url", &url),
                ("token", "glpat-not-a-real-token-000"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(wrong.error_code("f-token-error").as_deref(), Some("token-invalid"));
    assert!(wrong.body.contains(r#"name="token" type="password" value="""#));
    assert!(!wrong.body.contains("glpat-not-a-real-token-000"));

    let narrow = lab
        .post(
            "/workspaces/acme/connect",
            &session,
            &[("csrf", &csrf), ("instance_url", &url), ("token", NARROW)],
        )
        .await;
    assert_eq!(narrow.error_code("f-token-error").as_deref(), Some("scopes-missing"));
    assert!(
        narrow.body.contains(r#"<ol class="remediation">"#),
        "with the API's steps"
    );

    let unreachable = lab
        .post(
            "/workspaces/acme/connect",
            &session,
            &[
                ("csrf", &csrf),
                ("instance_url", "http://127.0.0.1:1"),
                ("token", CANARY),
            ],
        )
        .await;
    assert_eq!(
        unreachable.error_code("f-instance_url-error").as_deref(),
        Some("tcp-refused"),
        "{}",
        unreachable.body
    );
    assert!(
        unreachable.body.contains(r#"value="http://127.0.0.1:1""#),
        "the URL is kept"
    );

    let connected = lab
        .post(
            "/workspaces/acme/connect",
            &session,
            &[("csrf", &csrf), ("instance_url", &url), ("token", CANARY)],
        )
        .await;
    assert_eq!(
        (connected.status, connected.location()),
        (303, "/workspaces/acme/repositories?done=connected"),
        "{}",
        connected.body
    );
    let choose = lab.get(connected.location(), &session).await;
    assert!(
        choose.body.contains(r#"name="repository" value="acme/backend""#),
        "{}",
        choose.body
    );
    assert!(choose.body.contains("Connected. Now choose"));
    // What the workspace could do with each project, in words (issue 20).
    assert!(choose.body.contains("can: clone push issues"), "{}", choose.body);

    let missing = lab
        .post(
            "/workspaces/acme/repositories",
            &session,
            &[("csrf", &csrf), ("add", "acme/nowhere")],
        )
        .await;
    assert_eq!(
        missing.error_code("f-add-error").as_deref(),
        Some("repo-not-found-or-no-access"),
        "{}",
        missing.body
    );

    let saved = lab
        .post(
            "/workspaces/acme/repositories",
            &session,
            &[("csrf", &csrf), ("repository", "acme/backend")],
        )
        .await;
    assert_eq!(
        (saved.status, saved.location()),
        (303, "/?done=repositories-saved&ws=acme#ws-acme")
    );
    let again = lab.get("/workspaces/acme/repositories", &session).await;
    assert!(
        again.body.contains(r#"name="repository" value="acme/backend" checked"#),
        "{}",
        again.body
    );
    let status = lab.status("acme").await;
    assert_eq!(status["connection"]["connected"], true, "{status}");
    lab.assert_no_canary();
}

#[tokio::test(flavor = "multi_thread")]
async fn workspaces_are_created_and_deleted_from_the_page() {
    let lab = lab(true).await;
    let session = lab.sign_in().await;
    let csrf = lab.csrf(&session).await;
    let form = lab.get("/workspaces/new", &session).await;
    assert!(form.body.contains(r#"value="https://gitlab.com""#), "{}", form.body);

    let taken = lab
        .post(
            "/workspaces/new",
            &session,
            &[
                ("csrf", &csrf),
                ("name", "acme"),
                ("instance_url", "https://gitlab.com"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409);
    assert_eq!(taken.error_code("f-name-error").as_deref(), Some("workspace-exists"));

    let bad = lab
        .post(
            "/workspaces/new",
            &session,
            &[
                ("csrf", &csrf),
                ("name", "Bad Name"),
                ("instance_url", "https://gitlab.com"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);

    let created = lab
        .post(
            "/workspaces/new",
            &session,
            &[
                ("csrf", &csrf),
                ("name", "from-page"),
                ("instance_url", lab.sim.base_url()),
            ],
        )
        .await;
    assert_eq!(
        (created.status, created.location()),
        (303, "/workspaces/from-page/connect")
    );
    let page = lab.get("/", &session).await;
    assert!(
        page.body.contains(r#"href="/workspaces/from-page/delete""#),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"href="/workspaces/acme/delete""#),
        "config workspaces are not deleted here"
    );

    let confirm = lab.get("/workspaces/from-page/delete", &session).await;
    assert!(confirm.body.contains(r#"name="revoke""#), "{}", confirm.body);
    let deleted = lab
        .post("/workspaces/from-page/delete", &session, &[("csrf", &csrf)])
        .await;
    assert_eq!(
        (deleted.status, deleted.location()),
        (303, "/?done=deleted&ws=from-page#ws-from-page")
    );
    let gone = lab.get("/status/from-page", "").await;
    assert_eq!(gone.status, 404);
    let config_one = lab.get("/workspaces/acme/delete", &session).await;
    assert_eq!(config_one.status, 409);
    assert!(config_one.body.contains("<code>workspace-in-config</code>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_another_workspace_uses_is_refused_next_to_the_field_until_forced() {
    let lab = lab(true).await;
    let session = lab.sign_in().await;
    let csrf = lab.csrf(&session).await;
    let url = lab.sim.base_url().to_owned();
    let connect = |ws: &'static str, force: bool| {
        let mut form = vec![
            ("csrf", csrf.clone()),
            ("instance_url", url.clone()),
            ("token", CANARY.to_owned()),
        ];
        if force {
            form.push(("force", "on".to_owned()));
        }
        let session = session.clone();
        let lab = &lab;
        async move {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            lab.post(&format!("/workspaces/{ws}/connect"), &session, &form).await
        }
    };
    assert_eq!(connect("acme", false).await.status, 303);
    let shared = connect("beta", false).await;
    assert_eq!(shared.status, 409, "{}", shared.body);
    assert_eq!(shared.error_code("f-token-error").as_deref(), Some("token-shared"));
    assert!(
        shared.body.contains("acme"),
        "names the other workspace: {}",
        shared.body
    );
    assert!(shared.body.contains(r#"name="force""#), "offers to use it anyway");
    let forced = connect("beta", true).await;
    assert_eq!(forced.status, 303, "{}", forced.body);
    lab.assert_no_canary();
}
