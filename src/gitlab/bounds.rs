//! How large the parts of GitLab's answers that labwatch keeps or shows may
//! be, in one place, and the check every decoded answer passes before anyone
//! acts on it.
//!
//! A GitLab answer is input like any other: a compromised instance, a proxy
//! answering in its place, or a bug can send a token with 100,000 scopes or a
//! megabyte of username. Such an answer is refused as
//! [`GitlabError::Invalid`] (reason `gitlab-answer-invalid`, naming the field
//! and the bound) before a check shows it or an action stores it. The store
//! reuses these constants, so what the writer accepts is what the reader
//! accepts.
//!
//! Each bound sits well above what GitLab itself allows, so a real answer
//! never trips it. Lengths are in bytes (UTF-8), which is what a stored file
//! pays; four bytes per character covers any 255-character name.

use super::GitlabError;
use super::types::{Project, TokenInfo, User, Version};

/// Scopes of one token. GitLab defines about 25 (docs/gitlab.md §3); a
/// token normally carries a handful.
pub const MAX_SCOPES: usize = 64;
/// One scope name. The longest GitLab defines, `write_virtual_registry`, has
/// 22 characters (docs/gitlab.md §3).
pub const MAX_SCOPE_LEN: usize = 64;
/// A token's name. Assumed to be at most 255 characters like usernames
/// (unconfirmed: docs/gitlab.md §6 and its unconfirmed item 12); 4 bytes per
/// character.
pub const MAX_TOKEN_NAME_LEN: usize = 1024;
/// A username, and a user's display name: 255 characters at most in GitLab
/// (docs/gitlab.md §6, "Lengths"); 4 bytes per character.
pub const MAX_USERNAME_LEN: usize = 1024;
/// A project's `path_with_namespace`: up to 20 nested groups and the
/// project, each at most 255 characters of ASCII (docs/gitlab.md §6,
/// "Lengths"), is 5,375 bytes.
pub const MAX_PROJECT_PATH_LEN: usize = 8 * 1024;
/// A URL GitLab gives (`web_url`): the instance URL and a project path.
pub const MAX_URL_LEN: usize = 10 * 1024;
/// Short enumerations and versions: `visibility`, `state`,
/// `repository_access_level`, `version` ("17.9.1-ee"), `revision`.
pub const MAX_WORD_LEN: usize = 128;
/// A token secret from the rotate answer. GitLab's are `glpat-` and a few
/// dozen characters (docs/gitlab.md §4); the same limit as a token file
/// would be far too generous for something that is sent in every header.
pub const MAX_TOKEN_LEN: usize = 1024;

/// An answer labwatch can hold against the bounds.
pub trait Bounded {
    /// `Ok` when every field labwatch keeps or shows is within its bound.
    fn check_bounds(&self) -> Result<(), GitlabError>;
}

/// `value` (the field `field`) at most `max` bytes.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), GitlabError> {
    if value.len() > max {
        return Err(GitlabError::Invalid {
            field,
            problem: format!("is {} bytes long; labwatch accepts at most {max}", value.len()),
        });
    }
    Ok(())
}

fn opt_text(field: &'static str, value: Option<&str>, max: usize) -> Result<(), GitlabError> {
    value.map_or(Ok(()), |v| text(field, v, max))
}

impl Bounded for TokenInfo {
    fn check_bounds(&self) -> Result<(), GitlabError> {
        text("name", &self.name, MAX_TOKEN_NAME_LEN)?;
        if self.scopes.len() > MAX_SCOPES {
            return Err(GitlabError::Invalid {
                field: "scopes",
                problem: format!(
                    "lists {} scopes; labwatch accepts at most {MAX_SCOPES}",
                    self.scopes.len()
                ),
            });
        }
        self.scopes.iter().try_for_each(|s| text("scopes", s, MAX_SCOPE_LEN))
    }
}

