//! The simulated GitLab's records: users, personal access tokens, namespaces,
//! projects and instance settings, plus the value types they use. Plain data;
//! the indexes and the rules that tie records together live in
//! `super::world`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

/// A GitLab role as its API number (`access_level`). Kept numeric because the
/// API speaks numbers and GitLab inserts new roles between old ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccessLevel(pub u32);

impl AccessLevel {
    pub const NO_ACCESS: AccessLevel = AccessLevel(0);
    pub const MINIMAL: AccessLevel = AccessLevel(5);
    pub const GUEST: AccessLevel = AccessLevel(10);
    pub const PLANNER: AccessLevel = AccessLevel(15);
    pub const REPORTER: AccessLevel = AccessLevel(20);
    pub const SECURITY_MANAGER: AccessLevel = AccessLevel(25);
    pub const DEVELOPER: AccessLevel = AccessLevel(30);
    pub const MAINTAINER: AccessLevel = AccessLevel(40);
    pub const OWNER: AccessLevel = AccessLevel(50);

    const NAMES: [(&'static str, AccessLevel); 9] = [
        ("no_access", Self::NO_ACCESS),
        ("minimal", Self::MINIMAL),
        ("guest", Self::GUEST),
        ("planner", Self::PLANNER),
        ("reporter", Self::REPORTER),
        ("security_manager", Self::SECURITY_MANAGER),
        ("developer", Self::DEVELOPER),
        ("maintainer", Self::MAINTAINER),
        ("owner", Self::OWNER),
    ];

    /// The role name (`developer`), or the number for levels GitLab has no name for.
    pub fn name(self) -> String {
        Self::NAMES
            .iter()
            .find(|(_, level)| *level == self)
            .map(|(name, _)| (*name).to_owned())
            .unwrap_or_else(|| self.0.to_string())
    }

    /// Parses a role name (`developer`) or a number (`30`).
    pub fn parse(text: &str) -> Result<AccessLevel, String> {
        if let Ok(n) = text.parse::<u32>() {
            return Ok(AccessLevel(n));
        }
        let lower = text.to_ascii_lowercase();
        Self::NAMES
            .iter()
            .find(|(name, _)| *name == lower)
            .map(|(_, level)| *level)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown access level '{text}', expected a number or one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.0)
    }
}

/// Project visibility, as the API spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    #[default]
    Private,
    Internal,
    Public,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Private => "private",
            Visibility::Internal => "internal",
            Visibility::Public => "public",
        }
    }

    pub fn parse(text: &str) -> Result<Visibility, String> {
        match text {
            "private" => Ok(Visibility::Private),
            "internal" => Ok(Visibility::Internal),
            "public" => Ok(Visibility::Public),
            other => Err(format!(
                "unknown visibility '{other}', expected private, internal or public"
            )),
        }
    }
}

/// Who may use a project feature: the three values every `*_access_level`
/// field takes (`repository_access_level`, `issues_access_level`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RepositoryAccess {
    /// Everyone who can see the project.
    #[default]
    Enabled,
    /// Project members only.
    Private,
    /// Nobody: the repository is switched off.
    Disabled,
}

/// The same values for the other features (issues, merge requests, CI/CD).
pub type FeatureAccess = RepositoryAccess;

impl RepositoryAccess {
    /// The narrower of two levels (disabled < private < enabled).
    pub fn min(self, other: RepositoryAccess) -> RepositoryAccess {
        let rank = |a: RepositoryAccess| match a {
            RepositoryAccess::Disabled => 0,
            RepositoryAccess::Private => 1,
            RepositoryAccess::Enabled => 2,
        };
        if rank(other) < rank(self) { other } else { self }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RepositoryAccess::Enabled => "enabled",
            RepositoryAccess::Private => "private",
            RepositoryAccess::Disabled => "disabled",
        }
    }
}

/// A user's account state; only `active` users may use the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UserState {
    #[default]
    Active,
    Blocked,
}

impl UserState {
    pub fn as_str(self) -> &'static str {
        match self {
            UserState::Active => "active",
            UserState::Blocked => "blocked",
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: u64,
    pub username: String,
    /// Display name, shown in `/user` and in project owners.
    pub name: String,
    pub email: String,
    pub state: UserState,
    pub created_at: OffsetDateTime,
}

/// A personal access token. Rotation links tokens into families through
/// `previous_id`, which reuse detection walks.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: u64,
    pub user_id: u64,
    pub name: String,
    pub description: Option<String>,
    /// The plaintext secret (`glpat-…`); GitLab stores a digest, the simulator
    /// needs the text to print demo tokens.
    pub secret: String,
    pub scopes: Vec<String>,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
    /// The first day on which the token no longer works (docs/gitlab.md §4).
    pub expires_at: Option<Date>,
    pub revoked: bool,
    /// The token this one replaced by rotation (`previous_personal_access_token_id`).
    pub previous_id: Option<u64>,
}

impl Token {
    /// Expired from 00:00 UTC *on* `expires_at` (`expires_at <= today`).
    pub fn expired(&self, today: Date) -> bool {
        self.expires_at.is_some_and(|day| day <= today)
    }

    /// GitLab's `active`: neither revoked nor expired.
    pub fn active(&self, today: Date) -> bool {
        !self.revoked && !self.expired(today)
    }

