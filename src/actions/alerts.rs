//! Alert-triggered renewal: Alertmanager's webhook (payload version 4) says
//! a token is due; labwatch rotates it — once per alert firing, only when
//! the workspace's policy says so and renewal is really due.
//!
//! Alertmanager re-sends a firing alert every `repeat_interval` and retries
//! failed deliveries, so each firing is identified by (fingerprint,
//! startsAt) and rotated at most once. A failure a retry could fix (GitLab
//! unreachable) forgets the firing and answers 5xx so Alertmanager retries;
//! any other outcome is final.
//!
//! The webhook decides on the same expiry `/status` shows: GitLab's, read
//! with the token (`GET /personal_access_tokens/self`, as the token check
//! does), not the one stored at connect or the last rotation, which GitLab
//! may have changed since; a stored expiry that differs is refreshed. Every
//! decision is logged (one line per alert, with the workspace and the
//! decision), and a new firing for a workspace that renews on alerts
//! leaves an audit line when it rotates (the rotation's own) or declines
//! because renewal is not due or cannot be judged (`rotate` with that code
//! as its result, actor `alert`).

use std::collections::{HashSet, VecDeque};

use time::{Date, OffsetDateTime};

use super::{ActionError, Actions, Trigger};
use crate::config::{RenewalMode, expiry_moment};
use crate::gitlab::types::format_date;
use crate::store::{Actor, AuditAction, AuditEntry, AuditResult, StoredConnection};
use crate::wire::{Alert, AlertAction, AlertResult, Webhook};

/// Whether renewal is due, and the sentence that says why.
struct Renewal {
    due: bool,
    said: String,
}

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

    /// One alert: decided, then logged.
    async fn alert(&self, alert: Alert) -> (AlertResult, Option<ActionError>) {
        let (result, retry) = self.decide(alert).await;
        tracing::info!(
            alertname = %result.alertname,
            workspace = result.workspace.as_deref().unwrap_or(""),
            decision = result.action.as_str(),
            detail = %result.detail,
            "Alert webhook decision"
        );
        (result, retry)
    }

    /// Declining a firing alert for a workspace that renews on alerts is
    /// a decision about its token: audited as a rotation not made.
    async fn declined(&self, workspace: &str, code: &str, detail: &str) {
        let mut entry = AuditEntry::new(
            workspace,
            Actor::Alert,
            AuditAction::Rotate,
            AuditResult::Failed(code.to_owned()),
        );
        entry.detail = Some(detail.to_owned());
        self.audit(entry).await;
    }

    async fn decide(&self, alert: Alert) -> (AlertResult, Option<ActionError>) {
        let name = alert.name().to_owned();
        let ws = alert.labels.get("workspace").cloned();
        let result = |action: AlertAction, detail: String| AlertResult {
            alertname: name.clone(),
            workspace: ws.clone(),
            action,
            detail,
        };
        if alert.status != "firing" {
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
            // Not audited: Alertmanager re-sends it every repeat_interval,
            // and it changes nothing; the log line says it.
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
        match self.renewal(&workspace, &config).await {
            Ok(Renewal { due: true, .. }) => {}
            Ok(Renewal { due: false, said }) => {
                self.declined(&workspace, "renewal-not-due", &said).await;
                return (result(AlertAction::NotDue, said), None);
            }
            Err(e) => {
                self.declined(&workspace, &e.code, &e.message).await;
                return (result(AlertAction::Failed, e.message), None);
            }
        }
        match self.rotate(&workspace, None, Trigger::Alert).await {
            Ok(r) => (
                result(
                    AlertAction::Rotated,
                    format!("Token {} replaced by token {}.", r.previous_token_id, r.token.id),
                ),
                None,
            ),
            Err(e) if e.code == "rotation-in-progress" => (result(AlertAction::Duplicate, e.message), None),
            Err(e) if e.code == "renewal-not-due" => {
                self.declined(&workspace, &e.code, &e.message).await;
                (result(AlertAction::NotDue, e.message), None)
            }
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
        Ok(self.renewal(workspace, config).await?.due)
    }

    /// Whether the renewal time of the token in use has come, and why, by
    /// GitLab's word on the token's expiry (what the token check, hence
    /// `/status`, reads). A stored connection whose expiry or creation
    /// date GitLab now says otherwise is refreshed in the store (unless a
    /// rotation holds the workspace: it replaces the token anyway). When
    /// GitLab cannot be asked, the stored dates decide, and the log says so.
    async fn renewal(&self, workspace: &str, config: &crate::config::WorkspaceConfig) -> Result<Renewal, ActionError> {
        // From the store, or from GitLab for a token_file's token.
        let (ws, in_use) = self.in_use(workspace).await?;
        let mut conn = in_use.conn;
        if !in_use.from_file {
            let client = self.client(&ws, &ws.instance_url.clone(), conn.token.clone())?;
            match client.token_self().await {
                Ok(info) if info.id == conn.token_id => {
                    if (info.expires_at, info.created_at) != (conn.expires_at, conn.created_at) {
                        self.refresh_dates(&conn, info.expires_at, info.created_at).await;
                    }
                    conn.expires_at = info.expires_at;
                    conn.created_at = info.created_at;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    workspace, error = %e,
                    "Cannot read the token's expiry from GitLab; the stored one decides whether renewal is due"
                ),
            }
        }
        let Some(expires_at) = conn.expires_at else {
            return Ok(Renewal {
                due: false,
                said: "The token never expires: there is nothing to renew.".into(),
            });
        };
        let due = config.renewal.renewal_due(conn.created_at, expiry_moment(expires_at));
        let (expires, due_on) = (format_date(expires_at), format_date(due.date()));
        Ok(if OffsetDateTime::now_utc() >= due {
            Renewal {
                due: true,
                said: format!("The token expires on {expires}; renewal was due on {due_on}."),
            }
        } else {
            Renewal {
                due: false,
                said: format!(
                    "The token is not due for renewal yet: it expires on {expires}, renewal is due on {due_on}."
                ),
            }
        })
    }

    /// Writes GitLab's expiry and creation date of the stored token into
    /// its stored connection, if it is still the stored one; a failure is
    /// logged (the decision stands on GitLab's dates either way).
    async fn refresh_dates(
        &self,
        seen: &StoredConnection,
        expires_at: Option<Date>,
        created_at: Option<OffsetDateTime>,
    ) {
        let lock = self.rotation_lock(&seen.workspace);
        let Ok(_guard) = lock.try_lock() else {
            return;
        };
        let (name, token_id) = (seen.workspace.clone(), seen.token_id);
        let saved = self
            .on_store(move |s| match s.load(&name)? {
                Some(mut conn) if conn.token_id == token_id => {
                    conn.expires_at = expires_at;
                    conn.created_at = created_at;
                    s.save(&conn).map(|()| true)
                }
                _ => Ok(false),
            })
            .await;
        let shown = expires_at.map_or_else(|| "never".to_owned(), format_date);
        match saved {
            Ok(true) => tracing::info!(
                workspace = %seen.workspace, token_id, expires_at = %shown,
                "The stored token expiry differed from GitLab's; refreshed from GitLab"
            ),
            Ok(false) => {}
            Err(e) => tracing::warn!(
                workspace = %seen.workspace, error = %e,
                "Cannot refresh the stored token expiry from GitLab's"
            ),
        }
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
