//! What is known about each workspace's GitLab connection — identity and
//! token metadata, never the token — for `/status`. The token check keeps it
//! current; the HTTP layer reads it.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde::Serialize;

/// The `connection` object of the status document (DESIGN §3.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ConnectionView {
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

#[derive(Default)]
pub struct Connections {
    by_workspace: RwLock<BTreeMap<String, ConnectionView>>,
}

impl Connections {
    pub fn new() -> Connections {
        Connections::default()
    }

    pub fn set(&self, workspace: &str, view: ConnectionView) {
        self.write().insert(workspace.to_owned(), view);
    }

    /// Updates a workspace's view in place (creating a default one).
    pub fn update(&self, workspace: &str, f: impl FnOnce(&mut ConnectionView)) {
        f(self.write().entry(workspace.to_owned()).or_default());
    }

    pub fn get(&self, workspace: &str) -> ConnectionView {
        self.by_workspace
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(workspace)
            .cloned()
            .unwrap_or_default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, ConnectionView>> {
        self.by_workspace.write().unwrap_or_else(|e| e.into_inner())
    }
}
