//! One kind of "connected": where a workspace's token is (the store, or
//! its config's bootstrap `token_file`), and adoption, which moves a
//! `token_file` token into the store the first time an action needs the
//! store's copy.
//!
//! Why adopt rather than act on the file: a rotation must save the new
//! token somewhere durable before anything else, and labwatch does not
//! write the person's `token_file`; the store is where rotation's crash
//! safety lives (the marker, the kept token). So rotate (whatever its
//! trigger), renew, setting the repositories, and a connect with the same
//! account first save the file's token in the store, verified with GitLab
//! and with the fields `connect` saves, and leave an `adopt-token` audit
//! line; their answers say `"adopted": true`. Each adopts only once it is
//! about to change something, so an action refused up front adopts
//! nothing. From then on the store's copy wins (`runtime::build`) and the
//! file is not read for the workspace; a disconnect records the file's
//! token so that it does not connect the workspace again
//! ([`crate::store::DisconnectRecord`]).
//!
//! Listing repositories only reads, with the token in use wherever it is;
//! disconnect needs no adoption either.

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::{ActionError, Actions, verify};
use crate::checks;
use crate::config::{WorkspaceConfig, instance_url};
use crate::engine::Reason;
use crate::store::{Actor, AuditAction, AuditEntry, AuditResult, StoredConnection};

/// Where a workspace's token is, as far as labwatch knows without asking
/// GitLab.
pub(super) enum Source {
    /// The store's connection; it wins over `token_file`.
    Stored(StoredConnection),
    /// The config's `token_file`, which no disconnect silenced.
    File(SecretString),
}

/// The token of a workspace and the instance it is for: enough to read
/// with, not to change the connection.
pub(super) struct TokenInUse {
    pub instance_url: String,
    pub token: SecretString,
    /// The token's scopes as the store recorded them; `None` for a
    /// `token_file`'s token, whose scopes only GitLab knows.
    pub scopes: Option<Vec<String>>,
}

/// The connection an action acts on.
pub(super) struct InUse {
    pub conn: StoredConnection,
    /// `conn` is `token_file`'s token, verified with GitLab, and not in the
    /// store yet: [`Actions::adopt`] puts it there.
    pub from_file: bool,
}

impl Actions {
    /// Where `ws`'s token is: the stored connection, else `token_file`'s
    /// token unless a disconnect silenced it; 409 `not-connected` when
    /// there is neither.
    pub(super) async fn source(&self, ws: &WorkspaceConfig) -> Result<Source, ActionError> {
        let name = ws.name.clone();
        match self.on_store(move |s| s.load(&name)).await {
            Ok(Some(conn)) => return Ok(Source::Stored(conn)),
            Ok(None) => {}
            Err(e) => return Err(super::store_failed(&ws.name, e)),
        }
        let Some(token) = checks::read_token(ws) else {
            return Err(ActionError::not_connected(&ws.name));
        };
        let name = ws.name.clone();
        let earlier = self
            .on_store(move |s| s.read_disconnected(&name))
            .await
            .map_err(super::store_error)?;
        if earlier.is_some_and(|d| d.silences(token.expose_secret())) {
            return Err(ActionError::not_connected(&ws.name));
        }
        Ok(Source::File(token))
    }

    /// Workspace `name`'s settings with the instance of its token applied,
    /// and that token, from the store or from `token_file`. Asks GitLab
    /// nothing and adopts nothing.
    pub(super) async fn token_in_use(&self, name: &str) -> Result<(WorkspaceConfig, TokenInUse), ActionError> {
        let mut ws = self.workspace(name)?;
        let found = match self.source(&ws).await? {
            Source::Stored(conn) => {
                ws.instance_url = stored_url(&conn)?;
                TokenInUse {
                    instance_url: conn.instance_url,
                    token: conn.token,
                    scopes: Some(conn.scopes),
                }
            }
            Source::File(token) => TokenInUse {
                instance_url: instance_url::display(&ws.instance_url),
                token,
                scopes: None,
            },
        };
        Ok((ws, found))
    }

    /// Workspace `name`'s settings with the instance of its connection
    /// applied, and the connection: the store's, or the one `token_file`'s
    /// token makes (verified with GitLab, not saved yet).
    pub(super) async fn in_use(&self, name: &str) -> Result<(WorkspaceConfig, InUse), ActionError> {
        let mut ws = self.workspace(name)?;
        let in_use = match self.source(&ws).await? {
            Source::Stored(conn) => {
                ws.instance_url = stored_url(&conn)?;
                InUse { conn, from_file: false }
            }
            Source::File(token) => InUse {
                conn: self
                    .file_connection(&ws, token)
                    .await
                    .map_err(|e| dead_file_token(&ws.name, e))?,
                from_file: true,
            },
        };
        Ok((ws, in_use))
    }

