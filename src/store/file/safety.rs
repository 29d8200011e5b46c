//! Whether the store's directory and key file can be trusted, checked
//! without changing anything: [`crate::store::ConnectionStore::inspect`] reports
//! it for `config check` and the start-up preflight, and
//! [`crate::store::ConnectionStore::open`] refuses the same things.
//!
//! The rules, and why:
//! - the store directory must be a directory owned by the user labwatch runs
//!   as, and writable by nobody else: whoever can write there can plant a
//!   link or a pipe under a store file's name, or replace a connection;
//! - the key file must be a regular file owned by that user (or root, who is
//!   trusted anyway: a key mounted by the system) and writable by nobody
//!   else; readable by others is only warned about, as before;
//! - a missing key file is created only when no connection file exists: a
//!   new key cannot read the old files, so creating it silently would make
//!   every stored connection unreadable.

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::atomic::{self, OpenError};
use crate::store::{Slot, StoreError};

/// Something about the store setup that works but should be fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreWarning {
    pub path: PathBuf,
    /// The problem and the command that fixes it.
    pub message: String,
}

impl fmt::Display for StoreWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.path.display(), self.message)
    }
}

/// The user labwatch runs as.
fn effective_uid() -> u32 {
    // SAFETY: geteuid takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks an existing store directory (a missing one is fine: `open`
/// creates it 0700). Follows a link to the directory: the people who
/// configure the path may point it anywhere; what is checked is the
/// directory the files land in.
pub(crate) fn check_dir(dir: &Path) -> Result<Vec<StoreWarning>, StoreError> {
    let meta = match fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("inspect", dir, e)),
    };
    let shown = dir.display();
    if !meta.is_dir() {
        return Err(StoreError::Unsafe {
            path: dir.to_path_buf(),
            problem: format!(
                "the store directory is a {}, not a directory",
                crate::files::kind_name(meta.file_type())
            ),
            fix: "move it away, or point [store] dir at a directory (labwatch creates it 0700)".to_owned(),
        });
    }
    let me = effective_uid();
    if meta.uid() != me {
        return Err(StoreError::Unsafe {
            path: dir.to_path_buf(),
            problem: format!(
                "the store directory is owned by uid {}, not by uid {me} that labwatch runs as, so that user can replace its files",
                meta.uid()
            ),
            fix: format!(
                "`chown {me} {shown} && chmod 700 {shown}`, or run labwatch as uid {}",
                meta.uid()
            ),
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(StoreError::Unsafe {
            path: dir.to_path_buf(),
            problem: format!(
                "the store directory has mode {mode:03o}: other users can create, replace or remove files in it \
                 (plant a link as audit.log, or a pipe as a connection file)"
            ),
            fix: format!("`chmod 700 {shown}`"),
        });
    }
    let mut warnings = Vec::new();
    if mode & 0o055 != 0 {
        warnings.push(StoreWarning {
            path: dir.to_path_buf(),
            message: format!(
                "the store directory has mode {mode:03o}: other users can list which workspaces are connected; run `chmod 700 {shown}`"
            ),
        });
    }
    Ok(warnings)
}

/// Checks the key file when it exists, on the descriptor it was opened as
/// (so the file checked is the file read). `Ok(None)`: there is none.
pub(crate) fn check_key_file(path: &Path) -> Result<Option<Vec<StoreWarning>>, StoreError> {
    // A key file may be a link (a mounted secret usually is); what it
    // points to must be a regular file.
    let file = match atomic::open_regular(path, OpenOptions::new().read(true), true) {
        Ok(f) => f,
        Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into_store_error("read the key file", path)),
    };
    let meta = file.metadata().map_err(|e| StoreError::io("inspect", path, e))?;
    let shown = path.display();
    let me = effective_uid();
    if meta.uid() != me && meta.uid() != 0 {
        return Err(StoreError::Unsafe {
            path: path.to_path_buf(),
            problem: format!(
                "the store key file is owned by uid {}, not by uid {me} that labwatch runs as (or root): that user can read every stored token",
                meta.uid()
            ),
            fix: format!("`chown {me} {shown} && chmod 600 {shown}`"),
        });
    }
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(StoreError::Unsafe {
            path: path.to_path_buf(),
            problem: format!("the store key file has mode {mode:03o}: other users can replace the key"),
            fix: format!("`chmod 600 {shown}`"),
        });
    }
    let mut warnings = Vec::new();
    if mode & 0o044 != 0 {
        warnings.push(StoreWarning {
            path: path.to_path_buf(),
            message: format!(
                "the store key file has mode {mode:03o}: other users can read it and decrypt every stored token; run `chmod 600 {shown}`"
            ),
        });
    }
    Ok(Some(warnings))
}

/// The `<workspace>.conn` and `.rotated` files in `dir` (none when it does
/// not exist), sorted: the files a new key would make unreadable.
pub(crate) fn connection_files(dir: &Path) -> Result<Vec<String>, StoreError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("list", dir, e)),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io("list", dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            if (name.ends_with(Slot::Connection.suffix()) || name.ends_with(Slot::Rotated.suffix()))
                && !name.starts_with('.')
            {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}
