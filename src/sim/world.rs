//! The simulated GitLab's data and its rules: records indexed by id and by
//! path/secret (so 10,000 projects stay fast), the simulated *today* that
//! drives expiry, token families, project moves with redirects, and who may
//! see or clone what. No I/O and no locking: [`super::Sim`] wraps it in a mutex.

use std::collections::{BTreeMap, HashMap};

use time::{Date, Duration, OffsetDateTime, Time};

use super::error::SimError;
use super::membership::MemberIndex;
use super::model::{
    AccessLevel, FeatureAccess, Instance, Namespace, NamespaceKind, Project, ProtectedBranch, Protection,
    RepositoryAccess, Token, User, UserState, Visibility,
};
use super::spec::{Expiry, GroupSpec, ProjectRef, ProjectSpec, TokenRef, TokenSpec, UserSpec};
use super::unconfirmed;

/// Why a rotation was refused; the old token is untouched in both cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateError {
    AlreadyRevoked,
    /// The requested expiry is past today + the maximum lifetime (this date).
    BeyondLifetime(Date),
}

#[derive(Debug, Clone)]
pub struct World {
    /// The simulated date: tokens with `expires_at <= today` are expired.
    pub(crate) today: Date,
    pub(crate) instance: Instance,
    users: BTreeMap<u64, User>,
    user_by_name: HashMap<String, u64>,
    tokens: BTreeMap<u64, Token>,
    token_by_secret: HashMap<String, u64>,
    /// previous token id → the token that replaced it (token families).
    successor: HashMap<u64, u64>,
    namespaces: BTreeMap<u64, Namespace>,
    namespace_by_path: HashMap<String, u64>,
    projects: BTreeMap<u64, Project>,
    /// Lower-cased current path → id (GitLab paths match case-insensitively).
    project_by_path: HashMap<String, u64>,
    /// Lower-cased former path → id (redirect routes left by moves).
    redirects: HashMap<String, u64>,
    /// Who reaches which project without a group, for membership listings.
    members: MemberIndex,
    next_user_id: u64,
    next_token_id: u64,
    next_namespace_id: u64,
    next_project_id: u64,
    /// Ids of protected branches and their access level entries.
    next_protection_id: u64,
    /// Seeded, so a scenario's generated secrets are the same on every run.
    rng: fastrand::Rng,
}

