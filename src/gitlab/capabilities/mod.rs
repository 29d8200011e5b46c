//! What a connection can do with one project: clone, push, issues, merge
//! requests and pipelines, judged from what the project listing already
//! says (the token's scopes, the effective role, visibility, `archived` and
//! the project's feature access levels). Pure: no request, no clock.
//!
//! Every rule, with its source, is in `docs/capabilities.md`; the rules
//! that could not be confirmed are marked there. In short:
//!
//! | action | scopes (any of) | role | feature settings | archived |
//! |---|---|---|---|---|
//! | clone | `read_repository`, `write_repository`, `api` | Reporter on private projects; none on public and internal ones | repository | allowed |
//! | push | `write_repository`, `api` | Developer | repository | refused |
//! | issues: read | `read_api`, `api` | Guest on private projects | issues | allowed |
//! | issues: create | `api` | Guest on private projects | issues | refused |
//! | merge_requests: create | `api` | Developer | repository, merge requests | refused |
//! | pipelines: read | `read_api`, `api` | Reporter; Guest (or anyone who sees the project) when public pipelines are on | repository, CI/CD | allowed |
//! | pipelines: run | `api` | Developer | repository, CI/CD | refused |
//!
//! Protected branches are not judged here: whether a Developer may push to
//! (or run pipelines for) a protected branch needs the branch's rules, which
//! the listing does not carry.

use std::fmt;

use super::types::{Project, access_level_name};

/// Access levels GitLab names (`docs/gitlab.md` §8).
pub const GUEST: u32 = 10;
pub const REPORTER: u32 = 20;
pub const DEVELOPER: u32 = 30;

/// The five things the integration is used for, with their stable names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    Clone,
    Push,
    Issues,
    MergeRequests,
    Pipelines,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Capability::Clone,
        Capability::Push,
        Capability::Issues,
        Capability::MergeRequests,
        Capability::Pipelines,
    ];

    /// The stable name: `clone`, `push`, `issues`, `merge_requests`, `pipelines`.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Clone => "clone",
            Capability::Push => "push",
            Capability::Issues => "issues",
            Capability::MergeRequests => "merge_requests",
            Capability::Pipelines => "pipelines",
        }
    }

    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The actions the capability is made of; it is `yes` only when all are.
    pub fn actions(self) -> &'static [Action] {
        match self {
            Capability::Clone => &[Action::Clone],
            Capability::Push => &[Action::Push],
            Capability::Issues => &[Action::ReadIssues, Action::CreateIssues],
            Capability::MergeRequests => &[Action::CreateMergeRequests],
            Capability::Pipelines => &[Action::ReadPipelines, Action::RunPipelines],
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing a capability needs GitLab to allow. `issues` and `pipelines`
/// have a read and a write half, because GitLab grants them separately
/// (a Reporter reads pipelines but cannot run them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Clone,
    Push,
    ReadIssues,
    CreateIssues,
    CreateMergeRequests,
    ReadPipelines,
    RunPipelines,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::Clone,
        Action::Push,
        Action::ReadIssues,
        Action::CreateIssues,
        Action::CreateMergeRequests,
        Action::ReadPipelines,
        Action::RunPipelines,
    ];

    pub fn capability(self) -> Capability {
        match self {
            Action::Clone => Capability::Clone,
            Action::Push => Capability::Push,
            Action::ReadIssues | Action::CreateIssues => Capability::Issues,
            Action::CreateMergeRequests => Capability::MergeRequests,
            Action::ReadPipelines | Action::RunPipelines => Capability::Pipelines,
        }
    }

    /// The verb within its capability: `clone`, `push`, `read`, `create`, `run`.
    pub fn verb(self) -> &'static str {
        match self {
            Action::Clone => "clone",
            Action::Push => "push",
            Action::ReadIssues | Action::ReadPipelines => "read",
            Action::CreateIssues | Action::CreateMergeRequests => "create",
            Action::RunPipelines => "run",
        }
    }

    /// How a sentence names it: "create issues".
    fn phrase(self) -> &'static str {
        match self {
            Action::Clone => "clone the repository",
            Action::Push => "push to the repository",
            Action::ReadIssues => "read issues",
            Action::CreateIssues => "create issues",
            Action::CreateMergeRequests => "create merge requests",
            Action::ReadPipelines => "read pipelines",
            Action::RunPipelines => "run pipelines",
        }
    }
}

