//! The `repository` check, one per watched repository: can the token's user
//! see it, with enough access, and clone it? All repositories of a workspace
//! share one member-project listing per round, read only as far as that is
//! cheaper than reading each watched project ([`super::listing`]); a
//! project the listing does not hold costs a request of its own, which also
//! tells moved, public and missing apart, and is judged exactly as a listed
//! one.

use std::borrow::Cow;
use std::sync::Arc;

use super::context::WorkspaceGitlab;
use super::gitlab_errors;
use super::listing::ProjectFacts;
use super::verdicts::{BRANCH_PROTECTED, Verdicts};
use crate::config::RepositoryRef;
use crate::engine::{Capabilities, Check, CheckFuture, DenialView, Outcome, Reason, RunContext, Status};
use crate::gitlab::api::CloneProbe;
use crate::gitlab::types::access_level_name;
use crate::gitlab::{GitlabClient, GitlabError};

pub struct RepositoryCheck {
    ws: Arc<WorkspaceGitlab>,
    repo: RepositoryRef,
    /// [`RepositoryRef::key`]: the path, with the host when it is elsewhere.
    target: String,
    verdicts: Verdicts,
}

impl RepositoryCheck {
    pub fn new(ws: Arc<WorkspaceGitlab>, repo: RepositoryRef) -> RepositoryCheck {
        let target = repo.key();
        let verdicts = Verdicts::new(ws.clone(), &repo);
        RepositoryCheck {
            ws,
            repo,
            target,
            verdicts,
        }
    }

