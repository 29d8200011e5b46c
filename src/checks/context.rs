//! [`WorkspaceGitlab`]: what the token, scopes and repository checks of one
//! workspace share — the GitLab client, the token metadata the token check
//! fetched (so scopes costs no call, and `/status` can show whose token it
//! is), one project listing per round for all repository checks, and
//! clone-probe and push-probe results per token — and the HTTP client its
//! declarative HTTP checks share.
//!
//! Checks only observe: what they remember here is what they saw, kept for
//! each other and for the status document. Changing a connection is for
//! [`crate::actions`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use secrecy::{ExposeSecret, SecretString};

use crate::config::{WorkspaceConfig, expiry_moment};
use crate::gitlab::api::CloneProbe;
use crate::gitlab::types::format_date;
use crate::gitlab::types::{ProtectedBranch, TokenInfo, User};
use crate::gitlab::{ClientOptions, GitlabClient, GitlabError, GitlabMetrics};
use crate::report::{ConnectionView, TokenView, rfc3339};
use crate::store::{ConnectionStore, DisconnectRecord};

use super::instance::SharedProbe;
use super::instances::Instances;
use super::listing::{Listing, ListingCache, WatchedPaths};

/// What every workspace's checks are built with, and keep across reloads.
#[derive(Clone, Default)]
pub struct Shared {
    /// The GitLab clients' request counters, registered once on `/metrics`.
    pub gitlab_metrics: GitlabMetrics,
    /// What the workspaces on one instance share: budget, pool, probe.
    pub instances: Arc<Instances>,
}

pub struct WorkspaceGitlab {
    pub config: WorkspaceConfig,
    /// `Err` when the client could not be built (bad TLS setup); checks
    /// report it instead of running.
    pub client: Result<GitlabClient, String>,
    /// The instance probe this workspace shares with the others on its
    /// instance.
    pub instance_probe: Arc<SharedProbe>,
    /// The token check's last answer, for the scopes check and `/status`.
    token: Mutex<Option<SeenToken>>,
    /// The token's account: seeded from the stored connection, else
    /// `/user`; asked again only for a token of another account.
    identity: Mutex<Option<(u64, User)>>,
    /// The watched repository paths, for picking them out of the listing.
    watched: WatchedPaths,
    /// The round's member-project listing, and what the last one cost.
    listing: tokio::sync::Mutex<ListingCache>,
    /// Clone probe answers per repository path, per token generation.
    probes: Mutex<HashMap<String, (u64, CloneProbe)>>,
    /// Push probe answers (the default branch's protection) per project id
    /// and branch, per token generation.
    protections: Mutex<HashMap<ProtectionKey, (u64, Option<ProtectedBranch>)>>,
    /// The connection store, when the daemon has one: the token check reads
    /// the rotation marker a crash may have left there.
    pub store: Option<Arc<ConnectionStore>>,
    /// Why the stored connection could not be read (wrong key, tampered
    /// file); the token check reports it instead of running.
    pub store_error: Option<String>,
    /// When the workspace was disconnected, while it has no token because of
    /// that (the bootstrap `token_file` holds the token it was disconnected
    /// from, or nothing).
    pub disconnected_at: Option<time::OffsetDateTime>,
    /// The token is the config's `token_file`'s, not the store's: the
    /// token check's steps say how a new one reaches the workspace.
    pub token_from_file: bool,
    /// The client of this workspace's HTTP checks, built at first use: the
    /// workspace's TLS trust, no redirects (a token must not follow one).
    http_checks: OnceLock<Result<reqwest::Client, String>>,
}

/// A project id and one of its branches.
type ProtectionKey = (u64, Box<str>);

/// What the token check last saw of a token.
struct SeenToken {
    generation: u64,
    info: TokenInfo,
    /// Why the token check's latest read of this token failed (rate
    /// limited, GitLab down): `info` is then older than this round, and the
    /// scopes check must not pass judgement on it as if it were fresh.
    failed: Option<GitlabError>,
}

/// Where a workspace's token comes from.
pub enum TokenSource {
    /// The bootstrap `token_file` of the config.
    ConfigFile,
    /// The connection store: the token (if connected), or why it could not
    /// be read; and when not connected, the disconnect the bootstrap
    /// `token_file` must respect.
    Store {
        store: Arc<ConnectionStore>,
        token: Result<Option<SecretString>, String>,
        disconnected: Option<DisconnectRecord>,
    },
}

impl WorkspaceGitlab {
    /// With the token from `token_file` (no store: `labwatch check`).
    pub fn new(ws: &WorkspaceConfig, shared: &Shared) -> WorkspaceGitlab {
        WorkspaceGitlab::with_source(ws, shared, TokenSource::ConfigFile)
    }

