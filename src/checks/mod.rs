//! Built-in checks, one file (or folder) each, and the explicit registry that
//! lists which checks a workspace gets. No link-time magic: adding a check
//! means adding it to [`for_workspace`].
//!
//! The dependency graph: `instance` → `token` → `scopes` → `repository`
//! (one per watched repository).

mod context;
pub(crate) mod gitlab_errors;
pub mod instance;
mod repository;
mod scopes;
mod token;

use std::sync::Arc;

pub use context::{Shared, TokenSource, WorkspaceGitlab};
pub use repository::RepositoryCheck;
pub use scopes::ScopesCheck;
pub use token::TokenCheck;

use crate::config::WorkspaceConfig;
use crate::engine::Check;

/// The checks of one workspace, dependencies before dependents, with the
/// token from `token_file`.
pub fn for_workspace(ws: &WorkspaceConfig, shared: &Shared) -> Vec<Arc<dyn Check>> {
    with_gitlab(ws, Arc::new(WorkspaceGitlab::new(ws, shared)))
}

/// The checks of one workspace over an existing GitLab context.
pub fn with_gitlab(ws: &WorkspaceConfig, gitlab: Arc<WorkspaceGitlab>) -> Vec<Arc<dyn Check>> {
    let mut checks: Vec<Arc<dyn Check>> = vec![
        Arc::new(instance::InstanceCheck::new(ws)),
        Arc::new(TokenCheck::new(gitlab.clone())),
        Arc::new(ScopesCheck::new(gitlab.clone())),
    ];
    for repo in &ws.repositories {
        checks.push(Arc::new(RepositoryCheck::new(gitlab.clone(), repo.clone())));
    }
    checks
}