    pub fn has_any_scope(&self, wanted: &[&str]) -> bool {
        self.scopes.iter().any(|s| wanted.contains(&s.as_str()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamespaceKind {
    Group,
    /// A user's personal namespace; its owner owns every project in it.
    User,
}

/// A group or a user's personal namespace, created on demand from project paths.
#[derive(Debug, Clone)]
pub struct Namespace {
    pub id: u64,
    pub full_path: String,
    pub name: String,
    pub kind: NamespaceKind,
    pub parent_id: Option<u64>,
    /// For personal namespaces: the user who owns it.
    pub owner_id: Option<u64>,
    /// Group members; inherited by every project below the group.
    pub members: BTreeMap<u64, AccessLevel>,
}

impl Namespace {
    /// The last path segment (`sub` of `acme/sub`).
    pub fn path(&self) -> &str {
        self.full_path.rsplit('/').next().unwrap_or(&self.full_path)
    }
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: u64,
    pub path_with_namespace: String,
    pub name: String,
    pub description: Option<String>,
    pub namespace_id: u64,
    pub visibility: Visibility,
    pub archived: bool,
    pub repository_access_level: RepositoryAccess,
    pub issues_access_level: FeatureAccess,
    pub merge_requests_access_level: FeatureAccess,
    pub builds_access_level: FeatureAccess,
    /// "Public pipelines" (`public_jobs`): Guests and non-members may read
    /// pipelines and jobs.
    pub public_jobs: bool,
    /// A project without commits: no default branch, no README.
    pub empty_repo: bool,
    pub default_branch: String,
    /// Protected branches (or wildcards), in creation order.
    pub protected_branches: Vec<ProtectedBranch>,
    /// Direct members (`permissions.project_access`).
    pub members: BTreeMap<u64, AccessLevel>,
    pub created_at: OffsetDateTime,
    /// Pending deletion (`marked_for_deletion_on`).
    pub marked_for_deletion_on: Option<Date>,
}

/// Who may push to and merge into a protected branch: one role each, as
/// GitLab's Free tier allows (`docs/gitlab.md` §15).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    /// `0` (no one), `30` (developers and maintainers) or `40` (maintainers).
    pub push: AccessLevel,
    pub merge: AccessLevel,
}

impl Protection {
    /// GitLab's default for a new project's default branch ("fully
    /// protected"): maintainers push and merge.
    pub const MAINTAINERS: Protection = Protection {
        push: AccessLevel::MAINTAINER,
        merge: AccessLevel::MAINTAINER,
    };

    /// The levels a protected branch accepts (`ProtectedRefAccess`).
    pub fn check(level: AccessLevel) -> Result<AccessLevel, String> {
        match level {
            AccessLevel::NO_ACCESS | AccessLevel::DEVELOPER | AccessLevel::MAINTAINER => Ok(level),
            other => Err(format!(
                "a protected branch takes no_access (0), developer (30) or maintainer (40), not {other}"
            )),
        }
    }
}

/// A protected branch rule, with the ids the API shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedBranch {
    pub id: u64,
    /// A branch name or a wildcard (`release/*`).
    pub name: String,
    pub protection: Protection,
    /// Ids of the push and the merge access level entries.
    pub push_id: u64,
    pub merge_id: u64,
}

impl Project {
    /// GitLab refuses merge requests or CI/CD more open than the repository
    /// (`ProjectFeature#repository_children_level`); its settings page
    /// lowers them with the repository, and so does the simulator.
    pub fn fit_repository_children(&mut self) {
        self.merge_requests_access_level = self.merge_requests_access_level.min(self.repository_access_level);
        self.builds_access_level = self.builds_access_level.min(self.repository_access_level);
    }

    /// The last path segment (`backend` of `acme/backend`).
    pub fn path(&self) -> &str {
        self.path_with_namespace
            .rsplit('/')
            .next()
            .unwrap_or(&self.path_with_namespace)
    }
}

/// Instance-wide settings that change GitLab's answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Instance {
    /// What `/version` and `/metadata` report.
    pub version: String,
    pub revision: String,
    pub enterprise: bool,
    /// Whether `POST /personal_access_tokens/self/rotate` exists (GitLab 16.10+).
    pub self_rotate: bool,
    /// The maximum token lifetime enforced on rotation (365 by default).
    pub max_token_lifetime_days: u32,
    /// "Require expiration dates for new access tokens" (on by default).
    pub require_token_expiry: bool,
    /// Whether the client is in the monitoring allowlist, i.e. whether
    /// `/-/health`, `/-/readiness` and `/-/liveness` answer or 404.
    pub health_allowlisted: bool,
    /// `health_check_access_token`: grants readiness/liveness to non-allowlisted clients.
    pub health_check_token: Option<String>,
    /// Whether `/-/readiness` reports ok (200) or failed (503).
    pub readiness_ok: bool,
}

impl Default for Instance {
    fn default() -> Instance {
        Instance {
            version: "17.5.0".to_owned(),
            revision: "9b1c8a2f3d4".to_owned(),
            enterprise: false,
            self_rotate: true,
            max_token_lifetime_days: 365,
            require_token_expiry: true,
            health_allowlisted: true,
            health_check_token: None,
            readiness_ok: true,
        }
    }
}

/// Request budgets and the failed-authentication ban.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// API requests per minute per token (GitLab.com: 2,000 per user).
    pub authenticated_per_minute: u64,
    /// API requests per minute per client IP without a valid token.
    pub unauthenticated_per_minute: u64,
    /// Failed Git sign-ins from one IP within a minute that trigger the ban (GitLab.com: 300).
    pub failed_auth_ban_after: u64,
    /// How long the ban lasts (GitLab.com: 15 minutes).
    pub failed_auth_ban_seconds: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            authenticated_per_minute: 2000,
            unauthenticated_per_minute: 500,
            failed_auth_ban_after: 300,
            failed_auth_ban_seconds: 900,
        }
    }
}
