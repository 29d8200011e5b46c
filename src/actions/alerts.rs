//! Alert-triggered renewal: Alertmanager's webhook (payload version 4) says
//! a token is due; labwatch rotates it — once per alert firing, only when
//! the workspace's policy says so and renewal is really due.
//!
//! Alertmanager re-sends a firing alert every `repeat_interval` and retries
//! failed deliveries, so each firing is identified by (fingerprint,
//! startsAt) and rotated at most once. A failure a retry could fix (GitLab
//! unreachable) forgets the firing and answers 5xx so Alertmanager retries;
//! any other outcome is final.

use std::collections::{HashSet, VecDeque};

use time::OffsetDateTime;

use super::{ActionError, Actions, Trigger};
use crate::config::{RenewalMode, expiry_moment};
use crate::wire::{Alert, AlertAction, AlertResult, Webhook};

/// Firings remembered for idempotency; old ones fall out.
const REMEMBERED: usize = 4096;

/// Idempotency memory: (fingerprint, startsAt) of handled firings.
#[derive(Default)]
pub struct Firings {
    seen: HashSet<(String, String)>,
    order: VecDeque<(String, String)>,
}

impl Firings {
    /// True when new (and now remembered).
    fn remember(&mut self, key: (String, String)) -> bool {
        if self.seen.contains(&key) {
            return false;
        }
        if self.order.len() >= REMEMBERED {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        self.seen.insert(key.clone());
        self.order.push_back(key);
        true
    }

    fn forget(&mut self, key: &(String, String)) {
        self.seen.remove(key);
        self.order.retain(|k| k != key);
    }
}

impl Actions {
    /// Handles one delivery. `Err` is for the whole delivery: a bad payload
    /// (4xx) or a failure a retry could fix (5xx).
    pub async fn alerts(&self, hook: Webhook) -> Result<Vec<AlertResult>, ActionError> {
        if hook.version != "4" {
            return Err(ActionError::new(
                400,
                "unsupported-payload",
                format!(
                    "Webhook payload version `{}` is not supported; labwatch reads Alertmanager's version 4.",
                    hook.version
                ),
            ));
        }
        for alert in &hook.alerts {
            if let Some(ws) = alert.labels.get("workspace") {
                if self.runtime.workspace(ws).is_none() {
                    return Err(ActionError::new(
                        422,
                        "unknown-workspace",
                        format!(
                            "Alert `{}` names workspace `{ws}`, which is neither configured nor created at run time (see GET /api/v1/workspaces).",
                            alert.name(),
                        ),
                    ));
                }
            }
        }
        let mut results = Vec::new();
        let mut retry = None;
        for alert in hook.alerts {
            let (result, retryable) = self.alert(alert).await;
            if let Some(e) = retryable {
                retry.get_or_insert(e);
            }
            results.push(result);
        }
        match retry {
            Some(e) => Err(e),
            None => Ok(results),
        }
    }

    async fn alert(&self, alert: Alert) -> (AlertResult, Option<ActionError>) {
        let name = alert.name().to_owned();
        let ws = alert.labels.get("workspace").cloned();
        let result = |action: AlertAction, detail: String| AlertResult {
            alertname: name.clone(),
            workspace: ws.clone(),
            action,
            detail,
        };
        if alert.status != "firing" {
            tracing::info!(alertname = %name, workspace = ws.as_deref().unwrap_or(""), "Resolved alert received");
            return (
                result(AlertAction::Resolved, "Resolved alerts need nothing.".into()),
                None,
            );
        }
        let Some(workspace) = ws.clone() else {
            return (
                result(AlertAction::Ignored, "The alert has no `workspace` label.".into()),
                None,
            );
        };
        let Some(config) = self.runtime.workspace_config(&workspace) else {
            return (result(AlertAction::Ignored, "Unknown workspace.".into()), None);
        };
        if !config.renewal.renew_on.iter().any(|n| n == &name) {
            let detail = format!("`{name}` is not in renew_on ({}).", config.renewal.renew_on.join(", "));
            return (result(AlertAction::Ignored, detail), None);
        }
        if config.renewal.mode == RenewalMode::Manual {
            return (
                result(AlertAction::Ignored, "The workspace's renewal mode is manual.".into()),
                None,
            );
        }
        let key = (alert.fingerprint.clone(), alert.starts_at.clone());
        if !self.firings().remember(key.clone()) {
            return (
                result(AlertAction::Duplicate, "This firing was already handled.".into()),
                None,
            );
        }
        match self.renewal_due(&workspace, &config).await {
            Ok(true) => {}
            Ok(false) => {
                return (
                    result(AlertAction::NotDue, "The token is not due for renewal yet.".into()),
                    None,
                );
            }
            Err(e) => return (result(AlertAction::Failed, e.message), None),
        }
        match self.rotate(&workspace, None, Trigger::Alert).await {
            Ok(r) => {
                tracing::info!(workspace = %workspace, alertname = %name, token_id = r.token.id, "Token rotated on alert");
                (
                    result(
                        AlertAction::Rotated,
                        format!("Token {} replaced by token {}.", r.previous_token_id, r.token.id),
                    ),
                    None,
                )
            }
            Err(e) if e.code == "rotation-in-progress" => (result(AlertAction::Duplicate, e.message), None),
            Err(e) if e.code == "renewal-not-due" => (result(AlertAction::NotDue, e.message), None),
            Err(e) if e.status >= 500 && e.code != crate::engine::Reason::TokenLostInRotation.code() => {
                // GitLab could not be reached: forget the firing so
                // Alertmanager's retry rotates.
                self.firings().forget(&key);
                (result(AlertAction::Failed, e.message.clone()), Some(e))
            }
            Err(e) => (result(AlertAction::Failed, e.message), None),
        }
    }

    /// Whether the renewal time of the token in use has come.
    pub(super) async fn renewal_due(
        &self,
        workspace: &str,
        config: &crate::config::WorkspaceConfig,
    ) -> Result<bool, ActionError> {
        // From the store, or from GitLab for a token_file's token.
        let conn = self.in_use(workspace).await?.1.conn;
        let Some(expires_at) = conn.expires_at else {
            return Ok(false);
        };
        let due = config.renewal.renewal_due(conn.created_at, expiry_moment(expires_at));
        Ok(OffsetDateTime::now_utc() >= due)
    }

    fn firings(&self) -> std::sync::MutexGuard<'_, Firings> {
        self.firings.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_firing_is_remembered_once_and_can_be_forgotten() {
        let mut f = Firings::default();
        let k = ("abc".to_owned(), "2026-11-25T10:00:00Z".to_owned());
        assert!(f.remember(k.clone()));
        assert!(!f.remember(k.clone()));
        f.forget(&k);
        assert!(f.remember(k));
    }
}
