//! External checks (`[[plugin]]`): an executable in any language, run by
//! [`runner`] with an argv vector, a cleared environment, capped output and a
//! timeout that kills its whole process group ([`group`]); its output read
//! by the Nagios plugin API or as a labwatch JSON outcome ([`protocol`],
//! [`perfdata`]). `checks/README.md` documents the protocol for authors.
//!
//! What a plugin gets: `LABWATCH_WORKSPACE`, `LABWATCH_INSTANCE_URL`,
//! `LABWATCH_PLUGIN_NAME` and `PATH`, nothing else; stdin from `/dev/null`,
//! or the workspace token and a newline when its table says `token = true` —
//! never in argv or the environment. A plugin given the token waits for the
//! `token` check (an implicit dependency): a token GitLab rejects is not
//! handed out again, and its outage is reported once, by `token`.

mod group;
pub mod perfdata;
pub mod protocol;
pub mod runner;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use self::protocol::Parsed;
use self::runner::{Exit, Finished, Invocation};
use super::WorkspaceGitlab;
use crate::config::PluginConfig;
use crate::engine::{Check, CheckFuture, Outcome, Reason, RunContext, Status};

/// Most measurements kept per plugin run (and so `labwatch_plugin_measurement`
/// series per plugin and workspace); the rest are dropped with a note.
pub const MAX_MEASUREMENTS: usize = 50;

/// One `[[plugin]]` in one workspace.
pub struct PluginCheck {
    config: PluginConfig,
    /// The configured dependencies, plus `token` for a plugin given the token.
    deps: Vec<Cow<'static, str>>,
    /// The workspace's GitLab context: its instance URL, and the token for a
    /// plugin granted it.
    gitlab: Arc<WorkspaceGitlab>,
}

impl PluginCheck {
    pub fn new(config: PluginConfig, gitlab: Arc<WorkspaceGitlab>) -> PluginCheck {
        let mut deps: Vec<Cow<'static, str>> = config.depends_on.iter().cloned().map(Cow::Owned).collect();
        if config.token && !deps.iter().any(|d| d == "token") {
            deps.push(Cow::Borrowed("token"));
        }
        PluginCheck { config, deps, gitlab }
    }

    /// The argv as one line, for messages (arguments with spaces quoted).
    pub fn command_line(config: &PluginConfig) -> String {
        std::iter::once(config.program.display().to_string())
            .chain(config.args.iter().map(|a| {
                if a.is_empty() || a.contains(char::is_whitespace) {
                    format!("'{a}'")
                } else {
                    a.clone()
                }
            }))
            .collect::<Vec<_>>()
            .join(" ")
    }

    async fn execute(&self, ctx: &RunContext) -> Outcome {
        let stdin = match self.token_input() {
            Ok(stdin) => stdin,
            Err(outcome) => return self.fill(*outcome, ctx),
        };
        let token = stdin.as_ref().map(|s| String::from_utf8_lossy(s).trim().to_owned());
        let left = ctx.deadline.saturating_duration_since(tokio::time::Instant::now());
        let invocation = Invocation {
            program: &self.config.program,
            args: &self.config.args,
            env: vec![
                ("LABWATCH_WORKSPACE", ctx.workspace.clone()),
                ("LABWATCH_INSTANCE_URL", self.instance_url()),
                ("LABWATCH_PLUGIN_NAME", self.config.name.clone()),
            ],
            stdin,
            // Before the engine's timeout, so the plugin is killed by us (with
            // its children) and the outcome says so precisely.
            kill_after: ctx.budget(),
            give_up_at: tokio::time::Instant::now() + left.saturating_sub(left / 20),
        };
        let outcome = match runner::run(invocation).await {
            Ok(finished) => {
                let finished = redact(finished, token.as_deref());
                log_run(&self.config.name, &ctx.workspace, &finished);
                self.judge(finished)
            }
            Err(e) => self.cannot_start(&e),
        };
        self.fill(outcome, ctx)
    }