impl World {
    pub fn new(today: Date, seed: u64) -> World {
        World {
            today,
            instance: Instance::default(),
            users: BTreeMap::new(),
            user_by_name: HashMap::new(),
            tokens: BTreeMap::new(),
            token_by_secret: HashMap::new(),
            successor: HashMap::new(),
            namespaces: BTreeMap::new(),
            namespace_by_path: HashMap::new(),
            projects: BTreeMap::new(),
            project_by_path: HashMap::new(),
            redirects: HashMap::new(),
            members: MemberIndex::default(),
            next_user_id: 1,
            next_token_id: 1,
            next_namespace_id: 1,
            next_project_id: 1,
            next_protection_id: 1,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The simulated today at the real time of day (for `created_at` stamps).
    pub fn now(&self) -> OffsetDateTime {
        let real = OffsetDateTime::now_utc();
        self.today.with_time(real.time()).assume_utc()
    }

    fn day_start(&self, days_ago: i64) -> OffsetDateTime {
        (self.today - Duration::days(days_ago))
            .with_time(Time::MIDNIGHT)
            .assume_utc()
    }

    // --- users ---

    pub fn add_user(&mut self, spec: UserSpec) -> Result<u64, SimError> {
        check_segment(&spec.username).map_err(|e| SimError::Invalid(format!("username '{}': {e}", spec.username)))?;
        let key = spec.username.to_ascii_lowercase();
        if self.user_by_name.contains_key(&key) {
            return Err(SimError::Invalid(format!("user '{}' exists already", spec.username)));
        }
        let id = take_id(
            &mut self.next_user_id,
            spec.id,
            |id| self.users.contains_key(&id),
            "user",
        )?;
        let user = User {
            id,
            name: spec.name.unwrap_or_else(|| title_case(&spec.username)),
            email: spec.email.unwrap_or_else(|| format!("{}@example.com", spec.username)),
            username: spec.username,
            state: spec.state,
            created_at: self.day_start(400),
        };
        self.user_by_name.insert(key, id);
        self.users.insert(id, user);
        Ok(id)
    }

    pub fn user(&self, id: u64) -> Option<&User> {
        self.users.get(&id)
    }

    pub fn users(&self) -> impl Iterator<Item = &User> {
        self.users.values()
    }

    pub fn user_id(&self, username: &str) -> Result<u64, SimError> {
        self.user_by_name
            .get(&username.to_ascii_lowercase())
            .copied()
            .ok_or_else(|| SimError::NotFound(format!("no user '{username}'")))
    }

    pub fn set_user_state(&mut self, username: &str, state: UserState) -> Result<(), SimError> {
        let id = self.user_id(username)?;
        if let Some(user) = self.users.get_mut(&id) {
            user.state = state;
        }
        Ok(())
    }

    // --- tokens ---

    pub fn add_token(&mut self, spec: TokenSpec) -> Result<(u64, String), SimError> {
        let user_id = self.user_id(&spec.user)?;
        let secret = match spec.token {
            Some(secret) if secret.trim().is_empty() => {
                return Err(SimError::Invalid("a token secret must not be empty".to_owned()));
            }
            Some(secret) if self.token_by_secret.contains_key(&secret) => {
                return Err(SimError::Invalid(format!("the token secret '{secret}' is used twice")));
            }
            Some(secret) => secret,
            None => self.new_secret(),
        };
        let id = take_id(
            &mut self.next_token_id,
            spec.id,
            |id| self.tokens.contains_key(&id),
            "token",
        )?;
        let expires_at = match spec.expires {
            Expiry::Never => None,
            Expiry::On(day) => Some(day),
            Expiry::InDays(days) => Some(self.today + Duration::days(days)),
        };
        let token = Token {
            id,
            user_id,
            name: spec.name,
            description: spec.description,
            secret: secret.clone(),
            scopes: spec.scopes,
            created_at: spec.created_at.unwrap_or_else(|| self.day_start(30)),
            last_used_at: spec.last_used_at,
            expires_at,
            revoked: spec.revoked,
            previous_id: None,
        };
        self.token_by_secret.insert(secret.clone(), id);
        self.tokens.insert(id, token);
        Ok((id, secret))
    }

    fn new_secret(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
        loop {
            let random: String = (0..unconfirmed::TOKEN_RANDOM_LEN)
                .map(|_| char::from(ALPHABET[self.rng.usize(..ALPHABET.len())]))
                .collect();
            let secret = format!("{}{random}", unconfirmed::TOKEN_PREFIX);
            if !self.token_by_secret.contains_key(&secret) {
                return secret;
            }
        }
    }

    pub fn token(&self, id: u64) -> Option<&Token> {
        self.tokens.get(&id)
    }

    pub fn tokens(&self) -> impl Iterator<Item = &Token> {
        self.tokens.values()
    }

    pub fn token_by_secret(&self, secret: &str) -> Option<&Token> {
        self.token_by_secret.get(secret).and_then(|id| self.tokens.get(id))
    }

    pub fn resolve_token(&self, token: &TokenRef) -> Result<u64, SimError> {
        let found = match token {
            TokenRef::Id(id) => self.tokens.get(id).map(|t| t.id),
            TokenRef::Secret(secret) => self.token_by_secret.get(secret).copied(),
        };
        found.ok_or_else(|| match token {
            TokenRef::Id(id) => SimError::NotFound(format!("no token with id {id}")),
            TokenRef::Secret(_) => SimError::NotFound("no token with that secret".to_owned()),
        })
    }

    fn token_mut(&mut self, id: u64) -> Result<&mut Token, SimError> {
        self.tokens
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("no token with id {id}")))
    }

    pub fn revoke(&mut self, id: u64) -> Result<(), SimError> {
        self.token_mut(id)?.revoked = true;
        Ok(())
    }

    /// Makes the token expired as of today (`expires_at = today`).
    pub fn expire(&mut self, id: u64) -> Result<(), SimError> {
        let today = self.today;
        self.token_mut(id)?.expires_at = Some(today);
        Ok(())
    }

    pub fn set_expiry(&mut self, id: u64, expires_at: Option<Date>) -> Result<(), SimError> {
        self.token_mut(id)?.expires_at = expires_at;
        Ok(())
    }

    pub fn set_scopes(&mut self, id: u64, scopes: Vec<String>) -> Result<(), SimError> {
        self.token_mut(id)?.scopes = scopes;
        Ok(())
    }

    /// Records a use (`last_used_at`).
    pub fn touch(&mut self, id: u64) {
        let now = self.now();
        if let Some(token) = self.tokens.get_mut(&id) {
            token.last_used_at = Some(now);
        }
    }