/// A project's visibility; anything GitLab might add is judged as private.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Private,
    Internal,
    Public,
}

impl Visibility {
    pub fn parse(text: Option<&str>) -> Visibility {
        match text {
            Some("public") => Visibility::Public,
            Some("internal") => Visibility::Internal,
            _ => Visibility::Private,
        }
    }
}

/// A project feature's access level (`*_access_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureAccess {
    /// Everyone who can see the project.
    Enabled,
    /// Project members only (GitLab calls it `private`).
    Private,
    /// Nobody.
    Disabled,
}

impl FeatureAccess {
    /// GitLab's values; a missing field (an older GitLab) is its default,
    /// `enabled`. `public` (pages only) counts as enabled.
    pub fn parse(text: Option<&str>) -> FeatureAccess {
        match text {
            Some("disabled") => FeatureAccess::Disabled,
            Some("private") => FeatureAccess::Private,
            _ => FeatureAccess::Enabled,
        }
    }
}

/// The four feature settings a capability depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    pub repository: FeatureAccess,
    pub issues: FeatureAccess,
    pub merge_requests: FeatureAccess,
    pub builds: FeatureAccess,
}

impl Default for Features {
    fn default() -> Features {
        Features {
            repository: FeatureAccess::Enabled,
            issues: FeatureAccess::Enabled,
            merge_requests: FeatureAccess::Enabled,
            builds: FeatureAccess::Enabled,
        }
    }
}

/// A feature setting by its API name, for messages and fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Repository,
    Issues,
    MergeRequests,
    Builds,
}

impl Feature {
    /// The project field: `repository_access_level` and so on.
    pub fn setting(self) -> &'static str {
        match self {
            Feature::Repository => "repository_access_level",
            Feature::Issues => "issues_access_level",
            Feature::MergeRequests => "merge_requests_access_level",
            Feature::Builds => "builds_access_level",
        }
    }

    /// Its name on the project's settings page.
    fn label(self) -> &'static str {
        match self {
            Feature::Repository => "Repository",
            Feature::Issues => "Issues",
            Feature::MergeRequests => "Merge requests",
            Feature::Builds => "CI/CD",
        }
    }

    /// The lowest role that counts as a member for a `private` feature
    /// (`ProjectFeature::PRIVATE_FEATURES_MIN_ACCESS_LEVEL`).
    fn members_from(self) -> u32 {
        match self {
            Feature::MergeRequests => REPORTER,
            _ => GUEST,
        }
    }
}

/// Everything a verdict is judged from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The token's scopes.
    pub scopes: Vec<String>,
    /// The effective access level: the higher of the direct and the group
    /// membership; `None` for a non-member.
    pub access_level: Option<u32>,
    pub visibility: Visibility,
    pub archived: bool,
    pub features: Features,
    /// "Public pipelines" (`public_jobs`): lets Guests and non-members
    /// read pipelines and jobs.
    pub public_jobs: bool,
}

impl Facts {
    /// The facts of a listed project (the full shape, `docs/gitlab.md` §7).
    pub fn from_project(project: &Project, scopes: &[String]) -> Facts {
        let level = |field: &Option<String>| FeatureAccess::parse(field.as_deref());
        Facts {
            scopes: scopes.to_vec(),
            access_level: project.access_level(),
            visibility: Visibility::parse(project.visibility.as_deref()),
            archived: project.archived,
            features: Features {
                repository: level(&project.repository_access_level),
                issues: level(&project.issues_access_level),
                merge_requests: level(&project.merge_requests_access_level),
                builds: level(&project.builds_access_level),
            },
            // GitLab's default is on; an answer without the field (the
            // simple shape) is read as the default.
            public_jobs: project.public_jobs.unwrap_or(true),
        }
    }

    fn role(&self) -> u32 {
        self.access_level.unwrap_or(0)
    }

    /// Public projects, and internal ones for a signed-in user: GitLab
    /// grants what a Guest could do to everyone who can see them.
    fn open(&self) -> bool {
        self.visibility != Visibility::Private
    }

    fn has_any(&self, scopes: &[&str]) -> bool {
        self.scopes.iter().any(|s| scopes.contains(&s.as_str()))
    }
}

