//! What the actions do after every round of checks: settle the rotations
//! that could not be settled at start ([`super::settle`]), then automatic
//! renewal (`mode = "auto"`): a workspace whose token is due for renewal is
//! rotated. Each workspace's due time is moved by its own random jitter, so
//! many workspaces do not rotate in the same second; a failure waits an hour
//! before the next attempt, so a broken rotation cannot hammer GitLab.
//!
//! Every look walks the auto-renewing workspaces, so it happens at most once
//! per [`PACE`] however many passes end meanwhile: a fleet of 10,000
//! workspaces ends a pass every few milliseconds, and a walk per pass would
//! make each round cost O(N²).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Actions, Trigger};
use crate::config::RenewalMode;
use crate::engine::{CheckKey, Status, StatusStore};

const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(3600);
/// Least time between two looks. Renewal is due days ahead and a kept
/// rotation waits for the store in any case; a second later costs nothing.
const PACE: Duration = Duration::from_secs(1);
/// Up to this long after the due time, chosen at random per workspace.
const MAX_JITTER: Duration = Duration::from_secs(300);

/// Runs until the task is aborted.
pub async fn run_after_rounds(actions: Arc<Actions>) {
    let status = actions.runtime.status();
    let mut passes = status.subscribe();
    let mut backoff: HashMap<String, tokio::time::Instant> = HashMap::new();
    let mut jitter: HashMap<String, Duration> = HashMap::new();
    let mut rng = fastrand::Rng::new();
    // Once at once, then after every pass: the first round may have
    // finished before this task subscribed, and a rotated token picked up
    // at start is saved as soon as the store takes it, not an interval later.
    loop {
        actions.settle_where_the_token_works(&status).await;
        let due: Vec<String> = actions
            .runtime
            .names_where(|w| w.renewal.mode == RenewalMode::Auto)
            .into_iter()
            .filter(|name| {
                let extra = *jitter
                    .entry(name.clone())
                    .or_insert_with(|| MAX_JITTER.mul_f64(rng.f64()));
                renewal_due(&status, name, extra)
            })
            .collect();
        for ws in due {
            if backoff
                .get(&ws)
                .is_some_and(|until| tokio::time::Instant::now() < *until)
            {
                continue;
            }
            match actions.rotate(&ws, None, Trigger::Schedule).await {
                Ok(r) => {
                    jitter.remove(&ws);
                    tracing::info!(workspace = %ws, token_id = r.token.id, "Token rotated on schedule");
                }
                // Rotated by another replica, or no longer this one's.
                Err(e) if e.code == "renewal-not-due" || e.code == "not-owner" => {
                    tracing::debug!(workspace = %ws, reason = %e.code, "Scheduled rotation not needed here");
                }
                Err(e) => {
                    tracing::warn!(workspace = %ws, error = %e, "Scheduled rotation failed");
                    backoff.insert(ws, tokio::time::Instant::now() + RETRY_AFTER_FAILURE);
                }
            }
        }
        tokio::time::sleep(PACE).await;
        if passes.changed().await.is_err() {
            return;
        }
    }
}

/// The token check passed (or warns) and its renewal time, plus `jitter`,
/// has come.
fn renewal_due(status: &StatusStore, workspace: &str, jitter: Duration) -> bool {
    let Some(state) = status.get(&token_check(workspace)) else {
        return false;
    };
    if state.is_blocked() || !matches!(state.outcome.status, Status::Ok | Status::Warning | Status::Critical) {
        return false;
    }
    if !matches!(state.outcome.reason.as_str(), "ok" | "token-expiring") {
        return false;
    }
    state
        .outcome
        .measurements
        .get("renewal_due_timestamp_seconds")
        .is_some_and(|due| OffsetDateTime::now_utc().unix_timestamp() as f64 >= *due + jitter.as_secs_f64())
}

/// The key of a workspace's token check.
pub(super) fn token_check(workspace: &str) -> CheckKey {
    CheckKey {
        workspace: workspace.to_owned(),
        check: "token".into(),
        target: None,
    }
}