    async fn probe(&self, ctx: &RunContext) -> Outcome {
        if let Some(outcome) = self.other_instance() {
            return outcome;
        }
        let client = match self.ws.client_or_outcome() {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        let listing = match self.ws.listing(client, ctx.round).await {
            Ok(l) => l,
            Err(e) => return gitlab_errors::outcome(&e, "the project listing"),
        };
        if let Some(project) = listing.get(&self.repo.path) {
            return self.judge(client, project, None).await;
        }
        match client.project(&self.repo.path).await {
            Ok(project) => self.judge(client, &project.into(), None).await,
            Err(GitlabError::Moved { location }) => match client.project_at(&location).await {
                Ok(project) => self.judge(client, &project.into(), Some(&self.repo.path)).await,
                Err(e) => gitlab_errors::outcome(&e, "the moved project"),
            },
            Err(GitlabError::NotFound) => self.not_found(client).await,
            Err(e) => gitlab_errors::outcome(&e, "the project"),
        }
    }

    /// A URL on another host than the workspace's instance.
    fn other_instance(&self) -> Option<Outcome> {
        let host = self.repo.host.as_deref()?;
        let ours = RepositoryRef::host_of(&self.ws.config.instance_url);
        if host.eq_ignore_ascii_case(&ours) {
            return None;
        }
        let summary = format!(
            "`{}` is on {host}, but workspace `{}` is connected to {ours}.",
            self.repo.written, self.ws.config.name
        );
        Some(Outcome::new(Status::Critical, Reason::RepoOnOtherInstance, summary))
    }

    /// A project the token can see: archived, disabled, access, clone.
    async fn judge(&self, client: &GitlabClient, p: &ProjectFacts, moved_from: Option<&str>) -> Outcome {
        let visibility = p.visibility.as_deref().unwrap_or("unknown visibility");
        let access = p.access_level;
        let role = access.map_or_else(
            || "not a member".to_owned(),
            |l| format!("you are {}", access_level_name(l)),
        );
        let capabilities = self.verdicts.of(client, p).await;
        let refused = self.refused(p, &capabilities);
        let base = move |mut o: Outcome| {
            o.capabilities = capabilities;
            o.with_measurement("project_id", p.id as f64)
        };
        if let Some(old) = moved_from {
            let summary = format!("`{old}` moved to `{}`; GitLab redirects the old path for now.", p.path);
            return base(Outcome::new(Status::Warning, Reason::RepoMoved, summary))
                .with_first_step(format!("Watch `{}` instead of `{old}`.", p.path));
        }
        if p.repository_disabled() {
            let summary = format!("`{}` has its repository disabled.", p.path);
            return base(Outcome::new(Status::Critical, Reason::RepoDisabled, summary));
        }
        if let Some(level) = access.filter(|l| *l < self.ws.config.min_access_level) {
            let summary = format!(
                "On `{}` you are {} but {} is required.",
                p.path,
                access_level_name(level),
                access_level_name(self.ws.config.min_access_level)
            );
            return base(Outcome::new(Status::Critical, Reason::RepoAccessInsufficient, summary));
        }
        if let Some(denied) = self.clone_denied(client, p).await {
            return base(denied);
        }
        if let Some(refused) = refused {
            return base(refused);
        }
        if p.archived {
            let summary = format!("`{}` is archived (read-only); {visibility}, {role}.", p.path);
            return base(Outcome::new(Status::Warning, Reason::RepoArchived, summary));
        }
        base(Outcome::ok(format!("`{}` is reachable: {visibility}, {role}.", p.path)))
    }

    /// The outcome when a capability the workspace's `capabilities` lists is
    /// `no`: critical, with the first one's reason, and every refused one's
    /// fix. Without the key nothing is judged here: `clone` is then judged
    /// as before the key existed (`min_access_level`, the clone probe).
    fn refused(&self, p: &ProjectFacts, capabilities: &Capabilities) -> Option<Outcome> {
        let refused: Vec<(&str, &DenialView)> = capabilities
            .iter()
            .filter(|c| c.judged)
            .filter_map(|c| c.denial.as_deref().map(|d| (c.name, d)))
            .collect();
        let (first_name, first) = refused.first()?;
        let reason = match first.reason {
            "project-archived" => Reason::RepoArchived,
            "feature-disabled" => Reason::RepoFeatureDisabled,
            "scope-missing" => Reason::RepoScopeMissing,
            BRANCH_PROTECTED => Reason::RepoPushDenied,
            _ => Reason::RepoRoleTooLow,
        };
        let mut summary = format!(
            "Workspace `{}` needs {first_name} on `{}`, which GitLab refuses: {}",
            self.ws.config.name, p.path, first.message
        );
        if refused.len() > 1 {
            let others: Vec<String> = refused[1..]
                .iter()
                .map(|(name, d)| format!("{name} ({})", d.reason))
                .collect();
            summary.push_str(&format!(" Also refused: {}.", others.join(", ")));
        }
        let mut fixes: Vec<String> = Vec::with_capacity(refused.len());
        for (_, d) in &refused {
            if !fixes.contains(&d.fix) {
                fixes.push(d.fix.clone());
            }
        }
        let names: Vec<&str> = refused.iter().map(|(name, _)| *name).collect();
        let pronoun = if names.len() > 1 { "them" } else { "it" };
        fixes.push(match self.repo.capabilities {
            // The repository's own list, in its entry of `repositories`.
            Some(_) => format!(
                "If `{}` does not need {}, remove {pronoun} from the `capabilities` of its entry in the `repositories` of workspace `{}`.",
                self.repo.written,
                names.join(" and "),
                self.ws.config.name
            ),
            None => format!(
                "If workspace `{}` does not need {}, remove {pronoun} from its `capabilities`.",
                self.ws.config.name,
                names.join(" and ")
            ),
        });
        let mut outcome = Outcome::new(Status::Critical, reason, summary).with_remediation(fixes);
        // One line per refused capability, when the summary names more than
        // the first's message.
        for (name, d) in refused.iter().filter(|_| refused.len() > 1) {
            outcome = outcome.with_detail(format!("{name}: no ({}): {}", d.reason, d.message));
        }
        Some(outcome)
    }

    /// Runs the clone probe (once per token) when enabled.
    async fn clone_denied(&self, client: &GitlabClient, p: &ProjectFacts) -> Option<Outcome> {
        if !self.ws.config.clone_probe || p.empty_repo {
            return None;
        }
        let summary = |why: &str| format!("`git clone` of `{}` is refused: {why}", p.path);
        match self.ws.clone_probe(client, &p.path).await {
            Ok(CloneProbe::Allowed) => None,
            Ok(CloneProbe::Forbidden(text)) => {
                Some(Outcome::new(Status::Critical, Reason::RepoCloneDenied, summary(&text)))
            }
            Ok(CloneProbe::Unauthorized) => Some(Outcome::new(
                Status::Critical,
                Reason::RepoCloneDenied,
                summary("HTTP Basic: Access denied (401)."),
            )),
            Ok(CloneProbe::NotFound) => Some(Outcome::new(
                Status::Critical,
                Reason::RepoCloneDenied,
                summary("Git over HTTPS answers 404 although the API sees the project."),
            )),
            // A failing probe (network, rate limit) says nothing about access.
            Err(_) => None,
        }
    }

    /// GitLab's 404, narrowed down with a search for similar paths.
    async fn not_found(&self, client: &GitlabClient) -> Outcome {
        let name = self.repo.path.rsplit('/').next().unwrap_or(&self.repo.path);
        let mut outcome = Outcome::new(
            Status::Critical,
            Reason::RepoNotFoundOrNoAccess,
            format!(
                "GitLab answers 404 for `{}`: the project does not exist, or {} cannot see it.",
                self.repo.path,
                self.username()
            ),
        );
        let close = self.similar(client, name).await;
        if !close.is_empty() {
            let listed = close.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
            outcome.summary.push_str(&format!(" Did you mean {listed}?"));
            outcome = outcome.with_first_step(format!("If you meant {}, watch that path instead.", close.join(" or ")));
        }
        outcome
    }

    /// Up to three visible projects with a similar path, closest first.
    /// GitLab searches substrings, so a typo ("backnd") finds nothing: then
    /// a prefix of the name is tried once more.
    async fn similar(&self, client: &GitlabClient, name: &str) -> Vec<String> {
        let wanted = self.repo.path.to_lowercase();
        let prefix: String = name.chars().take(name.chars().count().div_ceil(2).max(3)).collect();
        let mut terms = vec![name.to_owned()];
        if prefix.len() < name.len() {
            terms.push(prefix);
        }
        for term in terms {
            let Ok(found) = client.search_projects(&term).await else {
                return Vec::new();
            };
            let mut close: Vec<String> = found
                .into_iter()
                .map(|p| p.path_with_namespace)
                .filter(|p| !p.eq_ignore_ascii_case(&wanted))
                .collect();
            if !close.is_empty() {
                close.sort_by_key(|p| crate::config::edit_distance(&p.to_lowercase(), &wanted));
                close.truncate(3);
                return close;
            }
        }
        Vec::new()
    }

    fn username(&self) -> String {
        let name = self.ws.known_user().map(|u| u.username);
        name.map_or_else(|| "the token's user".to_owned(), |u| format!("@{u}"))
    }
}

impl Check for RepositoryCheck {
    fn name(&self) -> &str {
        "repository"
    }

    fn target(&self) -> Option<&str> {
        Some(&self.target)
    }

    fn depends_on(&self) -> &[Cow<'static, str>] {
        const DEPENDS_ON: &[Cow<'static, str>] = &[Cow::Borrowed("scopes")];
        DEPENDS_ON
    }

    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(async move { self.ws.fill(self.probe(ctx).await) })
    }
}
