//! What can go wrong in the store. Each variant says what happened and what
//! to do about it, and none of them ever carries a token or a key.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where the store keeps a record: a file of the file store, or a row of the
/// PostgreSQL store. Shown in errors, so that the person fixing it knows
/// what to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    File(PathBuf),
    Row { table: &'static str, workspace: String },
}

impl Place {
    /// "file" or "row", for the sentences that tell what to do with it.
    pub fn noun(&self) -> &'static str {
        match self {
            Place::File(_) => "file",
            Place::Row { .. } => "row",
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::File(path) => write!(f, "`{}`", path.display()),
            Place::Row { table, workspace } => write!(f, "the row of workspace `{workspace}` in table `{table}`"),
        }
    }
}

impl From<PathBuf> for Place {
    fn from(path: PathBuf) -> Place {
        Place::File(path)
    }
}

impl From<&std::path::Path> for Place {
    fn from(path: &std::path::Path) -> Place {
        Place::File(path.to_path_buf())
    }
}

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
    /// The AEAD tag did not verify: wrong key, or the file or row (or its
    /// workspace or instance, which the associated data binds) was changed.
    #[error(
        "cannot decrypt {at}: either the store key is not the one this {noun} was written with, \
         or the {noun} was altered (corrupted, tampered with, or its workspace or instance_url edited). \
         labwatch leaves the {noun} as it is. Fix: restore the right key_file or LABWATCH_STORE_KEY, \
         or remove the {noun} and connect the workspace again",
        noun = at.noun()
    )]
    Decrypt { at: Place },
    /// The file or row is not what labwatch writes (not JSON, unknown version, bad base64 …).
    #[error("{at} is not a valid labwatch store {noun}: {problem}. labwatch leaves it as it is; {fix}", noun = at.noun())]
    Format {
        at: Place,
        problem: String,
        fix: &'static str,
    },
    /// A connection names another workspace than the one it is stored under.
    #[error(
        "{at} holds the connection of workspace `{found}`, not `{expected}`: it was copied or renamed. \
         labwatch leaves it as it is. Put it back under `{found}`, or remove it and connect `{expected}` again"
    )]
    WorkspaceMismatch { at: Place, expected: String, found: String },
    /// A workspace name that could escape the store directory or is not a valid name.
    #[error(
        "invalid workspace name `{name}`: it must be 1-63 characters of a-z, 0-9, `-` or `_`, \
         starting with a letter or digit"
    )]
    InvalidWorkspace { name: String },
    /// Serialising or encrypting failed; nothing was written.
    #[error("could not encode the data for {at}: {problem}; nothing was written")]
    Encode { at: Place, problem: String },
    /// Something other than a regular file (a link, a FIFO, a directory …)
    /// sits where the store keeps a file. It is neither followed nor read.
    #[error(
        "`{}` is a {kind}, not a regular file: labwatch does not follow links or read pipes and devices in its store, \
         because someone could plant them to make it read or write other files or hang. \
         Fix: move it away (`mv {} {}.suspect`) and look at who put it there; for a connection file, \
         `labwatch disconnect` sets it aside for you",
        path.display(), path.display(), path.display()
    )]
    NotRegular { path: PathBuf, kind: &'static str },
    /// The store directory or key file could be changed by other users, or is
    /// not what it should be; labwatch refuses to use it.
    #[error("refusing to use `{}`: {problem}. Fix: {fix}", path.display())]
    Unsafe {
        path: PathBuf,
        problem: String,
        fix: String,
    },
    /// The key file is missing while connection files exist: a new key could
    /// not read them, so none is created.
    #[error(
        "the store key file `{}` does not exist, but the store directory `{}` holds {} connection file(s) ({}) \
         encrypted with a key: a new key could not read them, so labwatch does not create one. \
         Fix: restore the key file from backup (or set LABWATCH_STORE_KEY to the key), \
         or move the .conn files away to start over (`mkdir -p {}/old && mv {}/*.conn {}/old/`) \
         and connect the workspaces again",
        key_file.display(), dir.display(), files.len(), files.join(", "),
        dir.display(), dir.display(), dir.display()
    )]
    MissingKey {
        key_file: PathBuf,
        dir: PathBuf,
        files: Vec<String>,
    },
    /// What would be written is larger than the reader accepts; nothing was written.
    #[error(
        "refusing to write {at}: it would be {len} bytes, over the {limit} bytes labwatch reads back \
         (a field GitLab sent, such as the token's scope list, is far larger than any real token's). \
         Nothing was written; the stored {noun} is unchanged",
        noun = at.noun()
    )]
    TooLarge { at: Place, len: usize, limit: u64 },
    /// The PostgreSQL store could not be reached, or refused a statement.
    /// `retryable`: the same call can succeed later unchanged (the server is
    /// down or restarting, the pool is exhausted, a serialisation conflict);
    /// nothing was written either way, because every write is one
    /// transaction.
    #[error("the PostgreSQL store could not {action}: {problem}. {fix}")]
    Database {
        action: &'static str,
        problem: String,
        retryable: bool,
        fix: &'static str,
    },
    /// The database's schema is newer than this labwatch knows: a newer
    /// labwatch migrated it. Writing to it could corrupt what that version
    /// keeps, so this one refuses to start.
    #[error(
        "the PostgreSQL store's schema is at version {found}, newer than the {known} this labwatch knows: \
         {binary} migrated it. Fix: run {binary} or later on this database \
         (labwatch never downgrades a schema)"
    )]
    SchemaTooNew { found: i32, known: i32, binary: String },
    /// A command that changes nothing (`labwatch check`) found the schema
    /// older than this labwatch's: it does not migrate it, so it does not
    /// use the store.
    #[error(
        "the PostgreSQL store's schema is at version {found} and this labwatch uses version {known}; \
         a command that only reads does not migrate it. Fix: start the daemon (`labwatch run`), which applies the migrations"
    )]
    SchemaBehind { found: i32, known: i32 },
    /// A write on a workspace's behalf by a replica whose lease on it no
    /// longer holds (it was paused past it, and another replica owns the
    /// workspace now): refused, nothing written.
    #[error(
        "this replica no longer holds the lease of workspace `{workspace}` (another replica owns it now), \
         so it wrote nothing for it; its owner does what is due"
    )]
    Fenced { workspace: String },
    /// A store call on the blocking pool ended without an answer (it
    /// panicked, or the daemon is shutting down).
    #[error(
        "a call to the store ended without an answer ({problem}); retry, and if it happens again, read the daemon's log"
    )]
    Interrupted { problem: String },
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed: {message}; nothing was written")]
    Random { message: String },
}

impl StoreError {
    /// The file at hand is there but can never be read as it is (wrong key,
    /// damaged, too large, not a regular file): retrying will not help, a
    /// person must restore or remove it. An I/O error is not such a case.
    pub fn is_unreadable_file(&self) -> bool {
        matches!(
            self,
            StoreError::Decrypt { .. }
                | StoreError::Format { .. }
                | StoreError::WorkspaceMismatch { .. }
                | StoreError::NotRegular { .. }
        )
    }

    /// The store is out of reach for now (PostgreSQL down, restarting, or
    /// its pool exhausted): the call can be retried as it is.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database { retryable: true, .. })
    }

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
