//! Repository listing, search and selection.

use super::{ActionError, Actions, verify};
use crate::checks::capability_views;
use crate::config::RepositoryRef;
use crate::config::WorkspaceConfig;
use crate::engine::{CapabilityView, Outcome, Reason, Status};
use crate::gitlab::GitlabError;
use crate::gitlab::capabilities::Facts;
use crate::gitlab::types::{Project, access_level_name};
use crate::store::{Actor, AuditAction};
use crate::wire::{RepoCapability, RepoPage, RepoSummary, RepoWarning, WatchedRepositories};

impl From<&Project> for RepoSummary {
    fn from(p: &Project) -> RepoSummary {
        RepoSummary {
            path: p.path_with_namespace.clone(),
            visibility: p.visibility.clone(),
            access: p.access_level().map(|l| access_level_name(l).to_owned()),
            archived: p.archived,
            web_url: p.web_url.clone(),
            capabilities: Vec::new(),
        }
    }
}

/// A listed project with its capability verdicts, so a user choosing a
/// repository sees what the workspace will be able to do with it: the
/// repository check's verdicts (`checks::capability_views`), judged from
/// the project as listed and the token's scopes, with no request. With
/// `scopes` unknown (a `token_file`'s token) the scope rule is not judged,
/// as in the repository check.
pub(super) fn judged(p: &Project, scopes: Option<&[String]>, ws: &WorkspaceConfig) -> RepoSummary {
    let any_scope = ["api".to_owned()];
    let facts = Facts::from_project(p, scopes.unwrap_or(&any_scope));
    let capabilities = capability_views(&facts, ws.listed_capabilities(None))
        .iter()
        .map(RepoCapability::from)
        .collect();
    RepoSummary {
        capabilities,
        ..RepoSummary::from(p)
    }
}

impl From<&CapabilityView> for RepoCapability {
    fn from(c: &CapabilityView) -> RepoCapability {
        let denial = c.denial.as_deref();
        RepoCapability {
            name: c.name.to_owned(),
            verdict: c.verdict().to_owned(),
            needed: c.needed,
            reason: denial.map(|d| d.reason.to_owned()),
            message: denial.map(|d| d.message.clone()),
            fix: denial.map(|d| d.fix.clone()),
        }
    }
}

impl Actions {
    /// Repositories the account can access: without `search`, the projects
    /// it is a member of; with a name, GitLab's search over every project
    /// the token can see (public and internal ones too); a path or a full
    /// URL, HTTP(S) or SSH, looks that project up (a URL on another host is
    /// `repo-on-other-instance`).
    pub async fn repositories(
        &self,
        workspace: &str,
        search: Option<&str>,
        page: u32,
    ) -> Result<RepoPage, ActionError> {
        // The token in use, from the store or token_file: reading adopts
        // nothing.
        let (ws, conn) = self.token_in_use(workspace).await?;
        let client = self.client(&ws, &ws.instance_url.clone(), conn.token.clone())?;
        let page = page.max(1);
        let fill = |o: Outcome| o.fill(&[("url", &conn.instance_url), ("workspace", workspace)]);
        let summary = |p: &Project| judged(p, conn.scopes.as_deref(), &ws);
        let search = search.map(str::trim).filter(|q| !q.is_empty());
        if let Some(q) = search.filter(|q| q.contains("://") || q.contains('/')) {
            let repo = RepositoryRef::parse(q)
                .map_err(|m| ActionError::new(422, "repository-invalid", m))?
                .relative_to(&RepositoryRef::host_of(&ws.instance_url));
            if let Some(host) = &repo.host {
                let summary = format!(
                    "`{q}` is on {host}, but workspace `{workspace}` is connected to {}.",
                    conn.instance_url
                );
                return Err(ActionError::from_outcome(fill(Outcome::new(
                    Status::Critical,
                    Reason::RepoOnOtherInstance,
                    summary,
                ))));
            }
            return match client.project(&repo.path).await {
                Ok(p) => Ok(RepoPage {
                    page: 1,
                    next_page: None,
                    repositories: vec![summary(&p)],
                }),
                Err(GitlabError::Moved { location }) => {
                    let p = client
                        .project_at(&location)
                        .await
                        .map_err(|e| gitlab_failure(&e, workspace, &conn.instance_url))?;
                    Ok(RepoPage {
                        page: 1,
                        next_page: None,
                        repositories: vec![summary(&p)],
                    })
                }
                Err(GitlabError::NotFound) => {
                    // Fall back to a search on the last segment: maybe a typo.
                    let name = repo.path.rsplit('/').next().unwrap_or(&repo.path).to_owned();
                    let (found, next) = client
                        .visible_projects_page(&name, page)
                        .await
                        .map_err(|e| gitlab_failure(&e, workspace, &conn.instance_url))?;
                    Ok(RepoPage {
                        page,
                        next_page: next,
                        repositories: found.iter().map(summary).collect(),
                    })
                }
                Err(e) => Err(gitlab_failure(&e, workspace, &conn.instance_url)),
            };
        }
        let listed = match search {
            Some(q) => client.visible_projects_page(q, page).await,
            None => client.member_projects_page(None, page).await,
        };
        let (found, next) = listed.map_err(|e| gitlab_failure(&e, workspace, &conn.instance_url))?;
        Ok(RepoPage {
            page,
            next_page: next,
            repositories: found.iter().map(summary).collect(),
        })
    }

