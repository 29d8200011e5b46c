//! Checks an action makes before it changes anything: is the instance
//! reachable, whose token is it, does it have the scopes, do the
//! repositories exist. Failures come back as the same reason codes and
//! remediation the checks report.

use time::OffsetDateTime;

use super::ActionError;
use crate::checks::gitlab_errors;
use crate::checks::instance::InstanceCheck;
use crate::config::{RepositoryRef, WorkspaceConfig, scopes};
use crate::engine::{Check, Outcome, Reason, RunContext, Status};
use crate::gitlab::types::{Project, TokenInfo, User};
use crate::gitlab::{GitlabClient, GitlabError};

/// The instance check against `ws` (with the candidate URL), as a gate.
pub async fn reachable(ws: &WorkspaceConfig) -> Result<(), ActionError> {
    let ctx = RunContext {
        workspace: ws.name.clone(),
        deadline: tokio::time::Instant::now() + ws.timeout,
        now: OffsetDateTime::now_utc(),
        round: 0,
        requested: true,
    };
    let outcome = InstanceCheck::new(ws).run(&ctx).await;
    if outcome.status.is_usable() {
        Ok(())
    } else {
        Err(ActionError::from_outcome(outcome))
    }
}

/// The token's metadata and its user; an unusable token is refused with the
/// token check's reason.
pub async fn identify(client: &GitlabClient, ws: &WorkspaceConfig) -> Result<(TokenInfo, User), ActionError> {
    let info = client.token_self().await.map_err(|e| failed(&e, "the token", ws))?;
    if info.revoked || !info.active {
        let reason = if info.revoked {
            Reason::TokenRevoked
        } else {
            Reason::TokenExpired
        };
        let outcome = Outcome::new(
            Status::Critical,
            reason,
            format!("Token `{}` is not active.", info.name),
        );
        return Err(ActionError::from_outcome(fill(outcome, ws)));
    }
    let user = client
        .user()
        .await
        .map_err(|e| failed(&e, "the user of the token", ws))?;
    Ok((info, user))
}

/// 422 `scopes-missing` when the token lacks required scopes.
pub fn scopes(info: &TokenInfo, ws: &WorkspaceConfig) -> Result<(), ActionError> {
    let missing = scopes::missing(&ws.required_scopes, &info.scopes);
    if missing.is_empty() {
        return Ok(());
    }
    let summary = format!(
        "The token lacks scope {} (it has: {}); workspace `{}` requires {}.",
        missing.join(", "),
        if info.scopes.is_empty() {
            "none".to_owned()
        } else {
            info.scopes.join(", ")
        },
        ws.name,
        ws.required_scopes.join(", ")
    );
    Err(ActionError::from_outcome(fill(
        Outcome::new(Status::Critical, Reason::ScopesMissing, summary),
        ws,
    )))
}

/// Each repository must be on this instance and visible to the token's
/// user. Returns each project as GitLab answered it (once per canonical
/// path: a moved project under its new path), for the paths to store and
/// what a selection should warn about.
pub async fn projects(
    client: &GitlabClient,
    ws: &WorkspaceConfig,
    wanted: &[String],
) -> Result<Vec<Project>, ActionError> {
    let host = RepositoryRef::host_of(&ws.instance_url);
    let mut out: Vec<Project> = Vec::new();
    for written in wanted {
        let repo = RepositoryRef::parse(written)
            .map_err(|m| ActionError::new(422, "repository-invalid", m))?
            .relative_to(&host);
        if let Some(other) = &repo.host {
            let summary = format!(
                "`{written}` is on {other}, but workspace `{}` is connected to {host}.",
                ws.name
            );
            return Err(ActionError::from_outcome(fill(
                Outcome::new(Status::Critical, Reason::RepoOnOtherInstance, summary),
                ws,
            )));
        }
        let project = match client.project(&repo.path).await {
            Ok(p) => p,
            Err(GitlabError::Moved { location }) => client
                .project_at(&location)
                .await
                .map_err(|e| failed(&e, "the moved project", ws))?,
            Err(GitlabError::NotFound) => return Err(not_found(client, ws, &repo.path).await),
            Err(e) => return Err(failed(&e, "the project", ws)),
        };
        if !out
            .iter()
            .any(|o| o.path_with_namespace.eq_ignore_ascii_case(&project.path_with_namespace))
        {
            out.push(project);
        }
    }
    Ok(out)
}

async fn not_found(client: &GitlabClient, ws: &WorkspaceConfig, path: &str) -> ActionError {
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut summary =
        format!("GitLab answers 404 for `{path}`: the project does not exist, or the token's user cannot see it.");
    if let Ok(found) = client.search_projects(name).await {
        let close: Vec<String> = found
            .into_iter()
            .map(|p| format!("`{}`", p.path_with_namespace))
            .take(3)
            .collect();
        if !close.is_empty() {
            summary.push_str(&format!(" Did you mean {}?", close.join(", ")));
        }
    }
    let outcome = Outcome::new(Status::Critical, Reason::RepoNotFoundOrNoAccess, summary).with_first_step(format!(
        "Search what the token can see: `labwatch repos --workspace {} --search {name}`.",
        ws.name
    ));
    ActionError::from_outcome(fill(outcome, ws))
}

fn failed(e: &GitlabError, what: &str, ws: &WorkspaceConfig) -> ActionError {
    ActionError::from_outcome(fill(gitlab_errors::outcome(e, what), ws))
}

fn fill(outcome: Outcome, ws: &WorkspaceConfig) -> Outcome {
    outcome.fill(&[
        ("url", &crate::config::instance_url::display(&ws.instance_url)),
        ("workspace", &ws.name),
    ])
}
