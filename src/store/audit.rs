//! The audit log: `<store dir>/audit.log`, one JSON object per line and per
//! action (who, what, result, token id — never the token), appended and
//! fsynced so that what happened survives a crash.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StoreError;
use super::atomic::{self, FILE_MODE};

/// File name of the audit log inside the store directory.
pub const AUDIT_LOG: &str = "audit.log";

/// One action on a workspace's connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub workspace: String,
    /// Who acted: "admin-api", "alert", "schedule" or "startup".
    pub actor: String,
    /// What: connect, update-token, rotate, disconnect, set-repositories, …
    pub action: String,
    /// "ok", or the reason code of the failure.
    pub result: String,
    /// GitLab's id of the token acted on (the new one after a rotation).
    pub token_id: Option<u64>,
    /// A short free text for people; never a token.
    pub detail: Option<String>,
}

impl AuditEntry {
    /// An entry stamped now, without token id or detail.
    pub fn new(
        workspace: impl Into<String>,
        actor: impl Into<String>,
        action: impl Into<String>,
        result: impl Into<String>,
    ) -> AuditEntry {
        AuditEntry {
            at: OffsetDateTime::now_utc(),
            workspace: workspace.into(),
            actor: actor.into(),
            action: action.into(),
            result: result.into(),
            token_id: None,
            detail: None,
        }
    }
}

/// Appends `entry` to `dir/audit.log` as one line and fsyncs it.
pub(crate) fn append(dir: &Path, entry: &AuditEntry) -> Result<(), StoreError> {
    let path = dir.join(AUDIT_LOG);
    let mut line = serde_json::to_vec(entry).map_err(|e| StoreError::Encode {
        path: path.clone(),
        problem: e.to_string(),
    })?;
    line.push(b'\n');
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(&path)
        .map_err(|e| StoreError::io("open", &path, e))?;
    // One write of the whole line: O_APPEND keeps concurrent lines from interleaving.
    file.write_all(&line)
        .map_err(|e| StoreError::io("append to", &path, e))?;
    file.sync_data().map_err(|e| StoreError::io("fsync", &path, e))?;
    if !existed {
        // A new file's directory entry is durable only once the directory is synced.
        atomic::sync_dir(dir)?;
    }
    Ok(())
}