    /// GitLab's `RevokeTokenFamilyService`: revokes every token that descends
    /// from `id` by rotation (in practice the family's one active token).
    pub fn revoke_family(&mut self, id: u64) {
        let mut current = id;
        while let Some(&next) = self.successor.get(&current) {
            if let Some(token) = self.tokens.get_mut(&next) {
                token.revoked = true;
            }
            current = next;
        }
    }

    /// GitLab's `RotateService`: revokes the token and creates its successor
    /// with the same name, description and scopes. Returns the new id.
    pub fn rotate(&mut self, id: u64, expires_at: Option<Date>) -> Result<u64, RotateError> {
        let old = self.tokens.get(&id).cloned().ok_or(RotateError::AlreadyRevoked)?;
        if old.revoked {
            return Err(RotateError::AlreadyRevoked);
        }
        let required = self.instance.require_token_expiry;
        let expires_at = match expires_at {
            Some(day) => Some(day),
            None if required || !unconfirmed::ROTATE_WITHOUT_REQUIRED_EXPIRY_GIVES_NO_EXPIRY => {
                Some(self.today + Duration::days(7))
            }
            None => None,
        };
        let max = self.today + Duration::days(i64::from(self.instance.max_token_lifetime_days));
        if required && expires_at.is_some_and(|day| day > max) {
            return Err(RotateError::BeyondLifetime(max));
        }
        let secret = self.new_secret();
        let new_id = fresh_id(&mut self.next_token_id, |id| self.tokens.contains_key(&id));
        if let Some(token) = self.tokens.get_mut(&id) {
            token.revoked = true;
        }
        let token = Token {
            id: new_id,
            secret: secret.clone(),
            created_at: self.now(),
            last_used_at: None,
            expires_at,
            revoked: false,
            previous_id: Some(id),
            ..old
        };
        self.token_by_secret.insert(secret, new_id);
        self.tokens.insert(new_id, token);
        self.successor.insert(id, new_id);
        Ok(new_id)
    }

    // --- namespaces ---

    /// The namespace at `path`, created (with its parents) when missing. A
    /// top-level path equal to a username is that user's personal namespace.
    pub fn ensure_namespace(&mut self, path: &str) -> Result<u64, SimError> {
        if let Some(&id) = self.namespace_by_path.get(&path.to_ascii_lowercase()) {
            return Ok(id);
        }
        check_path(path, 1).map_err(|e| SimError::Invalid(format!("namespace '{path}': {e}")))?;
        let (parent_id, segment) = match path.rsplit_once('/') {
            Some((parent, segment)) => (Some(self.ensure_namespace(parent)?), segment),
            None => (None, path),
        };
        let owner = match parent_id {
            None => self.user_by_name.get(&path.to_ascii_lowercase()).copied(),
            Some(_) => None,
        };
        let id = self.next_namespace_id;
        self.next_namespace_id += 1;
        let namespace = Namespace {
            id,
            full_path: path.to_owned(),
            name: match owner.and_then(|uid| self.users.get(&uid)) {
                Some(user) => user.name.clone(),
                None => title_case(segment),
            },
            kind: if owner.is_some() {
                NamespaceKind::User
            } else {
                NamespaceKind::Group
            },
            parent_id,
            owner_id: owner,
            members: BTreeMap::new(),
        };
        self.namespace_by_path.insert(path.to_ascii_lowercase(), id);
        self.namespaces.insert(id, namespace);
        Ok(id)
    }

    pub fn namespace(&self, id: u64) -> Option<&Namespace> {
        self.namespaces.get(&id)
    }

    pub fn add_group(&mut self, spec: GroupSpec) -> Result<u64, SimError> {
        let id = self.ensure_namespace(&spec.path)?;
        let mut members = Vec::new();
        for (username, level) in &spec.members {
            members.push((self.user_id(username)?, *level));
        }
        if let Some(namespace) = self.namespaces.get_mut(&id) {
            if namespace.kind == NamespaceKind::User {
                return Err(SimError::Invalid(format!(
                    "'{}' is a user's personal namespace, not a group",
                    spec.path
                )));
            }
            if let Some(name) = spec.name {
                namespace.name = name;
            }
            for (user, _) in &members {
                self.members.joined_group(*user);
            }
            namespace.members.extend(members);
        }
        Ok(id)
    }

    // --- projects ---