impl Bounded for User {
    fn check_bounds(&self) -> Result<(), GitlabError> {
        text("username", &self.username, MAX_USERNAME_LEN)?;
        opt_text("name", self.name.as_deref(), MAX_USERNAME_LEN)?;
        opt_text("state", self.state.as_deref(), MAX_WORD_LEN)?;
        opt_text("web_url", self.web_url.as_deref(), MAX_URL_LEN)
    }
}

impl Bounded for Project {
    fn check_bounds(&self) -> Result<(), GitlabError> {
        text("path_with_namespace", &self.path_with_namespace, MAX_PROJECT_PATH_LEN)?;
        opt_text("visibility", self.visibility.as_deref(), MAX_WORD_LEN)?;
        opt_text(
            "repository_access_level",
            self.repository_access_level.as_deref(),
            MAX_WORD_LEN,
        )?;
        opt_text("web_url", self.web_url.as_deref(), MAX_URL_LEN)?;
        opt_text("default_branch", self.default_branch.as_deref(), MAX_PROJECT_PATH_LEN)
    }
}

impl Bounded for super::types::ProtectedBranch {
    /// Nothing of it is kept or shown but its numbers; a rule list longer
    /// than a page of them is not a rule GitLab writes.
    fn check_bounds(&self) -> Result<(), GitlabError> {
        if self.push_access_levels.len() > 1000 {
            return Err(GitlabError::Invalid {
                field: "push_access_levels",
                problem: format!(
                    "has {} entries; labwatch accepts at most 1000",
                    self.push_access_levels.len()
                ),
            });
        }
        Ok(())
    }
}

impl Bounded for Version {
    fn check_bounds(&self) -> Result<(), GitlabError> {
        text("version", &self.version, MAX_WORD_LEN)?;
        opt_text("revision", self.revision.as_deref(), MAX_WORD_LEN)
    }
}

impl<T: Bounded> Bounded for Vec<T> {
    fn check_bounds(&self) -> Result<(), GitlabError> {
        self.iter().try_for_each(Bounded::check_bounds)
    }
}

/// A new token secret: within [`MAX_TOKEN_LEN`], and sendable as a header
/// value (visible ASCII), since labwatch will send it on every call.
pub fn token_secret(secret: &str) -> Result<(), GitlabError> {
    text("token", secret, MAX_TOKEN_LEN)?;
    if secret.is_empty() || !secret.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(GitlabError::Invalid {
            field: "token",
            problem: "is empty or holds characters that cannot be sent in a header".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(scopes: usize, name: usize) -> TokenInfo {
        TokenInfo {
            id: 1,
            name: "n".repeat(name),
            revoked: false,
            active: true,
            scopes: vec!["api".into(); scopes],
            user_id: Some(1),
            expires_at: None,
            created_at: None,
        }
    }

    #[test]
    fn answers_within_the_bounds_pass() {
        assert_eq!(token(MAX_SCOPES, MAX_TOKEN_NAME_LEN).check_bounds(), Ok(()));
    }

    #[test]
    fn each_bound_names_its_field_and_limit() {
        let err = token(100_000, 3).check_bounds().unwrap_err();
        assert_eq!(
            err.to_string(),
            "GitLab's answer is refused: `scopes` lists 100000 scopes; labwatch accepts at most 64"
        );
        let err = token(1, MAX_TOKEN_NAME_LEN + 1).check_bounds().unwrap_err();
        assert!(
            err.to_string()
                .contains("`name` is 1025 bytes long; labwatch accepts at most 1024"),
            "{err}"
        );
        let mut long_scope = token(1, 3);
        long_scope.scopes[0] = "s".repeat(65);
        assert!(matches!(
            long_scope.check_bounds(),
            Err(GitlabError::Invalid { field: "scopes", .. })
        ));
    }

    #[test]
    fn a_new_token_must_be_sendable() {
        assert_eq!(token_secret("glpat-abc"), Ok(()));
        for bad in ["", "glpat-a\nb", "glpat a", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(token_secret(bad).is_err(), "{bad:?}");
        }
        // The error never echoes the secret.
        let err = token_secret("glpat-secret\n").unwrap_err().to_string();
        assert!(!err.contains("glpat-secret"), "{err}");
    }
}
