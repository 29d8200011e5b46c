//! A real browser for page tests: Debian's `chromium`, headless, driven
//! through `chromedriver` (package `chromium-driver`) over the W3C WebDriver
//! protocol. The browser gets its own throw-away profile and no network of
//! its own (background networking, updates and sync are off), and records
//! its console and network events so tests can assert on both.
//!
//! Waiting is the driver's: page loads block until the load event, and
//! [`Browser::wait_for`] uses WebDriver's implicit wait for an element.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use tempfile::TempDir;

use super::tools;

/// The element key of W3C WebDriver element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The chromedriver process, killed when dropped, so a test that panics
/// before the session exists leaves no driver behind.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Browser {
    _driver: Driver,
    base: String,
    session: String,
    http: reqwest::Client,
    /// The browser profile and chromedriver's log; removed last.
    dir: TempDir,
}

impl Browser {
    /// Starts chromedriver and a headless chromium session. Tests using it
    /// are ignored without both (`has_chromium`, `has_chromedriver`); a
    /// missing one here is a panic naming the package.
    pub async fn start() -> Browser {
        let chromium = tools::require("chromium", "chromium");
        let chromedriver = tools::require("chromedriver", "chromium-driver");
        let dir = tempfile::Builder::new().prefix("labwatch-browser-").tempdir().unwrap();
        let log = dir.path().join("chromedriver.log");
        let http = http_client();
        let mut driver = Command::new(chromedriver)
            .arg("--port=0")
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map(Driver)
            .expect("start chromedriver");
        let stdout = driver.0.stdout.take().expect("piped stdout");
        let port = tokio::task::block_in_place(|| read_port(stdout));
        let profile = dir.path().join("profile");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--hide-scrollbars", "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }}});
        let base = format!("http://127.0.0.1:{port}");
        let mut browser = Browser {
            _driver: driver,
            base,
            session: String::new(),
            http,
            dir,
        };
        let answer = browser.call("POST", "/session", capabilities).await;
        browser.session = answer["sessionId"].as_str().expect("a session id").to_owned();
        browser
    }

    /// Loads `url` and returns once its load event fired.
    pub async fn goto(&self, url: &str) {
        self.session_call("POST", "/url", json!({ "url": url })).await;
    }

    /// Reloads the page (a full reload, not the page's own refresh).
    pub async fn reload(&self) {
        self.session_call("POST", "/refresh", json!({})).await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page
    /// and returns its result.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.session_call("POST", "/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Waits, with WebDriver's implicit wait of up to `limit`, until an
    /// element matching the CSS `selector` exists; panics with the driver's
    /// message when none appears.
    pub async fn wait_for(&self, selector: &str, limit: Duration) {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX);
        self.session_call("POST", "/timeouts", json!({ "implicit": ms })).await;
        let found = self
            .session_call("POST", "/element", json!({"using": "css selector", "value": selector}))
            .await;
        assert!(found[ELEMENT].is_string(), "no element `{selector}`: {found}");
        self.session_call("POST", "/timeouts", json!({ "implicit": 0 })).await;
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.session_call("POST", "/goog/cdp/execute", json!({ "cmd": cmd, "params": params }))
            .await
    }

    /// Makes the viewport `width`×`height` CSS pixels; `mobile` also
    /// emulates a phone (viewport meta tag, touch-sized scrollbars).
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// Saves a PNG of the viewport to `path` and one of the whole page to
    /// `path` with `-full` before the extension; returns both paths.
    pub async fn screenshot(&self, path: &Path) -> (PathBuf, PathBuf) {
        let shot = self.session_call("GET", "/screenshot", Value::Null).await;
        write_png(path, &shot);
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let size = &metrics["cssContentSize"];
        let full = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true, "clip": {
                    "x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}),
            )
            .await;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("shot");
        let full_path = path.with_file_name(format!("{stem}-full.png"));
        write_png(&full_path, &full["data"]);
        (path.to_owned(), full_path)
    }

    /// Console messages at level SEVERE (errors, CSP violations, failed
    /// loads) since the last call.
    pub async fn console_errors(&self) -> Vec<String> {
        let entries = self.session_call("POST", "/se/log", json!({"type": "browser"})).await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["level"] == "SEVERE")
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Every request the browser made since the last call (DevTools
    /// `Network` events), as `(document URL, request URL)`: the document is
    /// the page that asked, so tests can tell the page's requests from the
    /// browser's own start page.
    pub async fn requests(&self) -> Vec<(String, String)> {
        let entries = self
            .session_call("POST", "/se/log", json!({"type": "performance"}))
            .await;
        entries
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| serde_json::from_str::<Value>(e["message"].as_str()?).ok())
            .filter(|m| m["message"]["method"] == "Network.requestWillBeSent")
            .map(|m| {
                let p = &m["message"]["params"];
                let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
                (text(&p["documentURL"]), text(&p["request"]["url"]))
            })
            .collect()
    }

    /// chromedriver's log, for failure messages.
    pub fn driver_log(&self) -> PathBuf {
        self.dir.path().join("chromedriver.log")
    }

    async fn session_call(&self, method: &str, path: &str, body: Value) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body).await
    }

    /// One WebDriver command; panics with the driver's error.
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_call(method, path, body).await.unwrap_or_else(|e| {
            panic!(
                "WebDriver {method} {path}: {} (log: {})",
                e.message,
                self.driver_log().display()
            )
        })
    }

    /// One WebDriver command; its W3C error when it fails.
    async fn try_call(&self, method: &str, path: &str, body: Value) -> Result<Value, DriverError> {
        let url = format!("{}{path}", self.base);
        let request = match method {
            "GET" => self.http.get(&url),
            _ => self.http.post(&url).json(&body),
        };
        let response = request
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = response.status();
        let answer: Value = response.json().await.expect("WebDriver answers JSON");
        if status.is_success() {
            return Ok(answer["value"].clone());
        }
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        Err(DriverError {
            error: text(&answer["value"]["error"]),
            message: format!("{status} {}: {}", answer["value"]["error"], answer["value"]["message"]),
        })
    }

    async fn try_session_call(&self, method: &str, path: &str, body: Value) -> Result<Value, DriverError> {
        let path = format!("/session/{}{path}", self.session);
        self.try_call(method, &path, body).await
    }

    /// The first element matching the CSS `selector`, now (no waiting);
    /// panics naming the selector and the page when there is none.
    pub async fn find(&self, selector: &str) -> Element {
        match self.try_find(selector).await {
            Ok(Some(e)) => e,
            Ok(None) => panic!("no element `{selector}` on {}", self.current_url().await),
            Err(e) => panic!("finding `{selector}`: {}", e.message),
        }
    }

    /// Whether an element matches the CSS `selector` now.
    pub async fn exists(&self, selector: &str) -> bool {
        let found = self
            .session_call("POST", "/elements", json!({"using": "css selector", "value": selector}))
            .await;
        found.as_array().is_some_and(|a| !a.is_empty())
    }

    async fn try_find(&self, selector: &str) -> Result<Option<Element>, DriverError> {
        let found = self
            .try_session_call("POST", "/element", json!({"using": "css selector", "value": selector}))
            .await;
        match found {
            Ok(v) => Ok(Some(Element(
                v[ELEMENT].as_str().expect("an element reference").to_owned(),
            ))),
            Err(e) if e.error == "no such element" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Types `text` into `element` as keystrokes, after what it holds.
    pub async fn send_keys(&self, element: &Element, text: &str) {
        let path = format!("/element/{}/value", element.0);
        self.session_call("POST", &path, json!({ "text": text })).await;
    }

    /// Empties an input, as selecting its text and deleting it does.
    pub async fn clear(&self, element: &Element) {
        let path = format!("/element/{}/clear", element.0);
        self.session_call("POST", &path, json!({})).await;
    }

    /// Empties the input matching `selector` and types `text` into it.
    pub async fn type_into(&self, selector: &str, text: &str) {
        let input = self.find(selector).await;
        self.clear(&input).await;
        self.send_keys(&input, text).await;
    }

    /// Clicks `element` as a person does (scrolled into view, the topmost
    /// element at its centre gets the click); a click that submits a form
    /// returns once the next page has loaded.
    pub async fn click(&self, element: &Element) {
        self.try_click(element)
            .await
            .unwrap_or_else(|e| panic!("click: {}", e.message));
    }

    async fn try_click(&self, element: &Element) -> Result<Value, DriverError> {
        let path = format!("/element/{}/click", element.0);
        self.try_session_call("POST", &path, json!({})).await
    }

    /// Finds the element matching `selector` and clicks it. The status
    /// page's script swaps its content every 10 s, which can make a found
    /// element stale before the click: then it is found again, a bounded
    /// number of times.
    pub async fn click_on(&self, selector: &str) {
        for _ in 0..3 {
            let element = self.find(selector).await;
            match self.try_click(&element).await {
                Ok(_) => return,
                Err(e) if e.error == "stale element reference" => continue,
                Err(e) => panic!("click `{selector}`: {}", e.message),
            }
        }
        panic!("`{selector}` went stale three times in a row");
    }

    /// Clicks the link or button matching `selector` and returns once
    /// another page has replaced this one. A click returns when the
    /// browser has taken it, not when the page it leads to is there (a
    /// form's answer may take a while): so the page is marked first, and
    /// WebDriver's implicit wait finds the unmarked page that follows.
    pub async fn click_to_leave(&self, selector: &str) {
        self.eval(
            "document.documentElement.setAttribute('data-test-leaving', '')",
            json!([]),
        )
        .await;
        self.click_on(selector).await;
        self.wait_for("html:not([data-test-leaving])", Duration::from_secs(60))
            .await;
    }

    /// The rendered text of `element` (`innerText`, as WebDriver defines it).
    pub async fn text_of(&self, element: &Element) -> String {
        let path = format!("/element/{}/text", element.0);
        self.session_call("GET", &path, Value::Null)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A DOM property of `element` (`value` of an input is what it holds now).
    pub async fn property(&self, element: &Element, name: &str) -> Value {
        let path = format!("/element/{}/property/{name}", element.0);
        self.session_call("GET", &path, Value::Null).await
    }

    /// The URL of the page shown.
    pub async fn current_url(&self) -> String {
        let url = self.session_call("GET", "/url", Value::Null).await;
        url.as_str().unwrap_or_default().to_owned()
    }

    /// The page's DOM serialised as HTML (WebDriver's `/source`).
    pub async fn source(&self) -> String {
        let source = self.session_call("GET", "/source", Value::Null).await;
        source.as_str().unwrap_or_default().to_owned()
    }
}

/// A W3C WebDriver element reference.
pub struct Element(String);

/// A WebDriver command that failed: its W3C error code (`no such element`,
/// `stale element reference`, …) and the whole message for panics.
struct DriverError {
    error: String,
    message: String,
}

impl Drop for Browser {
    /// Ends the session (which closes chromium) before the driver stops
    /// (dropping the field), so no browser outlives the test, even when the
    /// test panicked.
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let addr = self.base.trim_start_matches("http://").to_owned();
            let _ = delete(&addr, &format!("/session/{}", self.session));
        }
    }
}