    pub fn add_project(&mut self, spec: ProjectSpec) -> Result<u64, SimError> {
        let path = spec.path.trim_matches('/').to_owned();
        check_path(&path, 2).map_err(|e| SimError::Invalid(format!("project '{path}': {e}")))?;
        if self.project_by_path.contains_key(&path.to_ascii_lowercase()) {
            return Err(SimError::Invalid(format!("project '{path}' exists already")));
        }
        let mut members = BTreeMap::new();
        for (username, level) in &spec.members {
            members.insert(self.user_id(username)?, *level);
        }
        let id = take_id(
            &mut self.next_project_id,
            spec.id,
            |id| self.projects.contains_key(&id),
            "project",
        )?;
        let (namespace_path, segment) = path.rsplit_once('/').unwrap_or(("", &path));
        let mut rules = Vec::new();
        // GitLab protects the default branch when it is first created, so an
        // empty repository has no such rule yet.
        if let Some(protection) = spec.default_branch_protection.filter(|_| !spec.empty_repo) {
            rules.push((spec.default_branch.clone(), protection));
        }
        rules.extend(spec.protected_branches);
        let mut protected_branches = Vec::new();
        for (name, protection) in rules {
            Protection::check(protection.push)
                .and(Protection::check(protection.merge))
                .map_err(|e| SimError::Invalid(format!("project '{path}', protected branch '{name}': {e}")))?;
            if name.is_empty() || protected_branches.iter().any(|b: &ProtectedBranch| b.name == name) {
                return Err(SimError::Invalid(format!(
                    "project '{path}': protected branch '{name}' is empty or given twice"
                )));
            }
            protected_branches.push(ProtectedBranch {
                id: self.take_protection_id(),
                name,
                protection,
                push_id: self.take_protection_id(),
                merge_id: self.take_protection_id(),
            });
        }
        let namespace_id = self.ensure_namespace(namespace_path)?;
        let mut project = Project {
            id,
            name: spec.name.unwrap_or_else(|| title_case(segment)),
            path_with_namespace: path.clone(),
            description: spec.description,
            namespace_id,
            visibility: spec.visibility,
            archived: spec.archived,
            repository_access_level: spec.repository_access_level,
            issues_access_level: spec.issues_access_level,
            merge_requests_access_level: spec.merge_requests_access_level,
            builds_access_level: spec.builds_access_level,
            public_jobs: spec.public_jobs,
            empty_repo: spec.empty_repo,
            default_branch: spec.default_branch,
            protected_branches,
            members,
            created_at: self.day_start(200),
            marked_for_deletion_on: spec.marked_for_deletion_on,
        };
        project.fit_repository_children();
        self.redirects.remove(&path.to_ascii_lowercase());
        self.project_by_path.insert(path.to_ascii_lowercase(), id);
        self.projects.insert(id, project);
        let reached = self.reached_by(id);
        self.members.update(id, &[], &reached);
        for old in spec.redirects {
            self.add_redirect(&old, id)?;
        }
        Ok(id)
    }

    fn take_protection_id(&mut self) -> u64 {
        let id = self.next_protection_id;
        self.next_protection_id += 1;
        id
    }

    fn add_redirect(&mut self, old: &str, id: u64) -> Result<(), SimError> {
        let old = old.trim_matches('/');
        check_path(old, 2).map_err(|e| SimError::Invalid(format!("redirect '{old}': {e}")))?;
        if self.project_by_path.contains_key(&old.to_ascii_lowercase()) {
            return Err(SimError::Invalid(format!(
                "'{old}' cannot redirect: a project has that path"
            )));
        }
        self.redirects.insert(old.to_ascii_lowercase(), id);
        Ok(())
    }

    pub fn project(&self, id: u64) -> Option<&Project> {
        self.projects.get(&id)
    }

    /// All projects in id order.
    pub fn projects(&self) -> impl DoubleEndedIterator<Item = &Project> {
        self.projects.values()
    }

    /// A project by path: `(id, true)` when reached through a former path.
    pub fn find_project(&self, path: &str) -> Option<(u64, bool)> {
        let key = path.trim_matches('/').to_ascii_lowercase();
        match self.project_by_path.get(&key) {
            Some(&id) => Some((id, false)),
            None => self.redirects.get(&key).map(|&id| (id, true)),
        }
    }

    pub fn resolve_project(&self, project: &ProjectRef) -> Result<u64, SimError> {
        match project {
            ProjectRef::Id(id) if self.projects.contains_key(id) => Ok(*id),
            ProjectRef::Id(id) => Err(SimError::NotFound(format!("no project with id {id}"))),
            ProjectRef::Path(path) => self
                .find_project(path)
                .map(|(id, _)| id)
                .ok_or_else(|| SimError::NotFound(format!("no project '{path}'"))),
        }
    }

