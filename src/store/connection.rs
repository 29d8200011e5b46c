//! A workspace's stored connection and its plaintext JSON form (what the
//! cipher encrypts). The token lives in a `SecretString` and in buffers that
//! are wiped after use.

use std::borrow::Cow;
use std::io;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use zeroize::{Zeroize, Zeroizing};

time::serde::format_description!(ymd, Date, "[year]-[month]-[day]");

/// Everything labwatch keeps about one workspace's GitLab connection.
/// `Debug` shows the token as `[REDACTED]` (that is `SecretString`'s Debug).
#[derive(Clone, Debug)]
pub struct StoredConnection {
    pub workspace: String,
    /// Normalised instance URL, e.g. `https://gitlab.example.com`; bound to the
    /// ciphertext, so the token is never sent to an instance it was not stored for.
    pub instance_url: String,
    /// The personal access token: never written in plain text, never in Debug.
    pub token: SecretString,
    /// Identity the token resolved to; "update token" must keep it the same.
    pub user_id: u64,
    pub username: String,
    /// GitLab's id of the token, for rotation, revocation and the audit log.
    pub token_id: u64,
    pub token_name: String,
    pub scopes: Vec<String>,
    /// The token stops working at 00:00 UTC on this date; `None` = no expiry.
    pub expires_at: Option<Date>,
    /// When the token was created, for renewal policies given as a lifetime fraction.
    pub created_at: Option<OffsetDateTime>,
    pub connected_at: OffsetDateTime,
    /// Watched repositories chosen through the admin API; `None` = use the config's list.
    pub repositories: Option<Vec<String>>,
}

/// The plaintext JSON. Borrowing lets the token go from the decrypted buffer
/// (wiped on drop) straight into a `SecretString`, with no stray copy.
#[derive(Serialize, Deserialize)]
struct Plain<'a> {
    #[serde(borrow)]
    workspace: Cow<'a, str>,
    #[serde(borrow)]
    instance_url: Cow<'a, str>,
    #[serde(borrow)]
    token: Cow<'a, str>,
    user_id: u64,
    #[serde(borrow)]
    username: Cow<'a, str>,
    token_id: u64,
    #[serde(borrow)]
    token_name: Cow<'a, str>,
    scopes: Cow<'a, [String]>,
    #[serde(default, with = "ymd::option")]
    expires_at: Option<Date>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    created_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    connected_at: OffsetDateTime,
    #[serde(default)]
    repositories: Option<Cow<'a, [String]>>,
}

impl StoredConnection {
    /// The plaintext JSON, in a buffer sized up front (so no reallocation
    /// leaves copies of the token behind) and wiped on drop.
    pub(crate) fn to_plaintext(&self) -> Result<Zeroizing<Vec<u8>>, serde_json::Error> {
        let plain = Plain {
            workspace: Cow::Borrowed(&self.workspace),
            instance_url: Cow::Borrowed(&self.instance_url),
            token: Cow::Borrowed(self.token.expose_secret()),
            user_id: self.user_id,
            username: Cow::Borrowed(&self.username),
            token_id: self.token_id,
            token_name: Cow::Borrowed(&self.token_name),
            scopes: Cow::Borrowed(&self.scopes),
            expires_at: self.expires_at,
            created_at: self.created_at,
            connected_at: self.connected_at,
            repositories: self.repositories.as_deref().map(Cow::Borrowed),
        };
        let mut counter = ByteCounter(0);
        serde_json::to_writer(&mut counter, &plain)?;
        let mut buf = Zeroizing::new(Vec::with_capacity(counter.0));
        serde_json::to_writer(&mut *buf, &plain)?;
        Ok(buf)
    }

    /// Parses decrypted plaintext; the error text never includes the input.
    pub(crate) fn from_plaintext(bytes: &[u8]) -> Result<StoredConnection, String> {
        let plain: Plain<'_> = serde_json::from_slice(bytes).map_err(|e| describe(&e))?;
        let token = SecretString::from(plain.token.as_ref());
        // A token with JSON escapes was unescaped into an owned String: wipe it.
        if let Cow::Owned(mut owned) = plain.token {
            owned.zeroize();
        }
        Ok(StoredConnection {
            workspace: plain.workspace.into_owned(),
            instance_url: plain.instance_url.into_owned(),
            token,
            user_id: plain.user_id,
            username: plain.username.into_owned(),
            token_id: plain.token_id,
            token_name: plain.token_name.into_owned(),
            scopes: plain.scopes.into_owned(),
            expires_at: plain.expires_at,
            created_at: plain.created_at,
            connected_at: plain.connected_at,
            repositories: plain.repositories.map(Cow::into_owned),
        })
    }
}

/// serde_json's message can quote input (the token); keep only its category and place.
fn describe(e: &serde_json::Error) -> String {
    format!(
        "the decrypted connection is not valid ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    )
}

/// Measures serialised length without keeping the bytes.
struct ByteCounter(usize);

impl io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
