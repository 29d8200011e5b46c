//! Building a workspace for the scheduler: its settings with the stored
//! connection applied, its GitLab context and its plan of checks. The daemon
//! ([`super::Runtime`]) and one-shot `labwatch check` build workspaces the
//! same way, here.

use std::sync::Arc;

use crate::checks::{self, Shared, TokenSource, WorkspaceGitlab};
use crate::config::{Config, RepositoryRef, WorkspaceConfig, instance_url};
use crate::engine::Plan;
use crate::gitlab::types::{TokenInfo, User};
use crate::report::ConnectionView;
use crate::store::{ConnectionStore, StoredConnection};

/// One workspace, ready to schedule.
pub struct Built {
    pub plan: Arc<Plan>,
    /// What its checks share; it remembers what they saw.
    pub gitlab: Arc<WorkspaceGitlab>,
    /// What the store says about its connection, shown until the token
    /// check has seen the token itself.
    pub stored: Option<ConnectionView>,
}

impl Built {
    /// What `/status` shows of the connection: what the token check saw,
    /// else what the store says, else whether there is a token at all.
    pub fn connection(&self) -> ConnectionView {
        self.gitlab
            .observed_connection()
            .or_else(|| self.stored.clone())
            .unwrap_or_else(|| ConnectionView {
                connected: self.gitlab.has_token(),
                ..ConnectionView::default()
            })
    }
}

/// Builds workspace `name` of `config`, with its connection from `store`
/// when there is one; `None` for a workspace the config does not have.
pub fn build(config: &Config, name: &str, store: Option<&Arc<ConnectionStore>>, shared: &Shared) -> Option<Built> {
    let ws = config.workspace(name)?;
    Some(build_workspace(config, ws, store, shared))
}

/// Builds `ws`, a workspace of `config`'s file or one created at run time
/// (whose plugins and HTTP checks are `config`'s), with its connection
/// from `store` when there is one.
pub fn build_workspace(
    config: &Config,
    ws: &WorkspaceConfig,
    store: Option<&Arc<ConnectionStore>>,
    shared: &Shared,
) -> Built {
    let (effective, source, stored) = effective(ws, store);
    let gitlab = Arc::new(WorkspaceGitlab::with_source(&effective, shared, source));
    if let Some(conn) = &stored {
        gitlab.seed_identity(conn.user_id, conn.username.clone());
    }
    let checks = checks::planned(config, &effective, gitlab.clone());
    let lane = shared.instances.lane(&effective, config.engine.concurrency);
    let plan =
        Arc::new(Plan::new(ws.name.clone(), instance_url::display(&effective.instance_url), checks).with_lane(lane));
    let stored = stored.map(|conn| stored_view(&conn, &effective));
    Built { plan, gitlab, stored }
}

/// `ws`'s settings as the daemon runs them: with the stored connection's
/// instance and chosen repositories applied (`labwatch checks list`).
/// Reads the store, writes nothing.
pub(super) fn effective_settings(ws: &WorkspaceConfig, store: Option<&Arc<ConnectionStore>>) -> WorkspaceConfig {
    effective(ws, store).0
}

/// Every workspace of `config`, in config order.
pub fn build_all(config: &Config, store: Option<&Arc<ConnectionStore>>, shared: &Shared) -> Vec<Built> {
    config
        .workspaces
        .iter()
        .filter_map(|ws| build(config, &ws.name, store, shared))
        .collect()
}

/// The plans of every workspace, with tokens from `token_file` alone.
pub fn plans(config: &Config, shared: &Shared) -> Vec<Arc<Plan>> {
    build_all(config, None, shared).into_iter().map(|b| b.plan).collect()
}

/// The workspace's settings with its stored connection applied — the
/// connected instance and the chosen repositories win over the config's —
/// where its token comes from, and the stored connection itself.
fn effective(
    ws: &WorkspaceConfig,
    store: Option<&Arc<ConnectionStore>>,
) -> (WorkspaceConfig, TokenSource, Option<StoredConnection>) {
    let Some(store) = store else {
        return (ws.clone(), TokenSource::ConfigFile, None);
    };
    let mut effective = ws.clone();
    let mut disconnected = None;
    let mut stored = None;
    let token = match store.load(&ws.name) {
        Ok(Some(conn)) => {
            if let Ok(url) = instance_url::normalize(&conn.instance_url) {
                effective.instance_url = url;
            }
            if let Some(repos) = &conn.repositories {
                let host = RepositoryRef::host_of(&effective.instance_url);
                // A chosen repository the config file also lists keeps
                // what its entry there says it needs: the entries that say,
                // by lower-cased key (usually none), looked up once each.
                let own: std::collections::HashMap<String, &Vec<&'static str>> = ws
                    .repositories
                    .iter()
                    .filter_map(|c| Some((c.key().to_lowercase(), c.capabilities.as_ref()?)))
                    .collect();
                let listed = |r: &RepositoryRef| {
                    if own.is_empty() {
                        return None;
                    }
                    own.get(&r.key().to_lowercase()).map(|c| (*c).clone())
                };
                effective.repositories = repos
                    .iter()
                    .filter_map(|r| RepositoryRef::parse(r).ok())
                    .map(|r| r.relative_to(&host))
                    .map(|r| RepositoryRef {
                        capabilities: listed(&r),
                        ..r
                    })
                    .collect();
            }
            let token = conn.token.clone();
            stored = Some(conn);
            Ok(Some(token))
        }
        Ok(None) => match store.read_disconnected(&ws.name) {
            Ok(record) => {
                disconnected = record;
                Ok(None)
            }
            Err(e) => {
                tracing::error!(workspace = %ws.name, error = %e, "Cannot read the disconnect record");
                Err(e.to_string())
            }
        },
        Err(e) => {
            tracing::error!(workspace = %ws.name, error = %e, "Cannot read the stored connection");
            Err(e.to_string())
        }
    };
    let source = TokenSource::Store {
        store: store.clone(),
        token,
        disconnected,
    };
    (effective, source, stored)
}

/// The stored connection as `/status` shows it.
fn stored_view(conn: &StoredConnection, ws: &WorkspaceConfig) -> ConnectionView {
    let info = TokenInfo {
        id: conn.token_id,
        name: conn.token_name.clone(),
        revoked: false,
        active: true,
        scopes: conn.scopes.clone(),
        user_id: Some(conn.user_id),
        expires_at: conn.expires_at,
        created_at: conn.created_at,
    };
    let user = User {
        id: conn.user_id,
        username: conn.username.clone(),
        name: None,
        state: None,
        web_url: None,
    };
    checks::connection_view(ws, info, Some(user))
}
