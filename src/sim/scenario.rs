//! A simulator scenario: the world the simulated GitLab starts with. Loaded
//! from TOML (raw serde types with `deny_unknown_fields`, then validated into a
//! `World`) or built in code for tests that need thousands of projects.
//!
//! ```toml
//! today = "2026-03-01"          # the simulated date; default: the real UTC date
//! seed = 7                      # for generated token secrets; optional
//!
//! [instance]                    # all optional, see model::Instance
//! version = "17.5.0"
//! self_rotate = true
//! max_token_lifetime_days = 365
//! require_token_expiry = true
//! health_allowlisted = true
//!
//! [limits]                      # all optional, see model::Limits
//! authenticated_per_minute = 2000
//! failed_auth_ban_after = 300
//!
//! [[users]]
//! username = "alice"            # name, email, id, state = "active"|"blocked" optional
//! [[users.tokens]]
//! name = "workspace"
//! token = "glpat-…"             # optional: generated from the seed
//! scopes = ["api", "read_repository"]
//! expires_in_days = 60          # or expires_at = "2026-05-01"; neither: no expiry
//! # revoked, id, description, created_at, last_used_at optional
//!
//! [[groups]]                    # optional: group members inherit access
//! path = "acme"
//! members = { alice = "maintainer" }
//!
//! [[projects]]
//! path = "acme/backend"
//! visibility = "private"        # private | internal | public
//! members = { alice = "developer", bob = 10 }
//! # name, description, id, archived, repository_access_level,
//! # issues_access_level, merge_requests_access_level, builds_access_level
//! # (enabled|private|disabled), public_jobs = false, empty_repo,
//! # default_branch, redirects = ["acme/old-name"], marked_for_deletion_on
//! # optional; the default branch is protected for maintainers unless
//! # default_branch_protection = false or = { push = "developer", merge = "maintainer" };
//! # protected_branches = [{ name = "release/*", push = "no_access", merge = "maintainer" }]
//!
//! [[generate]]                  # optional: many users, tokens and projects
//! users = 1000                  # from a seed (see super::generate)
//! projects_per_user = 2
//! seed = 42
//! ```
//!
//! Generated users are added after `[[users]]` and before `[[groups]]` and
//! `[[projects]]`, which may name them.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, Time};

use super::error::SimError;
use super::generate::{self, RawGenerate};
use super::model::{AccessLevel, FeatureAccess, Instance, Limits, Protection, RepositoryAccess, UserState, Visibility};
use super::spec::{Expiry, GroupSpec, ProjectSpec, TokenSpec, UserSpec};
use super::summary::Summary;
use super::world::World;

const DEFAULT_SEED: u64 = 0x1ab_5eed;
const DEMO: &str = include_str!("scenarios/demo.toml");

/// A token just created: its id and its plaintext secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NewToken {
    pub id: u64,
    pub token: String,
}

/// The world a simulator starts with.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub(crate) world: World,
    /// Request budgets and the failed-auth ban, changeable at run time.
    pub limits: Limits,
}

impl Scenario {
    /// An empty world on the given date.
    pub fn new(today: Date) -> Scenario {
        Scenario {
            world: World::new(today, DEFAULT_SEED),
            limits: Limits::default(),
        }
    }

    /// An empty world on the real current UTC date.
    pub fn empty() -> Scenario {
        Scenario::new(OffsetDateTime::now_utc().date())
    }

    /// The embedded demo scenario (`src/sim/scenarios/demo.toml`): one healthy
    /// and one broken user. Fails only if that file is broken, which a unit
    /// test rules out.
    pub fn demo() -> Result<Scenario, String> {
        Scenario::from_toml(DEMO).map_err(|e| format!("the embedded demo scenario: {e}"))
    }

