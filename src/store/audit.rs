//! The audit log: `<store dir>/audit.log`, one JSON object per line and per
//! action (who, what, result, token id — never the token), appended and
//! fsynced so that what happened survives a crash.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::StoreError;
use super::atomic::{self, FILE_MODE, OpenError};

/// File name of the audit log inside the store directory.
pub const AUDIT_LOG: &str = "audit.log";

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

/// Appends `entry` to `dir/audit.log` as one line and fsyncs it. The log is
/// opened like every store file ([`atomic::open_regular`]): a link planted
/// as `audit.log` is not followed (the daemon would append to any file it
/// can write), a pipe does not block, and either is an error naming the path.
pub(crate) fn append(dir: &Path, entry: &AuditEntry) -> Result<(), StoreError> {
    let path = dir.join(AUDIT_LOG);
    let mut line = serde_json::to_vec(entry).map_err(|e| StoreError::Encode {
        path: path.clone(),
        problem: e.to_string(),
    })?;
    line.push(b'\n');
    let (mut file, created) = open_log(&path)?;
    // One write of the whole line: O_APPEND keeps concurrent lines from interleaving.
    file.write_all(&line)
        .map_err(|e| StoreError::io("append to", &path, e))?;
    file.sync_data().map_err(|e| StoreError::io("fsync", &path, e))?;
    if created {
        // A new file's directory entry is durable only once the directory is synced.
        atomic::sync_dir(dir)?;
    }
    Ok(())
}

/// Opens the log for appending, creating it (0600, `O_EXCL`) when there is
/// none; says whether it was created.
fn open_log(path: &Path) -> Result<(File, bool), StoreError> {
    let existing = atomic::open_regular(path, OpenOptions::new().append(true), false);
    match existing {
        Ok(file) => return Ok((file, false)),
        Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into_store_error("open", path)),
    }
    let mut create = OpenOptions::new();
    create.append(true).create_new(true).mode(FILE_MODE);
    match atomic::open_regular(path, &mut create, false) {
        Ok(file) => Ok((file, true)),
        // Another writer created it in between: append to theirs.
        Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::AlreadyExists => {
            atomic::open_regular(path, OpenOptions::new().append(true), false)
                .map(|f| (f, false))
                .map_err(|e| e.into_store_error("open", path))
        }
        Err(e) => Err(e.into_store_error("create", path)),
    }
}
