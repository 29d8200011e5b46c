//! The disconnect record: written when a workspace is disconnected, so the
//! config's bootstrap `token_file` does not connect it again behind the
//! user's back (at the next reload or restart). It holds no secret: only the
//! SHA-256 of the token that file held, so the same token stays unused while
//! a new token put in the file counts again.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A disconnect that the bootstrap `token_file` must respect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisconnectRecord {
    pub workspace: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// SHA-256 (lowercase hex) of the trimmed token `token_file` held when
    /// the workspace was disconnected; `None` when it held none.
    pub token_file_sha256: Option<String>,
}

impl DisconnectRecord {
    /// The record for `workspace`, disconnected `at`, whose `token_file`
    /// held `file_token` (if any).
    pub fn new(workspace: &str, at: OffsetDateTime, file_token: Option<&str>) -> DisconnectRecord {
        DisconnectRecord {
            workspace: workspace.to_owned(),
            at,
            token_file_sha256: file_token.map(fingerprint),
        }
    }

    /// Whether `file_token`, read from `token_file` now, is the token the
    /// workspace was disconnected from.
    pub fn silences(&self, file_token: &str) -> bool {
        self.token_file_sha256.as_deref() == Some(fingerprint(file_token).as_str())
    }
}

/// SHA-256 of the trimmed token, as lowercase hex. A personal access token
/// has far too much entropy for its hash to be reversed.
fn fingerprint(token: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, token.trim().as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_token_is_silenced_and_a_new_one_is_not() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let record = DisconnectRecord::new("acme", at, Some("glpat-old-token\n"));
        assert!(record.silences("glpat-old-token"));
        assert!(record.silences("  glpat-old-token  \n"));
        assert!(!record.silences("glpat-new-token"));
        assert!(!DisconnectRecord::new("acme", at, None).silences("glpat-old-token"));
        // The record never holds the token itself.
        let json = serde_json::to_string(&record).unwrap();
        assert!(!json.contains("glpat-old-token"), "{json}");
        // SHA-256("abc"), the FIPS 180-2 test vector.
        assert_eq!(
            fingerprint("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