    /// Parses and validates a scenario file.
    pub fn from_toml(text: &str) -> Result<Scenario, String> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| format!("invalid scenario: {e}"))?;
        raw.build()
    }

    pub fn today(&self) -> Date {
        self.world.today
    }

    /// Moves the simulated date; relative expiries already given stay absolute.
    pub fn set_today(&mut self, today: Date) {
        self.world.today = today;
    }

    pub fn instance(&self) -> &Instance {
        &self.world.instance
    }

    pub fn instance_mut(&mut self) -> &mut Instance {
        &mut self.world.instance
    }

    pub fn add_user(&mut self, spec: UserSpec) -> Result<u64, SimError> {
        self.world.add_user(spec)
    }

    pub fn add_token(&mut self, spec: TokenSpec) -> Result<NewToken, SimError> {
        let (id, token) = self.world.add_token(spec)?;
        Ok(NewToken { id, token })
    }

    pub fn add_group(&mut self, spec: GroupSpec) -> Result<u64, SimError> {
        self.world.add_group(spec)
    }

    pub fn add_project(&mut self, spec: ProjectSpec) -> Result<u64, SimError> {
        self.world.add_project(spec)
    }

    /// Users with their tokens, and projects with their members.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.world)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    today: Option<RawDate>,
    seed: Option<u64>,
    #[serde(default)]
    instance: Instance,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    groups: Vec<RawGroup>,
    #[serde(default)]
    projects: Vec<RawProject>,
    #[serde(default)]
    generate: Vec<RawGenerate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    username: String,
    name: Option<String>,
    email: Option<String>,
    id: Option<u64>,
    #[serde(default)]
    state: UserState,
    #[serde(default)]
    tokens: Vec<RawToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    name: String,
    description: Option<String>,
    token: Option<String>,
    scopes: Vec<String>,
    expires_at: Option<RawDate>,
    expires_in_days: Option<i64>,
    #[serde(default)]
    revoked: bool,
    id: Option<u64>,
    created_at: Option<RawDate>,
    last_used_at: Option<RawDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGroup {
    path: String,
    name: Option<String>,
    #[serde(default)]
    members: BTreeMap<String, RawLevel>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    path: String,
    name: Option<String>,
    description: Option<String>,
    id: Option<u64>,
    #[serde(default)]
    visibility: Visibility,
    #[serde(default)]
    archived: bool,
    #[serde(default)]
    repository_access_level: RepositoryAccess,
    #[serde(default)]
    issues_access_level: FeatureAccess,
    #[serde(default)]
    merge_requests_access_level: FeatureAccess,
    #[serde(default)]
    builds_access_level: FeatureAccess,
    public_jobs: Option<bool>,
    #[serde(default)]
    empty_repo: bool,
    default_branch: Option<String>,
    default_branch_protection: Option<RawProtection>,
    #[serde(default)]
    protected_branches: Vec<RawBranch>,
    #[serde(default)]
    members: BTreeMap<String, RawLevel>,
    #[serde(default)]
    redirects: Vec<String>,
    marked_for_deletion_on: Option<RawDate>,
}

/// `false` (unprotected), `true` (GitLab's default) or the two roles.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawProtection {
    On(bool),
    Roles { push: RawLevel, merge: RawLevel },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranch {
    name: String,
    push: RawLevel,
    merge: RawLevel,
}

fn protection(push: &RawLevel, merge: &RawLevel) -> Result<Protection, String> {
    let level = |raw: &RawLevel| {
        let level = match raw {
            RawLevel::Number(n) => AccessLevel(*n),
            RawLevel::Name(name) => AccessLevel::parse(name)?,
        };
        Protection::check(level)
    };
    Ok(Protection {
        push: level(push)?,
        merge: level(merge)?,
    })
}

/// An access level as a number (`30`) or a role name (`"developer"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawLevel {
    Number(u32),
    Name(String),
}

/// A date as a string (`"2026-03-01"`) or a bare TOML date (`2026-03-01`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Text(String),
    Toml(toml::value::Datetime),
}

impl RawDate {
    fn text(&self) -> String {
        match self {
            RawDate::Text(text) => text.clone(),
            RawDate::Toml(datetime) => datetime.to_string(),
        }
    }
}

