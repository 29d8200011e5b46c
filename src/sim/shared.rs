//! [`Sim`]: the running simulator's state behind a cheap, cloneable handle,
//! and every operation tests (and the `/-/sim/` control API) use to change
//! it. Locks are `std` mutexes held only for short, non-async sections.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde::Serialize;
use time::Date;

use super::counters::{Counters, Recorder};
use super::error::SimError;
use super::faults::{DropSpec, FailSpec, Faults};
use super::limits::{AuthBan, RateLimiter};
use super::model::{AccessLevel, Instance, Limits, RepositoryAccess, UserState, Visibility};
use super::scenario::{NewToken, Scenario};
use super::spec::{GroupSpec, ProjectRef, ProjectSpec, TokenRef, TokenSpec, UserSpec};
use super::summary::Summary;
use super::world::{RotateError, World};

/// A token as the control surface shows it (with its secret: it is fake).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: u64,
    pub user_id: u64,
    pub username: String,
    pub name: String,
    pub token: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<String>,
    pub revoked: bool,
    pub active: bool,
    /// The token this one replaced by rotation.
    pub previous_id: Option<u64>,
    pub last_used_at: Option<String>,
}

/// Everything the traffic layer keeps between requests.
#[derive(Debug, Default)]
pub(crate) struct Traffic {
    pub limits: Limits,
    pub faults: Faults,
    pub limiter: RateLimiter,
    pub ban: AuthBan,
    pub recorder: Recorder,
}

struct Inner {
    /// `http://host:port` without a trailing slash; GitLab builds `web_url`,
    /// `Link` and `Location` from its configured URL, the simulator from this.
    base_url: String,
    world: Mutex<World>,
    traffic: Mutex<Traffic>,
}

/// The simulator's state; clones share it.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("base_url", &self.inner.base_url).finish()
    }
}

impl Sim {
    pub(crate) fn new(scenario: Scenario, base_url: String) -> Sim {
        Sim {
            inner: Arc::new(Inner {
                base_url: base_url.trim_end_matches('/').to_owned(),
                world: Mutex::new(scenario.world),
                traffic: Mutex::new(Traffic {
                    limits: scenario.limits,
                    ..Traffic::default()
                }),
            }),
        }
    }

    /// A poisoned lock only means a panic elsewhere; the data is still usable.
    pub(crate) fn world(&self) -> MutexGuard<'_, World> {
        self.inner.world.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn traffic(&self) -> MutexGuard<'_, Traffic> {
        self.inner.traffic.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `http://127.0.0.1:PORT`: the instance URL to give labwatch.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    // --- time and instance ---

    pub fn today(&self) -> Date {
        self.world().today
    }

    /// Moves the simulated date (expiry is decided against it).
    pub fn set_today(&self, today: Date) {
        self.world().today = today;
    }

    pub fn instance(&self) -> Instance {
        self.world().instance.clone()
    }

    /// Changes instance settings, e.g. `sim.update_instance(|i| i.self_rotate = false)`.
    pub fn update_instance(&self, change: impl FnOnce(&mut Instance)) {
        change(&mut self.world().instance);
    }

    // --- users and tokens ---

    pub fn add_user(&self, spec: UserSpec) -> Result<u64, SimError> {
        self.world().add_user(spec)
    }

    pub fn set_user_state(&self, username: &str, state: UserState) -> Result<(), SimError> {
        self.world().set_user_state(username, state)
    }

    pub fn add_token(&self, spec: TokenSpec) -> Result<NewToken, SimError> {
        let (id, token) = self.world().add_token(spec)?;
        Ok(NewToken { id, token })
    }

    pub fn token(&self, token: impl Into<TokenRef>) -> Result<TokenInfo, SimError> {
        let world = self.world();
        let id = world.resolve_token(&token.into())?;
        token_info(&world, id)
    }

