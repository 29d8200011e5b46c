//! The file backend, the default: one file per workspace and record in the
//! store directory (`<workspace>.conn`, `.rotated`, `.rotation`,
//! `.disconnected`, `.workspace`) and the audit log `audit.log`. Every write
//! is atomic and durable (temp file, fsync, rename, fsync of the directory),
//! every file is 0600, and nothing is followed or opened that is not a
//! regular file.
//!
//! - `atomic`: durable file operations, and reads that refuse links and pipes.
//! - `safety`: whether the directory and key file can be trusted ([`StoreWarning`]).
//!
//! Its calls do blocking file I/O (and fsync): async callers run them on
//! tokio's blocking pool (see `actions`).

pub(crate) mod atomic;
pub(crate) mod safety;

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub use safety::StoreWarning;

use super::{AuditEntry, MAX_RECORD_LEN, Place, Slot, StoreError};
use atomic::{Contents, FILE_MODE, OpenError};

/// File name of the audit log inside the store directory.
pub const AUDIT_LOG: &str = "audit.log";
/// Suffix given to a connection file that could not be read when
/// `disconnect` set it aside.
pub const SET_ASIDE_SUFFIX: &str = ".unreadable";

/// The store directory.
#[derive(Debug, Clone)]
pub(crate) struct FileBackend {
    dir: PathBuf,
}

impl FileBackend {
    /// Creates `dir` (0700) if missing and checks nobody else can change it.
    pub(crate) fn open(dir: &Path) -> Result<FileBackend, StoreError> {
        atomic::ensure_private_dir(dir)?;
        // Checked after creating: an existing directory may be anyone's.
        safety::check_dir(dir)?;
        Ok(FileBackend { dir: dir.to_path_buf() })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of `slot` for `workspace` (a valid name, checked by the caller).
    pub(crate) fn place(&self, slot: Slot, workspace: &str) -> Place {
        Place::File(self.dir.join(format!("{workspace}{}", slot.suffix())))
    }

    /// The file's bytes, or `None` when there is none. A file over
    /// [`MAX_RECORD_LEN`] is not labwatch's and is an error.
    pub(crate) fn read(&self, slot: Slot, workspace: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.dir.join(format!("{workspace}{}", slot.suffix()));
        match atomic::read_bounded(&path, MAX_RECORD_LEN, false)? {
            None => Ok(None),
            Some(Contents::Bytes(b)) => Ok(Some(b)),
            Some(Contents::Oversized) => Err(super::cipher::format_error(
                &Place::File(path),
                format!("it is over {MAX_RECORD_LEN} bytes, far more than labwatch writes"),
            )),
        }
    }

    pub(crate) fn write(&self, slot: Slot, workspace: &str, bytes: &[u8]) -> Result<(), StoreError> {
        atomic::write_atomic(&self.dir, &format!("{workspace}{}", slot.suffix()), bytes)
    }

    /// Removes the file (and fsyncs the directory). Ok if absent.
    pub(crate) fn delete(&self, slot: Slot, workspace: &str) -> Result<(), StoreError> {
        atomic::remove_durable(&self.dir, &format!("{workspace}{}", slot.suffix()))
    }

    /// The workspaces that have a file of `slot`, by name; files whose name
    /// is not a workspace name are not ours and are skipped.
    pub(crate) fn names(&self, slot: Slot) -> Result<Vec<String>, StoreError> {
        let mut names: Vec<String> = self
            .file_names()?
            .into_iter()
            .filter_map(|f| f.strip_suffix(slot.suffix()).map(str::to_owned))
            .filter(|n| super::valid_workspace(n))
            .collect();
        names.sort();
        Ok(names)
    }

    /// Moves the connection file out of the way (to
    /// `<workspace>.conn.unreadable`, or with a timestamp when that exists).
    /// Links and pipes are moved, never followed or opened.
    pub(crate) fn set_aside(&self, workspace: &str) -> Result<Option<Place>, StoreError> {
        let name = format!("{workspace}{}", Slot::Connection.suffix());
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
        Ok(Some(Place::File(to)))
    }

    /// Removes every file of `workspace`, the workspace record last (so a
    /// crash half-way leaves a workspace that can be deleted again, never a
    /// connection without its workspace). Returns the names removed.
    pub(crate) fn remove_workspace(&self, workspace: &str) -> Result<Vec<String>, StoreError> {
        let conn = format!("{workspace}{}", Slot::Connection.suffix());
        let aside = format!("{conn}{SET_ASIDE_SUFFIX}");
        let mut names: Vec<String> = [Slot::Marker, Slot::Rotated, Slot::Connection]
            .iter()
            .map(|s| format!("{workspace}{}", s.suffix()))
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
        names.push(format!("{workspace}{}", Slot::Disconnected.suffix()));
        names.push(format!("{workspace}{}", Slot::Workspace.suffix()));
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

    /// Appends `entry` to `audit.log` as one line and fsyncs it. The log is
    /// opened like every store file ([`atomic::open_regular`]): a link planted
    /// as `audit.log` is not followed (the daemon would append to any file it
    /// can write), a pipe does not block, and either is an error naming the path.
    pub(crate) fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let path = self.dir.join(AUDIT_LOG);
        let mut line = serde_json::to_vec(entry).map_err(|e| StoreError::Encode {
            at: Place::File(path.clone()),
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
            atomic::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Every line of the audit log, oldest first (`store migrate` copies
    /// them). A line that does not parse is an error naming its number.
    pub(crate) fn audit_entries(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let path = self.dir.join(AUDIT_LOG);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("read", &path, e)),
        };
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, line)| {
                serde_json::from_str(line).map_err(|e| StoreError::Format {
                    at: Place::File(path.clone()),
                    problem: format!("line {} is not an audit entry ({e})", n + 1),
                    fix: "repair or remove that line; labwatch only appends to the audit log",
                })
            })
            .collect()
    }
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
