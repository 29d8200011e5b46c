//! The admin API's JSON, declared once for both sides: the daemon serializes
//! these types ([`crate::actions`] builds the answers, [`crate::http`] sends
//! them) and the admin commands deserialize them ([`crate::cli::admin`]).
//!
//! Answers accept unknown fields when read, so a newer daemon may add some.
//! Request bodies refuse unknown fields, so a typo is an error instead of a
//! silently ignored option. No type here holds a token except the request
//! bodies that carry one to the daemon, and those only as a `SecretString`.
//!
//! - [`answers`]: what each admin call returns.
//! - [`requests`]: the bodies of connect, update token and rotate.
//! - [`alertmanager`]: Alertmanager's webhook payload and labwatch's answer.
//! - [`ErrorBody`]: every error of every endpoint.

pub mod alertmanager;
pub mod answers;
pub mod requests;

use serde::{Deserialize, Serialize};

pub use alertmanager::{Alert, AlertAction, AlertResult, AlertResults, Webhook};
pub use answers::{
    Account, Connected, Disconnected, OldTokenState, RepoCapability, RepoPage, RepoSummary, RepoWarning, Rotated,
    TokenSummary, Updated, UserSummary, WatchedRepositories, WorkspaceDeleted, WorkspaceDoc, WorkspacePage,
};
pub use requests::{ConnectBody, RotateBody, TokenBody};

/// `{"error": code, "message": text, "remediation": [steps]}`: the body of
/// every error answer. `error` is a reason code (`token-expired`) or an API
/// code (`unknown-workspace`, `unauthorized`); `remediation` is left out
/// when there are no steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remediation: Vec<String>,
    /// The fields of a request body that did not validate
    /// (`invalid-workspace`); left out when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One field of a request body that did not validate: its key
/// (`interval`, `repositories[1]`, `renewal.mode`; empty for the body as a
/// whole) and the problem, with its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl ErrorBody {
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
            message: message.into(),
            remediation: Vec::new(),
            errors: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_left_out_when_there_are_none_and_read_back_either_way() {
        let plain = ErrorBody::new("not-found", "No such endpoint.");
        let text = serde_json::to_string(&plain).unwrap();
        assert_eq!(text, r#"{"error":"not-found","message":"No such endpoint."}"#);
        assert_eq!(serde_json::from_str::<ErrorBody>(&text).unwrap(), plain);
        let mut with_steps = plain.clone();
        with_steps.remediation = vec!["Look at /.".into()];
        let text = serde_json::to_string(&with_steps).unwrap();
        assert!(text.ends_with(r#""remediation":["Look at /."]}"#), "{text}");
    }
}
