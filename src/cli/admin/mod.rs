//! The admin commands (`labwatch connect|renew|rotate|disconnect|repos|workspaces`):
//! the client side of a running daemon's admin API (`docs/admin-api.md`).
//!
//! - [`secret`]: the admin token (file or `LABWATCH_ADMIN_TOKEN`) and the
//!   GitLab token (file or stdin, never argv), as `SecretString`s.
//! - [`client`]: the HTTP calls and the mapping of every failure to a
//!   message, numbered steps and a sysexits code ([`error`]).
//! - [`render`]: the answers ([`crate::wire`]) as text.
//! - `workspaces`: `labwatch workspaces list|show|create|delete`.
//!
//! Each command prints its result on stdout and returns 0, or prints
//! `error: …` and the steps on stderr and returns the exit code.

pub mod client;
pub mod error;
pub mod render;
pub mod secret;
mod workspaces;

pub use workspaces::workspaces;

use reqwest::Method;

use super::args::{ConnectArgs, DaemonArgs, DisconnectArgs, RenewArgs, ReposArgs, RotateArgs};
use crate::wire::{
    ConnectBody, Connected, Disconnected, RepoPage, RotateBody, Rotated, TokenBody, Updated, WatchedRepositories,
};
use client::AdminClient;
use error::AdminError;

pub async fn connect(args: ConnectArgs) -> u8 {
    finish(try_connect(args).await)
}

pub async fn renew(args: RenewArgs) -> u8 {
    finish(try_renew(args).await)
}

pub async fn rotate(args: RotateArgs) -> u8 {
    finish(try_rotate(args).await)
}

pub async fn disconnect(args: DisconnectArgs) -> u8 {
    finish(try_disconnect(args).await)
}

pub async fn repos(args: ReposArgs) -> u8 {
    finish(try_repos(args).await)
}

/// Prints the outcome where it belongs and turns it into the exit code.
fn finish(result: Result<String, AdminError>) -> u8 {
    match result {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprint!("{}", e.render());
            e.exit_code()
        }
    }
}

/// The admin token is resolved before anything else, so a missing one
/// fails before the GitLab token is asked for.
fn admin_client(args: &DaemonArgs) -> Result<AdminClient, AdminError> {
    let base = client::daemon_url(&args.daemon)?;
    let env = std::env::var(secret::ADMIN_TOKEN_ENV).ok();
    let token = secret::admin_token(args.admin_token_file.as_deref(), env)?;
    AdminClient::new(base, token)
}

async fn try_connect(args: ConnectArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let token = secret::gitlab_token(args.token_file.as_deref(), &args.workspace)?;
    let body = ConnectBody {
        instance_url: args.instance_url,
        token,
        repositories: (!args.repos.is_empty()).then_some(args.repos),
        replace: args.replace,
        force: args.force,
    };
    let ws = args.workspace.as_str();
    let connected: Connected = client
        .call(Method::POST, &["workspaces", ws, "connect"], &[], Some(&body))
        .await?;
    Ok(render::connected(&connected))
}

async fn try_renew(args: RenewArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let token = secret::gitlab_token(args.token_file.as_deref(), &args.workspace)?;
    let body = TokenBody {
        token,
        revoke_old: args.revoke_old,
        force: args.force,
    };
    let ws = args.workspace.as_str();
    let updated: Updated = client
        .call(Method::PUT, &["workspaces", ws, "token"], &[], Some(&body))
        .await?;
    Ok(render::updated(&updated, args.revoke_old))
}

async fn try_rotate(args: RotateArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let body = RotateBody {
        expires_at: args.expires_at,
    };
    let ws = args.workspace.as_str();
    let rotated: Rotated = client
        .call(Method::POST, &["workspaces", ws, "rotate"], &[], Some(&body))
        .await?;
    Ok(render::rotated(&rotated))
}

async fn try_disconnect(args: DisconnectArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let query = if args.revoke {
        vec![("revoke", "true".to_owned())]
    } else {
        Vec::new()
    };
    let ws = args.workspace.as_str();
    let done: Disconnected = client
        .call(Method::DELETE, &["workspaces", ws, "connection"], &query, None::<&()>)
        .await?;
    Ok(render::disconnected(&done, args.revoke))
}

async fn try_repos(args: ReposArgs) -> Result<String, AdminError> {
    let client = admin_client(&args.daemon)?;
    let segments = ["workspaces", args.workspace.as_str(), "repositories"];
    if let Some(list) = &args.set {
        let watched: WatchedRepositories = client.call(Method::PUT, &segments, &[], Some(list)).await?;
        return Ok(render::watched(&watched));
    }
    let mut query = Vec::new();
    if let Some(q) = &args.search {
        query.push(("search", q.clone()));
    }
    if let Some(page) = args.page {
        query.push(("page", page.to_string()));
    }
    let page: RepoPage = client.call(Method::GET, &segments, &query, None::<&()>).await?;
    Ok(render::repo_page(&page, &args.workspace, args.search.as_deref()))
}
