//! What an action on the page just did, shown at the top after its form
//! redirects back (`/?done=rotated&ws=acme`). Only the fixed sentences
//! below are ever shown, so a link cannot make the page say anything else;
//! the workspace name is escaped like every other string.

use std::collections::HashMap;

/// One of the sentences below, about one workspace.
pub struct Notice {
    pub workspace: Option<String>,
    sentence: &'static str,
}

impl Notice {
    pub fn from_query(q: &HashMap<String, String>) -> Option<Notice> {
        let sentence = match q.get("done")?.as_str() {
            "token-updated" => "token updated; its checks are running again.",
            "rotated" => "token rotated; the new one is saved and the old one revoked.",
            "disconnected" => "disconnected; the token still works at GitLab until it expires or is revoked there.",
            "disconnected-revoked" => "disconnected, and the token revoked at GitLab.",
            "repositories-saved" => "the choice of repositories is saved; they are being checked.",
            "deleted" => "deleted.",
            "signed-out" => "You are signed out.",
            _ => return None,
        };
        Some(Notice {
            workspace: q.get("ws").filter(|w| !w.is_empty()).cloned(),
            sentence,
        })
    }

    /// The sentence, after "Workspace `x`: " when it is about one.
    pub fn sentence(&self) -> &'static str {
        self.sentence
    }
}
