//! The page served by `labwatch demo` in headless chromium: the rendered
//! DOM at desktop and phone widths, screenshots, and the page following a
//! change in the simulated GitLab, with no console errors and no request
//! outside labwatch.

use std::time::Duration;

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::support::browser::{Browser, http_client, png_size};
use crate::support::demo::{Demo, start as start_demo};

/// Waits until the daemon has stored a result of `workspace`'s `check`
/// with `reason` and then finished that round (log events, no polling).
fn wait_for_result(demo: &mut Demo, workspace: &str, check: &str, reason: &str) {
    let failed = loop {
        let e = demo.daemon.wait_for("Check failed");
        if e["workspace"] == workspace && e["check"] == check && e["reason"] == reason {
            break e;
        }
    };
    // Events of both streams queue up, so an older "Round finished" may
    // come first: take the first one logged after the result.
    let after = timestamp(&failed);
    loop {
        let e = demo.daemon.wait_for("Round finished");
        if e["workspace"] == workspace && timestamp(&e) >= after {
            return;
        }
    }
}

fn timestamp(event: &Value) -> OffsetDateTime {
    let text = event["timestamp"].as_str().expect("a timestamp");
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

/// Runs a function body in the page that returns JSON-able data.
async fn dom(browser: &Browser, script: &str) -> Value {
    browser.eval(script, json!([])).await
}

/// The rendered text (`innerText`) of the first element matching
/// `selector`, whitespace collapsed.
async fn text(browser: &Browser, selector: &str) -> String {
    let v = browser
        .eval(
            "const e = document.querySelector(arguments[0]); return e && e.innerText.replace(/\\s+/g, ' ').trim();",
            json!([selector]),
        )
        .await;
    v.as_str()
        .unwrap_or_else(|| panic!("no element `{selector}`"))
        .to_owned()
}

/// Where screenshots go: `LABWATCH_SCREENSHOTS` when set (to look at them),
/// else a temporary directory.
fn screenshot_dir() -> (Option<tempfile::TempDir>, std::path::PathBuf) {
    match std::env::var_os("LABWATCH_SCREENSHOTS") {
        Some(dir) => {
            std::fs::create_dir_all(&dir).unwrap();
            (None, dir.into())
        }
        None => {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().to_owned();
            (Some(tmp), path)
        }
    }
}

async fn shoot(browser: &Browser, dir: &std::path::Path, name: &str, width: u32) {
    let (viewport, full) = browser.screenshot(&dir.join(format!("{name}.png"))).await;
    for path in [&viewport, &full] {
        let size = std::fs::metadata(path).unwrap().len();
        assert!(size > 10_000, "{} is only {size} bytes", path.display());
        assert_eq!(png_size(path).0, width, "{}", path.display());
    }
    eprintln!("screenshots: {} {}", viewport.display(), full.display());
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(all(has_chromium, has_chromedriver)),
    ignore = "chromium or chromedriver not installed: apt-get install chromium chromium-driver (scripts/test does)"
)]
async fn the_demo_page_in_a_real_browser_shows_problems_and_follows_changes() {
    let browser = Browser::start().await;
    let mut demo = tokio::task::block_in_place(start_demo);
    let (_keep, shots) = screenshot_dir();
    let page = format!("{}/", demo.origin);
    browser.goto(&page).await;

    // Desktop.
    browser.viewport(1280, 900, false).await;
    shoot(&browser, &shots, "desktop", 1280).await;
    assert_eq!(dom(&browser, "return document.documentElement.lang").await, "en");
    assert_eq!(text(&browser, "h1").await, "labwatch GitLab connection status");
    let workspaces = dom(
        &browser,
        "return [...document.querySelectorAll('section.workspace h2')].map(h => h.textContent.trim())",
    )
    .await;
    assert_eq!(
        workspaces,
        // By name: config-file and run-time workspaces are listed alike.
        json!([
            "expiring CRITICAL",
            "healthy OK",
            "repositories CRITICAL",
            "spare CRITICAL"
        ])
    );
    // Every status colour comes with its word.
    let badges = dom(
        &browser,
        "return [...document.querySelectorAll('.badge')].map(b => b.textContent)",
    )
    .await;
    let words = ["OK", "WARNING", "CRITICAL", "UNKNOWN"];
    assert!(
        badges
            .as_array()
            .unwrap()
            .iter()
            .all(|b| words.contains(&b.as_str().unwrap())),
        "{badges}"
    );

    // `expiring`: bob's token runs out and lacks a scope; both say what to do.
    let expires = text(&browser, "#ws-expiring .conn").await;
    assert!(
        expires.contains("Token laptop") && expires.contains("Scopes read_api"),
        "{expires}"
    );
    assert!(
        expires.contains("(in 4 days)") || expires.contains("(in 5 days)"),
        "{expires}"
    );
    let token = text(
        &browser,
        r#"#ws-expiring article[data-reason="token-expiring"] ol.remediation"#,
    )
    .await;
    assert!(token.contains("Renew the token before it expires"), "{token}");
    let scopes = text(&browser, r#"#ws-expiring article[data-reason="scopes-missing"]"#).await;
    assert!(
        scopes.contains("read_repository") && scopes.contains("What to do:"),
        "{scopes}"
    );
    // Its repository check is blocked and listed under the root cause.
    let blocked = text(&browser, r#"#ws-expiring article[data-check="scopes"] .blocked"#).await;
    assert!(
        blocked.contains("Not checked until scopes passes") && blocked.contains("acme/backend"),
        "{blocked}"
    );

    // `repositories`: one table row per watched repository, with its reason.
    let rows = dom(
        &browser,
        "return [...document.querySelectorAll('#ws-repositories table.targets tbody tr')].map(r => [r.dataset.target, r.dataset.reason])",
    )
    .await;
    assert_eq!(
        rows,
        json!([
            ["acme/backend", "ok"],
            ["acme/backnd", "repo-not-found-or-no-access"],
            ["acme/old-platform", "repo-moved"],
            ["acme/legacy-api", "repo-archived"],
            ["gitlab.other.example/acme/backend", "repo-on-other-instance"],
        ])
    );
    let spare = text(&browser, "#ws-spare .conn").await;
    assert!(spare.contains("Connection not connected"), "{spare}");

    // Phone: readable at 390 px, nothing wider than the screen.
    browser.viewport(390, 844, true).await;
    let widths = dom(
        &browser,
        "return [document.documentElement.scrollWidth, window.innerWidth]",
    )
    .await;
    assert_eq!(widths[0], widths[1], "the page scrolls sideways at 390 px: {widths}");
    shoot(&browser, &shots, "phone", 390).await;
    browser.viewport(1280, 900, false).await;

    // GitLab changes: alice's token is revoked; a round runs at once.
    let http = http_client();
    let summary: Value = http
        .get(format!("{}/-/sim/summary", demo.sim))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let alice = summary["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap();
    let token_id = &alice["tokens"][0]["id"];
    let revoke = http
        .post(format!("{}/-/sim/tokens/{token_id}/revoke", demo.sim))
        .send()
        .await
        .unwrap();
    assert!(revoke.status().is_success(), "{revoke:?}");
    let run = http
        .post(format!("{}/api/v1/checks/run?workspace=healthy", demo.origin))
        .bearer_auth(&demo.admin_token)
        .send()
        .await
        .unwrap();
    assert!(run.status().is_success(), "{run:?}");
    tokio::task::block_in_place(|| wait_for_result(&mut demo, "healthy", "token", "token-revoked"));

    // The page's own refresh picks it up without a reload…
    let limit = Duration::from_secs(30);
    browser.wait_for(r#"#ws-healthy[data-status="critical"]"#, limit).await;
    let change = r#"#changes tr[data-workspace="healthy"][data-check="token"][data-from="ok"][data-to="critical"][data-reason="token-revoked"]"#;
    browser.wait_for(change, limit).await;
    assert_eq!(dom(&browser, "return document.title").await, "labwatch: CRITICAL");
    let note = text(&browser, "#refresh-note").await;
    assert!(note.starts_with("Updates every 10 seconds; last update"), "{note}");

    // …and a full reload shows the same: the cause, what to do, what waits.
    browser.reload().await;
    let token = text(&browser, r#"#ws-healthy article[data-check="token"]"#).await;
    assert!(
        token.contains("token CRITICAL") && token.contains("was revoked"),
        "{token}"
    );
    assert!(token.contains("What to do:"), "{token}");
    let blocked = dom(
        &browser,
        r#"return [...document.querySelectorAll('#ws-healthy article[data-check="token"] .blocked li')].map(l => l.dataset.check)"#,
    )
    .await;
    assert!(blocked.as_array().unwrap().contains(&json!("scopes")), "{blocked}");
    let row = text(&browser, change).await;
    assert!(
        row.contains("healthy") && row.contains("OK → to CRITICAL") && row.contains("token-revoked"),
        "{row}"
    );
    shoot(&browser, &shots, "desktop-after", 1280).await;

    // The history JSON agrees.
    let history: Value = http
        .get(format!("{}/status/history", demo.origin))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked = history["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["workspace"] == "healthy" && t["check"] == "token")
        .unwrap();
    assert_eq!((&revoked["from"], &revoked["to"]), (&json!("ok"), &json!("critical")));

    // Nothing failed in the console, nothing left labwatch.
    let errors = browser.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let requests = browser.requests().await;
    let ours: Vec<&String> = requests
        .iter()
        .filter(|(doc, _)| doc.starts_with(&page))
        .map(|(_, url)| url)
        .collect();
    assert!(
        ours.iter().filter(|u| **u == &page).count() >= 3,
        "load, refresh, reload: {ours:#?}"
    );
    let foreign: Vec<&&String> = ours
        .iter()
        .filter(|u| !u.starts_with(&page) && !u.starts_with("data:"))
        .collect();
    assert!(foreign.is_empty(), "requests outside labwatch: {foreign:#?}");
    let resources = dom(
        &browser,
        "return performance.getEntriesByType('resource').map(e => e.name)",
    )
    .await;
    for url in resources.as_array().unwrap() {
        assert!(url.as_str().unwrap().starts_with(&demo.origin), "{url}");
    }
}
