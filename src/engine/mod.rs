//! The check engine: the [`Check`] trait and its [`Outcome`], the reason-code
//! registry, the scheduler that runs checks on intervals from each workspace's
//! phase, with timeouts, a concurrency limit and a dependency graph, and the [`StatusStore`] that
//! keeps what they found (with a short [`History`] of status transitions).

mod capabilities;
mod check;
mod history;
mod measurements;
mod outcome;
pub mod reason;
mod scheduler;
mod store;

pub use capabilities::{Capabilities, CapabilityView, DenialView};
pub use check::{Check, CheckFuture, RunContext};
pub use history::{HISTORY_CAPACITY, History, Transition};
pub use measurements::Measurements;
pub use outcome::{Outcome, Status};
pub use reason::Reason;
pub use scheduler::{HERD_STARTS_PER_SECOND, Plan, PlannedCheck, Round, Scheduler, phase, run_once};
pub use store::{CheckKey, CheckState, CheckView, Health, Layout, StatusStore, Troubled, WorkspaceView};
