//! `POST /api/v1/alerts`: Alertmanager's webhook payload (version 4), as
//! Alertmanager sends it, and labwatch's answer, one result per alert.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Alertmanager's webhook body. Unknown fields are tolerated: Alertmanager
/// adds fields over time (e.g. `notification_reason`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub version: String,
    #[serde(default)]
    pub status: Option<String>,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// `firing` or `resolved`.
    pub status: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub starts_at: String,
    /// Identifies the alert; with `starts_at`, one firing of it.
    #[serde(default)]
    pub fingerprint: String,
}

impl Alert {
    /// The `alertname` label, or a placeholder for messages.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("(unnamed)", String::as_str)
    }
}

/// The answer to a delivery (202).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertResults {
    pub results: Vec<AlertResult>,
}

/// What happened to one alert of the delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertResult {
    pub alertname: String,
    pub workspace: Option<String>,
    pub action: AlertAction,
    /// One sentence for people.
    pub detail: String,
}

/// What labwatch did about an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertAction {
    /// The workspace's token was rotated.
    Rotated,
    /// This firing was handled before (Alertmanager re-sends and retries).
    Duplicate,
    /// A resolved alert: nothing to do.
    Resolved,
    /// The token is not due for renewal yet.
    NotDue,
    /// Not an alert labwatch acts on (no workspace, not in `renew_on`, manual mode).
    Ignored,
    /// The rotation failed; `detail` says why.
    Failed,
}

impl AlertAction {
    /// The kebab-case name the answer uses, for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertAction::Rotated => "rotated",
            AlertAction::Duplicate => "duplicate",
            AlertAction::Resolved => "resolved",
            AlertAction::NotDue => "not-due",
            AlertAction::Ignored => "ignored",
            AlertAction::Failed => "failed",
        }
    }
}
