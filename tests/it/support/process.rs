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
    /// Events read but not yet waited for: stdout and stderr arrive on two
    /// threads, so their order is not fixed.
    pending: std::collections::VecDeque<serde_json::Value>,
    logs: mpsc::Receiver<serde_json::Value>,
    pub addr: SocketAddr,
}

impl Daemon {
    /// Starts `labwatch --log-format json run -c config` and waits until it serves.
    pub fn start(config: &Path) -> Daemon {
        let mut d = Daemon::spawn(&["run".as_ref(), "-c".as_ref(), config.as_os_str()]);
        d.wait_serving();
        d
    }

    /// Starts `labwatch --log-format json ARGS…`; stdout lines arrive as
    /// events `{"stdout": line}`, stderr log lines as their JSON.
    pub fn spawn(args: &[&std::ffi::OsStr]) -> Daemon {
        Daemon::spawn_with_env(args, &[])
    }

    /// [`Daemon::start`] with its open-files limit (soft and hard) set to
    /// `limit` before it runs, so it cannot raise it.
    pub fn start_with_open_files_limit(config: &Path, limit: u64) -> Daemon {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
        // SAFETY: the closure runs in the forked child before exec and only
        // calls setrlimit, which is async-signal-safe, on a value it owns.
        unsafe {
            command.pre_exec(move || {
                let rl = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &rl) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut d = Daemon::spawn_command(command, &["run".as_ref(), "-c".as_ref(), config.as_os_str()], &[]);
        d.wait_serving();
        d
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// [`Daemon::spawn`] with extra environment variables.
    pub fn spawn_with_env(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn_command(Command::new(assert_cmd::cargo::cargo_bin!("labwatch")), args, env)
    }

    /// [`Daemon::spawn_with_env`] of another build of labwatch, `bin`.
    pub fn spawn_binary_with_env(bin: &Path, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Daemon {
        Daemon::spawn_command(Command::new(bin), args, env)
    }

    fn spawn_command(mut command: Command, args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> Daemon {
        let mut child = command
            .envs(env.iter().copied())
            .args(["--log-format", "json"])
            .args(args)
            .env("RUST_LOG", "labwatch=debug")
            .env_remove("LABWATCH_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start labwatch");
        let (tx, logs) = mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let stdout = child.stdout.take().expect("piped stdout");
        let tx_out = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx_out.send(serde_json::json!({ "stdout": line, "raw": line })).is_err() {
                    break;
                }
            }
        });
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
        Daemon {
            child,
            seen: Vec::new(),
            pending: Default::default(),
            logs,
            addr: "127.0.0.1:0".parse().unwrap(),
        }
    }

    /// Waits for the daemon's "Serving" event and learns its address.
    pub fn wait_serving(&mut self) {
        let serving = self.wait_for("Serving");
        self.addr = serving["listen"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("Serving log names the address");
    }

    /// Waits for a stdout line starting with `prefix` and returns it.
    pub fn wait_for_stdout(&mut self, prefix: &str) -> String {
        let event = self.wait_until(prefix, |e| {
            e["stdout"].as_str().is_some_and(|l| l.trim_start().starts_with(prefix))
        });
        event["stdout"].as_str().unwrap_or_default().to_owned()
    }

    /// Waits for the next log event whose message is `message`.
    pub fn wait_for(&mut self, message: &str) -> serde_json::Value {
        self.wait_until(message, |e| e["message"] == message)
    }

    /// The first event that `matches`, read earlier or arriving within the
    /// deadline; `what` names it when it never comes.
    pub fn wait_until_event(&mut self, what: &str, matches: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        self.wait_until(what, matches)
    }

    /// The first event, read earlier or arriving within the deadline, that
    /// matches; the others stay pending for later waits.
    fn wait_until(&mut self, what: &str, matches: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        if let Some(i) = self.pending.iter().position(&matches) {
            return self.pending.remove(i).expect("index from position");
        }
        let deadline = std::time::Instant::now() + EVENT_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let event = self
                .logs
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("labwatch did not print `{what}`; it printed:\n{}", self.seen.join("\n")));
            self.seen.push(event["raw"].as_str().unwrap_or_default().to_owned());
            if matches(&event) {
                return event;
            }
            self.pending.push_back(event);
        }
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Stops the process (SIGTERM) and returns every line it printed on
    /// stdout and stderr, read to the end of both streams: for leak checks
    /// over the whole run.
    pub fn stop_and_collect(&mut self) -> &[String] {
        self.signal("TERM");
        self.wait_exit();
        loop {
            match self.logs.recv_timeout(EVENT_DEADLINE) {
                Ok(event) => self.seen.push(event["raw"].as_str().unwrap_or_default().to_owned()),
                Err(mpsc::RecvTimeoutError::Disconnected) => return &self.seen,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("labwatch exited but its output did not end"),
            }
        }
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

/// Makes the test process the reaper of its plugins' orphans, as the
/// `labwatch` executable makes itself at start: tests that run plugins in
/// this process check that a killed plugin's children are reaped, and
/// without the flag those go to PID 1, which here may never reap them.
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: prctl with an integer option and one integer argument has
        // no memory effects; it only sets a flag on this process.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
        assert_eq!(rc, 0, "PR_SET_CHILD_SUBREAPER: {}", std::io::Error::last_os_error());
    });
}