impl RawScenario {
    fn build(self) -> Result<Scenario, String> {
        let today = match &self.today {
            Some(raw) => parse_date(raw).map_err(|e| format!("today: {e}"))?,
            None => OffsetDateTime::now_utc().date(),
        };
        let seed = self.seed.unwrap_or(DEFAULT_SEED);
        let mut world = World::new(today, seed);
        world.instance = self.instance;
        for (i, user) in self.users.iter().enumerate() {
            let context = format!("users[{i}] ({})", user.username);
            add_user(&mut world, user).map_err(|e| format!("{context}: {e}"))?;
        }
        let written: BTreeSet<String> = self
            .projects
            .iter()
            .map(|p| p.path.trim_matches('/').to_ascii_lowercase())
            .collect();
        for (i, table) in self.generate.iter().enumerate() {
            generate::generate(&mut world, i, table, seed, &written).map_err(|e| format!("generate[{i}]: {e}"))?;
        }
        for (i, group) in self.groups.iter().enumerate() {
            let spec = GroupSpec {
                path: group.path.clone(),
                name: group.name.clone(),
                members: levels(&group.members)?,
            };
            world
                .add_group(spec)
                .map_err(|e| format!("groups[{i}] ({}): {e}", group.path))?;
        }
        for (i, project) in self.projects.into_iter().enumerate() {
            let context = format!("projects[{i}] ({})", project.path);
            let spec = project.spec().map_err(|e| format!("{context}: {e}"))?;
            world.add_project(spec).map_err(|e| format!("{context}: {e}"))?;
        }
        Ok(Scenario {
            world,
            limits: self.limits,
        })
    }
}

fn add_user(world: &mut World, user: &RawUser) -> Result<(), String> {
    world
        .add_user(UserSpec {
            username: user.username.clone(),
            name: user.name.clone(),
            email: user.email.clone(),
            id: user.id,
            state: user.state,
        })
        .map_err(|e| e.to_string())?;
    for (i, token) in user.tokens.iter().enumerate() {
        let spec = token
            .spec(&user.username)
            .map_err(|e| format!("tokens[{i}] ({}): {e}", token.name))?;
        world
            .add_token(spec)
            .map_err(|e| format!("tokens[{i}] ({}): {e}", token.name))?;
    }
    Ok(())
}

impl RawToken {
    fn spec(&self, username: &str) -> Result<TokenSpec, String> {
        let expires = match (&self.expires_at, self.expires_in_days) {
            (Some(_), Some(_)) => return Err("give expires_at or expires_in_days, not both".to_owned()),
            (Some(day), None) => Expiry::On(parse_date(day).map_err(|e| format!("expires_at: {e}"))?),
            (None, Some(days)) => Expiry::InDays(days),
            (None, None) => Expiry::Never,
        };
        if self.scopes.is_empty() {
            return Err("scopes must name at least one scope (e.g. [\"api\"])".to_owned());
        }
        let created_at = self
            .created_at
            .as_ref()
            .map(parse_instant)
            .transpose()
            .map_err(|e| format!("created_at: {e}"))?;
        let last_used_at = self
            .last_used_at
            .as_ref()
            .map(parse_instant)
            .transpose()
            .map_err(|e| format!("last_used_at: {e}"))?;
        Ok(TokenSpec {
            user: username.to_owned(),
            name: self.name.clone(),
            description: self.description.clone(),
            token: self.token.clone(),
            scopes: self.scopes.clone(),
            expires,
            revoked: self.revoked,
            id: self.id,
            created_at,
            last_used_at,
        })
    }
}

