//! The encrypted connection store (`docs/admin-api.md`, "The store"): one file per workspace in the
//! store directory, holding its GitLab connection encrypted with
//! XChaCha20-Poly1305 under the store key; a pending-rotation marker per
//! workspace (and, when a rotated connection could not be saved as `.conn`,
//! the same encrypted connection as `.rotated`); and the audit log. Every
//! write is atomic and durable (temp file, fsync, rename, fsync of the
//! directory), every file is 0600, and a file that does not decrypt is an
//! error that leaves the file as it is.
//!
//! - `key`: the store key (`LABWATCH_STORE_KEY` or the key file).
//! - `cipher`: the envelope format and the AEAD.
//! - `connection`: [`StoredConnection`] and its plaintext form.
//! - `marker`: [`RotationMarker`].
//! - `disconnect_record`: [`DisconnectRecord`], so a disconnect outlives the bootstrap
//!   `token_file`.
//! - `workspace_record`: [`WorkspaceRecord`], a workspace created at run time.
//! - `audit`: [`AuditEntry`] and the append-only log.
//! - `atomic`: durable file operations, and reads that refuse links and pipes.
//! - `safety`: whether the directory and key file can be trusted ([`StoreWarning`]).
//! - `error`: [`StoreError`].
//!
//! The store trusts nothing it reads: every file is opened with `O_NOFOLLOW`
//! and `O_NONBLOCK` and must be a regular file of at most [`MAX_FILE_LEN`]
//! bytes, and it writes nothing it would refuse to read back. Its calls do
//! blocking file I/O (and fsync): async callers run them on tokio's blocking
//! pool (see `actions`).

mod atomic;
mod audit;
mod cipher;
mod connection;
mod disconnect_record;
mod error;
mod key;
mod marker;
mod safety;
mod workspace_record;

use std::fmt;
use std::path::{Path, PathBuf};

pub use audit::{Actor, AuditAction, AuditEntry, AuditResult};
pub use connection::StoredConnection;
pub use disconnect_record::DisconnectRecord;
pub use error::StoreError;
pub use key::{KEY_ENV, Key};
pub use marker::RotationMarker;
pub use safety::StoreWarning;
pub use workspace_record::WorkspaceRecord;

use atomic::Contents;
use cipher::Cipher;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Suffix of a workspace's connection file.
pub const CONNECTION_SUFFIX: &str = ".conn";
/// Suffix of a workspace's pending-rotation marker.
pub const MARKER_SUFFIX: &str = ".rotation";
/// Suffix of a rotated connection whose `.conn` write failed
/// ([`ConnectionStore::save_rotated`]).
pub const ROTATED_SUFFIX: &str = ".rotated";
/// Suffix of a workspace's disconnect record.
pub const DISCONNECTED_SUFFIX: &str = ".disconnected";
/// Suffix of the record of a workspace created at run time.
pub const WORKSPACE_SUFFIX: &str = ".workspace";

/// Store files are a few KiB; a bigger one is not ours and is not loaded,
/// and [`ConnectionStore::save`] refuses to write one.
pub const MAX_FILE_LEN: u64 = 1024 * 1024;
/// Suffix given to a connection file that could not be read when
/// `disconnect` set it aside ([`ConnectionStore::set_aside`]).
pub const SET_ASIDE_SUFFIX: &str = ".unreadable";

const FIX_DISCONNECTED: &str = "it records that the workspace was disconnected: remove the file to let the \
     config's token_file count again, or connect the workspace";

const FIX_WORKSPACE: &str = "it records a workspace created through the admin API: fix the JSON, or remove the \
     workspace (`labwatch workspaces delete`), which removes the file";

const FIX_MARKER: &str = "it records a rotation that did not finish: check the workspace's token in GitLab, \
     then remove the file (or reconnect the workspace)";

/// The store directory and the cipher made from the store key. Cheap to
/// clone; `Debug` shows the directory only.
#[derive(Clone)]
pub struct ConnectionStore {
    /// Where `<workspace>.conn`, `<workspace>.rotation` and `audit.log` live.
    dir: PathBuf,
    /// Holds a copy of the key, wiped on drop.
    cipher: Cipher,
}

