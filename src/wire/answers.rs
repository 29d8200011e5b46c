//! What the admin calls answer. Token metadata only: an answer never holds a
//! token.

use serde::{Deserialize, Serialize};

/// A token as the admin API describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenSummary {
    /// GitLab's id of the token.
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    /// `YYYY-MM-DD`; `None` for a token without expiry.
    pub expires_at: Option<String>,
}

/// The GitLab account a token belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: u64,
    pub username: String,
}

/// A repository the account can access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoSummary {
    /// `group/project`, as GitLab spells it.
    pub path: String,
    pub visibility: Option<String>,
    /// The account's role in it (`developer`, …).
    pub access: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub web_url: Option<String>,
    /// What the connection can do with it (`docs/capabilities.md`), in
    /// the order capabilities are listed; empty where an answer was
    /// written by a labwatch that did not judge them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<RepoCapability>,
}

/// One capability's verdict on a repository, as `/status` shows it, with
/// its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoCapability {
    /// `clone`, `push`, `issues`, `merge_requests`, `pipelines`.
    pub name: String,
    /// `yes` or `no`.
    pub verdict: String,
    /// The workspace's `capabilities` lists it (without the key: `clone`).
    pub needed: bool,
    /// For `no`: the verdict's reason code, what it means, and the fix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl RepoCapability {
    /// `push yes*`, `push no (role-too-low)`: `*` marks a needed one.
    pub fn word(&self) -> String {
        let needed = if self.needed { "*" } else { "" };
        match &self.reason {
            Some(reason) => format!("{} {}{needed} ({reason})", self.name, self.verdict),
            None => format!("{} {}{needed}", self.name, self.verdict),
        }
    }
}

/// `POST …/connect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connected {
    pub workspace: String,
    pub instance_url: String,
    pub user: UserSummary,
    pub token: TokenSummary,
    /// What the workspace watches now.
    #[serde(default)]
    pub watched: Vec<String>,
    /// The first page of repositories the account can access.
    #[serde(default)]
    pub accessible: Vec<RepoSummary>,
    pub accessible_next_page: Option<u32>,
    /// The workspace was connected by its config's `token_file`, to this
    /// same account: its token was adopted into the store before the new
    /// one replaced it (see [`Rotated::adopted`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub adopted: bool,
    /// The account this connection replaced (`"replace": true`), when it
    /// was known; its token was not revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Account>,
    /// The `repositories` given with the connect that are archived or
    /// have their repository disabled (see [`WatchedRepositories::warnings`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<RepoWarning>,
}

/// A GitLab account on an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub instance_url: String,
    pub user: UserSummary,
}

/// Whether a flag is off, to leave it out of an answer.
fn is_false(flag: &bool) -> bool {
    !*flag
}

/// `PUT …/token`: a person's new token for the same account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Updated {
    pub workspace: String,
    pub token: TokenSummary,
    pub previous_token_id: u64,
    /// Whether the old token was revoked at GitLab.
    #[serde(default)]
    pub old_token_revoked: bool,
    /// Why revoking the old token failed (the new one is in use anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_error: Option<String>,
    /// What GitLab said of the old token after the update, when it is
    /// another token and this update did not revoke it: `active` (it still
    /// works until it expires), `revoked`, `expired`, `rejected` (GitLab
    /// does not know it), `unknown` (GitLab could not be asked). Left out
    /// when this update revoked it or it is the same token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_token_state: Option<OldTokenState>,
    /// See [`Rotated::adopted`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub adopted: bool,
    /// `token-shared` when `force` took a token another workspace uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<RepoWarning>,
}

/// The old token of an update, as GitLab answered for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OldTokenState {
    /// It still works, until it expires.
    Active,
    /// GitLab revoked it before this update (by a person, or a rotation).
    Revoked,
    /// It had expired.
    Expired,
    /// GitLab does not accept it and says no more (an unknown token).
    Rejected,
    /// GitLab could not be asked (no answer, a server error).
    Unknown,
}

/// `POST …/rotate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rotated {
    pub workspace: String,
    pub token: TokenSummary,
    pub previous_token_id: u64,
    /// The workspace's token came from its config's `token_file`, and this
    /// action first saved it in the store (audit line `adopt-token`): from
    /// now on the store's copy is used, and `token_file` is not read for it.
    /// Left out when false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub adopted: bool,
}

/// `DELETE …/connection`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disconnected {
    pub workspace: String,
    pub token_revoked: bool,
    /// Set when the stored connection could not be read: what was lost and
    /// where the unreadable file was set aside.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

/// `GET …/repositories`: one page of the listing or search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoPage {
    pub page: u32,
    pub next_page: Option<u32>,
    pub repositories: Vec<RepoSummary>,
}

/// `PUT …/repositories`: what the workspace watches now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedRepositories {
    pub workspace: String,
    pub repositories: Vec<String>,
    /// See [`Rotated::adopted`].
    #[serde(default, skip_serializing_if = "is_false")]
    pub adopted: bool,
    /// What the repository check will report about a chosen project that
    /// works but is not what one usually wants (archived, repository
    /// disabled); the selection is made anyway. Empty when there is none.
    #[serde(default)]
    pub warnings: Vec<RepoWarning>,
}

/// One chosen repository's warning: its reason code as the repository
/// check reports it (`repo-archived`, `repo-disabled`), a sentence, and the
/// steps that fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoWarning {
    /// The repository; empty for a warning about the token
    /// (`token-shared`).
    #[serde(default)]
    pub path: String,
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub remediation: Vec<String>,
}

/// A workspace as the admin API shows it (`GET`, `PUT
/// /api/v1/workspaces/{ws}` and the listing): where it is defined, its
/// settings with the keys of a `[[workspace]]` table (every value explicit
/// for a workspace that runs; as stored for one that does not validate),
/// and why it does not run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDoc {
    pub name: String,
    /// `config` (the config file's: read-only here) or `api` (created at run time).
    pub origin: String,
    /// False for a run-time workspace whose settings no longer validate.
    pub valid: bool,
    /// RFC 3339; run-time workspaces only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Why it does not run; left out when it does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<super::FieldError>,
    #[serde(flatten)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// `GET /api/v1/workspaces`: one page of every workspace, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspacePage {
    /// How many workspaces there are in all.
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    /// The next page, when there is one.
    pub next_page: Option<usize>,
    pub workspaces: Vec<WorkspaceDoc>,
}

/// `DELETE /api/v1/workspaces/{ws}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceDeleted {
    pub workspace: String,
    /// Whether its token was revoked at GitLab first.
    pub token_revoked: bool,
    /// The store files removed (the audit log keeps its lines).
    #[serde(default)]
    pub removed_files: Vec<String>,
    /// Set when the stored connection could not be read: its token is lost
    /// to labwatch and was not revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}