    /// The repositories workspace `workspace` watches: those chosen through
    /// the admin API (kept with the connection), else its configured ones.
    pub async fn watched(&self, workspace: &str) -> Result<Vec<String>, ActionError> {
        let ws = self.workspace(workspace)?;
        let configured = || ws.repositories.iter().map(ToString::to_string).collect();
        let name = workspace.to_owned();
        match self.on_store(move |s| s.load(&name)).await {
            Ok(Some(conn)) => Ok(conn.repositories.unwrap_or_else(configured)),
            Ok(None) => Ok(configured()),
            Err(e) => Err(super::store_failed(workspace, e)),
        }
    }

    /// Sets the watched repositories after verifying each.
    pub async fn set_repositories(
        &self,
        workspace: &str,
        wanted: Vec<String>,
    ) -> Result<WatchedRepositories, ActionError> {
        self.audited(
            workspace,
            Actor::AdminApi,
            AuditAction::SetRepositories,
            self.try_set_repositories(workspace, wanted),
        )
        .await
    }

    async fn try_set_repositories(
        &self,
        workspace: &str,
        wanted: Vec<String>,
    ) -> Result<WatchedRepositories, ActionError> {
        let (ws, in_use) = self.in_use(workspace).await?;
        let mut conn = in_use.conn.clone();
        let client = self.client(&ws, &ws.instance_url.clone(), conn.token.clone())?;
        let projects = verify::projects(&client, &ws, &wanted).await?;
        let verified: Vec<String> = projects.iter().map(|p| p.path_with_namespace.clone()).collect();
        let warnings = projects
            .iter()
            .filter_map(|p| selection_warning(p, workspace, &conn.instance_url))
            .collect();
        // The choice is kept with the connection, in the store.
        let adopted = self.adopt(&in_use, Actor::AdminApi).await?;
        conn.repositories = Some(verified.clone());
        let saved = conn.clone();
        self.on_store(move |s| s.save(&saved))
            .await
            .map_err(|e| super::store_failed(workspace, e))?;
        self.replan(workspace).await;
        Ok(WatchedRepositories {
            workspace: workspace.to_owned(),
            repositories: verified,
            adopted,
            warnings,
        })
    }
}

/// What the repository check will say about a chosen project that can be
/// watched but is not what one usually wants, with its reason code: an
/// archived project (read-only), or one whose repository is disabled
/// (nothing to clone). The other problems (no access, another instance)
/// refuse the selection instead.
pub(super) fn selection_warning(p: &Project, workspace: &str, url: &str) -> Option<RepoWarning> {
    let path = &p.path_with_namespace;
    let (reason, summary) = if p.repository_access_level.as_deref() == Some("disabled") {
        (
            Reason::RepoDisabled,
            format!("`{path}` has its repository disabled: there is nothing to clone, and its check will be critical."),
        )
    } else if p.archived {
        (
            Reason::RepoArchived,
            format!("`{path}` is archived (read-only): it cannot be pushed to, and its check will warn."),
        )
    } else {
        return None;
    };
    let outcome = Outcome::new(Status::Warning, reason, summary).fill(&[("url", url), ("workspace", workspace)]);
    Some(RepoWarning {
        path: path.clone(),
        code: outcome.reason,
        message: outcome.summary,
        remediation: outcome.remediation,
    })
}

fn gitlab_failure(e: &GitlabError, workspace: &str, url: &str) -> ActionError {
    let o = crate::checks::gitlab_errors::outcome(e, "the project listing");
    ActionError::from_outcome(o.fill(&[("url", url), ("workspace", workspace)]))
}