    pub fn with_source(ws: &WorkspaceConfig, shared: &Shared, source: TokenSource) -> WorkspaceGitlab {
        let stored = matches!(source, TokenSource::Store { token: Ok(Some(_)), .. });
        let (token, store, store_error, disconnected_at) = match source {
            TokenSource::ConfigFile => (read_token(ws), None, None, None),
            TokenSource::Store {
                store,
                token: Ok(Some(t)),
                ..
            } => (Some(t), Some(store), None, None),
            // Not connected through the store: the bootstrap file counts,
            // unless the workspace was disconnected while it held this token.
            TokenSource::Store {
                store,
                token: Ok(None),
                disconnected,
            } => match (read_token(ws), disconnected) {
                (Some(t), Some(d)) if d.silences(t.expose_secret()) => (None, Some(store), None, Some(d.at)),
                (None, Some(d)) => (None, Some(store), None, Some(d.at)),
                (file, _) => (file, Some(store), None, None),
            },
            TokenSource::Store {
                store, token: Err(e), ..
            } => (None, Some(store), Some(e), None),
        };
        let token_from_file = token.is_some() && !stored;
        let client = shared.instances.pool(ws).map(|instance| {
            GitlabClient::new(ClientOptions {
                workspace: &ws.name,
                base: &ws.instance_url,
                instance,
                requests_per_second: ws.requests_per_second,
                timeout: ws.timeout,
                token,
                metrics: shared.gitlab_metrics.clone(),
            })
        });
        WorkspaceGitlab {
            config: ws.clone(),
            client,
            instance_probe: shared.instances.probe(ws),
            token: Mutex::new(None),
            identity: Mutex::new(None),
            watched: WatchedPaths::of(ws),
            listing: tokio::sync::Mutex::new(ListingCache::default()),
            probes: Mutex::new(HashMap::new()),
            protections: Mutex::new(HashMap::new()),
            store,
            store_error,
            disconnected_at,
            token_from_file,
            http_checks: OnceLock::new(),
        }
    }

