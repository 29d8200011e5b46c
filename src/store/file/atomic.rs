//! Durable file operations: private directories, atomic replace (temp file in
//! the same directory, fsync, rename, fsync of the directory), removal that is
//! itself made durable, and bounded reads of the store's files that never
//! follow a planted link and never block on a planted FIFO.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroize;

use super::StoreError;

/// Mode of every file the store writes: the owner alone reads them.
pub(crate) const FILE_MODE: u32 = 0o600;
/// Mode of directories the store creates.
pub(crate) const DIR_MODE: u32 = 0o700;
/// Prefix of temp files, so a person who finds one after a crash knows whose it is.
pub(crate) const TEMP_PREFIX: &str = ".labwatch-";

/// Creates `dir` (and missing parents) with mode 0700; an existing one is left as it is.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), StoreError> {
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(|e| StoreError::io("create directory", dir, e))
}

/// Replaces `dir/name` with `bytes` so that a crash leaves either the old or
/// the new content, never a mix, and the new content is on disk on return.
pub(crate) fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
    let target = dir.join(name);
    // The temp file is deleted on drop, so an error on any step leaves nothing behind.
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| StoreError::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .map_err(|e| StoreError::io("write", tmp.path().to_path_buf(), e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| StoreError::io("fsync", tmp.path().to_path_buf(), e))?;
    tmp.persist(&target)
        .map_err(|e| StoreError::io("rename a temporary file to", &target, e.error))?;
    sync_dir(dir)
}

/// Writes `bytes` to a new file `path`, failing with `AlreadyExists` when
/// something is there: used for the key file, which must never be replaced.
pub(crate) fn create_new_durable(path: &Path, bytes: &[u8]) -> Result<(), CreateError> {
    let dir = parent_dir(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(".tmp")
        .permissions(Permissions::from_mode(FILE_MODE))
        .tempfile_in(dir)
        .map_err(|e| CreateError::Other(StoreError::io("create a temporary file in", dir, e)))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| CreateError::Other(StoreError::io("write", tmp.path().to_path_buf(), e)))?;
    match tmp.persist_noclobber(path) {
        Ok(_) => {}
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => return Err(CreateError::Exists),
        Err(e) => return Err(CreateError::Other(StoreError::io("create", path, e.error))),
    }
    sync_dir(dir).map_err(CreateError::Other)
}

pub(crate) enum CreateError {
    /// Another process created the file first.
    Exists,
    Other(StoreError),
}

/// Removes `dir/name` durably; an absent file is fine.
pub(crate) fn remove_durable(dir: &Path, name: &str) -> Result<(), StoreError> {
    let path = dir.join(name);
    match std::fs::remove_file(&path) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io("remove", path, e)),
    }
}

/// Makes renames and removals in `dir` durable (POSIX needs the directory fsynced too).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io("fsync directory", dir, e))
}

/// Reads `path` (`None` when it does not exist), at most `limit` bytes:
/// the store's files are small, and a huge one is a mistake to report, not
/// to load. The file is opened with [`open_regular`], so a symbolic link is
/// refused (`follow` false) and a FIFO or device never blocks the reader.
pub(crate) fn read_bounded(path: &Path, limit: u64, follow: bool) -> Result<Option<Contents>, StoreError> {
    let file = match open_regular(path, OpenOptions::new().read(true), follow) {
        Ok(f) => f,
        Err(OpenError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into_store_error("read", path)),
    };
    let mut bytes = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "too long".
    if let Err(e) = (&file).take(limit + 1).read_to_end(&mut bytes) {
        bytes.zeroize();
        return Err(StoreError::io("read", path, e));
    }
    if bytes.len() as u64 > limit {
        bytes.zeroize();
        return Ok(Some(Contents::Oversized));
    }
    Ok(Some(Contents::Bytes(bytes)))
}

/// Opens `path` with `options` plus `O_NONBLOCK` (a FIFO planted in the
/// store would otherwise block the opening thread until a writer comes),
/// `O_CLOEXEC` and, unless `follow`, `O_NOFOLLOW` (a planted link would
/// otherwise make labwatch read or append to any file it can reach); then
/// requires, through `fstat` on the opened descriptor (no race with a swap
/// of the path), a regular file.
pub(crate) fn open_regular(path: &Path, options: &mut OpenOptions, follow: bool) -> Result<File, OpenError> {
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if !follow {
        flags |= libc::O_NOFOLLOW;
    }
    let file = options.custom_flags(flags).open(path).map_err(|e| {
        // O_NOFOLLOW on a link fails with ELOOP.
        if !follow && e.raw_os_error() == Some(libc::ELOOP) {
            OpenError::NotRegular("symbolic link")
        } else if e.raw_os_error() == Some(libc::ENXIO) {
            // Opening a FIFO without a reader for writing, with O_NONBLOCK,
            // fails with ENXIO (no descriptor to fstat): say what is there.
            let kind = std::fs::metadata(path).map_or("special file", |m| crate::files::kind_name(m.file_type()));
            OpenError::NotRegular(kind)
        } else {
            OpenError::Io(e)
        }
    })?;
    let kind = file.metadata().map_err(OpenError::Io)?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(OpenError::NotRegular(crate::files::kind_name(kind)))
    }
}

/// Why [`open_regular`] failed.
#[derive(Debug)]
pub(crate) enum OpenError {
    Io(io::Error),
    /// Something other than a regular file is at the path; says what.
    NotRegular(&'static str),
}

impl OpenError {
    pub(crate) fn into_store_error(self, action: &'static str, path: &Path) -> StoreError {
        match self {
            OpenError::Io(e) => StoreError::io(action, path, e),
            OpenError::NotRegular(kind) => StoreError::NotRegular {
                path: path.to_path_buf(),
                kind,
            },
        }
    }
}

/// What [`read_bounded`] found.
pub(crate) enum Contents {
    Bytes(Vec<u8>),
    Oversized,
}

/// The directory a file lives in; `""` (a bare file name) means the current one.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
