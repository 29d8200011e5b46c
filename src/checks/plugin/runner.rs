//! Running one plugin process: argv (never a shell), a cleared environment
//! with an allowlist, stdin from `/dev/null` or carrying the token, stdout
//! and stderr read concurrently and capped, its own process group killed at
//! the timeout, and every process of it reaped (see [`super::group`]).

use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use zeroize::Zeroizing;

use super::group::Group;

/// Each of stdout and stderr is kept up to this size; the rest is read
/// and thrown away, so a chatty plugin never blocks on a full pipe.
pub const OUTPUT_CAP: usize = 64 * 1024;
/// How long to wait for the output pipes to close once the plugin's group
/// is gone; only a process that left the group can hold them longer.
const PIPE_GRACE: Duration = Duration::from_secs(1);
/// The PATH a plugin gets when labwatch itself has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// What to run and for how long.
pub struct Invocation<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    /// The environment, besides PATH (which is passed through).
    pub env: Vec<(&'static str, String)>,
    /// Bytes written to stdin before it is closed (the token); `None` gives
    /// the plugin `/dev/null`.
    pub stdin: Option<Zeroizing<Vec<u8>>>,
    /// When the group is killed.
    pub kill_after: Duration,
    /// When labwatch stops waiting for the exit status and output after a
    /// kill (before the engine's own timeout would cancel the run).
    pub give_up_at: Instant,
}

/// How the plugin ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    /// Killed by a signal it did not get from labwatch.
    Signal(i32),
    /// labwatch killed it at the timeout.
    TimedOut,
    /// The exit status could not be learnt (should not happen).
    Lost(String),
}

/// One output stream: the first [`OUTPUT_CAP`] bytes and the total size.
#[derive(Debug, Default, Clone)]
pub struct Captured {
    pub bytes: Vec<u8>,
    /// Bytes the plugin wrote, kept or not.
    pub total: u64,
}

impl Captured {
    pub fn truncated(&self) -> bool {
        self.total > self.bytes.len() as u64
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Finished {
    pub exit: Exit,
    pub stdout: Captured,
    pub stderr: Captured,
    /// From start to exit (or to the kill).
    pub elapsed: Duration,
}

/// Runs the plugin to its end. `Err` only when it could not be started.
pub async fn run(inv: Invocation<'_>) -> std::io::Result<Finished> {
    let mut cmd = std::process::Command::new(inv.program);
    let path = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
    cmd.args(inv.args)
        .env_clear()
        .env("PATH", path)
        .envs(inv.env.iter().map(|(k, v)| (k, v)))
        .process_group(0)
        .stdin(if inv.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let group = Group::new(child.id());
    // From here on, leaving early (an error below, or the engine dropping
    // this future) kills the whole group.
    let guard = KillOnDrop(group.clone());
    let (status_rx, reaped_rx) = spawn_reaper(group.clone())?;
    let stdout = Reader::start(child.stdout.take().map(OwnedFd::from))?;
    let stderr = Reader::start(child.stderr.take().map(OwnedFd::from))?;
    if let (Some(bytes), Some(stdin)) = (inv.stdin, child.stdin.take()) {
        feed(OwnedFd::from(stdin), bytes)?;
    }
    // The std handle neither kills nor reaps on drop: the reaper owns that.
    drop(child);

    let (exit, elapsed) = match tokio::time::timeout(inv.kill_after, status_rx).await {
        Ok(status) => (exit_of(status), started.elapsed()),
        Err(_) => {
            // Its status no longer matters: labwatch killed it.
            group.kill();
            (Exit::TimedOut, started.elapsed())
        }
    };
    // The reaper reports after the leader *and* every other member are
    // reaped, so nothing of the plugin is left when its outcome is recorded.
    let _ = tokio::time::timeout_at(inv.give_up_at, reaped_rx).await;
    let pipes_until = (Instant::now() + PIPE_GRACE).min(inv.give_up_at);
    let stdout = stdout.finish(pipes_until).await;
    let stderr = stderr.finish(pipes_until).await;
    drop(guard);
    Ok(Finished {
        exit,
        stdout,
        stderr,
        elapsed,
    })
}

type StatusRx = oneshot::Receiver<std::io::Result<ExitStatus>>;

/// A thread that blocks until the leader exits, then reaps the group.
fn spawn_reaper(group: Group) -> std::io::Result<(StatusRx, oneshot::Receiver<()>)> {
    let (status_tx, status_rx) = oneshot::channel();
    let (reaped_tx, reaped_rx) = oneshot::channel();
    std::thread::Builder::new()
        .name("plugin-reaper".into())
        .spawn(move || {
            let status = group.wait_leader();
            let _ = status_tx.send(status);
            group.reap_members();
            let _ = reaped_tx.send(());
        })?;
    Ok((status_rx, reaped_rx))
}

fn exit_of(received: Result<std::io::Result<ExitStatus>, oneshot::error::RecvError>) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    match received {
        Ok(Ok(status)) => match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Lost(format!("unrecognised wait status {status}")),
        },
        Ok(Err(e)) => Exit::Lost(e.to_string()),
        Err(_) => Exit::Lost("the reaper thread stopped".to_owned()),
    }
}

/// Writes the token to stdin and closes it. The token is far below a pipe's
/// buffer, so this never waits on a plugin that does not read it; a plugin
/// that exits first just closes the pipe (EPIPE, ignored).
fn feed(fd: OwnedFd, bytes: Zeroizing<Vec<u8>>) -> std::io::Result<()> {
    let mut sender = pipe::Sender::from_owned_fd(fd)?;
    tokio::spawn(async move {
        let _ = sender.write_all(&bytes).await;
    });
    Ok(())
}

/// Reads one output pipe into a shared, capped buffer until EOF.
struct Reader {
    captured: Arc<Mutex<Captured>>,
    task: Option<JoinHandle<()>>,
}

impl Reader {
    fn start(fd: Option<OwnedFd>) -> std::io::Result<Reader> {
        let captured = Arc::new(Mutex::new(Captured::default()));
        let task = match fd {
            None => None,
            Some(fd) => {
                let mut pipe = pipe::Receiver::from_owned_fd(fd)?;
                let into = captured.clone();
                Some(tokio::spawn(async move {
                    let mut chunk = vec![0u8; 16 * 1024];
                    while let Ok(n) = pipe.read(&mut chunk).await {
                        if n == 0 {
                            break;
                        }
                        let mut c = into.lock().unwrap_or_else(|e| e.into_inner());
                        let room = OUTPUT_CAP.saturating_sub(c.bytes.len());
                        c.bytes.extend_from_slice(&chunk[..n.min(room)]);
                        c.total += n as u64;
                    }
                }))
            }
        };
        Ok(Reader { captured, task })
    }

    /// What was read, once the pipe closed or `until` passed.
    async fn finish(mut self, until: Instant) -> Captured {
        if let Some(task) = self.task.as_mut() {
            let _ = tokio::time::timeout_at(until, task).await;
        }
        std::mem::take(&mut *self.captured.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Kills the group when the run is abandoned (timeout of the engine, a
/// config reload); a no-op once the plugin was reaped.
struct KillOnDrop(Group);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.0.kill();
    }
}