/// Why an action is refused. The codes are stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The token has none of these scopes; the first is the one to add.
    ScopeMissing(&'static [&'static str]),
    /// The user's role is below this access level.
    RoleTooLow(u32),
    /// The feature is switched off for everyone.
    FeatureDisabled(Feature),
    /// The project is archived (read-only).
    ProjectArchived,
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::ScopeMissing(_) => "scope-missing",
            Reason::RoleTooLow(_) => "role-too-low",
            Reason::FeatureDisabled(_) => "feature-disabled",
            Reason::ProjectArchived => "project-archived",
        }
    }
}

/// A refusal: its reason, what it means, and the step that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub reason: Reason,
    pub message: String,
    pub fix: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Yes,
    No(Denial),
}

impl Verdict {
    pub fn is_yes(&self) -> bool {
        matches!(self, Verdict::Yes)
    }

    /// The reason code of a `No`.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            Verdict::Yes => None,
            Verdict::No(denial) => Some(denial.reason.code()),
        }
    }
}

/// One capability's verdict, and the verdict of each of its actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityVerdict {
    pub capability: Capability,
    /// `Yes` when every action is; else the first refused action's `No`.
    pub verdict: Verdict,
    pub actions: Vec<(Action, Verdict)>,
}

/// The verdict of every capability, in `Capability::ALL` order.
pub fn verdicts(facts: &Facts) -> Vec<CapabilityVerdict> {
    Capability::ALL
        .into_iter()
        .map(|capability| {
            let actions: Vec<(Action, Verdict)> = capability
                .actions()
                .iter()
                .map(|&action| (action, verdict(action, facts)))
                .collect();
            let verdict = actions
                .iter()
                .map(|(_, v)| v)
                .find(|v| !v.is_yes())
                .cloned()
                .unwrap_or(Verdict::Yes);
            CapabilityVerdict {
                capability,
                verdict,
                actions,
            }
        })
        .collect()
}

/// What one action needs. The checks run in the order of what the user can
/// least work around: an archived project, then a disabled feature, then
/// the role, then the token's scopes; the first that fails is the verdict.
struct Needs {
    scopes: &'static [&'static str],
    /// The role needed; `None` when anyone who can see the project may.
    role: Option<u32>,
    features: &'static [Feature],
    refused_when_archived: bool,
}

const CLONE_SCOPES: &[&str] = &["read_repository", "write_repository", "api"];
const PUSH_SCOPES: &[&str] = &["write_repository", "api"];
const READ_SCOPES: &[&str] = &["read_api", "api"];
const WRITE_SCOPES: &[&str] = &["api"];

fn needs(action: Action, facts: &Facts) -> Needs {
    // On public and internal projects GitLab does not enforce the Guest
    // role: seeing the project is enough for what a Guest may do.
    let guest_unless_open = (!facts.open()).then_some(GUEST);
    match action {
        Action::Clone => Needs {
            scopes: CLONE_SCOPES,
            role: (!facts.open()).then_some(REPORTER),
            features: &[Feature::Repository],
            refused_when_archived: false,
        },
        Action::Push => Needs {
            scopes: PUSH_SCOPES,
            role: Some(DEVELOPER),
            features: &[Feature::Repository],
            refused_when_archived: true,
        },
        Action::ReadIssues => Needs {
            scopes: READ_SCOPES,
            role: guest_unless_open,
            features: &[Feature::Issues],
            refused_when_archived: false,
        },
        Action::CreateIssues => Needs {
            scopes: WRITE_SCOPES,
            role: guest_unless_open,
            features: &[Feature::Issues],
            refused_when_archived: true,
        },
        Action::CreateMergeRequests => Needs {
            scopes: WRITE_SCOPES,
            role: Some(DEVELOPER),
            features: &[Feature::Repository, Feature::MergeRequests],
            refused_when_archived: true,
        },
        Action::ReadPipelines => Needs {
            scopes: READ_SCOPES,
            // Reading pipelines over the API needs both `read_pipeline` and
            // `read_build`; with public pipelines off only Reporters have
            // the second.
            role: match (facts.public_jobs, facts.open()) {
                (true, true) => None,
                (true, false) => Some(GUEST),
                (false, _) => Some(REPORTER),
            },
            features: &[Feature::Repository, Feature::Builds],
            refused_when_archived: false,
        },
        Action::RunPipelines => Needs {
            scopes: WRITE_SCOPES,
            role: Some(DEVELOPER),
            features: &[Feature::Repository, Feature::Builds],
            refused_when_archived: true,
        },
    }
}

