//! Reading the files a person points labwatch at — the config, token files,
//! CA bundles, scenarios — and the store's own files, always with a size cap.
//!
//! Why a cap: a wrong path (`/dev/zero`, a disk image, a log) would otherwise
//! be an allocation that grows until the process is killed. Every such file
//! is small, so "more than the cap" is reported as the mistake it is.
//!
//! Why regular files only: a FIFO given as the config made `config check`
//! hang in `open` (opening a FIFO for reading waits for a writer), and a
//! device such as `/dev/zero` or a terminal is never what a person meant.
//! The file is opened with `O_NONBLOCK`, so `open` returns at once whatever
//! the path is, and its type is checked on the open descriptor (`fstat`),
//! not on the path, so nothing can swap the file in between.

use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use zeroize::Zeroize;

/// Most a config file is read: a config watching 100,000 repositories is
/// about 2 MiB.
pub const MAX_CONFIG_FILE: u64 = 16 * 1024 * 1024;
/// Most a file holding one token (`token_file`, `admin_token_file`,
/// `--token-file`) is read; a token is under 100 bytes.
pub const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Reads at most `cap` bytes of the regular file `path`. A longer file is an
/// error of kind [`io::ErrorKind::FileTooLarge`] whose message says so in
/// words; anything but a regular file (FIFO, device, socket, directory) one
/// of kind [`io::ErrorKind::InvalidInput`] naming what it is; a missing one
/// keeps the kind [`io::ErrorKind::NotFound`], for callers to whom absence
/// is an answer.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    read_all(open_checked(path, false)?, cap)
}

/// [`read_text_capped`], from a regular file or a pipe: for a command a
/// person runs by hand (`--token-file <(pass show gitlab)`), where waiting
/// for the pipe's writer is what they asked for. The daemon's own files
/// never come through here.
pub fn read_text_capped_or_pipe(path: &Path, cap: u64) -> io::Result<String> {
    text(read_all(open_checked(path, true)?, cap)?)
}

fn read_all(file: File, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "too long".
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        bytes.zeroize();
        return Err(io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!(
                "it holds more than {} KiB, far more than such a file ever does",
                cap / 1024
            ),
        ));
    }
    Ok(bytes)
}

/// Opens `path` for reading without waiting (`O_NONBLOCK`: a FIFO would
/// otherwise block `open` until a writer comes) and refuses it unless the
/// open descriptor is a regular file. `O_NONBLOCK` changes nothing for
/// reading a regular file.
///
/// With `pipes`, a pipe is accepted too, and made blocking again so that
/// reading waits for its writer.
fn open_checked(path: &Path, pipes: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    if pipes && kind.is_fifo() {
        let fd = file.as_raw_fd();
        // SAFETY: fcntl on a descriptor this function owns; no memory is passed.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
        return Ok(file);
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "it is a {}, not a regular file; point at a regular file holding the content (labwatch reads only those)",
            kind_name(kind)
        ),
    ))
}

/// A person's word for a file type, for "it is a …" (store errors use it too).
pub fn kind_name(kind: FileType) -> &'static str {
    if kind.is_file() {
        "regular file"
    } else if kind.is_dir() {
        "directory"
    } else if kind.is_symlink() {
        "symbolic link"
    } else if kind.is_fifo() {
        "named pipe (FIFO)"
    } else if kind.is_char_device() {
        "character device"
    } else if kind.is_block_device() {
        "block device"
    } else if kind.is_socket() {
        "socket"
    } else {
        "special file"
    }
}

/// [`read_capped`] for text. Bytes that are not UTF-8 are an error, and are
/// wiped before they are dropped: the file may hold a secret.
pub fn read_text_capped(path: &Path, cap: u64) -> io::Result<String> {
    text(read_capped(path, cap)?)
}

fn text(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        e.into_bytes().zeroize();
        io::Error::new(io::ErrorKind::InvalidData, "it is not UTF-8 text")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_the_cap_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_capped(&path, 2048).unwrap().len(), 2048);
        let e = read_capped(&path, 2047).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge);
        assert_eq!(
            e.to_string(),
            "it holds more than 1 KiB, far more than such a file ever does"
        );
        let missing = read_capped(&dir.path().join("nope"), 10).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_fifo_or_device_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo reads a NUL-terminated path and has no other effect.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // Without O_NONBLOCK this open would wait for a writer forever.
        let e = read_capped(&fifo, 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(
            e.to_string()
                .starts_with("it is a named pipe (FIFO), not a regular file"),
            "{e}"
        );
        let e = read_capped(Path::new("/dev/zero"), 10).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("it is a character device, not a regular file"),
            "{e}"
        );
        let e = read_capped(dir.path(), 10).unwrap_err();
        assert!(
            e.to_string().starts_with("it is a directory, not a regular file"),
            "{e}"
        );
    }

    #[test]
    fn a_pipe_is_read_only_where_a_person_gives_one() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        std::io::Write::write_all(&mut writer, b"glpat-from-a-pipe\n").unwrap();
        drop(writer);
        // What `--token-file <(cmd)` hands over: /dev/fd/N, a pipe.
        let path = std::path::PathBuf::from(format!("/proc/self/fd/{}", reader.as_raw_fd()));
        assert!(read_capped(&path, 100).unwrap_err().to_string().contains("named pipe"));
        assert_eq!(read_text_capped_or_pipe(&path, 100).unwrap(), "glpat-from-a-pipe\n");
    }

    #[test]
    fn text_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(
            read_text_capped(&path, 10).unwrap_err().to_string(),
            "it is not UTF-8 text"
        );
    }
}
