//! What can go wrong in the store. Each variant says what happened and what
//! to do about it, and none of them ever carries a token or a key.

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system call failed; `action` is a verb phrase ("read", "create directory").
    #[error("could not {action} `{}`: {source}{}", path.display(), io_hint(source))]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The store key could not be read, parsed or created. `origin` names where
    /// it came from (`LABWATCH_STORE_KEY` or the key file); `problem` ends with the fix.
    #[error("store key from {origin}: {problem}")]
    Key { origin: String, problem: String },
    /// The AEAD tag did not verify: wrong key, or the file (or its workspace or
    /// instance, which the associated data binds) was changed.
    #[error(
        "cannot decrypt `{}`: either the store key is not the one this file was written with, \
         or the file was altered (corrupted, tampered with, or its workspace or instance_url edited). \
         labwatch leaves the file as it is. Fix: restore the right key_file or LABWATCH_STORE_KEY, \
         or remove the file and connect the workspace again",
        path.display()
    )]
    Decrypt { path: PathBuf },
    /// The file is not what labwatch writes (not JSON, unknown version, bad base64 …).
    #[error("`{}` is not a valid labwatch store file: {problem}. labwatch leaves it as it is; {fix}", path.display())]
    Format {
        path: PathBuf,
        problem: String,
        fix: &'static str,
    },
    /// A connection file names another workspace than the one it is stored under.
    #[error(
        "`{}` holds the connection of workspace `{found}`, not `{expected}`: it was copied or renamed. \
         labwatch leaves it as it is. Move it back to `{found}.conn`, or remove it and connect `{expected}` again",
        path.display()
    )]
    WorkspaceMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// A workspace name that could escape the store directory or is not a valid name.
    #[error(
        "invalid workspace name `{name}`: it must be 1-63 characters of a-z, 0-9, `-` or `_`, \
         starting with a letter or digit"
    )]
    InvalidWorkspace { name: String },
    /// Serialising or encrypting failed; nothing was written.
    #[error("could not encode the data for `{}`: {problem}; nothing was written", path.display())]
    Encode { path: PathBuf, problem: String },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {message}; nothing was written")]
    Random { message: String },
}

impl StoreError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>, source: io::Error) -> StoreError {
        StoreError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A sentence that turns the commonest io errors into a next step.
fn io_hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::PermissionDenied => {
            " — check that the user running labwatch owns the store directory and the key file"
        }
        io::ErrorKind::StorageFull => " — the disk is full; free some space",
        io::ErrorKind::ReadOnlyFilesystem => " — the file system is read-only; point [store] dir at a writable place",
        _ => "",
    }
}
