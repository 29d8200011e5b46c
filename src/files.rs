//! Reading the files a person points labwatch at — the config, token files,
//! CA bundles, scenarios — and the store's own files, always with a size cap.
//!
//! Why a cap: a wrong path (`/dev/zero`, a disk image, a log) would otherwise
//! be an allocation that grows until the process is killed. Every such file
//! is small, so "more than the cap" is reported as the mistake it is.

use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroize;

/// Most a config file is read: a config watching 100,000 repositories is
/// about 2 MiB.
pub const MAX_CONFIG_FILE: u64 = 16 * 1024 * 1024;
/// Most a file holding one token (`token_file`, `admin_token_file`,
/// `--token-file`) is read; a token is under 100 bytes.
pub const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Reads at most `cap` bytes of `path`. A longer file is an error of kind
/// [`io::ErrorKind::FileTooLarge`] whose message says so in words; a missing
/// one keeps the kind [`io::ErrorKind::NotFound`], for callers to whom
/// absence is an answer.
pub fn read_capped(path: &Path, cap: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "too long".
    std::fs::File::open(path)?.take(cap + 1).read_to_end(&mut bytes)?;
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

/// [`read_capped`] for text. Bytes that are not UTF-8 are an error, and are
/// wiped before they are dropped: the file may hold a secret.
pub fn read_text_capped(path: &Path, cap: u64) -> io::Result<String> {
    String::from_utf8(read_capped(path, cap)?).map_err(|e| {
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
