//! The `connection` object of the status document: what is known about a
//! workspace's GitLab connection — the account and the token's metadata,
//! never the token — and [`Connections`], where documents and the page find
//! it.

use std::collections::BTreeMap;

use serde::Serialize;

/// What `/status` and the page say about a workspace's connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConnectionView {
    /// Whether the workspace has a token to check with.
    pub connected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenView {
    pub id: u64,
    pub name: String,
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD`, as GitLab gives it; `None` for a token without expiry.
    pub expires_at: Option<String>,
    /// RFC 3339 moment the renewal policy wants a new token.
    pub renewal_due: Option<String>,
}

/// Where the status document and the page find each workspace's connection:
/// the running workspaces in the daemon, a fixed map in `labwatch check`
/// and in tests.
pub trait Connections: Send + Sync {
    /// The view of `workspace`; an unknown workspace is not connected.
    fn connection(&self, workspace: &str) -> ConnectionView;
}

impl Connections for BTreeMap<String, ConnectionView> {
    fn connection(&self, workspace: &str) -> ConnectionView {
        self.get(workspace).cloned().unwrap_or_default()
    }
}