    /// The connection `connect` would save for `token_file`'s token:
    /// GitLab's word on the token and its account, on the configured
    /// instance.
    pub(super) async fn file_connection(
        &self,
        ws: &WorkspaceConfig,
        token: SecretString,
    ) -> Result<StoredConnection, ActionError> {
        let client = self.client(ws, &ws.instance_url.clone(), token.clone())?;
        let (info, user) = verify::identify(&client, ws).await?;
        Ok(StoredConnection {
            workspace: ws.name.clone(),
            instance_url: instance_url::display(&ws.instance_url),
            token,
            user_id: user.id,
            username: user.username,
            token_id: info.id,
            token_name: info.name,
            scopes: info.scopes,
            expires_at: info.expires_at,
            created_at: info.created_at,
            connected_at: OffsetDateTime::now_utc(),
            repositories: None,
        })
    }

    /// Saves a `token_file` connection in the store and audits it (actor
    /// `actor`); nothing for a stored one. Whether it adopted. The caller
    /// re-plans the workspace once its action is done.
    ///
    /// Refused (409 `conflict`) when a connection reached the store since
    /// `in_use` looked: it is not overwritten.
    pub(super) async fn adopt(&self, in_use: &InUse, actor: Actor) -> Result<bool, ActionError> {
        if !in_use.from_file {
            return Ok(false);
        }
        let conn = in_use.conn.clone();
        let workspace = conn.workspace.clone();
        let name = workspace.clone();
        let saved = self
            .on_store(move |s| match s.load(&name)? {
                Some(_) => Ok(false),
                None => s.save(&conn).map(|()| true),
            })
            .await
            .map_err(|e| super::store_failed(&workspace, e))?;
        if !saved {
            return Err(ActionError::new(
                409,
                "conflict",
                format!(
                    "Workspace `{workspace}` was connected through the admin API meanwhile; send the request again."
                ),
            ));
        }
        // A record of an earlier disconnect from another token of the file
        // means nothing once the store has the connection, as after connect.
        let name = workspace.clone();
        if let Err(e) = self.on_store(move |s| s.clear_disconnected(&name)).await {
            tracing::warn!(workspace = %workspace, error = %e, "Cannot remove the disconnect record");
        }
        let mut entry = AuditEntry::new(workspace.as_str(), actor, AuditAction::AdoptToken, AuditResult::Ok);
        entry.token_id = Some(in_use.conn.token_id);
        entry.detail = Some(format!(
            "@{} on {}, from token_file; the store's copy is used from now on",
            in_use.conn.username, in_use.conn.instance_url
        ));
        self.audit(entry).await;
        tracing::info!(
            workspace = %workspace, token_id = in_use.conn.token_id,
            "Adopted the token from token_file into the store; token_file is no longer read for this workspace"
        );
        Ok(true)
    }
}

/// An action that failed after adopting the token still adopted it: its
/// error says so, since `token_file` is no longer read.
pub(super) fn after_adoption(mut e: ActionError) -> ActionError {
    e.message.push_str(
        " (Before that, the token from token_file was adopted into the store: from now on labwatch uses the store's copy, and token_file is no longer read for this workspace.)",
    );
    e
}

/// GitLab refuses the token itself: whoever it belonged to, it connects
/// nothing any more.
pub(super) fn no_longer_works(e: &ActionError) -> bool {
    [
        Reason::TokenInvalid,
        Reason::TokenRevoked,
        Reason::TokenExpired,
        Reason::TokenMalformed,
    ]
    .iter()
    .any(|r| r.code() == e.code)
}

/// `token_file`'s token no longer works: an action that needs it (renew
/// compares the new token's account with it, rotate rotates it) cannot go
/// on, and a connect is what replaces it. Other failures stay as they are.
fn dead_file_token(workspace: &str, e: ActionError) -> ActionError {
    if !no_longer_works(&e) {
        return e;
    }
    let message = format!(
        "The token in the token_file of workspace `{workspace}` no longer works: {}",
        e.message
    );
    ActionError::new(e.status, e.code, message).with_steps(vec![
        "Create a new personal access token in GitLab (Preferences → Access Tokens) with the scopes the workspace needs.".to_owned(),
        format!(
            "Connect the workspace with it: `labwatch connect --workspace {workspace}` (the file's token has no account left to keep, so any account may connect)."
        ),
    ])
}

/// The account a connection is for, for messages: `@alice on URL`, and
/// where labwatch has it from when that is `token_file`.
pub(super) fn account(conn: &StoredConnection, from_file: bool) -> String {
    let through = if from_file { " (through its token_file)" } else { "" };
    format!("@{} on {}{through}", conn.username, conn.instance_url)
}

/// The instance of a stored connection, as a URL.
fn stored_url(conn: &StoredConnection) -> Result<url::Url, ActionError> {
    instance_url::normalize(&conn.instance_url).map_err(|m| ActionError::new(500, "store-error", m))
}
