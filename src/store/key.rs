//! The store key: 32 bytes from `LABWATCH_STORE_KEY` (64 hex characters or
//! base64) or from the key file, which is created with fresh random bytes when
//! missing and never overwritten. The key is wiped from memory on drop and
//! never printed.

use std::fmt;
use std::path::Path;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use zeroize::Zeroizing;

use super::StoreError;
use super::file::atomic::{self, Contents, CreateError};

/// The environment variable that, when set and not empty, holds the key.
pub const KEY_ENV: &str = "LABWATCH_STORE_KEY";
/// Key length in bytes (XChaCha20-Poly1305).
pub const KEY_LEN: usize = 32;

/// How to make a key, said in every key error.
const HOW_TO_MAKE: &str = "generate one with `openssl rand -hex 32`";
/// A key file in text form is at most a few hundred bytes; anything longer is the wrong file.
const KEY_FILE_LIMIT: u64 = 1024;

/// Accepts padded and unpadded base64 alike: people paste both.
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A 32-byte store key.
#[derive(Clone)]
pub struct Key(Zeroizing<[u8; KEY_LEN]>);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key([REDACTED])")
    }
}

impl Key {
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Key {
        Key(Zeroizing::new(bytes))
    }

    /// A fresh key from the operating system's random number generator.
    pub fn generate() -> Result<Key, StoreError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(&mut *bytes).map_err(|e| StoreError::Random { message: e.to_string() })?;
        Ok(Key(bytes))
    }

    /// Parses the value of `LABWATCH_STORE_KEY`: 64 hex characters or base64
    /// (standard or URL-safe, padding optional) of 32 bytes; surrounding
    /// whitespace is ignored. The error never repeats the value.
    pub fn parse(text: &str) -> Result<Key, StoreError> {
        parse_text(text).map_err(|problem| StoreError::Key {
            origin: KEY_ENV.to_owned(),
            problem: format!("{problem}; set it to 64 hex characters or base64 of 32 bytes ({HOW_TO_MAKE})"),
        })
    }

    /// The key from `LABWATCH_STORE_KEY` when it is set and not empty, else
    /// from `key_file` (see [`Key::load_or_create`]).
    pub fn from_env_or_file(key_file: &Path) -> Result<Key, StoreError> {
        match from_env() {
            Some(key) => key,
            None => Key::load_or_create(key_file),
        }
    }

    /// Reads `key_file`: exactly 32 raw bytes, or text holding 64 hex
    /// characters or base64 of 32 bytes. When the file does not exist it is
    /// created (parents 0700, file 0600) with 32 random bytes. A file of any
    /// other form is an error and is left untouched.
    pub fn load_or_create(key_file: &Path) -> Result<Key, StoreError> {
        if let Some(key) = read_key_file(key_file)? {
            return Ok(key);
        }
        atomic::ensure_private_dir(atomic::parent_dir(key_file))?;
        let key = Key::generate()?;
        match atomic::create_new_durable(key_file, key.as_bytes()) {
            Ok(()) => {
                tracing::info!(path = %key_file.display(), "Created a new store key file");
                Ok(key)
            }
            // Another labwatch created it between our read and our create: use theirs.
            Err(CreateError::Exists) => read_key_file(key_file)?.ok_or_else(|| StoreError::Key {
                origin: origin_of(key_file),
                problem: "the file vanished while labwatch was creating it; start labwatch again".to_owned(),
            }),
            Err(CreateError::Other(e)) => Err(e),
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

/// The key from `LABWATCH_STORE_KEY`, or `None` when it is unset or empty.
pub(crate) fn from_env() -> Option<Result<Key, StoreError>> {
    match std::env::var_os(KEY_ENV) {
        Some(v) if !v.is_empty() => Some(match v.to_str() {
            Some(text) => Key::parse(text),
            None => Err(StoreError::Key {
                origin: KEY_ENV.to_owned(),
                problem: format!("the value is not valid UTF-8; {HOW_TO_MAKE}"),
            }),
        }),
        _ => None,
    }
}

/// `None` when the file does not exist. A link is followed (a mounted
/// secret usually is one); what it points to must be a regular file.
pub(crate) fn read_key_file(path: &Path) -> Result<Option<Key>, StoreError> {
    let bytes = match atomic::read_bounded(path, KEY_FILE_LIMIT, true)? {
        None => return Ok(None),
        Some(Contents::Oversized) => return Err(bad_key_file(path, format!("it is over {KEY_FILE_LIMIT} bytes"))),
        Some(Contents::Bytes(b)) => Zeroizing::new(b),
    };
    if let Ok(raw) = <[u8; KEY_LEN]>::try_from(bytes.as_slice()) {
        return Ok(Some(Key::from_bytes(raw)));
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        bad_key_file(
            path,
            format!(
                "it holds {} bytes that are not text; expected exactly {KEY_LEN}",
                bytes.len()
            ),
        )
    })?;
    parse_text(text)
        .map(Some)
        .map_err(|problem| bad_key_file(path, problem))
}

fn bad_key_file(path: &Path, problem: String) -> StoreError {
    StoreError::Key {
        origin: origin_of(path),
        problem: format!(
            "{problem}. A key file holds {KEY_LEN} random bytes, 64 hex characters or base64 of {KEY_LEN} bytes. \
             labwatch does not overwrite it: restore the right key, or move the file away to have a new key \
             created (connections stored with the old key then cannot be read and must be connected again)"
        ),
    }
}

fn origin_of(path: &Path) -> String {
    format!("key file `{}`", path.display())
}

/// Hex or base64 of exactly 32 bytes; the error describes the value's shape, never the value.
fn parse_text(text: &str) -> Result<Key, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the value is empty".to_owned());
    }
    if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return decode_hex(text).ok_or_else(|| "the value is not valid hex".to_owned());
    }
    for engine in [&BASE64_STANDARD, &BASE64_URL_SAFE] {
        if let Ok(bytes) = engine.decode(text) {
            let bytes = Zeroizing::new(bytes);
            return <[u8; KEY_LEN]>::try_from(bytes.as_slice())
                .map(Key::from_bytes)
                .map_err(|_| format!("the value is base64 of {} bytes, not {KEY_LEN}", bytes.len()));
        }
    }
    Err(format!(
        "the value ({} characters) is neither 64 hex characters nor base64",
        text.chars().count()
    ))
}

fn decode_hex(text: &str) -> Option<Key> {
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    for (slot, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        *slot = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some(Key(out))
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
