//! The audit line every action leaves in the store's audit log: who asked,
//! what was done, how it ended, and the token acted on (never the token
//! itself). One helper writes it for every action, success or failure.

use std::future::Future;

use super::{ActionError, Actions};
use crate::store::{Actor, AuditAction, AuditEntry, AuditResult};
use crate::wire::{Connected, Disconnected, Rotated, Updated, WatchedRepositories};

impl Actions {
    /// Runs one action and appends its audit line, whether it succeeded or not.
    pub(super) async fn audited<T: Audited>(
        &self,
        workspace: &str,
        actor: Actor,
        action: AuditAction,
        work: impl Future<Output = Result<T, ActionError>>,
    ) -> Result<T, ActionError> {
        let result = work.await;
        let mut entry = AuditEntry::new(workspace, actor, action, AuditResult::Ok);
        match &result {
            Ok(answer) => {
                entry.token_id = answer.token_id();
                entry.detail = Some(answer.detail());
            }
            Err(e) => {
                entry.result = AuditResult::Failed(e.code.clone());
                entry.detail = Some(e.message.clone());
            }
        }
        self.audit(entry).await;
        result
    }

    /// Appends one line. A log that cannot be written is reported, and the
    /// action's result stands: the connection already changed.
    pub(super) async fn audit(&self, entry: AuditEntry) {
        let (workspace, action) = (entry.workspace.clone(), entry.action);
        if let Err(e) = self.on_store(move |s| s.audit(&entry)).await {
            tracing::error!(workspace = %workspace, action = ?action, error = %e, "Cannot write the audit log");
        }
    }
}

/// What an action's answer puts in its audit line.
pub(super) trait Audited {
    /// GitLab's id of the token acted on (the new one when it changed).
    fn token_id(&self) -> Option<u64> {
        None
    }

    /// A short note for people; never a token.
    fn detail(&self) -> String;
}

impl Audited for Connected {
    fn token_id(&self) -> Option<u64> {
        Some(self.token.id)
    }

    fn detail(&self) -> String {
        match &self.replaced {
            Some(old) => format!(
                "@{} on {}, replacing @{} on {}",
                self.user.username, self.instance_url, old.user.username, old.instance_url
            ),
            None => format!("@{} on {}", self.user.username, self.instance_url),
        }
    }
}

impl Audited for Updated {
    fn token_id(&self) -> Option<u64> {
        Some(self.token.id)
    }

    fn detail(&self) -> String {
        format!("replaces token {}", self.previous_token_id)
    }
}

impl Audited for Rotated {
    fn token_id(&self) -> Option<u64> {
        Some(self.token.id)
    }

    fn detail(&self) -> String {
        format!("replaces token {}", self.previous_token_id)
    }
}

impl Audited for Disconnected {
    fn detail(&self) -> String {
        match &self.lost {
            Some(lost) => format!("token revoked: {}; {lost}", self.token_revoked),
            None => format!("token revoked: {}", self.token_revoked),
        }
    }
}

impl Audited for WatchedRepositories {
    fn detail(&self) -> String {
        self.repositories.join(", ")
    }
}
