//! The [`Check`] trait every diagnosis implements, built in or plugin.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use time::OffsetDateTime;
use tokio::time::Instant;

use super::Outcome;

/// A boxed check future; boxed so checks of different types can live in one
/// registry list.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// What the engine hands a check for one run.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The workspace being checked (for messages and remediation text).
    pub workspace: String,
    /// When the engine will cancel the run. Checks that wait on the network
    /// use it to report their own, more precise timeout (say `dns-timeout`)
    /// before the engine's blunt `check-timeout` fires.
    pub deadline: Instant,
    /// Wall-clock "now" for date logic (token and certificate expiry), taken
    /// once per run so a check sees one consistent moment.
    pub now: OffsetDateTime,
    /// Number of the scheduler pass this run belongs to. Checks that share
    /// work within a round (one project listing for every repository) key
    /// their cache by it.
    pub round: u64,
    /// Someone asked for this run (an action, "run checks now", a one-shot
    /// `labwatch check`) rather than the schedule: a check that shares a
    /// recent verdict with other workspaces (the instance probe) looks
    /// again instead.
    pub requested: bool,
}

impl RunContext {
    /// Time left until the deadline, minus a margin so the check's own
    /// timeout fires before the engine's.
    pub fn budget(&self) -> std::time::Duration {
        let left = self.deadline.saturating_duration_since(Instant::now());
        left.saturating_sub(left / 10)
    }
}

/// One diagnosis. A check never fails: every problem is an [`Outcome`].
pub trait Check: Send + Sync {
    /// Stable name (`instance`, `token`, …): the `check` label and the name
    /// other checks depend on.
    fn name(&self) -> &str;

    /// The repository (or other target) this instance of the check is about.
    fn target(&self) -> Option<&str> {
        None
    }

    /// Names of workspace-level checks that must be usable before this runs.
    /// Borrowed for built-in checks (`const` lists), owned for checks built
    /// from config, which name their dependencies at run time.
    fn depends_on(&self) -> &[Cow<'static, str>] {
        &[]
    }

    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a>;
}