impl fmt::Debug for ConnectionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionStore")
            .field("dir", &self.dir)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl ConnectionStore {
    /// Opens (creating `dir` 0700 if missing) with the key from
    /// `LABWATCH_STORE_KEY` (64 hex chars or base64 of 32 bytes) if set and not
    /// empty, else from `key_file`, which is created with 32 random bytes and
    /// mode 0600 (parent dirs created) when missing and no connection file
    /// exists. Refuses everything [`ConnectionStore::inspect`] refuses, and
    /// logs its warnings. A key file of the wrong size or format is an error
    /// and is never overwritten.
    pub fn open(dir: &Path, key_file: &Path) -> Result<ConnectionStore, StoreError> {
        for warning in ConnectionStore::inspect(dir, key_file)? {
            tracing::warn!(path = %warning.path.display(), "{}", warning.message);
        }
        let key = Key::from_env_or_file(key_file)?;
        ConnectionStore::from_key(dir, &key)
    }

    /// Checks the store setup that [`ConnectionStore::open`] would use,
    /// without creating, changing or decrypting anything, so `config check`
    /// and the daemon's start-up preflight report what `run` would refuse.
    ///
    /// Contract:
    /// - `Err` is the error `open` refuses with for the same files: the store
    ///   directory not a directory, not owned by the user labwatch runs as,
    ///   or writable by group or others; the key (`LABWATCH_STORE_KEY` when
    ///   set and not empty, else `key_file`) malformed, not a regular file,
    ///   owned by another user than labwatch's or root, or writable by group
    ///   or others; `key_file` missing while `dir` holds `.conn` files.
    /// - `Ok(warnings)`: `open` would succeed unless something changes in
    ///   between or the operating system refuses to create what is missing
    ///   (the directory, the key file) or to give random bytes. Warnings are
    ///   what works but should be fixed (a key file others can read).
    /// - A missing directory or key file (without `.conn` files) is fine:
    ///   `open` creates them privately.
    /// - It never reads the connection files' contents: whether each one
    ///   decrypts is the token check's finding, per workspace.
    pub fn inspect(dir: &Path, key_file: &Path) -> Result<Vec<StoreWarning>, StoreError> {
        let mut warnings = safety::check_dir(dir)?;
        if key::from_env().transpose()?.is_some() {
            return Ok(warnings);
        }
        match safety::check_key_file(key_file)? {
            Some(found) => {
                warnings.extend(found);
                // Parsed as `open` parses it, so a malformed key is reported here too.
                key::read_key_file(key_file)?;
            }
            None => {
                let files = safety::connection_files(dir)?;
                if !files.is_empty() {
                    return Err(StoreError::MissingKey {
                        key_file: key_file.to_path_buf(),
                        dir: dir.to_path_buf(),
                        files,
                    });
                }
            }
        }
        Ok(warnings)
    }

    /// Same, with the key given (tests).
    pub fn with_key(dir: &Path, key: [u8; 32]) -> Result<ConnectionStore, StoreError> {
        ConnectionStore::from_key(dir, &Key::from_bytes(key))
    }

    /// Same, with a parsed key (see [`Key::parse`]).
    pub fn from_key(dir: &Path, key: &Key) -> Result<ConnectionStore, StoreError> {
        atomic::ensure_private_dir(dir)?;
        // Checked after creating: an existing directory may be anyone's.
        safety::check_dir(dir)?;
        Ok(ConnectionStore {
            dir: dir.to_path_buf(),
            cipher: Cipher::new(key),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of `workspace`'s connection file (it may not exist).
    pub fn connection_path(&self, workspace: &str) -> Result<PathBuf, StoreError> {
        Ok(self.dir.join(file_name(workspace, CONNECTION_SUFFIX)?))
    }

    /// The connection of `workspace`, or `None` when there is no file. A file
    /// that is unreadable, malformed, for another workspace or does not
    /// decrypt is an error, and the file is left as it is.
    pub fn load(&self, workspace: &str) -> Result<Option<StoredConnection>, StoreError> {
        self.load_from(workspace, CONNECTION_SUFFIX)
    }

    /// A rotated connection that [`ConnectionStore::save`] refused, saved
    /// beside it by [`ConnectionStore::save_rotated`]; read like `load`.
    pub fn load_rotated(&self, workspace: &str) -> Result<Option<StoredConnection>, StoreError> {
        self.load_from(workspace, ROTATED_SUFFIX)
    }

    fn load_from(&self, workspace: &str, suffix: &str) -> Result<Option<StoredConnection>, StoreError> {
        let path = self.dir.join(file_name(workspace, suffix)?);
        let Some(bytes) = read_file(&path)? else {
            return Ok(None);
        };
        let (instance_url, plaintext) = self.cipher.open(&path, workspace, &bytes)?;
        let conn = StoredConnection::from_plaintext(&plaintext).map_err(|p| cipher::format_error(&path, p))?;
        // The AD already binds both; a mismatch here means a bug, not an attack, but never use such a file.
        if conn.workspace != workspace || conn.instance_url != instance_url {
            return Err(cipher::format_error(
                &path,
                "the encrypted connection names another workspace or instance than its envelope".to_owned(),
            ));
        }
        Ok(Some(conn))
    }

    /// Writes `conn` atomically: temp file in the same dir (0600), write,
    /// fsync, rename, fsync of the directory. A connection that would be
    /// refused when read back (over [`MAX_FILE_LEN`]) is refused here, and
    /// the file on disk is left as it was.
    pub fn save(&self, conn: &StoredConnection) -> Result<(), StoreError> {
        let (name, bytes) = self.encode(conn, CONNECTION_SUFFIX)?;
        atomic::write_atomic(&self.dir, &name, &bytes)
    }

    /// Saves a rotated connection that [`ConnectionStore::save`] refused
    /// (GitLab has revoked the old token by then) as `<workspace>.rotated`,
    /// encrypted the same way, so that the new token outlives a restart until
    /// the `.conn` write succeeds. A small file beside the one that failed:
    /// it succeeds where that failure was about the `.conn` path itself.
    pub fn save_rotated(&self, conn: &StoredConnection) -> Result<(), StoreError> {
        let (name, bytes) = self.encode(conn, ROTATED_SUFFIX)?;
        atomic::write_atomic(&self.dir, &name, &bytes)
    }

    /// Removes `workspace`'s `.rotated` file (and fsyncs the directory). Ok if absent.
    pub fn clear_rotated(&self, workspace: &str) -> Result<(), StoreError> {
        atomic::remove_durable(&self.dir, &file_name(workspace, ROTATED_SUFFIX)?)
    }

    /// Whether [`ConnectionStore::save`] would accept `conn`, without
    /// writing anything: actions ask before a step that cannot be undone
    /// (a rotation), so the store's refusal comes before it.
    pub fn check_storable(&self, conn: &StoredConnection) -> Result<(), StoreError> {
        self.encode(conn, CONNECTION_SUFFIX).map(|_| ())
    }

    /// The file name and the bytes `save` writes for `conn`.
    fn encode(&self, conn: &StoredConnection, suffix: &str) -> Result<(String, Vec<u8>), StoreError> {
        let name = file_name(&conn.workspace, suffix)?;
        let path = self.dir.join(&name);
        let plaintext = conn.to_plaintext().map_err(|e| StoreError::Encode {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        let bytes = self
            .cipher
            .seal(&path, &conn.workspace, &conn.instance_url, &plaintext)?;
        fits(&path, &bytes)?;
        Ok((name, bytes))
    }

    /// Moves `workspace`'s connection file, which could not be read, out of
    /// the way (to `<workspace>.conn.unreadable`, or with a timestamp when
    /// that exists), so the workspace can be connected again and nothing is
    /// deleted: with the right key it may still be read. Returns where it
    /// went; `None` when there was no file. Links and pipes are moved, never
    /// followed or opened.
    pub fn set_aside(&self, workspace: &str) -> Result<Option<PathBuf>, StoreError> {
        let name = file_name(workspace, CONNECTION_SUFFIX)?;
        let from = self.dir.join(&name);
        if std::fs::symlink_metadata(&from).is_err() {
            return Ok(None);
        }
        let mut to = self.dir.join(format!("{name}{SET_ASIDE_SUFFIX}"));
        if std::fs::symlink_metadata(&to).is_ok() {
            let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos();
            to = self.dir.join(format!("{name}{SET_ASIDE_SUFFIX}-{now}"));
        }
        std::fs::rename(&from, &to).map_err(|e| StoreError::io("set aside", &from, e))?;
        atomic::sync_dir(&self.dir)?;
        Ok(Some(to))
    }

    /// Removes `workspace`'s connection file (and fsyncs the directory). Ok if absent.
    pub fn remove(&self, workspace: &str) -> Result<(), StoreError> {
        atomic::remove_durable(&self.dir, &file_name(workspace, CONNECTION_SUFFIX)?)
    }

    /// Records a pending rotation, with the same atomic write as [`ConnectionStore::save`].
    pub fn write_marker(&self, marker: &RotationMarker) -> Result<(), StoreError> {
        self.write_record(&marker.workspace, MARKER_SUFFIX, marker)
    }

    /// The pending rotation of `workspace`, or `None`. A malformed marker is
    /// an error and is left as it is: it may be the only trace of a lost token.
    pub fn read_marker(&self, workspace: &str) -> Result<Option<RotationMarker>, StoreError> {
        self.read_record(
            workspace,
            MARKER_SUFFIX,
            "rotation marker",
            FIX_MARKER,
            |m: &RotationMarker| &m.workspace,
        )
    }

    /// Removes `workspace`'s marker (and fsyncs the directory). Ok if absent.
    pub fn clear_marker(&self, workspace: &str) -> Result<(), StoreError> {
        atomic::remove_durable(&self.dir, &file_name(workspace, MARKER_SUFFIX)?)
    }

    /// Records a disconnect, with the same atomic write as [`ConnectionStore::save`].
    pub fn write_disconnected(&self, record: &DisconnectRecord) -> Result<(), StoreError> {
        self.write_record(&record.workspace, DISCONNECTED_SUFFIX, record)
    }

    /// How `workspace` was disconnected, or `None`. A malformed record is an
    /// error and is left as it is: ignoring it could reconnect the workspace.
    pub fn read_disconnected(&self, workspace: &str) -> Result<Option<DisconnectRecord>, StoreError> {
        self.read_record(
            workspace,
            DISCONNECTED_SUFFIX,
            "disconnect record",
            FIX_DISCONNECTED,
            |d: &DisconnectRecord| &d.workspace,
        )
    }

    /// Removes `workspace`'s disconnect record (and fsyncs the directory).
    /// Ok if absent.
    pub fn clear_disconnected(&self, workspace: &str) -> Result<(), StoreError> {
        atomic::remove_durable(&self.dir, &file_name(workspace, DISCONNECTED_SUFFIX)?)
    }

    /// Records a workspace created at run time, with the same atomic write
    /// (and size cap) as [`ConnectionStore::save`].
    pub fn save_workspace(&self, record: &WorkspaceRecord) -> Result<(), StoreError> {
        self.write_record(&record.workspace, WORKSPACE_SUFFIX, record)
    }

    /// The run-time record of `workspace`, or `None`.
    pub fn load_workspace(&self, workspace: &str) -> Result<Option<WorkspaceRecord>, StoreError> {
        self.read_record(
            workspace,
            WORKSPACE_SUFFIX,
            "workspace record",
            FIX_WORKSPACE,
            |r: &WorkspaceRecord| &r.workspace,
        )
    }

    /// Every run-time workspace record, by name: each one read, or the
    /// error that names the file that could not be (it is left as it is).
    /// Files whose name is not a workspace name are not ours and are
    /// skipped.
    pub fn list_workspaces(&self) -> Result<Vec<ListedRecord>, StoreError> {
        let mut names: Vec<String> = self
            .file_names()?
            .into_iter()
            .filter_map(|f| f.strip_suffix(WORKSPACE_SUFFIX).map(str::to_owned))
            .filter(|n| valid_workspace(n))
            .collect();
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| {
                let record = self.load_workspace(&name).and_then(|r| {
                    // Listed a moment ago: gone now means removed in between.
                    r.ok_or_else(|| {
                        StoreError::io(
                            "read",
                            self.dir.join(format!("{name}{WORKSPACE_SUFFIX}")),
                            std::io::ErrorKind::NotFound.into(),
                        )
                    })
                });
                (name, record)
            })
            .collect())
    }

    /// Removes every file the store has for `workspace`: its rotation
    /// marker, rotated and stored connections, the connection files set
    /// aside as unreadable, its disconnect record and, last, its workspace
    /// record (so a crash half-way leaves a workspace that can be deleted
    /// again, never a connection without its workspace). The audit log is
    /// append-only and keeps its lines. Returns the names removed.
    pub fn remove_workspace(&self, workspace: &str) -> Result<Vec<String>, StoreError> {
        let conn = file_name(workspace, CONNECTION_SUFFIX)?;
        let aside = format!("{conn}{SET_ASIDE_SUFFIX}");
        let mut names: Vec<String> = [MARKER_SUFFIX, ROTATED_SUFFIX, CONNECTION_SUFFIX]
            .iter()
            .map(|s| format!("{workspace}{s}"))
            .collect();
        // Set-aside files carry a timestamp when one was there already: the
        // one place a workspace's files cannot be named without listing.
        let mut set_aside: Vec<String> = self
            .file_names()?
            .into_iter()
            .filter(|f| f.starts_with(&aside))
            .collect();
        set_aside.sort();
        names.extend(set_aside);
        names.push(format!("{workspace}{DISCONNECTED_SUFFIX}"));
        names.push(format!("{workspace}{WORKSPACE_SUFFIX}"));
        let mut removed = Vec::new();
        for name in names {
            if std::fs::symlink_metadata(self.dir.join(&name)).is_ok() {
                atomic::remove_durable(&self.dir, &name)?;
                removed.push(name);
            }
        }
        Ok(removed)
    }

    /// The names of the store directory's entries (not its temp files).
    fn file_names(&self) -> Result<Vec<String>, StoreError> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| StoreError::io("list", &self.dir, e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("list", &self.dir, e))?;
            if let Some(name) = entry.file_name().to_str().filter(|n| !n.starts_with('.')) {
                names.push(name.to_owned());
            }
        }
        Ok(names)
    }

    /// Writes one of the plain JSON records kept beside a connection (they
    /// hold no secret), atomically.
    fn write_record<T: Serialize>(&self, workspace: &str, suffix: &str, record: &T) -> Result<(), StoreError> {
        let name = file_name(workspace, suffix)?;
        let path = self.dir.join(&name);
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| StoreError::Encode {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        fits(&path, &bytes)?;
        atomic::write_atomic(&self.dir, &name, &bytes)
    }

    /// Reads such a record: `None` when there is no file; an error naming
    /// `what` it should be when it does not parse or belongs to another
    /// workspace (`owner` says whose it is).
    fn read_record<T: DeserializeOwned>(
        &self,
        workspace: &str,
        suffix: &str,
        what: &str,
        fix: &'static str,
        owner: impl Fn(&T) -> &str,
    ) -> Result<Option<T>, StoreError> {
        let path = self.dir.join(file_name(workspace, suffix)?);
        let Some(bytes) = read_file(&path)? else {
            return Ok(None);
        };
        let record: T = serde_json::from_slice(&bytes).map_err(|e| StoreError::Format {
            path: path.clone(),
            problem: format!("not a {what} ({e})"),
            fix,
        })?;
        if owner(&record) != workspace {
            return Err(StoreError::Format {
                path,
                problem: format!("it is the {what} of workspace `{}`", owner(&record)),
                fix,
            });
        }
        Ok(Some(record))
    }

    /// Appends one JSON line to `<dir>/audit.log` (0600, fsync after write).
    pub fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        audit::append(&self.dir, entry)
    }
}

/// A run-time workspace's name and its record, or why it cannot be read.
pub type ListedRecord = (String, Result<WorkspaceRecord, StoreError>);

/// The writer's side of [`read_file`]'s limit: what would not be read back is not written.
fn fits(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(StoreError::TooLarge {
            path: path.to_path_buf(),
            len: bytes.len(),
            limit: MAX_FILE_LEN,
        });
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
    match atomic::read_bounded(path, MAX_FILE_LEN, false)? {
        None => Ok(None),
        Some(Contents::Bytes(b)) => Ok(Some(b)),
        Some(Contents::Oversized) => Err(cipher::format_error(
            path,
            format!("it is over {MAX_FILE_LEN} bytes, far more than labwatch writes"),
        )),
    }
}

/// `<workspace><suffix>`, after checking the name is one config accepts
/// (`[a-z0-9][a-z0-9_-]{0,62}`), which also keeps it inside the directory.
fn file_name(workspace: &str, suffix: &str) -> Result<String, StoreError> {
    if !valid_workspace(workspace) {
        return Err(StoreError::InvalidWorkspace {
            name: workspace.to_owned(),
        });
    }
    Ok(format!("{workspace}{suffix}"))
}

fn valid_workspace(name: &str) -> bool {
    let mut bytes = name.bytes();
    let Some(first) = bytes.next() else {
        return false;
    };
    name.len() <= 63
        && (first.is_ascii_lowercase() || first.is_ascii_digit())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}
