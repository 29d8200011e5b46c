//! `labwatch demo` as the browser tests start it: serving on a free port,
//! with what its banner says (the simulator's URL, the admin token) read
//! and its four workspaces through their first round.

use std::ffi::OsStr;

use super::process::Daemon;

/// A running demo and what its banner said.
pub struct Demo {
    pub daemon: Daemon,
    /// `http://127.0.0.1:PORT`, the daemon's origin.
    pub origin: String,
    /// The simulated GitLab's URL.
    pub sim: String,
    pub admin_token: String,
    /// The banner's line that shows the admin token.
    pub admin_line: String,
}

/// Starts the demo and returns once every workspace finished a round. The
/// banner's other lines stay queued for the caller to read, in order.
pub fn start() -> Demo {
    let mut daemon = Daemon::spawn(&[OsStr::new("demo"), OsStr::new("--listen"), OsStr::new("127.0.0.1:0")]);
    daemon.wait_serving();
    let sim_line = daemon.wait_for_stdout("GitLab sim");
    let sim = sim_line
        .split_whitespace()
        .nth(2)
        .expect("the simulator's URL")
        .to_owned();
    let admin_line = daemon.wait_for_stdout("Admin API token (demo only):");
    let admin_token = admin_line
        .split_whitespace()
        .last()
        .expect("the admin token")
        .to_owned();
    for _ in 0..4 {
        daemon.wait_for("First round finished");
    }
    let origin = format!("http://{}", daemon.addr);
    Demo {
        daemon,
        origin,
        sim,
        admin_token,
        admin_line,
    }
}
