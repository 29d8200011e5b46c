//! The capability verdicts of one watched repository (`docs/capabilities.md`):
//! judged from the listing's facts and the token's scopes, settled for
//! `push` by the protected-branch probe, and kept.
//!
//! Kept, because they rarely change: the facts are the project's settings
//! and the user's role, and the scopes belong to the token. Judging writes
//! a message and a fix for every `no`; judging once per change instead of
//! once per round is what keeps the verdicts off a fleet's CPU and memory
//! (`docs/performance.md`). Every round's outcome then shares the kept
//! allocation.

use std::sync::{Arc, Mutex, MutexGuard};

use super::context::WorkspaceGitlab;
use super::listing::ProjectFacts;
use crate::config::RepositoryRef;
use crate::engine::{Capabilities, CapabilityView, DenialView};
use crate::gitlab::GitlabClient;
use crate::gitlab::capabilities::{self, Facts, Verdict};

/// The verdict reason of a push the default branch's protection refuses
/// (the push probe's own; the others are `gitlab::capabilities`').
pub const BRANCH_PROTECTED: &str = "branch-protected";

/// Every capability's verdict on a project with `facts`, given what is
/// listed for it (`WorkspaceConfig::listed_capabilities`): what `/status`
/// shows, and what the admin API's repository listing shows a user
/// choosing repositories.
pub fn views(facts: &Facts, listed: Option<&[&'static str]>) -> Vec<CapabilityView> {
    let needed = listed.unwrap_or(crate::config::capabilities::DEFAULT);
    let judged = listed.unwrap_or_default();
    capabilities::verdicts(facts)
        .into_iter()
        .map(|v| CapabilityView {
            name: v.capability.name(),
            needed: needed.contains(&v.capability.name()),
            judged: judged.contains(&v.capability.name()),
            denial: match v.verdict {
                Verdict::Yes => None,
                Verdict::No(d) => Some(Box::new(DenialView {
                    reason: d.reason.code(),
                    message: d.message,
                    fix: d.fix,
                })),
            },
        })
        .collect()
}

/// One repository's verdicts, judged again only when what they were
/// judged from changed.
pub struct Verdicts {
    ws: Arc<WorkspaceGitlab>,
    /// What the repository's entry or its workspace's `capabilities` lists.
    listed: Option<Vec<&'static str>>,
    kept: Mutex<Option<Kept>>,
}

struct Kept {
    basis: Basis,
    capabilities: Capabilities,
}

/// Everything the verdicts depend on. What `capabilities` lists is not
/// here: a reload that changes it builds new checks.
#[derive(PartialEq)]
struct Basis {
    /// The token: a new one may have other scopes, and the probe's answer
    /// is per token.
    generation: u64,
    project: u64,
    facts: Facts,
    /// What the push probe asks about.
    default_branch: Option<Box<str>>,
    empty_repo: bool,
}

impl Verdicts {
    pub fn new(ws: Arc<WorkspaceGitlab>, repo: &RepositoryRef) -> Verdicts {
        let listed = ws.config.listed_capabilities(Some(repo)).map(<[_]>::to_vec);
        Verdicts {
            ws,
            listed,
            kept: Mutex::new(None),
        }
    }

    /// The verdicts on `p`: the kept ones when nothing they depend on
    /// changed, else judged again (no request) and, for a workspace that
    /// needs `push`, settled by the probe.
    pub async fn of(&self, client: &GitlabClient, p: &ProjectFacts) -> Capabilities {
        let basis = self.basis(client, p);
        if let Some(kept) = self.kept().as_ref().filter(|k| k.basis == basis) {
            return kept.capabilities.clone();
        }
        let mut views = views(&basis.facts, self.listed.as_deref());
        let settled = self.push_probe(client, p, &mut views).await;
        let capabilities = Capabilities::new(views);
        // A probe that failed (the network, a GitLab that hides the rules
        // from Developers) is asked again next round, as before keeping.
        if settled {
            *self.kept() = Some(Kept {
                basis,
                capabilities: capabilities.clone(),
            });
        }
        capabilities
    }

    fn basis(&self, client: &GitlabClient, p: &ProjectFacts) -> Basis {
        let generation = client.token_generation();
        // The scopes check runs first (this check depends on it), so the
        // scopes are known; should they not be, the scope rule is not
        // judged rather than judged against an empty list.
        let facts = self.ws.with_token_info(generation, |info| match info {
            Some(info) => p.facts(&info.scopes),
            None => p.facts(&["api".to_owned()]),
        });
        Basis {
            generation,
            project: p.id,
            facts,
            default_branch: p.default_branch.clone(),
            empty_repo: p.empty_repo,
        }
    }

    /// For a repository whose `capabilities` lists `push`, when the verdict
    /// says yes: whether the default branch's protection lets the user push
    /// (docs/gitlab.md §15), asked once per token, project and branch. A
    /// rule that does not turns push into `no` (`branch-protected`); a rule
    /// naming groups says nothing, and the verdict stays. False when the
    /// probe failed (the verdict stays too, but only for this round).
    async fn push_probe(&self, client: &GitlabClient, p: &ProjectFacts, views: &mut [CapabilityView]) -> bool {
        let needs_push = self.listed.as_ref().is_some_and(|c| c.contains(&"push"));
        let Some(push) = views.iter_mut().find(|c| c.name == "push") else {
            return true;
        };
        let Some(branch) = p
            .default_branch
            .as_deref()
            .filter(|_| needs_push && push.is_yes() && !p.empty_repo)
        else {
            return true;
        };
        let rule = match self.ws.protected_branch(client, p.id, branch).await {
            Ok(Some(rule)) => rule,
            Ok(None) => return true,
            Err(_) => return false,
        };
        let user = self.ws.known_user().map(|u| u.id);
        // Before the token check has named the account, a rule listing
        // users cannot be read for it: judged again once it has.
        let settled = user.is_some();
        if rule.allows_push(p.access_level, user) != Some(false) {
            return settled;
        }
        let role = p
            .access_level
            .map_or_else(|| "no role".to_owned(), capabilities::role_label);
        push.denial = Some(Box::new(DenialView {
            reason: BRANCH_PROTECTED,
            message: format!(
                "The default branch `{branch}` is protected, and its rule does not let the token's user ({role}) push to it; other branches may be pushed to, and merged through merge requests."
            ),
            fix: format!(
                "Ask a project Maintainer to allow Developers + Maintainers to push to `{branch}` (Settings → Repository → Protected branches), or push to another branch and merge through a merge request."
            ),
        }));
        settled
    }

    fn kept(&self) -> MutexGuard<'_, Option<Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}
