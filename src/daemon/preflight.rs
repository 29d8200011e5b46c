//! What `labwatch run` checks before it serves, in one place, so that
//! `labwatch config check` reports the same refusals (with the same exit
//! code, 69) instead of saying "ok" about a config `run` will not start with.
//!
//! Each problem is a [`Finding`]: a stable code, whether `run` refuses to
//! start or only warns, and a sentence naming the file, the problem and the
//! fix. Nothing here changes anything on disk.
//!
//! The admin token (`[server] admin_token_file`) is the key to every action
//! on every connection, so:
//!
//! - it must be readable, a regular file, and not empty (as before);
//! - it must be *strong*: at least [`MIN_ADMIN_TOKEN_CHARS`] characters of
//!   printable ASCII (it travels in an `Authorization` header), at least
//!   [`MIN_DISTINCT_CHARS`] different characters, and neither a run of one
//!   short piece repeated (`aaaa…`, `abab…`, `passwordpassword…`) nor a
//!   straight sequence (`abcdef…`, `9876…`). That is a floor that catches
//!   placeholders and typing, not an entropy estimate: `openssl rand -hex 32`
//!   passes it, anything a person makes up by hand should not be used;
//! - its file must not be writable by group or others: whoever can write it
//!   can choose the token and act as admin at the next start. `run` refuses.
//!   Readable by others (mode `o+r`, e.g. 0644) is warned about, not
//!   refused: every local user can then read the token, but refusing would
//!   stop daemons that run today, and a group-readable file (0640) is the
//!   documented way to share the token with Alertmanager.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::config::{Config, StoreBackend};
use crate::store::ConnectionStore;

/// The code of the store's warnings; `ConnectionStore::open` logs them itself.
pub const STORE_WARNING: &str = "store-warning";

/// The shortest admin token accepted, in characters (`openssl rand -hex 32`
/// makes 64).
pub const MIN_ADMIN_TOKEN_CHARS: usize = 32;
/// The fewest different characters an admin token may have (32 random hex
/// digits have about 14).
pub const MIN_DISTINCT_CHARS: usize = 8;

/// Whether `run` starts despite a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// `run` refuses to start (exit 69); `config check` exits 69 too.
    Refusal,
    /// `run` starts and logs it; `config check` prints it and exits 0.
    Warning,
}

/// One problem `run` would meet at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub severity: Severity,
    /// A stable code for scripts and tests, e.g. `admin-token-weak`.
    pub code: &'static str,
    /// What is wrong, where, and how to fix it. Never the token.
    pub message: String,
}

impl Finding {
    fn refusal(code: &'static str, message: String) -> Finding {
        Finding {
            severity: Severity::Refusal,
            code,
            message,
        }
    }

    fn warning(code: &'static str, message: String) -> Finding {
        Finding {
            severity: Severity::Warning,
            code,
            message,
        }
    }

    pub fn is_refusal(&self) -> bool {
        self.severity == Severity::Refusal
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let word = match self.severity {
            Severity::Refusal => "refused",
            Severity::Warning => "warning",
        };
        write!(f, "{word} ({}): {}", self.code, self.message)
    }
}

/// Everything `run` would refuse or warn about at start, for `config`.
pub fn preflight(config: &Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(file) = &config.server.admin_token_file {
        if let Err(refused) = admin_token(file) {
            findings.push(refused);
        }
        findings.extend(admin_token_permissions(file));
    }
    if let (StoreBackend::Postgres, Some(options)) = (config.store.backend, &config.store.postgres) {
        // What `ConnectionStore::open_postgres` would refuse before it
        // connects: the password file, the key. Whether the database
        // answers is for `run` (and `/readyz`) to tell.
        if let Err(e) = ConnectionStore::inspect_postgres(options, &config.store.key_file) {
            findings.push(Finding::refusal(
                "store-refused",
                format!("cannot open the connection store: {e}"),
            ));
        }
        return findings;
    }
    // What `ConnectionStore::open` would refuse, checked without creating
    // anything (a missing directory or key is created by `run`).
    match ConnectionStore::inspect(&config.store.dir, &config.store.key_file) {
        Ok(warnings) => findings.extend(
            warnings
                .into_iter()
                .map(|w| Finding::warning(STORE_WARNING, w.to_string())),
        ),
        Err(e) => findings.push(Finding::refusal(
            "store-refused",
            format!("cannot open the connection store: {e}"),
        )),
    }
    findings
}