    /// Stdin for a plugin granted the token: the token and a newline.
    /// `Err` when it must not run: no client, or GitLab rejected the token
    /// (handing it out again would count as another failed sign-in).
    fn token_input(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Box<Outcome>> {
        if !self.config.token {
            return Ok(None);
        }
        let client = self.gitlab.client.as_ref().map_err(|e| {
            Box::new(Outcome::new(
                Status::Unknown,
                Reason::PluginError,
                format!("Not run: the workspace's GitLab client could not be set up ({e}), so there is no token to give the plugin."),
            ))
        })?;
        if let Some(cause) = client.paused_by() {
            return Err(Box::new(Outcome::new(
                Status::Unknown,
                Reason::AuthPaused,
                format!(
                    "Not run: GitLab rejected the workspace token ({cause}); labwatch hands it to no one until it changes."
                ),
            )));
        }
        Ok(client.with_token(|t| t.map(|s| Zeroizing::new(format!("{}\n", s.expose_secret()).into_bytes()))))
    }

    fn instance_url(&self) -> String {
        crate::config::instance_url::display(&self.gitlab.config.instance_url)
    }

    /// The outcome of a finished run.
    fn judge(&self, f: Finished) -> Outcome {
        let stderr = first_line(&f.stderr.bytes);
        let code = match f.exit {
            Exit::TimedOut => return self.timed_out(&f, stderr),
            Exit::Signal(n) => {
                return error(format!(
                    "The plugin was killed by signal {n} ({}){}.",
                    signal_name(n),
                    stderr_note(&stderr)
                ));
            }
            Exit::Lost(e) => return error(format!("labwatch lost track of the plugin's exit: {e}.")),
            Exit::Code(code) => code,
        };
        let Some(code) = u8::try_from(code).ok().filter(|c| *c <= 3) else {
            return error(format!(
                "The plugin exited with code {code}, which the Nagios plugin API does not define (0 ok, 1 warning, 2 critical, 3 unknown){}{}.",
                exit_hint(code),
                stderr_note(&stderr)
            ));
        };
        let stdout = String::from_utf8_lossy(complete_lines(&f.stdout));
        match protocol::parse(code, &stdout) {
            Ok(parsed) => self.outcome(parsed, &f),
            Err(problem) => error(format!(
                "The plugin broke the output protocol: {problem}{}.",
                stderr_note(&stderr)
            )),
        }
    }

    fn outcome(&self, p: Parsed, f: &Finished) -> Outcome {
        let generic = match p.status {
            Status::Ok => Reason::Ok,
            Status::Warning => Reason::PluginWarning,
            Status::Critical => Reason::PluginCritical,
            Status::Unknown => Reason::PluginUnknown,
        };
        let mut outcome = Outcome::new(p.status, generic, p.summary);
        if let Some(reason) = p.reason {
            outcome.reason = reason;
            outcome.remediation.clear();
        }
        outcome.details = p.details;
        if !p.steps.is_empty() {
            outcome.remediation = p.steps;
        } else if outcome.remediation.is_empty() && p.status != Status::Ok {
            outcome.remediation = vec!["Run the plugin by hand to see its whole output: `{command}`.".to_owned()];
        }
        let total = p.measurements.len();
        for (name, value) in p.measurements {
            if outcome.measurements.len() >= MAX_MEASUREMENTS {
                break;
            }
            outcome.measurements.insert_if_absent(name, value);
        }
        if total > MAX_MEASUREMENTS {
            outcome.remediation.push(format!(
                "The plugin reported {total} measurements; labwatch keeps the first {MAX_MEASUREMENTS} (values before thresholds). Report fewer."
            ));
        }
        if f.stdout.truncated() {
            outcome.remediation.push(format!(
                "labwatch read only the first {} KiB of the plugin's {} bytes of output; make it print less.",
                runner::OUTPUT_CAP / 1024,
                f.stdout.total
            ));
        }
        outcome
    }

    fn timed_out(&self, f: &Finished, stderr: Option<String>) -> Outcome {
        let summary = format!(
            "The plugin did not finish within its timeout of {} and was killed, with every process it started, after {}{}.",
            humantime::format_duration(self.config.timeout),
            seconds(f.elapsed),
            stderr_note(&stderr)
        );
        Outcome::new(Status::Unknown, Reason::CheckTimeout, summary).with_remediation([
            "Run the plugin by hand to see where it waits: `{command}`.".to_owned(),
            format!(
                "If it is just slow, raise `timeout` of [[plugin]] `{}` (it must stay below its interval).",
                self.config.name
            ),
        ])
    }

    fn cannot_start(&self, e: &std::io::Error) -> Outcome {
        let hint = match e.raw_os_error() {
            Some(2) => " — the file is missing, or its #! interpreter is",
            Some(13) => " — make it executable (chmod +x) and readable by labwatch's user",
            Some(8) => " — a script needs a #! line naming its interpreter",
            _ => "",
        };
        error(format!(
            "The plugin could not be started: {}: {e}{hint}.",
            self.config.program.display()
        ))
    }

    fn fill(&self, outcome: Outcome, ctx: &RunContext) -> Outcome {
        let command = PluginCheck::command_line(&self.config);
        outcome.fill(&[
            ("command", &command),
            ("workspace", &ctx.workspace),
            ("url", &self.instance_url()),
        ])
    }
}

impl Check for PluginCheck {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn depends_on(&self) -> &[Cow<'static, str>] {
        &self.deps
    }

    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(self.execute(ctx))
    }
}

fn error(summary: String) -> Outcome {
    Outcome::new(Status::Unknown, Reason::PluginError, summary)
}

/// Replaces the token wherever a (careless) plugin echoed it.
fn redact(mut f: Finished, token: Option<&str>) -> Finished {
    let Some(token) = token.filter(|t| t.len() >= 4) else {
        return f;
    };
    for captured in [&mut f.stdout, &mut f.stderr] {
        let text = String::from_utf8_lossy(&captured.bytes);
        if text.contains(token) {
            captured.bytes = text.replace(token, "[REDACTED]").into_bytes();
        }
    }
    f
}

/// A truncated output may end in half a line (or half a perfdata item):
/// only whole lines are parsed.
fn complete_lines(c: &runner::Captured) -> &[u8] {
    if !c.truncated() {
        return &c.bytes;
    }
    match c.bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => &c.bytes[..=end],
        None => &c.bytes,
    }
}

fn first_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| protocol::short(l, 200))
}

fn stderr_note(stderr: &Option<String>) -> String {
    stderr.as_ref().map_or_else(String::new, |s| format!(" (stderr: {s})"))
}

fn exit_hint(code: i32) -> &'static str {
    match code {
        126 => "; 126 means a program it ran could not be executed",
        127 => "; 127 means a command it ran was not found (its PATH is labwatch's)",
        _ => "",
    }
}

fn signal_name(n: i32) -> &'static str {
    match n {
        1 => "SIGHUP",
        2 => "SIGINT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "see `kill -l`",
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

fn log_run(plugin: &str, workspace: &str, f: &Finished) {
    let stderr = String::from_utf8_lossy(&f.stderr.bytes);
    let stderr: String = stderr.chars().take(1024).collect();
    tracing::debug!(
        workspace,
        plugin,
        exit = ?f.exit,
        duration_seconds = f.elapsed.as_secs_f64(),
        stdout_bytes = f.stdout.total,
        stderr_bytes = f.stderr.total,
        stderr = %stderr,
        "Plugin finished"
    );
}
