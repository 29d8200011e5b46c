//! The GitLab client: typed calls for the endpoints labwatch uses, an error
//! taxonomy ([`GitlabError`]), pagination, a per-workspace request budget and
//! an auth breaker (see [`client`]); the bounds every answer is held to
//! ([`bounds`]).

pub mod api;
pub mod bounds;
mod budget;
pub mod capabilities;
pub mod client;
mod error;
mod instance;
mod metrics;
pub mod types;

pub use budget::{MAX_PAUSE, retry_after};
pub use client::{Auth, ClientOptions, GitlabClient};
pub use error::{BudgetKind, GitlabError, is_local_shortage};
pub use instance::{Instance, InstanceBudget, InstanceLimits, per_address_throttle};
pub use metrics::{GitlabMetrics, TRIGGERS, WorkspaceCounters};