/// The admin bearer token from `file`, trimmed, if it is strong enough; else
/// the refusal that says why.
pub fn admin_token(file: &Path) -> Result<SecretString, Finding> {
    let text = crate::files::read_text_capped(file, crate::files::MAX_TOKEN_FILE)
        .map(Zeroizing::new)
        .map_err(|e| {
            Finding::refusal(
                "admin-token-unreadable",
                format!(
                    "cannot read admin_token_file {}: {e}; fix the path or the file's permissions",
                    file.display()
                ),
            )
        })?;
    let token = text.trim();
    if let Some(problem) = weakness(token) {
        return Err(Finding::refusal(
            "admin-token-weak",
            format!(
                "admin_token_file {} {problem}; put a long random token in it (for example `openssl rand -hex 32 > {}`)",
                file.display(),
                file.display()
            ),
        ));
    }
    Ok(SecretString::from(token.to_owned()))
}

/// Why `token` is too weak to guard the admin API, or `None`. The sentence
/// describes the token, never quotes it.
fn weakness(token: &str) -> Option<String> {
    if token.is_empty() {
        return Some("is empty".into());
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Some(
            "holds spaces, control characters or non-ASCII text; an admin token is one word of printable ASCII".into(),
        );
    }
    let chars: Vec<u8> = token.bytes().collect();
    if chars.len() < MIN_ADMIN_TOKEN_CHARS {
        let n = chars.len();
        return Some(format!(
            "holds a token of {n} character{}; it must be at least {MIN_ADMIN_TOKEN_CHARS}",
            if n == 1 { "" } else { "s" }
        ));
    }
    let mut distinct = chars.clone();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < MIN_DISTINCT_CHARS {
        return Some(format!(
            "holds a token made of only {} different characters; it must have at least {MIN_DISTINCT_CHARS}",
            distinct.len()
        ));
    }
    if let Some(unit) =
        (1..=chars.len() / 2).find(|&n| chars.len() % n == 0 && chars.chunks(n).all(|c| c == &chars[..n]))
    {
        return Some(format!("holds a token that is one piece of {unit} characters repeated"));
    }
    let step = i16::from(chars[1]) - i16::from(chars[0]);
    if step.abs() == 1 && chars.windows(2).all(|w| i16::from(w[1]) - i16::from(w[0]) == step) {
        return Some("holds a token that is a straight run of characters (like abcdef…)".into());
    }
    None
}

/// What the admin token file's mode bits risk (see the module doc).
fn admin_token_permissions(file: &Path) -> Option<Finding> {
    // Unreadable files are reported by `admin_token`.
    let mode = std::fs::metadata(file).ok()?.permissions().mode() & 0o777;
    if mode & 0o022 != 0 {
        return Some(Finding::refusal(
            "admin-token-file-writable",
            format!(
                "admin_token_file {} has mode {mode:04o}: other users can write it, choose the admin token and act as admin; \
                 run `chmod go-w {}` (0600, or 0640 to share it with a group such as Alertmanager's)",
                file.display(),
                file.display()
            ),
        ));
    }
    if mode & 0o004 != 0 {
        return Some(Finding::warning(
            "admin-token-file-readable",
            format!(
                "admin_token_file {} has mode {mode:04o}: every user on this machine can read the admin token; \
                 run `chmod o-r {}` (0600, or 0640 to share it with a group such as Alertmanager's)",
                file.display(),
                file.display()
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strong_token_passes_and_weak_ones_say_why() {
        assert_eq!(weakness("3f9c2a7be1d04c8a9e6f5b2d7c1a0e4f"), None);
        assert_eq!(weakness("admin-token-for-the-remote-tests"), None);
        for (token, why) in [
            ("", "is empty"),
            ("x", "of 1 character;"),
            ("has a space but is long enough for the length check", "spaces"),
            (&"a".repeat(40), "only 1 different"),
            (&"abcdefgh".repeat(4), "one piece of 8 characters repeated"),
            (
                &(0..32).map(|i| char::from(b'A' + i)).collect::<String>(),
                "straight run",
            ),
            (
                &(0..32).map(|i| char::from(b'~' - i)).collect::<String>(),
                "straight run",
            ),
        ] {
            let got = weakness(token).unwrap_or_default();
            assert!(got.contains(why), "{token:?}: {got}");
        }
    }
}
