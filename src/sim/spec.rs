//! What callers hand the simulator to create records (users, tokens, groups,
//! projects) and how they name existing ones ([`TokenRef`], [`ProjectRef`]).
//! Shared by the TOML scenario, the builder API and the control API.

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::model::{AccessLevel, FeatureAccess, Protection, RepositoryAccess, UserState, Visibility};

/// A new user.
#[derive(Debug, Clone)]
pub struct UserSpec {
    pub username: String,
    pub name: Option<String>,
    pub email: Option<String>,
    /// A fixed id; by default the next free one.
    pub id: Option<u64>,
    pub state: UserState,
}

impl UserSpec {
    pub fn new(username: impl Into<String>) -> UserSpec {
        UserSpec {
            username: username.into(),
            name: None,
            email: None,
            id: None,
            state: UserState::Active,
        }
    }

    pub fn name(mut self, name: impl Into<String>) -> UserSpec {
        self.name = Some(name.into());
        self
    }

    pub fn blocked(mut self) -> UserSpec {
        self.state = UserState::Blocked;
        self
    }
}

/// When a new token expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    On(Date),
    /// Relative to the simulator's today (negative: already expired).
    InDays(i64),
}

/// A new personal access token.
#[derive(Debug, Clone)]
pub struct TokenSpec {
    /// Owner's username.
    pub user: String,
    pub name: String,
    pub description: Option<String>,
    /// A fixed secret; by default a random `glpat-…`.
    pub token: Option<String>,
    pub scopes: Vec<String>,
    pub expires: Expiry,
    pub revoked: bool,
    pub id: Option<u64>,
    /// By default 30 days before today.
    pub created_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
}

impl TokenSpec {
    pub fn new(user: impl Into<String>, name: impl Into<String>) -> TokenSpec {
        TokenSpec {
            user: user.into(),
            name: name.into(),
            description: None,
            token: None,
            scopes: vec!["api".to_owned()],
            expires: Expiry::InDays(30),
            revoked: false,
            id: None,
            created_at: None,
            last_used_at: None,
        }
    }

    pub fn scopes(mut self, scopes: &[&str]) -> TokenSpec {
        self.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    pub fn secret(mut self, secret: impl Into<String>) -> TokenSpec {
        self.token = Some(secret.into());
        self
    }

    pub fn expires(mut self, expires: Expiry) -> TokenSpec {
        self.expires = expires;
        self
    }

    pub fn description(mut self, text: impl Into<String>) -> TokenSpec {
        self.description = Some(text.into());
        self
    }

    pub fn revoked(mut self) -> TokenSpec {
        self.revoked = true;
        self
    }
}

/// A new group (namespace) with members who inherit access to its projects.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    pub path: String,
    pub name: Option<String>,
    pub members: Vec<(String, AccessLevel)>,
}

impl GroupSpec {
    pub fn new(path: impl Into<String>) -> GroupSpec {
        GroupSpec {
            path: path.into(),
            name: None,
            members: Vec::new(),
        }
    }

    pub fn member(mut self, username: impl Into<String>, level: AccessLevel) -> GroupSpec {
        self.members.push((username.into(), level));
        self
    }
}

/// A new project; its namespace is created from the path when missing.
#[derive(Debug, Clone)]
pub struct ProjectSpec {
    /// `group/sub/project`; a first segment equal to a username makes it a
    /// personal project of that user.
    pub path: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub id: Option<u64>,
    pub visibility: Visibility,
    pub archived: bool,
    pub repository_access_level: RepositoryAccess,
    pub issues_access_level: FeatureAccess,
    pub merge_requests_access_level: FeatureAccess,
    pub builds_access_level: FeatureAccess,
    pub public_jobs: bool,
    pub empty_repo: bool,
    pub default_branch: String,
    /// The default branch's protection; `None` leaves it unprotected. Like
    /// GitLab, an empty repository has no default branch to protect yet.
    pub default_branch_protection: Option<Protection>,
    /// Other protected branches or wildcards.
    pub protected_branches: Vec<(String, Protection)>,
    pub members: Vec<(String, AccessLevel)>,
    /// Old paths that redirect here (the project was moved from them).
    pub redirects: Vec<String>,
    pub marked_for_deletion_on: Option<Date>,
}