/// A reqwest client for loopback servers (the crate installs no global TLS
/// provider, so it gets labwatch's; proxies from the environment are ignored).
pub fn http_client() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).expect("TLS config");
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// Reads chromedriver's stdout until it names its port, then keeps draining
/// it on a thread so the driver never blocks on a full pipe.
fn read_port(stdout: std::process::ChildStdout) -> u16 {
    let mut lines = BufReader::new(stdout).lines();
    let port = loop {
        let line = lines
            .next()
            .expect("chromedriver exited before it started")
            .expect("read chromedriver output");
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            break rest.trim_end_matches('.').parse().expect("a port number");
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    port
}

fn write_png(path: &Path, data: &Value) {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.as_str().expect("base64 PNG"))
        .expect("valid base64");
    std::fs::write(path, bytes).unwrap();
}

/// A blocking `DELETE`, usable in `Drop` whatever the async runtime is
/// doing. Reads the answer's head and `content-length` bytes of body (the
/// driver keeps the connection open whatever the request says).
fn delete(addr: &str, path: &str) -> std::io::Result<()> {
    let mut sock = TcpStream::connect(addr)?;
    sock.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        sock,
        "DELETE {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return Ok(());
            }
        }
    }
}

/// Width and height from a PNG's header, so tests can check what a
/// screenshot is without looking at its pixels.
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is no PNG", path.display());
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}