    /// The HTTP client shared by this workspace's HTTP checks.
    pub fn http_check_client(&self) -> Result<reqwest::Client, String> {
        self.http_checks
            .get_or_init(|| {
                let tls = crate::tls::client_config(self.config.ca_file.as_deref())?;
                reqwest::Client::builder()
                    .tls_backend_preconfigured((*tls).clone())
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("labwatch/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .clone()
    }

    /// Fills the `{url}` and `{workspace}` placeholders of an outcome's
    /// remediation with this workspace's values.
    pub fn fill(&self, outcome: crate::engine::Outcome) -> crate::engine::Outcome {
        let url = crate::config::instance_url::display(&self.config.instance_url);
        outcome.fill(&[("url", &url), ("workspace", &self.config.name)])
    }

    /// The client, or the outcome that says why there is none (a TLS setup
    /// that failed, e.g. an unreadable `ca_file`).
    pub fn client_or_outcome(&self) -> Result<&GitlabClient, crate::engine::Outcome> {
        self.client.as_ref().map_err(|e| {
            crate::engine::Outcome::new(
                crate::engine::Status::Unknown,
                crate::engine::Reason::TlsFailure,
                format!("Cannot set up the GitLab client: {e}."),
            )
        })
    }

    pub fn remember_token(&self, generation: u64, info: TokenInfo) {
        *lock(&self.token) = Some(SeenToken {
            generation,
            info,
            failed: None,
        });
    }

    /// The token check could not read the token this time: what it saw
    /// before stays for `/status`, marked as no longer current.
    pub fn token_read_failed(&self, generation: u64, error: &GitlabError) {
        if let Some(seen) = lock(&self.token).as_mut().filter(|s| s.generation == generation) {
            seen.failed = Some(error.clone());
        }
    }

    /// `f` of the token metadata the token check last read (as
    /// [`WorkspaceGitlab::token_info`], without copying it: the repository
    /// check reads the scopes once per repository per round).
    pub fn with_token_info<R>(&self, generation: u64, f: impl FnOnce(Option<&TokenInfo>) -> R) -> R {
        f(lock(&self.token)
            .as_ref()
            .filter(|s| s.generation == generation)
            .map(|s| &s.info))
    }

    /// The token metadata the token check fetched for the current token,
    /// however long ago.
    pub fn token_info(&self, generation: u64) -> Option<TokenInfo> {
        lock(&self.token)
            .as_ref()
            .filter(|s| s.generation == generation)
            .map(|s| s.info.clone())
    }

    /// The token metadata as of the token check's latest run: `Ok(None)`
    /// before the first read, `Err` with why when the latest read failed.
    pub fn current_token_info(&self, generation: u64) -> Result<Option<TokenInfo>, GitlabError> {
        match lock(&self.token).as_ref().filter(|s| s.generation == generation) {
            None => Ok(None),
            Some(SeenToken { failed: Some(e), .. }) => Err(e.clone()),
            Some(seen) => Ok(Some(seen.info.clone())),
        }
    }

    /// What the token check saw of the current token and its account, for
    /// `/status`; `None` until it has seen the token once.
    pub fn observed_connection(&self) -> Option<ConnectionView> {
        let client = self.client.as_ref().ok()?;
        let generation = client.token_generation();
        let info = self.token_info(generation)?;
        Some(connection_view(&self.config, info, self.known_user()))
    }

    /// The account of the current token, if the token check has asked.
    pub fn known_user(&self) -> Option<User> {
        let generation = self.client.as_ref().ok()?.token_generation();
        lock(&self.identity)
            .as_ref()
            .filter(|(g, _)| *g == generation)
            .map(|(_, u)| u.clone())
    }

    /// Whether the workspace has a token to check with.
    pub fn has_token(&self) -> bool {
        self.client.as_ref().is_ok_and(GitlabClient::has_token)
    }

    /// The account connect resolved the stored token to (its stored
    /// `user_id` and `username`), so a re-planned workspace (restart,
    /// reload, any action) does not ask `/user` again.
    pub fn seed_identity(&self, user_id: u64, username: String) {
        let generation = self.client.as_ref().map_or(0, GitlabClient::token_generation);
        let user = User {
            id: user_id,
            username,
            name: None,
            state: None,
            web_url: None,
        };
        *lock(&self.identity) = Some((generation, user));
    }

    /// The account of the current token: the one already known when the
    /// token's `user_id` (from `personal_access_tokens/self`) is its id, or
    /// when GitLab did not say and the token is the one it was known for;
    /// else `GET /user`. So `/user` costs a request only for a workspace
    /// whose account is not known yet (a `token_file`'s first round) or
    /// whose token now belongs to someone else.
    pub async fn identity(&self, client: &GitlabClient, token_user: Option<u64>) -> Result<User, GitlabError> {
        let generation = client.token_generation();
        if let Some((g, user)) = lock(&self.identity).as_mut() {
            let same = token_user.map_or(*g == generation, |id| id == user.id);
            if same {
                *g = generation;
                return Ok(user.clone());
            }
        }
        let user = client.user().await?;
        *lock(&self.identity) = Some((generation, user.clone()));
        Ok(user)
    }

    /// Member projects, listed once per round and token for all repository
    /// checks, as far as that is cheaper than reading each watched project
    /// directly (see [`super::listing`]).
    pub async fn listing(&self, client: &GitlabClient, round: u64) -> Result<Arc<Listing>, GitlabError> {
        self.listing.lock().await.get(client, &self.watched, round).await
    }

    /// The protection rule of `branch` of project `id` (`None`: the branch
    /// is not protected), asked at most once per token, project and branch:
    /// a renamed default branch or a new token asks again.
    pub async fn protected_branch(
        &self,
        client: &GitlabClient,
        id: u64,
        branch: &str,
    ) -> Result<Option<ProtectedBranch>, GitlabError> {
        let generation = client.token_generation();
        let key = (id, Box::<str>::from(branch));
        if let Some((g, rule)) = lock(&self.protections).get(&key) {
            if *g == generation {
                return Ok(rule.clone());
            }
        }
        let rule = client.protected_branch(id, branch).await?;
        lock(&self.protections).insert(key, (generation, rule.clone()));
        Ok(rule)
    }

    /// The clone probe for `path`, run at most once per token.
    pub async fn clone_probe(&self, client: &GitlabClient, path: &str) -> Result<CloneProbe, GitlabError> {
        let generation = client.token_generation();
        if let Some((g, probe)) = lock(&self.probes).get(path) {
            if *g == generation {
                return Ok(probe.clone());
            }
        }
        let probe = client.info_refs(path).await?;
        lock(&self.probes).insert(path.to_owned(), (generation, probe.clone()));
        Ok(probe)
    }
}

/// A connection as `/status` shows it: the token's metadata and account,
/// and when `ws`'s renewal policy wants the token renewed.
pub fn connection_view(ws: &WorkspaceConfig, info: TokenInfo, user: Option<User>) -> ConnectionView {
    let due = info
        .expires_at
        .map(|d| ws.renewal.renewal_due(info.created_at, expiry_moment(d)));
    ConnectionView {
        connected: true,
        user_id: user.as_ref().map(|u| u.id).or(info.user_id),
        username: user.map(|u| u.username),
        token: Some(TokenView {
            id: info.id,
            name: info.name,
            scopes: info.scopes,
            expires_at: info.expires_at.map(format_date),
            renewal_due: due.map(rfc3339),
        }),
    }
}

/// Reads the bootstrap `token_file` into a secret; config validation already
/// checked it is readable, so a failure here (file removed since) is logged
/// and the workspace runs without a token (`not-connected`).
pub(crate) fn read_token(ws: &WorkspaceConfig) -> Option<SecretString> {
    let path = ws.token_file.as_ref()?;
    match crate::files::read_text_capped(path, crate::files::MAX_TOKEN_FILE).map(zeroize::Zeroizing::new) {
        Ok(text) if !text.trim().is_empty() => Some(SecretString::from(text.trim().to_owned())),
        Ok(_) => {
            tracing::error!(workspace = %ws.name, file = %path.display(), "Token file is empty");
            None
        }
        Err(e) => {
            tracing::error!(workspace = %ws.name, file = %path.display(), error = %e, "Cannot read the token file");
            None
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
