//! The `labwatch` binary as a child process whose JSON log lines the test
//! reads, so it can wait for events ("First round finished") instead of
//! sleeping.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Upper bound for an expected log event; reaching it means the test failed.
const EVENT_DEADLINE: Duration = Duration::from_secs(60);

pub struct Daemon {
    child: Child,
    /// Every log line read so far, raw, for leak checks.
    pub seen: Vec<String>,
    logs: mpsc::Receiver<serde_json::Value>,
    pub addr: SocketAddr,
}

impl Daemon {
    /// Starts `labwatch --log-format json run -c config` and waits until it serves.
    pub fn start(config: &Path) -> Daemon {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
            .args(["--log-format", "json", "run", "-c"])
            .arg(config)
            .env("RUST_LOG", "labwatch=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start labwatch");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, logs) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let event = serde_json::from_str::<serde_json::Value>(&line).unwrap_or_else(|_| serde_json::json!({}));
                let event = match event {
                    serde_json::Value::Object(mut m) => {
                        m.insert("raw".into(), line.into());
                        serde_json::Value::Object(m)
                    }
                    _ => serde_json::json!({ "raw": line }),
                };
                if tx.send(event).is_err() {
                    break;
                }
            }
        });
        let mut d = Daemon {
            child,
            seen: Vec::new(),
            logs,
            addr: "127.0.0.1:0".parse().unwrap(),
        };
        let serving = d.wait_for("Serving");
        d.addr = serving["listen"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("Serving log names the address");
        d
    }

    /// Waits for the next log event whose message is `message`.
    pub fn wait_for(&mut self, message: &str) -> serde_json::Value {
        loop {
            let event = self
                .logs
                .recv_timeout(EVENT_DEADLINE)
                .unwrap_or_else(|_| panic!("labwatch did not log `{message}`"));
            self.seen.push(event["raw"].as_str().unwrap_or_default().to_owned());
            if event["message"] == message {
                return event;
            }
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        self.child.wait().expect("wait for labwatch").code()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