impl ProjectSpec {
    pub fn new(path: impl Into<String>) -> ProjectSpec {
        ProjectSpec {
            path: path.into(),
            name: None,
            description: None,
            id: None,
            visibility: Visibility::Private,
            archived: false,
            repository_access_level: RepositoryAccess::Enabled,
            issues_access_level: FeatureAccess::Enabled,
            merge_requests_access_level: FeatureAccess::Enabled,
            builds_access_level: FeatureAccess::Enabled,
            public_jobs: true,
            empty_repo: false,
            default_branch: "main".to_owned(),
            default_branch_protection: Some(Protection::MAINTAINERS),
            protected_branches: Vec::new(),
            members: Vec::new(),
            redirects: Vec::new(),
            marked_for_deletion_on: None,
        }
    }

    pub fn visibility(mut self, visibility: Visibility) -> ProjectSpec {
        self.visibility = visibility;
        self
    }

    pub fn member(mut self, username: impl Into<String>, level: AccessLevel) -> ProjectSpec {
        self.members.push((username.into(), level));
        self
    }

    pub fn archived(mut self) -> ProjectSpec {
        self.archived = true;
        self
    }

    pub fn repository(mut self, access: RepositoryAccess) -> ProjectSpec {
        self.repository_access_level = access;
        self
    }

    pub fn issues(mut self, access: FeatureAccess) -> ProjectSpec {
        self.issues_access_level = access;
        self
    }

    pub fn merge_requests(mut self, access: FeatureAccess) -> ProjectSpec {
        self.merge_requests_access_level = access;
        self
    }

    /// CI/CD (`builds_access_level`).
    pub fn builds(mut self, access: FeatureAccess) -> ProjectSpec {
        self.builds_access_level = access;
        self
    }

    pub fn public_jobs(mut self, on: bool) -> ProjectSpec {
        self.public_jobs = on;
        self
    }

    /// The default branch's protection (`None`: unprotected).
    pub fn default_branch_protection(mut self, protection: Option<Protection>) -> ProjectSpec {
        self.default_branch_protection = protection;
        self
    }

    /// Protects another branch or wildcard.
    pub fn protect(mut self, name: impl Into<String>, protection: Protection) -> ProjectSpec {
        self.protected_branches.push((name.into(), protection));
        self
    }

    pub fn empty(mut self) -> ProjectSpec {
        self.empty_repo = true;
        self
    }

    pub fn redirect_from(mut self, old_path: impl Into<String>) -> ProjectSpec {
        self.redirects.push(old_path.into());
        self
    }

    pub fn description(mut self, text: impl Into<String>) -> ProjectSpec {
        self.description = Some(text.into());
        self
    }
}

/// Names a token: by id, or by its secret.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TokenRef {
    Id(u64),
    Secret(String),
}

impl From<u64> for TokenRef {
    fn from(id: u64) -> TokenRef {
        TokenRef::Id(id)
    }
}

/// All digits is an id, anything else a secret.
impl From<&str> for TokenRef {
    fn from(text: &str) -> TokenRef {
        match text.parse() {
            Ok(id) => TokenRef::Id(id),
            Err(_) => TokenRef::Secret(text.to_owned()),
        }
    }
}

impl From<String> for TokenRef {
    fn from(text: String) -> TokenRef {
        TokenRef::from(text.as_str())
    }
}

impl From<&String> for TokenRef {
    fn from(text: &String) -> TokenRef {
        TokenRef::from(text.as_str())
    }
}

/// Names a project: by id, or by its current or a former path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    Id(u64),
    Path(String),
}

impl From<u64> for ProjectRef {
    fn from(id: u64) -> ProjectRef {
        ProjectRef::Id(id)
    }
}

/// All digits is an id, anything else a path.
impl From<&str> for ProjectRef {
    fn from(text: &str) -> ProjectRef {
        match text.parse() {
            Ok(id) => ProjectRef::Id(id),
            Err(_) => ProjectRef::Path(text.to_owned()),
        }
    }
}

impl From<String> for ProjectRef {
    fn from(text: String) -> ProjectRef {
        ProjectRef::from(text.as_str())
    }
}