    /// Makes a token expired as of the simulated today.
    pub fn expire_token(&self, token: impl Into<TokenRef>) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_token(&token.into())?;
        world.expire(id)
    }

    pub fn revoke_token(&self, token: impl Into<TokenRef>) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_token(&token.into())?;
        world.revoke(id)
    }

    pub fn set_token_scopes(&self, token: impl Into<TokenRef>, scopes: &[&str]) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_token(&token.into())?;
        world.set_scopes(id, scopes.iter().map(|s| (*s).to_owned()).collect())
    }

    pub fn set_token_expiry(&self, token: impl Into<TokenRef>, expires_at: Option<Date>) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_token(&token.into())?;
        world.set_expiry(id, expires_at)
    }

    /// Rotates a token as GitLab would (e.g. someone rotated it in the UI):
    /// the old one is revoked, the new one returned.
    pub fn rotate_token(&self, token: impl Into<TokenRef>, expires_at: Option<Date>) -> Result<NewToken, SimError> {
        let mut world = self.world();
        let id = world.resolve_token(&token.into())?;
        let new_id = world.rotate(id, expires_at).map_err(|e| match e {
            RotateError::AlreadyRevoked => SimError::Invalid(format!("token {id} is revoked already")),
            RotateError::BeyondLifetime(max) => {
                SimError::Invalid(format!("expires_at must be on or before {max} (maximum lifetime)"))
            }
        })?;
        let token = world.token(new_id).map(|t| t.secret.clone()).unwrap_or_default();
        Ok(NewToken { id: new_id, token })
    }

    // --- groups and projects ---

    pub fn add_group(&self, spec: GroupSpec) -> Result<u64, SimError> {
        self.world().add_group(spec)
    }

    pub fn add_project(&self, spec: ProjectSpec) -> Result<u64, SimError> {
        self.world().add_project(spec)
    }

    /// Moves a project to `new_path`; the old path answers 301 from now on.
    pub fn move_project(&self, project: impl Into<ProjectRef>, new_path: &str) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_project(&project.into())?;
        world.move_project(id, new_path)
    }

    pub fn set_archived(&self, project: impl Into<ProjectRef>, archived: bool) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_project(&project.into())?;
        world.set_archived(id, archived)
    }

    pub fn set_visibility(&self, project: impl Into<ProjectRef>, visibility: Visibility) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_project(&project.into())?;
        world.set_visibility(id, visibility)
    }

    pub fn set_repository_access(
        &self,
        project: impl Into<ProjectRef>,
        access: RepositoryAccess,
    ) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_project(&project.into())?;
        world.set_repository_access(id, access)
    }

    /// Sets a user's direct access level; `None` removes the membership.
    pub fn set_member(
        &self,
        project: impl Into<ProjectRef>,
        username: &str,
        level: Option<AccessLevel>,
    ) -> Result<(), SimError> {
        let mut world = self.world();
        let id = world.resolve_project(&project.into())?;
        world.set_member(id, username, level)
    }

    // --- traffic ---

    /// Delay applied to every non-control request.
    pub fn set_latency(&self, latency: Duration) {
        self.traffic().faults.latency = latency;
    }

    pub fn fail_next(&self, spec: FailSpec) {
        self.traffic().faults.add_failure(spec);
    }

    /// Closes the next `count` connections (under `path_prefix`) without answering.
    pub fn drop_next(&self, count: u32, path_prefix: Option<&str>) {
        self.traffic().faults.add_drop(DropSpec {
            count,
            path_prefix: path_prefix.map(str::to_owned),
        });
    }

    /// Removes latency and pending failures and drops.
    pub fn clear_faults(&self) {
        self.traffic().faults.clear();
    }

    pub fn limits(&self) -> Limits {
        self.traffic().limits
    }

    /// New budgets and ban settings; current windows are kept.
    pub fn set_limits(&self, limits: Limits) {
        self.traffic().limits = limits;
    }

    /// Forgets rate-limit windows, failed-auth counts and bans.
    pub fn clear_bans(&self) {
        let mut traffic = self.traffic();
        traffic.ban.clear();
        traffic.limiter.clear();
    }

    pub fn counters(&self) -> Counters {
        self.traffic().recorder.snapshot()
    }

    pub fn reset_counters(&self) {
        self.traffic().recorder.reset();
    }

    /// The current users, tokens and projects.
    pub fn summary(&self) -> Summary {
        Summary::of(&self.world())
    }
}

pub(crate) fn token_info(world: &World, id: u64) -> Result<TokenInfo, SimError> {
    let token = world
        .token(id)
        .ok_or_else(|| SimError::NotFound(format!("no token with id {id}")))?;
    Ok(TokenInfo {
        id: token.id,
        user_id: token.user_id,
        username: world
            .user(token.user_id)
            .map(|u| u.username.clone())
            .unwrap_or_default(),
        name: token.name.clone(),
        token: token.secret.clone(),
        scopes: token.scopes.clone(),
        expires_at: token.expires_at.map(|d| d.to_string()),
        revoked: token.revoked,
        active: token.active(world.today),
        previous_id: token.previous_id,
        last_used_at: token.last_used_at.map(super::render::timestamp),
    })
}
