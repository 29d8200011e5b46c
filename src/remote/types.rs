//! The admin API's JSON as the client reads and writes it (the server side
//! is [`crate::actions`]). Answers accept unknown fields, so a newer daemon
//! can add some; request bodies expose the token only while serializing.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// `{"error", "message", "remediation"?}`, every error the daemon sends.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub message: String,
    #[serde(default)]
    pub remediation: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct TokenSummary {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UserSummary {
    pub id: u64,
    pub username: String,
}

#[derive(Debug, Deserialize)]
pub struct RepoSummary {
    pub path: String,
    pub visibility: Option<String>,
    pub access: Option<String>,
    #[serde(default)]
    pub archived: bool,
}

#[derive(Debug, Deserialize)]
pub struct Connected {
    pub workspace: String,
    pub instance_url: String,
    pub user: UserSummary,
    pub token: TokenSummary,
    #[serde(default)]
    pub watched: Vec<String>,
    #[serde(default)]
    pub accessible: Vec<RepoSummary>,
    pub accessible_next_page: Option<u32>,
}

#[derive(Debug, Deserialize)]
pub struct Updated {
    pub workspace: String,
    pub token: TokenSummary,
    pub previous_token_id: u64,
    #[serde(default)]
    pub old_token_revoked: bool,
    pub revoke_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Rotated {
    pub workspace: String,
    pub token: TokenSummary,
    pub previous_token_id: u64,
}

#[derive(Debug, Deserialize)]
pub struct Disconnected {
    pub workspace: String,
    pub token_revoked: bool,
}

#[derive(Debug, Deserialize)]
pub struct RepoPage {
    pub page: u32,
    pub next_page: Option<u32>,
    pub repositories: Vec<RepoSummary>,
}

#[derive(Debug, Deserialize)]
pub struct Watched {
    pub workspace: String,
    pub repositories: Vec<String>,
}

#[derive(Serialize)]
pub struct ConnectBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<&'a str>,
    #[serde(serialize_with = "expose")]
    pub token: &'a SecretString,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<&'a [String]>,
}

#[derive(Serialize)]
pub struct TokenBody<'a> {
    #[serde(serialize_with = "expose")]
    pub token: &'a SecretString,
    pub revoke_old: bool,
}

#[derive(Serialize)]
pub struct RotateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<&'a str>,
}

/// The one place the GitLab token leaves its [`SecretString`]: into the
/// request body bound for the daemon.
fn expose<S: Serializer>(token: &&SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_token_and_leave_out_what_was_not_given() {
        let token = SecretString::from("glpat-x");
        let body = ConnectBody {
            instance_url: None,
            token: &token,
            repositories: None,
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"token":"glpat-x"}"#);
        let body = TokenBody {
            token: &token,
            revoke_old: true,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"token":"glpat-x","revoke_old":true}"#
        );
        assert_eq!(serde_json::to_string(&RotateBody { expires_at: None }).unwrap(), "{}");
    }
}
