//! The audit log's entries: one per action (who, what, result, token id —
//! never the token), appended and made durable before the action answers,
//! so that what happened survives a crash. The file store keeps them as JSON
//! lines in `audit.log`; the PostgreSQL store as rows of an append-only
//! table.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One action on a workspace's connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub workspace: String,
    pub actor: Actor,
    pub action: AuditAction,
    pub result: AuditResult,
    /// GitLab's id of the token acted on (the new one after a rotation).
    pub token_id: Option<u64>,
    /// A short free text for people; never a token.
    pub detail: Option<String>,
}

/// Who acted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Actor {
    /// A person, through the admin API or the admin commands.
    AdminApi,
    /// Alertmanager's webhook.
    Alert,
    /// The automatic renewal policy.
    Schedule,
    /// The daemon itself (settling a rotation a crash interrupted).
    Daemon,
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditAction {
    Connect,
    UpdateToken,
    Rotate,
    Disconnect,
    SetRepositories,
    /// A rotation marker left by a crash was looked into.
    SettleRotation,
    /// The token of a workspace connected by its config's `token_file` was
    /// saved in the store, so an action could act on it (`actions::adopt`).
    AdoptToken,
    /// A workspace was created at run time (admin API, or `connect` on an
    /// unknown workspace).
    WorkspaceCreated,
    /// A run-time workspace's settings were replaced.
    WorkspaceUpdated,
    /// A run-time workspace and every store file it had were removed; the
    /// audit log keeps its earlier lines.
    WorkspaceDeleted,
}

/// How it ended: `ok`, or the reason code it failed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum AuditResult {
    Ok,
    Failed(String),
}

impl From<String> for AuditResult {
    fn from(text: String) -> AuditResult {
        if text == "ok" {
            AuditResult::Ok
        } else {
            AuditResult::Failed(text)
        }
    }
}

impl From<AuditResult> for String {
    fn from(result: AuditResult) -> String {
        match result {
            AuditResult::Ok => "ok".to_owned(),
            AuditResult::Failed(code) => code,
        }
    }
}

impl AuditEntry {
    /// An entry stamped now, without token id or detail.
    pub fn new(workspace: impl Into<String>, actor: Actor, action: AuditAction, result: AuditResult) -> AuditEntry {
        AuditEntry {
            at: OffsetDateTime::now_utc(),
            workspace: workspace.into(),
            actor,
            action,
            result,
            token_id: None,
            detail: None,
        }
    }
}