    fn project_mut(&mut self, id: u64) -> Result<&mut Project, SimError> {
        self.projects
            .get_mut(&id)
            .ok_or_else(|| SimError::NotFound(format!("no project with id {id}")))
    }

    /// Moves (renames or transfers) a project; the old path redirects.
    pub fn move_project(&mut self, id: u64, new_path: &str) -> Result<(), SimError> {
        let new_path = new_path.trim_matches('/');
        check_path(new_path, 2).map_err(|e| SimError::Invalid(format!("project '{new_path}': {e}")))?;
        let key = new_path.to_ascii_lowercase();
        if let Some(&other) = self.project_by_path.get(&key) {
            if other != id {
                return Err(SimError::Invalid(format!("project '{new_path}' exists already")));
            }
        }
        let namespace_path = new_path.rsplit_once('/').map_or("", |(ns, _)| ns);
        let namespace_id = self.ensure_namespace(namespace_path)?;
        let before = self.reached_by(id);
        let project = self.project_mut(id)?;
        let old = std::mem::replace(&mut project.path_with_namespace, new_path.to_owned());
        project.namespace_id = namespace_id;
        let after = self.reached_by(id);
        self.members.update(id, &before, &after);
        self.project_by_path.remove(&old.to_ascii_lowercase());
        self.project_by_path.insert(key.clone(), id);
        self.redirects.remove(&key);
        if !old.eq_ignore_ascii_case(new_path) {
            self.redirects.insert(old.to_ascii_lowercase(), id);
        }
        Ok(())
    }

    /// Former paths of a project.
    pub fn redirects_to(&self, id: u64) -> Vec<String> {
        let mut paths: Vec<String> = self
            .redirects
            .iter()
            .filter(|(_, target)| **target == id)
            .map(|(path, _)| path.clone())
            .collect();
        paths.sort();
        paths
    }

    pub fn set_archived(&mut self, id: u64, archived: bool) -> Result<(), SimError> {
        self.project_mut(id)?.archived = archived;
        Ok(())
    }

    pub fn set_visibility(&mut self, id: u64, visibility: Visibility) -> Result<(), SimError> {
        self.project_mut(id)?.visibility = visibility;
        Ok(())
    }

    pub fn set_repository_access(&mut self, id: u64, access: RepositoryAccess) -> Result<(), SimError> {
        let project = self.project_mut(id)?;
        project.repository_access_level = access;
        project.fit_repository_children();
        Ok(())
    }

    /// Sets (or with `None` removes) a user's direct membership.
    pub fn set_member(&mut self, id: u64, username: &str, level: Option<AccessLevel>) -> Result<(), SimError> {
        let user_id = self.user_id(username)?;
        let before = self.reached_by(id);
        let project = self.project_mut(id)?;
        match level {
            Some(level) => project.members.insert(user_id, level),
            None => project.members.remove(&user_id),
        };
        let after = self.reached_by(id);
        self.members.update(id, &before, &after);
        Ok(())
    }

    /// The users who reach a project without a group: its direct members
    /// and the owner of its personal namespace.
    fn reached_by(&self, id: u64) -> Vec<u64> {
        let Some(project) = self.projects.get(&id) else {
            return Vec::new();
        };
        let owner = self.namespaces.get(&project.namespace_id).and_then(|ns| ns.owner_id);
        project.members.keys().copied().chain(owner).collect()
    }

    /// The ids, in id order, of every project `user` may be a member of
    /// (a superset: the caller still judges access); `None` when only
    /// judging every project can tell (the user belongs to a group).
    pub fn member_project_ids(&self, user: u64) -> Option<Vec<u64>> {
        self.members.candidates(user).map(Iterator::collect)
    }

    // --- access rules ---

    /// Direct project membership (`permissions.project_access`); the owner of
    /// a personal namespace owns its projects.
    pub fn project_access(&self, user_id: u64, project: &Project) -> Option<AccessLevel> {
        let owner = self
            .namespaces
            .get(&project.namespace_id)
            .filter(|ns| ns.owner_id == Some(user_id))
            .map(|_| AccessLevel::OWNER);
        project.members.get(&user_id).copied().max(owner)
    }

