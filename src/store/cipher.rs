//! The encrypted file format. A connection file is a small JSON envelope,
//! `{"version":1,"workspace":…,"instance_url":…,"nonce":…,"ciphertext":…}`,
//! whose ciphertext is XChaCha20-Poly1305 over the connection's JSON with a
//! fresh random 24-byte nonce per write. The associated data binds the
//! workspace and the instance, so a file moved to another workspace name or
//! pointed at another instance no longer decrypts.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::aead::Payload;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::key::Key;
use super::{Place, StoreError};

/// The envelope version this code writes and reads.
pub(crate) const VERSION: u32 = 1;
/// Domain separation: a ciphertext from any other use of the key cannot pass as a store file.
const AD_PREFIX: &[u8] = b"labwatch-store-v1\0";
const NONCE_LEN: usize = 24;

const FIX_RESTORE: &str = "restore it from a backup, or remove it and connect the workspace again";

/// The on-disk JSON. Workspace and instance are in clear so that a person (and
/// the associated data) can see whose file it is without the key.
#[derive(Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub version: u32,
    pub workspace: String,
    pub instance_url: String,
    pub nonce: String,
    pub ciphertext: String,
}

/// Encryption with the store key; the key copy inside is wiped on drop.
#[derive(Clone)]
pub(crate) struct Cipher(XChaCha20Poly1305);

impl Cipher {
    pub(crate) fn new(key: &Key) -> Cipher {
        Cipher(XChaCha20Poly1305::new(&(*key.as_bytes()).into()))
    }

    /// The envelope bytes for `plaintext`, ready to write to `at`.
    pub(crate) fn seal(
        &self,
        at: &Place,
        workspace: &str,
        instance_url: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::Random { message: e.to_string() })?;
        let aad = associated_data(workspace, instance_url);
        let ciphertext = self
            .0
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| encode_error(at, "encryption failed (the connection is too large)"))?;
        let envelope = Envelope {
            version: VERSION,
            workspace: workspace.to_owned(),
            instance_url: instance_url.to_owned(),
            nonce: BASE64.encode(nonce),
            ciphertext: BASE64.encode(ciphertext),
        };
        serde_json::to_vec_pretty(&envelope).map_err(|e| encode_error(at, &e.to_string()))
    }

    /// Checks the envelope read from `at` belongs to `workspace` and
    /// decrypts it. Returns the envelope's instance URL and the plaintext.
    pub(crate) fn open(
        &self,
        at: &Place,
        workspace: &str,
        bytes: &[u8],
    ) -> Result<(String, Zeroizing<Vec<u8>>), StoreError> {
        let envelope: Envelope =
            serde_json::from_slice(bytes).map_err(|e| format_error(at, format!("not a JSON envelope ({e})")))?;
        if envelope.version != VERSION {
            return Err(StoreError::Format {
                at: at.clone(),
                problem: format!(
                    "it has version {}, this labwatch reads version {VERSION}",
                    envelope.version
                ),
                fix: "run the labwatch version that wrote it, or remove it and connect the workspace again",
            });
        }
        if envelope.workspace != workspace {
            return Err(StoreError::WorkspaceMismatch {
                at: at.clone(),
                expected: workspace.to_owned(),
                found: envelope.workspace,
            });
        }
        let nonce = BASE64
            .decode(&envelope.nonce)
            .ok()
            .and_then(|n| <[u8; NONCE_LEN]>::try_from(n.as_slice()).ok())
            .ok_or_else(|| format_error(at, format!("`nonce` is not base64 of {NONCE_LEN} bytes")))?;
        let ciphertext = BASE64
            .decode(&envelope.ciphertext)
            .map_err(|_| format_error(at, "`ciphertext` is not base64".to_owned()))?;
        // Rebuilt from the envelope: editing workspace or instance_url there breaks the tag.
        let aad = associated_data(&envelope.workspace, &envelope.instance_url);
        let plaintext = self
            .0
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Decrypt { at: at.clone() })?;
        Ok((envelope.instance_url, Zeroizing::new(plaintext)))
    }
}

/// `prefix ‖ workspace ‖ NUL ‖ instance_url`. Workspace names hold no NUL, so
/// the split is unambiguous.
fn associated_data(workspace: &str, instance_url: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AD_PREFIX.len() + workspace.len() + 1 + instance_url.len());
    aad.extend_from_slice(AD_PREFIX);
    aad.extend_from_slice(workspace.as_bytes());
    aad.push(0);
    aad.extend_from_slice(instance_url.as_bytes());
    aad
}

pub(crate) fn format_error(at: &Place, problem: String) -> StoreError {
    StoreError::Format {
        at: at.clone(),
        problem,
        fix: FIX_RESTORE,
    }
}

fn encode_error(at: &Place, problem: &str) -> StoreError {
    StoreError::Encode {
        at: at.clone(),
        problem: problem.to_owned(),
    }
}