impl RawProject {
    fn spec(self) -> Result<ProjectSpec, String> {
        let marked_for_deletion_on = self
            .marked_for_deletion_on
            .as_ref()
            .map(parse_date)
            .transpose()
            .map_err(|e| format!("marked_for_deletion_on: {e}"))?;
        let default_branch_protection = match &self.default_branch_protection {
            None | Some(RawProtection::On(true)) => Some(Protection::MAINTAINERS),
            Some(RawProtection::On(false)) => None,
            Some(RawProtection::Roles { push, merge }) => {
                Some(protection(push, merge).map_err(|e| format!("default_branch_protection: {e}"))?)
            }
        };
        let protected_branches = self
            .protected_branches
            .iter()
            .map(|b| {
                protection(&b.push, &b.merge)
                    .map(|p| (b.name.clone(), p))
                    .map_err(|e| format!("protected branch '{}': {e}", b.name))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(ProjectSpec {
            members: levels(&self.members)?,
            path: self.path,
            name: self.name,
            description: self.description,
            id: self.id,
            visibility: self.visibility,
            archived: self.archived,
            repository_access_level: self.repository_access_level,
            issues_access_level: self.issues_access_level,
            merge_requests_access_level: self.merge_requests_access_level,
            builds_access_level: self.builds_access_level,
            public_jobs: self.public_jobs.unwrap_or(true),
            empty_repo: self.empty_repo,
            default_branch: self.default_branch.unwrap_or_else(|| "main".to_owned()),
            default_branch_protection,
            protected_branches,
            redirects: self.redirects,
            marked_for_deletion_on,
        })
    }
}

/// Adds a user (with tokens) from its scenario form as JSON (control API).
pub(crate) fn add_user_json(world: &mut World, value: serde_json::Value) -> Result<u64, String> {
    let raw: RawUser = serde_json::from_value(value).map_err(|e| format!("invalid user: {e}"))?;
    add_user(world, &raw)?;
    world.user_id(&raw.username).map_err(|e| e.to_string())
}

/// Adds a token from its scenario form as JSON (control API).
pub(crate) fn add_token_json(
    world: &mut World,
    username: &str,
    value: serde_json::Value,
) -> Result<(u64, String), String> {
    let raw: RawToken = serde_json::from_value(value).map_err(|e| format!("invalid token: {e}"))?;
    let spec = raw.spec(username)?;
    world.add_token(spec).map_err(|e| e.to_string())
}

/// Adds a group from its scenario form as JSON (control API).
pub(crate) fn add_group_json(world: &mut World, value: serde_json::Value) -> Result<u64, String> {
    let raw: RawGroup = serde_json::from_value(value).map_err(|e| format!("invalid group: {e}"))?;
    let spec = GroupSpec {
        members: levels(&raw.members)?,
        path: raw.path,
        name: raw.name,
    };
    world.add_group(spec).map_err(|e| e.to_string())
}

/// Adds a project from its scenario form as JSON (control API).
pub(crate) fn add_project_json(world: &mut World, value: serde_json::Value) -> Result<u64, String> {
    let raw: RawProject = serde_json::from_value(value).map_err(|e| format!("invalid project: {e}"))?;
    world.add_project(raw.spec()?).map_err(|e| e.to_string())
}

/// An access level from JSON: a number or a role name.
pub(crate) fn level_json(value: serde_json::Value) -> Result<AccessLevel, String> {
    match serde_json::from_value::<RawLevel>(value).map_err(|e| format!("invalid access level: {e}"))? {
        RawLevel::Number(n) => Ok(AccessLevel(n)),
        RawLevel::Name(name) => AccessLevel::parse(&name),
    }
}

fn levels(members: &BTreeMap<String, RawLevel>) -> Result<Vec<(String, AccessLevel)>, String> {
    members
        .iter()
        .map(|(user, level)| {
            let level = match level {
                RawLevel::Number(n) => AccessLevel(*n),
                RawLevel::Name(name) => AccessLevel::parse(name).map_err(|e| format!("member '{user}': {e}"))?,
            };
            Ok((user.clone(), level))
        })
        .collect()
}

/// `YYYY-MM-DD`.
pub(crate) fn parse_date_text(text: &str) -> Result<Date, String> {
    Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| format!("'{text}' is not a date, expected YYYY-MM-DD"))
}

fn parse_date(raw: &RawDate) -> Result<Date, String> {
    parse_date_text(&raw.text())
}

/// A date (midnight UTC) or an RFC 3339 timestamp.
fn parse_instant(raw: &RawDate) -> Result<OffsetDateTime, String> {
    let text = raw.text();
    if let Ok(day) = parse_date_text(&text) {
        return Ok(day.with_time(Time::MIDNIGHT).assume_utc());
    }
    OffsetDateTime::parse(&text, &Rfc3339)
        .map_err(|_| format!("'{text}' is neither a date (YYYY-MM-DD) nor an RFC 3339 timestamp"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_parses_with_two_users() {
        let demo = Scenario::demo().expect("demo scenario");
        assert_eq!(demo.summary().users.len(), 2);
    }

    #[test]
    fn relative_expiry_counts_from_today() {
        let scenario = Scenario::from_toml(
            "today = \"2026-03-01\"\n[[users]]\nusername = \"a\"\n[[users.tokens]]\nname = \"t\"\nscopes = [\"api\"]\nexpires_in_days = 5\n",
        )
        .expect("scenario");
        let token = scenario.world.tokens().next().expect("token");
        assert_eq!(token.expires_at.map(|d| d.to_string()).as_deref(), Some("2026-03-06"));
    }
}