    /// Highest membership in the project's group or its ancestors
    /// (`permissions.group_access`).
    pub fn group_access(&self, user_id: u64, project: &Project) -> Option<AccessLevel> {
        let mut best = None;
        let mut current = Some(project.namespace_id);
        while let Some(id) = current {
            let Some(namespace) = self.namespaces.get(&id) else {
                break;
            };
            best = best.max(namespace.members.get(&user_id).copied());
            current = namespace.parent_id;
        }
        best
    }

    pub fn access(&self, user_id: u64, project: &Project) -> Option<AccessLevel> {
        self.project_access(user_id, project)
            .max(self.group_access(user_id, project))
    }

    /// Whether `user` (None: anonymous) can see the project at all.
    pub fn can_read(&self, user: Option<u64>, project: &Project) -> bool {
        match (project.visibility, user) {
            (Visibility::Public, _) => true,
            (Visibility::Internal, Some(_)) => true,
            (_, Some(uid)) => self.access(uid, project).is_some_and(|l| l >= AccessLevel::GUEST),
            (_, None) => false,
        }
    }

    /// Whether `user` may download the repository (clone, fetch).
    pub fn can_download(&self, user: Option<u64>, project: &Project) -> bool {
        if !self.can_read(user, project) {
            return false;
        }
        let member = user.and_then(|uid| self.access(uid, project)).is_some_and(|l| {
            l >= AccessLevel::REPORTER || (unconfirmed::PLANNER_CLONES_PRIVATE && l == AccessLevel::PLANNER)
        });
        match project.repository_access_level {
            RepositoryAccess::Disabled => false,
            RepositoryAccess::Private => member,
            RepositoryAccess::Enabled => project.visibility != Visibility::Private || member,
        }
    }

    /// Whether `user` may read the project's pipelines over the API: GitLab
    /// asks for both `read_pipeline` and `read_build` (docs/gitlab.md §15).
    pub fn can_read_pipelines(&self, user: Option<u64>, project: &Project) -> bool {
        if !self.can_read(user, project) {
            return false;
        }
        let level = user.and_then(|uid| self.access(uid, project));
        let at_least = |min: AccessLevel| level.is_some_and(|l| l >= min);
        let feature_open = |access: FeatureAccess| match access {
            FeatureAccess::Disabled => false,
            FeatureAccess::Private => at_least(AccessLevel::GUEST),
            FeatureAccess::Enabled => true,
        };
        if !feature_open(project.repository_access_level) || !feature_open(project.builds_access_level) {
            return false;
        }
        // `read_build`: Reporters, or anyone who sees the project when
        // public pipelines are on (`read_pipeline` then follows).
        at_least(AccessLevel::REPORTER) || project.public_jobs
    }

    /// Whether `user` may push (developer or above, repository on, not archived).
    pub fn can_push(&self, user: u64, project: &Project) -> bool {
        self.can_download(Some(user), project)
            && !project.archived
            && self.access(user, project).is_some_and(|l| l >= AccessLevel::DEVELOPER)
    }
}

/// Picks the wanted id (checking it is free) or the next free one.
fn take_id(next: &mut u64, wanted: Option<u64>, taken: impl Fn(u64) -> bool, what: &str) -> Result<u64, SimError> {
    let id = match wanted {
        Some(0) => return Err(SimError::Invalid(format!("{what} ids start at 1"))),
        Some(id) if taken(id) => return Err(SimError::Invalid(format!("{what} id {id} is used twice"))),
        Some(id) => id,
        None => fresh_id(next, taken),
    };
    *next = (*next).max(id + 1);
    Ok(id)
}

/// The next id not taken; advances `next` past it.
fn fresh_id(next: &mut u64, taken: impl Fn(u64) -> bool) -> u64 {
    while taken(*next) {
        *next += 1;
    }
    let id = *next;
    *next += 1;
    id
}

fn check_segment(segment: &str) -> Result<(), String> {
    if segment.is_empty() {
        return Err("empty path segment".to_owned());
    }
    if let Some(bad) = segment
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!("'{bad}' is not allowed (use letters, digits, '_', '-', '.')"));
    }
    if segment.ends_with(".git") || segment.starts_with(['-', '.']) {
        return Err("a segment may not start with '-' or '.' nor end in '.git'".to_owned());
    }
    Ok(())
}

fn check_path(path: &str, min_segments: usize) -> Result<(), String> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < min_segments {
        return Err(format!("needs at least {min_segments} '/'-separated segments"));
    }
    segments.iter().try_for_each(|s| check_segment(s))
}

/// `backend-api` → `Backend Api`: a plausible display name from a path.
fn title_case(segment: &str) -> String {
    segment
        .split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}
