//! The bodies of the admin calls that take one. The token travels only
//! here, as a `SecretString`: it is exposed in exactly one place, when the
//! admin command serializes the body for the daemon.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};

/// `POST /api/v1/workspaces/{ws}/connect`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectBody {
    /// Empty or absent: the workspace's configured `instance_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_url: Option<String>,
    #[serde(serialize_with = "expose")]
    pub token: SecretString,
    /// Repositories to watch; absent keeps the current list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    /// Replace a connection to another account or instance instead of
    /// refusing with 409 `account-mismatch`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replace: bool,
    /// Connect a token another workspace already uses instead of refusing
    /// with 409 `token-shared`; the answer then warns.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// `PUT /api/v1/workspaces/{ws}/token`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[serde(serialize_with = "expose")]
    pub token: SecretString,
    /// Revoke the old token at GitLab once the new one is stored.
    #[serde(default)]
    pub revoke_old: bool,
    /// Take a token another workspace already uses instead of refusing
    /// with 409 `token-shared`; the answer then warns.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
}

/// `POST /api/v1/workspaces/{ws}/rotate`; the body may also be empty.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateBody {
    /// `YYYY-MM-DD`; absent: today plus the renewal policy's lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// The one place a GitLab token leaves its [`SecretString`]: into the
/// request body bound for the daemon.
fn expose<S: Serializer>(token: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(token.expose_secret())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_carry_the_token_and_leave_out_what_was_not_given() {
        let body = ConnectBody {
            instance_url: None,
            token: SecretString::from("glpat-x"),
            repositories: None,
            replace: false,
            force: false,
        };
        assert_eq!(serde_json::to_string(&body).unwrap(), r#"{"token":"glpat-x"}"#);
        let body = TokenBody {
            token: SecretString::from("glpat-x"),
            revoke_old: true,
            force: false,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"token":"glpat-x","revoke_old":true}"#
        );
        assert_eq!(serde_json::to_string(&RotateBody::default()).unwrap(), "{}");
    }

    #[test]
    fn unknown_fields_are_refused() {
        let e = serde_json::from_str::<TokenBody>(r#"{"token":"t","revoke":true}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `revoke`"), "{e}");
    }
}