/// The verdict for one action.
pub fn verdict(action: Action, facts: &Facts) -> Verdict {
    let needs = needs(action, facts);
    if needs.refused_when_archived && facts.archived {
        return Verdict::No(archived(action));
    }
    // A members-only feature raises the role needed to its members' floor;
    // one requirement is reported, the highest, so that fixing it is enough.
    let mut required = needs.role;
    let mut members_only_feature = None;
    for &feature in needs.features {
        match access_of(feature, facts) {
            FeatureAccess::Disabled => return Verdict::No(feature_disabled(action, feature)),
            FeatureAccess::Private if Some(feature.members_from()) > required => {
                required = Some(feature.members_from());
                members_only_feature = Some(feature);
            }
            _ => {}
        }
    }
    if let Some(role) = required.filter(|&role| facts.role() < role) {
        return Verdict::No(match members_only_feature {
            Some(feature) => members_only(action, feature),
            None => role_too_low(action, role, facts),
        });
    }
    if !facts.has_any(needs.scopes) {
        return Verdict::No(scope_missing(action, needs.scopes));
    }
    Verdict::Yes
}

fn access_of(feature: Feature, facts: &Facts) -> FeatureAccess {
    match feature {
        Feature::Repository => facts.features.repository,
        Feature::Issues => facts.features.issues,
        Feature::MergeRequests => facts.features.merge_requests,
        Feature::Builds => facts.features.builds,
    }
}

/// "Reporter (20)".
pub fn role_label(level: u32) -> String {
    let name = access_level_name(level);
    let mut chars = name.chars();
    let title: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    };
    format!("{title} ({level})")
}

fn scope_list(scopes: &[&str]) -> String {
    let quoted: Vec<String> = scopes.iter().map(|s| format!("`{s}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn archived(action: Action) -> Denial {
    Denial {
        reason: Reason::ProjectArchived,
        message: format!(
            "The project is archived (read-only): nobody can {} until it is unarchived.",
            action.phrase()
        ),
        fix: "Ask a project Owner to unarchive it (Settings → General → Advanced → Unarchive project).".to_owned(),
    }
}

fn feature_disabled(action: Action, feature: Feature) -> Denial {
    Denial {
        reason: Reason::FeatureDisabled(feature),
        message: format!(
            "The project's {} feature is disabled (`{}` is `disabled`), so nobody can {}.",
            feature.label(),
            feature.setting(),
            action.phrase()
        ),
        fix: format!(
            "Ask a project Maintainer to enable {} in Settings → General → Visibility, project features, permissions.",
            feature.label()
        ),
    }
}

fn members_only(action: Action, feature: Feature) -> Denial {
    let role = feature.members_from();
    Denial {
        reason: Reason::RoleTooLow(role),
        message: format!(
            "The project's {} feature is for project members only (`{}` is `private`), and the token's user is not a member with at least the {} role, which {} needs.",
            feature.label(),
            feature.setting(),
            role_label(role),
            action.phrase()
        ),
        fix: format!(
            "Ask a project Maintainer to add the user with at least the {} role (Manage → Members), or to open {} to everyone with access in Settings → General → Visibility, project features, permissions.",
            role_label(role),
            feature.label()
        ),
    }
}

fn role_too_low(action: Action, role: u32, facts: &Facts) -> Denial {
    let current = match facts.access_level {
        Some(level) => format!("the token's user has the {} role", role_label(level)),
        None => "the token's user is not a member of the project".to_owned(),
    };
    let mut fix = format!(
        "Ask a project Maintainer to give the user at least the {} role (Manage → Members).",
        role_label(role)
    );
    if action == Action::ReadPipelines && role == REPORTER {
        fix.push_str(" Or ask them to turn on Public pipelines (Settings → CI/CD → General pipelines), which lets Guests read pipelines.");
    }
    Denial {
        reason: Reason::RoleTooLow(role),
        message: format!(
            "To {} GitLab requires at least the {} role here; {current}.",
            action.phrase(),
            role_label(role)
        ),
        fix,
    }
}

fn scope_missing(action: Action, scopes: &'static [&'static str]) -> Denial {
    Denial {
        reason: Reason::ScopeMissing(scopes),
        message: format!(
            "The token has none of the scopes {}, and GitLab needs one to {}.",
            scope_list(scopes),
            action.phrase()
        ),
        fix: format!(
            "Create a personal access token with the `{}` scope (GitLab cannot add scopes to a token) and replace the workspace's token with it.",
            scopes.first().copied().unwrap_or("api")
        ),
    }
}

#[cfg(test)]
mod tests;
